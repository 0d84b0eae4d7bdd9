"""Small building blocks shared by the model families: activation kinds and reshapes."""
from __future__ import annotations

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
