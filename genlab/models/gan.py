"""The thesis' DCGAN (SEEDS.md A): a generator from the cube [-1, 1]^d to 28x28 digits and its discriminator.

A faithful port: with the default LeakyReLU(0.3) the parameter counts equal the thesis' table
(generator trainable 1,076,160 / 1,088,704 / 1,101,248 for d = 2 / 3 / 4, non-trainable 25,472;
discriminator 212,865). "same" padding of Keras is reproduced with padding=2 (+ output_padding=1
for stride 2), so every size matches.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import torch
from torch import nn

from .layers import ACTIVATIONS, FastDropout, Reshape, check_choice, make_activation, standing_batchnorm


@dataclass
class GANConfig:
    latent_dim: int = 2              # Dimension d of the latent cube [-1, 1]^d (the thesis: 2, 3, 4).
    activation: str = "leaky_relu"   # Generator's hidden activation: leaky_relu (alpha 0.3), relu, prelu, elu.

    def __post_init__(self):
        if not isinstance(self.latent_dim, int) or not 1 <= self.latent_dim <= 512:
            raise ValueError(f"latent_dim must be an integer in 1..512, got {self.latent_dim!r}")
        check_choice("activation", self.activation, ACTIVATIONS)


def generator_trunk(activation: str, in_channels: int = 256) -> OrderedDict:
    """The transposed-convolution stack shared by the GAN and conditional GAN generators.

    Input (N, in_channels, 7, 7) comes from the caller's first layers; output (N, 1, 28, 28) in [-1, 1].
    """
    return OrderedDict([
        # state size. in_channels x 7 x 7
        ("deconv1", nn.ConvTranspose2d(in_channels, 128, 5, stride=1, padding=2, bias=False)),
        ("bn1", nn.BatchNorm2d(128)),
        ("act1", make_activation(activation, 128)),
        # state size. 128 x 7 x 7
        ("deconv2", nn.ConvTranspose2d(128, 64, 5, stride=2, padding=2, output_padding=1, bias=False)),
        ("bn2", nn.BatchNorm2d(64)),
        ("act2", make_activation(activation, 64)),
        # state size. 64 x 14 x 14
        ("deconv3", nn.ConvTranspose2d(64, 1, 5, stride=2, padding=2, output_padding=1, bias=False)),
        ("tanh", nn.Tanh()),
        # state size. 1 x 28 x 28
    ])


class Generator(nn.Module):
    """z (N, d) in [-1, 1]^d -> image (N, 1, 28, 28) in [-1, 1]."""

    def __init__(self, cfg: GANConfig):
        super().__init__()
        self.layers = nn.Sequential(OrderedDict([
            ("dense", nn.Linear(cfg.latent_dim, 7 * 7 * 256, bias=False)),
            ("bn0", nn.BatchNorm1d(7 * 7 * 256)),
            ("act0", make_activation(cfg.activation, 7 * 7 * 256)),
            ("reshape", Reshape(256, 7, 7)),
            *generator_trunk(cfg.activation).items(),
        ]))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.layers(z)


def discriminator_layers(in_channels: int = 1) -> nn.Sequential:
    """The thesis' discriminator: (N, in_channels, 28, 28) -> one logit per image (N, 1)."""
    return nn.Sequential(OrderedDict([
        ("conv1", nn.Conv2d(in_channels, 64, 5, stride=2, padding=2)),
        ("act1", nn.LeakyReLU(0.3)),
        ("drop1", FastDropout(0.3)),
        # state size. 64 x 14 x 14
        ("conv2", nn.Conv2d(64, 128, 5, stride=2, padding=2)),
        ("act2", nn.LeakyReLU(0.3)),
        ("drop2", FastDropout(0.3)),
        # state size. 128 x 7 x 7
        ("flatten", nn.Flatten()),
        ("dense", nn.Linear(7 * 7 * 128, 1)),
    ]))


class Discriminator(nn.Module):
    """image (N, 1, 28, 28) in [-1, 1] -> logit (N, 1): high means "real"."""

    def __init__(self, cfg: GANConfig | None = None):
        super().__init__()
        self.layers = discriminator_layers(1)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.layers(x)


class GAN(nn.Module):
    """The generator and discriminator as one model; `generate` is what the app calls."""

    kind = "gan"
    conditional = False

    def __init__(self, cfg: GANConfig):
        super().__init__()
        self.config = cfg
        self.generator = Generator(cfg)
        self.discriminator = Discriminator(cfg)

    @property
    def latent_dim(self) -> int:
        return self.config.latent_dim

    def generate(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """z (N, d) -> images (N, 1, 28, 28) in [-1, 1]."""
        return self.generator(z)

    def sample_z(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n points drawn uniformly from the latent cube [-1, 1]^d, shape (n, d)."""
        device = next(self.parameters()).device
        return (torch.rand(n, self.latent_dim, generator=generator) * 2 - 1).to(device)

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n generated images (n, 1, 28, 28) from random latent points."""
        return self.generate(self.sample_z(n, generator))

    def standing_statistics(self, batches: int = 8, batch_size: int = 512, seed: int = 0) -> None:
        """Re-estimate the generator's BatchNorm running statistics as exact averages over random latent
        points (and labels) drawn as the app draws them. A moving average of the weights needs this: the
        running statistics of the raw generator do not fit the averaged weights. Seeded; the global random
        state is untouched."""
        g = torch.Generator().manual_seed(seed)

        def run(i):
            z = self.sample_z(batch_size, g)
            labels = self.sample_labels(batch_size, g) if self.conditional else None
            self.generator(z) if labels is None else self.generator(z, labels)

        standing_batchnorm(self.generator, run, batches)
