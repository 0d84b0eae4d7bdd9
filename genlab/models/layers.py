"""Small building blocks shared by the model families: activation kinds, reshapes and a CPU-fast dropout."""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

ACTIVATIONS = ("leaky_relu", "relu", "prelu", "elu")


def make_activation(kind: str, channels: int = 1) -> nn.Module:
    """Return the activation named by `kind` (LeakyReLU uses the thesis' alpha 0.3).

    Args:
        kind: one of ACTIVATIONS.
        channels: number of channels, for PReLU's per-channel slope.
    """
    if kind == "leaky_relu":
        return nn.LeakyReLU(0.3)
    if kind == "relu":
        return nn.ReLU()
    if kind == "prelu":
        return nn.PReLU(channels)
    if kind == "elu":
        return nn.ELU()
    raise ValueError(f"unknown activation {kind!r}; choose one of {', '.join(ACTIVATIONS)}")


class Reshape(nn.Module):
    """(N, C*H*W) -> (N, C, H, W)."""

    def __init__(self, *shape: int):
        super().__init__()
        self.shape = shape

    def forward(self, x):
        return x.view(x.shape[0], *self.shape)

    def extra_repr(self) -> str:
        return ", ".join(map(str, self.shape))


def check_choice(name: str, value, choices) -> None:
    """Raise a ValueError naming the allowed values when `value` is not one of `choices`."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(str, choices))}, got {value!r}")


@torch.no_grad()
def standing_batchnorm(network: nn.Module, run, batches: int) -> None:
    """Re-estimate `network`'s BatchNorm running statistics as exact averages over `batches` calls of
    `run(i)` (which runs `network` forward on batch i) in train mode (BigGAN's "standing statistics").
    A moving average of a generator's weights, or a generator that moves faster than the running
    averages follow, needs this before it is sampled in eval mode."""
    norms = [m for m in network.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    was_training = network.training
    momenta = [bn.momentum for bn in norms]
    for bn in norms:
        bn.reset_running_stats()
        bn.momentum = None                     # a cumulative average over the batches below
    network.train()
    for i in range(batches):
        run(i)
    for bn, momentum in zip(norms, momenta):
        bn.momentum = momentum
    network.train(was_training)


class FastDropout(nn.Dropout):
    """nn.Dropout with the same semantics (zero each element with probability p, scale the rest by
    1 / (1 - p)), whose mask on the CPU comes from numpy's PCG64 random bytes instead of torch's
    per-element Mersenne Twister: in the thesis' discriminator torch's mask took a quarter of a whole
    GAN training step on a 2-core CPU. The keep test is on 16 random bits (p is exact to 1 / 65536).
    Each call seeds its numpy generator from torch's global generator, so torch.manual_seed still
    makes a run reproducible. On CUDA, and in eval mode, it is nn.Dropout.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0 or x.device.type != "cpu" or self.inplace:
            return super().forward(x)
        if self.p >= 1:
            return torch.zeros_like(x)
        seed = int(torch.randint(0, 2 ** 62, ()))
        bits = np.random.default_rng(seed).bytes(2 * x.numel())
        draws = torch.frombuffer(bytearray(bits), dtype=torch.int16).view(x.shape)
        # int16 draws are uniform over -32768..32767: keep those at or above the p quantile
        keep = draws >= int(round(self.p * 65536)) - 32768
        return x * (keep.to(x.dtype) * (1.0 / (1.0 - self.p)))
