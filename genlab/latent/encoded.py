"""Where an autoencoder or a VAE puts real digits (SEEDS.md C, the book's latent views): the codes of a
set of images, the VAE's codes through the normal CDF (p-values), the decoded grid over a plane, a
2D PCA projection for larger latents, reconstructions, and how much of each latent dimension a VAE
uses (its KL divergence from N(0, 1)).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy.special import ndtr, ndtri
from torch import nn

from ..generate import latent_tensor


@dataclass
class EncodedSet:
    """The codes of N images: an AE's z, or a VAE's mu with its log_var and one sample z."""
    mu: np.ndarray                         # (N, d): the code (a VAE's mean)
    log_var: np.ndarray | None             # (N, d) for a VAE, else None
    z: np.ndarray                          # (N, d): a VAE's sample mu + exp(log_var / 2) * eps (seeded); an AE's mu
    labels: np.ndarray                     # (N,) int

    @property
    def latent_dim(self) -> int:
        return self.mu.shape[1]


@torch.inference_mode()
def encode_images(model: nn.Module, images: torch.Tensor, labels=None, batch_size: int = 500,
                  seed: int = 0) -> EncodedSet:
    """Encode images (N, 1, 28, 28) in [-1, 1] in batches (`seed` draws a VAE's samples)."""
    device = next(model.parameters()).device
    mus, log_vars = [], []
    for i in range(0, len(images), batch_size):
        x = images[i:i + batch_size].to(device)
        if getattr(model, "variational", False):
            mu, log_var = model.encode_distribution(x)
            log_vars.append(log_var.cpu())
        else:
            mu = model.encode(x)
        mus.append(mu.cpu())
    mu = torch.cat(mus).double().numpy()
    labels = np.zeros(len(mu), np.int64) if labels is None else np.asarray(labels)
    if not log_vars:
        return EncodedSet(mu, None, mu, labels)
    log_var = torch.cat(log_vars).double().numpy()
    eps = np.random.default_rng(seed).standard_normal(mu.shape)
    return EncodedSet(mu, log_var, mu + np.exp(log_var / 2) * eps, labels)


def p_values(z) -> np.ndarray:
    """The normal CDF of each coordinate: a VAE's codes in [0, 1], where N(0, 1) becomes uniform."""
    return ndtr(np.asarray(z, np.float64))


def from_p_values(p) -> np.ndarray:
    """The inverse: p-values in (0, 1) -> latent coordinates."""
    return ndtri(np.clip(np.asarray(p, np.float64), 1e-6, 1 - 1e-6))


def kl_per_dimension(mu: np.ndarray, log_var: np.ndarray) -> np.ndarray:
    """The mean KL divergence of q(z | x) from N(0, 1) per latent dimension, (d,): about 0 for a
    dimension the VAE does not use (its codes are noise around 0 there)."""
    return (-0.5 * (1 + log_var - mu ** 2 - np.exp(log_var))).mean(0)


@dataclass
class Plane:
    """A plane in a latent space: origin + x * directions[0] + y * directions[1]."""
    origin: np.ndarray                     # (d,)
    directions: np.ndarray                 # (2, d), orthonormal for a PCA plane
    names: tuple[str, str]                 # the axis names, e.g. ("z1", "z2") or ("PC1", "PC2")
    explained: tuple[float, float] | None = None   # a PCA plane's share of the codes' variance per axis

    def project(self, z) -> np.ndarray:
        """Points (N, d) or (d,) -> their plane coordinates (N, 2) or (2,) (orthogonal projection)."""
        z = np.asarray(z, np.float64)
        return (z - self.origin) @ self.directions.T

    def lift(self, xy) -> np.ndarray:
        """Plane coordinates (N, 2) or (2,) -> latent points (N, d) or (d,)."""
        return self.origin + np.asarray(xy, np.float64) @ self.directions


    def move(self, z, xy) -> np.ndarray:
        """The point z (d,) moved within the plane so that its plane coordinates become `xy` (2,); its
        component off the plane stays."""
        return np.asarray(z, np.float64) + (np.asarray(xy, np.float64) - self.project(z)) @ self.directions

    def through(self, z) -> "Plane":
        """The parallel plane through the point z (d,), with the same plane coordinates as this one."""
        z = np.asarray(z, np.float64)
        return Plane(z - self.project(z) @ self.directions, self.directions, self.names, self.explained)


class PlaneDecoder(nn.Module):
    """A model's decoder over a plane of its latent space: plane coordinates (N, 2) -> images, so that a
    class-area map (genlab.latent.maps) can be drawn over any plane of a larger space."""

    conditional = False
    latent_dim = 2

    def __init__(self, model: nn.Module, plane: Plane):
        super().__init__()
        self.model = model
        device = next(model.parameters()).device
        self.register_buffer("origin", torch.tensor(plane.origin, dtype=torch.float32, device=device))
        self.register_buffer("directions", torch.tensor(plane.directions, dtype=torch.float32, device=device))

    def generate(self, xy: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.model.decode(self.origin + xy @ self.directions)


def axes_plane(latent_dim: int) -> Plane:
    """The plane of z1 and z2 through the origin (a 2D latent space itself)."""
    return Plane(np.zeros(latent_dim), np.eye(latent_dim)[:2], ("z1", "z2"))


def pca_plane(z) -> Plane:
    """The plane of the two main directions of the codes (N, d) through their mean (scikit-learn's PCA)."""
    from sklearn.decomposition import PCA   # only here: scikit-learn takes a second to import

    pca = PCA(n_components=2, svd_solver="full").fit(np.asarray(z, np.float64))
    return Plane(pca.mean_, pca.components_, ("PC1", "PC2"), tuple(float(r) for r in pca.explained_variance_ratio_))


def view_plane(codes: EncodedSet) -> Plane:
    """The plane the lab shows: z1, z2 for a 2D space, else the codes' PCA plane."""
    return axes_plane(2) if codes.latent_dim == 2 else pca_plane(codes.mu)


@torch.inference_mode()
def decoded_grid(model: nn.Module, plane: Plane, xs, ys) -> torch.Tensor:
    """Decode the grid of plane points: (len(ys) * len(xs), 1, 28, 28), row by row from the top (the
    highest y first), x growing to the right, as an image grid shows them."""
    grid = np.array([(x, y) for y in sorted(ys, reverse=True) for x in sorted(xs)])
    return model.decode(latent_tensor(model, plane.lift(grid).tolist())).cpu()


@torch.inference_mode()
def reconstruct(model: nn.Module, images: torch.Tensor) -> tuple[torch.Tensor, np.ndarray]:
    """decode(encode(images)) (a VAE's mean code) and each image's MSE on the [0, 1] pixel scale."""
    device = next(model.parameters()).device
    out = model.decode(model.encode(images.to(device))).cpu()
    return out, (((out - images) / 2) ** 2).mean(dim=(1, 2, 3)).numpy()


@dataclass
class Occupancy:
    """How codes fill a box cut into n x n cells: the empty share, and each class' share of the cells
    it holds the majority of (the class areas)."""
    empty: float                           # fraction of cells without any code
    class_areas: np.ndarray                # (classes,) fractions of the occupied cells, summing to 1


def occupancy(xy: np.ndarray, labels: np.ndarray, box, cells: int = 20, n_classes: int = 10) -> Occupancy:
    """Gaps and class areas of 2D points `xy` (N, 2) in `box` ((x_lo, x_hi), (y_lo, y_hi)): an AE's
    cloud leaves many cells empty and gives some classes far more room than others; a VAE's codes
    through the normal CDF fill [0, 1]^2 with roughly equal class areas (SEEDS.md C)."""
    (x0, x1), (y0, y1) = box
    i = np.clip(((xy[:, 0] - x0) / (x1 - x0) * cells).astype(int), 0, cells - 1)
    j = np.clip(((xy[:, 1] - y0) / (y1 - y0) * cells).astype(int), 0, cells - 1)
    counts = np.zeros((cells, cells, n_classes))
    np.add.at(counts, (i, j, np.asarray(labels)), 1)
    occupied = counts.sum(2) > 0
    majority = counts.argmax(2)[occupied]
    return Occupancy(float(1 - occupied.mean()), np.bincount(majority, minlength=n_classes) / max(1, occupied.sum()))
