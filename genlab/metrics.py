"""Scores of trained models: classifier accuracy, reconstruction error, and how recognisable
a generator's images are to an independent classifier (SEEDS.md A, "independent classifier")."""
from __future__ import annotations

import torch
from torch import nn

from .data import ImageDataset
from .training.losses import reconstruction_loss


def _device(module: nn.Module) -> torch.device:
    return next(module.parameters()).device


@torch.inference_mode()
def classify(classifier: nn.Module, images: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """images (N, 1, 28, 28) in [-1, 1] -> class probabilities (N, n_classes), on the CPU."""
    device = _device(classifier)
    chunks = [torch.softmax(classifier(images[i:i + batch_size].to(device)), dim=1).cpu()
              for i in range(0, len(images), batch_size)]
    return torch.cat(chunks)


def classifier_accuracy(classifier: nn.Module, data: ImageDataset) -> float:
    """Fraction of `data` whose most probable class is its label."""
    return float((classify(classifier, data.images).argmax(1) == data.labels).float().mean())


@torch.inference_mode()
def reconstruction_error(model: nn.Module, data: ImageDataset, batch_size: int = 500) -> float:
    """Mean squared error (pixel scale [0, 1]) of encode -> decode over `data`."""
    device = _device(model)
    total = 0.0
    for i in range(0, len(data), batch_size):
        x = data.images[i:i + batch_size].to(device)
        total += float(reconstruction_loss(model.decode(model.encode(x)), x)) * len(x)
    return total / len(data)


@torch.inference_mode()
def generator_scores(model: nn.Module, classifier: nn.Module, n: int = 1000, seed: int = 0) -> dict:
    """Classify images generated from `n` random latent points (seeded).

    Returns:
        {"mean_top_probability": mean of the classifier's highest probability,
         "classes_covered": how many classes occur as the top class,
         "class_fractions": fraction of images per class,
         "label_agreement": (conditional models only) fraction whose class is the requested label}
    """
    generator = torch.Generator().manual_seed(seed)
    z = model.sample_z(n, generator)
    labels = model.sample_labels(n, generator) if model.conditional else None
    images = torch.cat([model.generate(z[i:i + 500], None if labels is None else labels[i:i + 500])
                        for i in range(0, n, 500)])
    probs = classify(classifier, images)
    top, predicted = probs.max(dim=1)
    fractions = torch.bincount(predicted, minlength=probs.shape[1]).float() / n
    scores = {
        "mean_top_probability": round(float(top.mean()), 4),
        "classes_covered": int((fractions > 0).sum()),
        "class_fractions": [round(float(f), 4) for f in fractions],
    }
    if labels is not None:
        scores["label_agreement"] = round(float((predicted == labels.cpu()).float().mean()), 4)
    return scores
