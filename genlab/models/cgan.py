"""Conditional GAN (SEEDS.md B, the embedding design note), 28x28 images, B = 7.

conditioning="concat" (the design note, default):
  generator: z (N, d) -> Dense(7*7*256) -> 256x7x7; label -> Embedding(N, V) -> Dense(7*7) -> 1x7x7;
             concatenated -> 257x7x7 -> the thesis' transposed convolutions -> 1x28x28.
  discriminator: label -> Embedding(N, V) -> Dense(28*28) -> 1x28x28, concatenated with the
             image as a second channel -> the thesis' convolution stack.
conditioning="multiply" (the thesis' own 3D CGAN): z * Embedding(N, d)(label) feeds the plain
  generator; the flattened image times Embedding(N, 784)(label) feeds the plain discriminator.
  For d = 3 this reproduces the thesis' counts: generator 1,088,734 trainable, discriminator 220,705.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import torch
from torch import nn

from .gan import GAN, GANConfig, Generator, discriminator_layers, generator_trunk
from .layers import ACTIVATIONS, Reshape, check_choice, make_activation

CONDITIONINGS = ("concat", "multiply")


@dataclass
class CGANConfig:
    latent_dim: int = 3              # Dimension d of each class' latent cube [-1, 1]^d.
    n_classes: int = 10              # Number of class labels N.
    embed_dim: int = 50              # Label embedding size V (concat conditioning).
    activation: str = "leaky_relu"   # Generator's hidden activation.
    conditioning: str = "concat"     # concat (design note) or multiply (the thesis' CGAN).

    def __post_init__(self):
        GANConfig(self.latent_dim, self.activation)  # same checks as the plain GAN
        if not isinstance(self.n_classes, int) or not 2 <= self.n_classes <= 1000:
            raise ValueError(f"n_classes must be an integer in 2..1000, got {self.n_classes!r}")
        if not isinstance(self.embed_dim, int) or not 1 <= self.embed_dim <= 1024:
            raise ValueError(f"embed_dim must be an integer in 1..1024, got {self.embed_dim!r}")
        check_choice("conditioning", self.conditioning, CONDITIONINGS)
        check_choice("activation", self.activation, ACTIVATIONS)


class ConditionalGenerator(nn.Module):
    """(z (N, d), labels (N,)) -> image (N, 1, 28, 28) in [-1, 1]."""

    def __init__(self, cfg: CGANConfig):
        super().__init__()
        self.conditioning = cfg.conditioning
        if cfg.conditioning == "multiply":
            self.label_embedding = nn.Embedding(cfg.n_classes, cfg.latent_dim)
            self.layers = Generator(GANConfig(cfg.latent_dim, cfg.activation)).layers
            return
        self.noise_branch = nn.Sequential(OrderedDict([
            ("dense", nn.Linear(cfg.latent_dim, 7 * 7 * 256, bias=False)),
            ("bn0", nn.BatchNorm1d(7 * 7 * 256)),
            ("act0", make_activation(cfg.activation, 7 * 7 * 256)),
            ("reshape", Reshape(256, 7, 7)),
        ]))
        self.label_branch = nn.Sequential(OrderedDict([
            ("embedding", nn.Embedding(cfg.n_classes, cfg.embed_dim)),
            ("dense", nn.Linear(cfg.embed_dim, 7 * 7)),
            ("reshape", Reshape(1, 7, 7)),
        ]))
        # state size. 257 x 7 x 7 after the concatenation
        self.layers = nn.Sequential(generator_trunk(cfg.activation, in_channels=257))

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        if self.conditioning == "multiply":
            return self.layers(z * self.label_embedding(labels))
        return self.layers(torch.cat([self.noise_branch(z), self.label_branch(labels)], dim=1))


class ConditionalDiscriminator(nn.Module):
    """(image (N, 1, 28, 28), labels (N,)) -> logit (N, 1)."""

    def __init__(self, cfg: CGANConfig):
        super().__init__()
        self.conditioning = cfg.conditioning
        if cfg.conditioning == "multiply":
            self.label_embedding = nn.Embedding(cfg.n_classes, 28 * 28)
            self.layers = discriminator_layers(1)
            return
        self.label_branch = nn.Sequential(OrderedDict([
            ("embedding", nn.Embedding(cfg.n_classes, cfg.embed_dim)),
            ("dense", nn.Linear(cfg.embed_dim, 28 * 28)),
            ("reshape", Reshape(1, 28, 28)),
        ]))
        self.layers = discriminator_layers(2)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        if self.conditioning == "multiply":
            return self.layers(x * self.label_embedding(labels).view(-1, 1, 28, 28))
        return self.layers(torch.cat([x, self.label_branch(labels)], dim=1))


class CGAN(GAN):
    """A conditional GAN: one latent cube per class; `generate(z, labels)`."""

    kind = "cgan"
    conditional = True

    def __init__(self, cfg: CGANConfig):
        nn.Module.__init__(self)
        self.config = cfg
        self.generator = ConditionalGenerator(cfg)
        self.discriminator = ConditionalDiscriminator(cfg)

    @property
    def n_classes(self) -> int:
        return self.config.n_classes

    def generate(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """z (N, d), labels (N,) int64 -> images (N, 1, 28, 28) in [-1, 1]."""
        if labels is None:
            raise ValueError("a conditional GAN needs a class label for every point")
        labels = torch.as_tensor(labels, dtype=torch.long, device=z.device).expand(z.shape[0])
        return self.generator(z, labels)

    def sample_labels(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        device = next(self.parameters()).device
        return torch.randint(0, self.n_classes, (n,), generator=generator).to(device)

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        z = self.sample_z(n, generator)
        return self.generate(z, self.sample_labels(n, generator))
