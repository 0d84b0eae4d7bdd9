"""Scores of trained models: classifier accuracy, reconstruction error, and how recognisable
a generator's images are to an independent classifier (SEEDS.md A, "independent classifier")."""
from __future__ import annotations

import copy

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


UNSURE_BELOW, UNPLACED_BELOW = 0.9, 0.5   # top probabilities: "unsure" below 0.9, "cannot place" below 0.5


def class_figures(probs: torch.Tensor) -> dict:
    """A classifier's verdicts (N, n_classes) on a set of images: coverage, class shares, confidence."""
    top, predicted = probs.max(dim=1)
    fractions = torch.bincount(predicted, minlength=probs.shape[1]).float() / len(probs)
    return {
        "classes_covered": int((fractions > 0).sum()),
        "class_fractions": [round(float(f), 4) for f in fractions],
        "rarest_class": int(fractions.argmin()), "rarest_class_fraction": round(float(fractions.min()), 4),
        "commonest_class": int(fractions.argmax()), "commonest_class_fraction": round(float(fractions.max()), 4),
        "mean_top_probability": round(float(top.mean()), 4),
        "unsure_share": round(float((top < UNSURE_BELOW).float().mean()), 4),
        "unplaced_share": round(float((top < UNPLACED_BELOW).float().mean()), 4),
    }


def generator_verdict(scores: dict, n_classes: int = 10) -> tuple[str, str]:
    """(verdict, one sentence) for a generator's class_figures: "collapsed" when one class takes half the
    samples or at most a third of the classes occur; "drops classes" when a class is (almost) missing;
    "mostly unrecognisable" when the classifier is unsure of most samples; else "all classes"."""
    covered, common, rare = scores["classes_covered"], scores["commonest_class_fraction"], scores["rarest_class_fraction"]
    unsure = scores["unsure_share"]
    if common >= 0.5 or covered <= n_classes // 3:
        return "collapsed", (f"collapsed: {common:.0%} of the samples are class {scores['commonest_class']}, "
                             f"{covered} of {n_classes} classes occur")
    if covered < n_classes or rare < 0.01:
        missing = [str(c) for c, f in enumerate(scores["class_fractions"]) if f < 0.01]
        return "drops classes", f"drops classes: {', '.join(missing)} (under 1% of the samples each)"
    if unsure >= 0.5:
        return "mostly unrecognisable", f"mostly unrecognisable: the classifier is unsure of {unsure:.0%} of the samples"
    return "all classes", (f"all {n_classes} classes ({rare:.0%} to {common:.0%} of the samples each); "
                           f"the classifier is unsure of {unsure:.0%}")


@torch.inference_mode()
def generator_scores(model: nn.Module, classifier: nn.Module, n: int = 1000, seed: int = 0,
                     generated: tuple[torch.Tensor, torch.Tensor | None] | None = None) -> dict:
    """Classify images generated from `n` random latent points (seeded), or the `generated` (images,
    labels) of `generated_images(model, n, seed)` when the caller has them already.

    Returns:
        class_figures (classes covered, class fractions, rarest and commonest class, mean top probability,
        unsure and cannot-place shares), plus "label_agreement" for conditional models (the fraction whose
        class is the requested label).
    """
    images, labels = generated if generated is not None else generated_images(model, n, seed)
    probs = classify(classifier, images)
    scores = class_figures(probs)
    if labels is not None:
        scores["label_agreement"] = round(float((probs.argmax(1) == labels.cpu()).float().mean()), 4)
    return scores


class ClassifierFeatures(nn.Module):
    """A classifier's penultimate layer as an FID feature extractor (a private copy: the caller's
    classifier, which may be a shared cached model, is never moved or switched to training mode).

    images (N, 1, 28, 28) in [-1, 1] -> features (N, num_features).
    """

    def __init__(self, classifier: nn.Module):
        super().__init__()
        layers = list(classifier.layers)
        last = max(i for i, layer in enumerate(layers) if isinstance(layer, nn.Linear))
        self.features = copy.deepcopy(nn.Sequential(*layers[:last])).eval()
        self.num_features = layers[last].in_features
        self.requires_grad_(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x.float())


@torch.inference_mode()
def frechet_distance(real: torch.Tensor, fake: torch.Tensor, classifier: nn.Module, batch_size: int = 500) -> float:
    """FID between two image sets, in `classifier`'s feature space (torchmetrics' FID with a custom extractor).

    The thesis' FID used Inception on 28x28 digits and came out near 1000 everywhere; in the strong
    classifier's 128 features real test against real train digits gives about 0, and a poor generator more.

    Args:
        real, fake: (N, 1, 28, 28) in [-1, 1]; at least 2 images each (a few hundred for a stable figure).
    """
    from torchmetrics.image.fid import FrechetInceptionDistance

    device = _device(classifier)
    fid = FrechetInceptionDistance(feature=ClassifierFeatures(classifier)).to(device)
    for images, is_real in ((real, True), (fake, False)):
        for i in range(0, len(images), batch_size):
            fid.update(images[i:i + batch_size].to(device), real=is_real)
    return float(fid.compute())


def generated_images(model: nn.Module, n: int = 1000, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor | None]:
    """`n` images (on the CPU) from seeded random latent points, and the random labels a conditional model
    was asked for (None otherwise)."""
    generator = torch.Generator().manual_seed(seed)
    z = model.sample_z(n, generator)
    labels = model.sample_labels(n, generator) if model.conditional else None
    with torch.inference_mode():
        images = torch.cat([model.generate(z[i:i + 500], None if labels is None else labels[i:i + 500]).cpu()
                            for i in range(0, n, 500)])
    return images, labels


def model_scores(model: nn.Module, test: ImageDataset, classifier: nn.Module, fid_images: int = 1000,
                 seed: int = 0) -> dict:
    """The scores a finished run is compared by, from the strong classifier: for a generative model its
    generator_scores and the FID of `fid_images` generated images against as many test digits (plus the
    reconstruction error of an AE/VAE); for a classifier its test accuracy."""
    if model.kind == "classifier":
        return {"test_accuracy": round(classifier_accuracy(model, test), 4)}
    generated = generated_images(model, fid_images, seed)
    scores = generator_scores(model, classifier, n=fid_images, seed=seed, generated=generated)
    scores["fid"] = round(frechet_distance(test.images[:fid_images], generated[0], classifier), 2)
    scores["samples"] = fid_images   # FID depends on the sample count: every figure shown names it
    if hasattr(model, "encode"):
        scores["test_reconstruction_mse"] = round(reconstruction_error(model, test), 5)
    return scores
