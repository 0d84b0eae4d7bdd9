"""From plain latent points (lists of numbers) to images, with the checks a user's input needs."""
from __future__ import annotations

import math

import torch
from torch import nn


class GenerateError(ValueError):
    """A latent point or label does not fit the model; the message says how."""


def latent_tensor(model: nn.Module, points) -> torch.Tensor:
    """Validate points (a list of d-number lists) for `model` and return them as (N, d) float32."""
    if getattr(model, "kind", None) == "classifier" or not hasattr(model, "generate"):
        raise GenerateError("a classifier does not generate images; pick a GAN, conditional GAN, AE or VAE")
    d = model.latent_dim
    rows = []
    for point in points:
        values = list(point)
        if len(values) != d:
            raise GenerateError(f"this model's latent space has {d} dimensions; the point {values} has {len(values)}")
        if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in values):
            raise GenerateError(f"latent coordinates must be finite numbers, got {values}")
        rows.append([float(v) for v in values])
    if not rows:
        raise GenerateError("no latent point given")
    return torch.tensor(rows, dtype=torch.float32, device=next(model.parameters()).device)


def label_tensor(model: nn.Module, label: int | None, n: int) -> torch.Tensor | None:
    """Validate a class label for `model` (required exactly when it is conditional)."""
    if not model.conditional:
        if label is not None:
            raise GenerateError(f"a {model.kind} is not conditional: it takes no class label")
        return None
    if label is None:
        raise GenerateError(f"a conditional GAN needs a class label 0..{model.n_classes - 1}")
    if not isinstance(label, int) or not 0 <= label < model.n_classes:
        raise GenerateError(f"the class label must be an integer in 0..{model.n_classes - 1}, got {label!r}")
    return torch.full((n,), label, dtype=torch.long, device=next(model.parameters()).device)


def labels_tensor(model: nn.Module, labels: list) -> torch.Tensor | None:
    """`label_tensor` for a batch with a label per row (each validated; all None unless conditional)."""
    for label in set(labels):
        label_tensor(model, label, 0)
    if not model.conditional:
        return None
    return torch.tensor(labels, dtype=torch.long, device=next(model.parameters()).device)


@torch.inference_mode()
def generate_images(model: nn.Module, points, label: int | None = None) -> torch.Tensor:
    """Images (N, 1, 28, 28) in [-1, 1] for N latent points (and a label for a conditional GAN)."""
    z = latent_tensor(model, points)
    return model.generate(z, label_tensor(model, label, len(z))).cpu()
