"""Conditional GAN views: one latent point drawn as every class, and how often each class' latent
space really yields that class (from the per-class class-area maps)."""
from __future__ import annotations

import torch
from torch import nn

from ..generate import latent_tensor
from .maps import ClassAreaMap


@torch.inference_mode()
def every_class(model: nn.Module, z: list[float], classifier: nn.Module | None = None):
    """The same latent point with every label 0..N-1 ("in an ideal CGAN every point yields every class").

    Returns:
        (images (N, 1, 28, 28) in [-1, 1], the classifier's top class per image or None,
         its probability per image or None).
    """
    if not getattr(model, "conditional", False):
        raise ValueError("only a conditional GAN draws one point as every class")
    zt = latent_tensor(model, [z]).expand(model.n_classes, -1)
    labels = torch.arange(model.n_classes, device=zt.device)
    images = model.generate(zt, labels).cpu()
    if classifier is None:
        return images, None, None
    probs = torch.softmax(classifier(images.to(next(classifier.parameters()).device)), dim=1).cpu()
    top, predicted = probs.max(dim=1)
    return images, predicted.tolist(), top.tolist()


def label_agreement(class_maps: dict[int, ClassAreaMap]) -> dict[int, float]:
    """label -> fraction of that label's map (the conditional generator asked for that label at every
    grid point) where the classifier sees the requested class."""
    return {label: float((m.labels == label).mean()) for label, m in class_maps.items()}
