"""The book's autoencoder and VAE on MNIST (SEEDS.md C, Foster ch. 3).

Encoder: Conv [32, 64, 64, 64], kernel 3, strides [1, 2, 2, 1], LeakyReLU -> Flatten -> Dense d
(98,946 parameters for d = 2). Decoder: Dense 3136 -> 64x7x7 -> ConvT [64, 64, 32, 1],
strides [1, 2, 2, 1], LeakyReLU, sigmoid (102,017 parameters). The decoder's sigmoid output in
[0, 1] is mapped to the models' image range [-1, 1]. The VAE has two heads, mu and log_var.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import torch
from torch import nn

from .layers import Reshape


@dataclass
class AEConfig:
    latent_dim: int = 2              # Size of the code z.
    r_loss_factor: float = 1000.0    # VAE only: weight of the per-pixel MSE against the KL term.

    def __post_init__(self):
        if not isinstance(self.latent_dim, int) or not 1 <= self.latent_dim <= 512:
            raise ValueError(f"latent_dim must be an integer in 1..512, got {self.latent_dim!r}")
        if not isinstance(self.r_loss_factor, (int, float)) or not self.r_loss_factor > 0:
            raise ValueError(f"r_loss_factor must be a positive number, got {self.r_loss_factor!r}")


def encoder_trunk() -> nn.Sequential:
    """(N, 1, 28, 28) -> (N, 3136)."""
    return nn.Sequential(OrderedDict([
        ("conv1", nn.Conv2d(1, 32, 3, stride=1, padding=1)),
        ("act1", nn.LeakyReLU()),
        # state size. 32 x 28 x 28
        ("conv2", nn.Conv2d(32, 64, 3, stride=2, padding=1)),
        ("act2", nn.LeakyReLU()),
        # state size. 64 x 14 x 14
        ("conv3", nn.Conv2d(64, 64, 3, stride=2, padding=1)),
        ("act3", nn.LeakyReLU()),
        # state size. 64 x 7 x 7
        ("conv4", nn.Conv2d(64, 64, 3, stride=1, padding=1)),
        ("act4", nn.LeakyReLU()),
        ("flatten", nn.Flatten()),
    ]))


class Decoder(nn.Module):
    """z (N, d) -> image (N, 1, 28, 28) in [-1, 1]."""

    def __init__(self, latent_dim: int):
        super().__init__()
        self.layers = nn.Sequential(OrderedDict([
            ("dense", nn.Linear(latent_dim, 3136)),
            ("reshape", Reshape(64, 7, 7)),
            ("deconv1", nn.ConvTranspose2d(64, 64, 3, stride=1, padding=1)),
            ("act1", nn.LeakyReLU()),
            ("deconv2", nn.ConvTranspose2d(64, 64, 3, stride=2, padding=1, output_padding=1)),
            ("act2", nn.LeakyReLU()),
            # state size. 64 x 14 x 14
            ("deconv3", nn.ConvTranspose2d(64, 32, 3, stride=2, padding=1, output_padding=1)),
            ("act3", nn.LeakyReLU()),
            # state size. 32 x 28 x 28
            ("deconv4", nn.ConvTranspose2d(32, 1, 3, stride=1, padding=1)),
            ("sigmoid", nn.Sigmoid()),
        ]))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.layers(z) * 2 - 1


class Encoder(nn.Module):
    """image (N, 1, 28, 28) -> z (N, d) (plain) or (mu, log_var) each (N, d) (variational)."""

    def __init__(self, latent_dim: int, variational: bool):
        super().__init__()
        self.layers = encoder_trunk()
        self.variational = variational
        if variational:
            self.mu = nn.Linear(3136, latent_dim)
            self.log_var = nn.Linear(3136, latent_dim)
        else:
            self.dense = nn.Linear(3136, latent_dim)

    def forward(self, x: torch.Tensor):
        h = self.layers(x)
        if self.variational:
            return self.mu(h), self.log_var(h)
        return self.dense(h)


class Autoencoder(nn.Module):
    """Deterministic autoencoder: `encode` images to z, `decode` z to images."""

    kind = "ae"
    conditional = False
    variational = False

    def __init__(self, cfg: AEConfig):
        super().__init__()
        self.config = cfg
        self.encoder = Encoder(cfg.latent_dim, self.variational)
        self.decoder = Decoder(cfg.latent_dim)

    @property
    def latent_dim(self) -> int:
        return self.config.latent_dim

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """images (N, 1, 28, 28) in [-1, 1] -> z (N, d) (for a VAE, the mean mu)."""
        return self.encoder(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """z (N, d) -> images (N, 1, 28, 28) in [-1, 1]."""
        return self.decoder(z)

    def generate(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """The same as `decode`: the app's common entry point for every generative model."""
        return self.decode(z)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))

    def sample_z(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n codes from N(0, I) (meaningful for a VAE; for a plain AE only a rough guess)."""
        device = next(self.parameters()).device
        return torch.randn(n, self.latent_dim, generator=generator).to(device)

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.decode(self.sample_z(n, generator))


class VAE(Autoencoder):
    """Variational autoencoder: z = mu + exp(log_var / 2) * eps."""

    kind = "vae"
    variational = True

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)[0]

    def encode_distribution(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """images -> (mu, log_var), each (N, d)."""
        return self.encoder(x)

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None):
        """images -> (reconstruction, mu, log_var)."""
        mu, log_var = self.encoder(x)
        eps = torch.randn(mu.shape, generator=generator).to(mu.device)
        z = mu + torch.exp(log_var / 2) * eps
        return self.decode(z), mu, log_var
