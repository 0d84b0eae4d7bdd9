"""Losses: GAN objectives by kind, the WGAN-GP gradient penalty, the (V)AE reconstruction and KL terms."""
from __future__ import annotations

import torch
import torch.nn.functional as F

GAN_LOSSES = ("bce", "hinge", "lsgan", "wgan-gp")   # wgan-gp: D is a critic; the step adds the gradient penalty
# "reconstruction": mode-regularised GAN (Che et al. 2017): an encoder E, used only in training, maps real
# images into the latent cube and G must reconstruct them, so every kind of real image keeps a region;
# a sliced Wasserstein term (Kolouri et al. 2018) spreads the encoded images uniformly over the cube
# (for a conditional GAN, each class' codes over the whole cube: the class must come from the label).
# "class-reconstruction": the same, and the encoder's codes must also tell the classes apart (a small
# classifier head on the codes, training only, like the encoder): with codes spread evenly over the cube,
# each class then gets its own region, as large as its share of the data (unconditional GANs only).
GAN_REGULARIZERS = ("none", "reconstruction", "class-reconstruction")
RECONSTRUCTION_REGULARIZERS = ("reconstruction", "class-reconstruction")
CODE_CLASS_WEIGHT = 0.1   # the codes' cross-entropy, relative to the reconstruction and spread terms


def discriminator_loss(kind: str, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """D's loss from its logits on real and generated images."""
    if kind == "bce":
        return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()
    if kind == "hinge":
        return F.relu(1 - real_logits).mean() + F.relu(1 + fake_logits).mean()
    if kind == "lsgan":
        return 0.5 * ((real_logits - 1) ** 2).mean() + 0.5 * (fake_logits ** 2).mean()
    if kind == "wgan-gp":
        return fake_logits.mean() - real_logits.mean()
    raise ValueError(f"unknown GAN loss {kind!r}")


def generator_loss(kind: str, fake_logits: torch.Tensor) -> torch.Tensor:
    """G's loss from D's logits on generated images (non-saturating for bce)."""
    if kind == "bce":
        return F.softplus(-fake_logits).mean()
    if kind in ("hinge", "wgan-gp"):
        return -fake_logits.mean()
    if kind == "lsgan":
        return 0.5 * ((fake_logits - 1) ** 2).mean()
    raise ValueError(f"unknown GAN loss {kind!r}")


def reconstruction_loss(recon: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Mean squared error on the book's pixel scale [0, 1] (images here are in [-1, 1])."""
    return (((recon - x) / 2) ** 2).mean()


def kl_divergence(mu: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(log_var)) || N(0, I)), summed over latent dimensions, averaged over the batch."""
    return (-0.5 * (1 + log_var - mu ** 2 - log_var.exp()).sum(dim=1)).mean()


def sliced_wasserstein(a: torch.Tensor, b: torch.Tensor, projections: int = 32) -> torch.Tensor:
    """Sliced Wasserstein-2 distance between two point clouds (N, d) of equal size, on random directions."""
    directions = F.normalize(torch.randn(a.shape[1], projections, device=a.device), dim=0)
    pa, pb = (a @ directions).sort(dim=0).values, (b @ directions).sort(dim=0).values
    return ((pa - pb) ** 2).mean()


def gradient_penalty(critic_scores: torch.Tensor, interpolates: torch.Tensor) -> torch.Tensor:
    """WGAN-GP (Gulrajani et al. 2017): mean (||d score / d x||_2 - 1)^2 over random real/fake interpolates.

    `interpolates` must require grad and `critic_scores` (N, 1) must be computed from it.
    """
    grads, = torch.autograd.grad(critic_scores.sum(), interpolates, create_graph=True)
    return ((grads.flatten(1).norm(dim=1) - 1) ** 2).mean()
