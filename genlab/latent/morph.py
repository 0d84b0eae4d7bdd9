"""Morphs: the path from latent point A to B (linear or spherical interpolation), and what the
models make of every step: images, class probabilities, the discriminator's score (SEEDS.md A, C)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..generate import GenerateError, label_tensor, latent_tensor

METHODS = ("linear", "spherical")
MAX_STEPS = 64


def morph_path(a, b, steps: int, method: str = "linear") -> np.ndarray:
    """`steps` points from a to b inclusive, shape (steps, d).

    linear:    z = a * (1 - t) + b * t (the book's morph).
    spherical: the direction turns along the great circle from a's to b's (slerp) while the norm goes
               linearly from |a| to |b|, so every point's norm lies between the endpoints' norms (for
               opposite directions, such as [-1, 0] and [1, 0], through the axis least aligned with a).
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1:
        raise GenerateError(f"A and B must be points of the same latent space, got {a.tolist()} and {b.tolist()}")
    if not isinstance(steps, (int, np.integer)) or not 2 <= steps <= MAX_STEPS:
        raise GenerateError(f"the number of steps must be a whole number from 2 to {MAX_STEPS}, got {steps!r}")
    if method not in METHODS:
        raise GenerateError(f"interpolation must be one of {', '.join(METHODS)}, got {method!r}")
    t = np.linspace(0.0, 1.0, steps)[:, None]
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if method == "linear" or na < 1e-8 or nb < 1e-8:
        path = a * (1 - t) + b * t
    else:
        ua, ub = a / na, b / nb
        theta = np.arccos(np.clip(ua @ ub, -1.0, 1.0))
        if theta < 1e-6:
            direction = ua * (1 - t) + ub * t
        elif np.pi - theta < 1e-6:
            # Opposite directions: every great circle joins them; turn through the axis least aligned with a.
            axis = np.eye(len(a))[np.abs(ua).argmin()]
            perpendicular = axis - (axis @ ua) * ua
            perpendicular /= np.linalg.norm(perpendicular)
            direction = np.cos(t * np.pi) * ua + np.sin(t * np.pi) * perpendicular
        else:
            direction = (np.sin((1 - t) * theta) * ua + np.sin(t * theta) * ub) / np.sin(theta)
        direction /= np.linalg.norm(direction, axis=1, keepdims=True)
        path = direction * (na * (1 - t) + nb * t)
    path[0], path[-1] = a, b                        # exact endpoints, whatever the rounding
    return path


@dataclass
class Morph:
    path: np.ndarray                   # (steps, d) latent points
    images: torch.Tensor               # (steps, 1, 28, 28) in [-1, 1]
    probabilities: np.ndarray | None   # (steps, classes): the classifier's, or None
    realness: np.ndarray | None        # (steps,): the discriminator's sigmoid(logit), GANs only

    @property
    def classes(self) -> list[int] | None:
        return None if self.probabilities is None else self.probabilities.argmax(1).tolist()


@torch.inference_mode()
def morph(model: nn.Module, a, b, steps: int = 16, method: str = "linear", classifier: nn.Module | None = None,
          label: int | None = None) -> Morph:
    """Generate the morph from a to b and look at every step (see `morph_path`)."""
    path = morph_path(a, b, steps, method)
    z = latent_tensor(model, path.tolist())
    labels = label_tensor(model, label, len(z))
    images = model.generate(z, labels)
    probabilities = realness = None
    if classifier is not None:
        probabilities = torch.softmax(classifier(images.to(next(classifier.parameters()).device)), 1).cpu().numpy()
    if hasattr(model, "discriminator"):
        logits = model.discriminator(images, labels) if model.conditional else model.discriminator(images)
        realness = torch.sigmoid(logits).flatten().cpu().numpy()
    return Morph(path=path, images=images.cpu(), probabilities=probabilities, realness=realness)


STRIP_COLUMNS = 16     # a morph's strip: at most this many steps a row


def strip_columns(steps: int) -> int:
    """Columns of a morph's strip of `steps` images (the page's, the live route's and the pad's preview)."""
    return min(steps, STRIP_COLUMNS)


def morph_caption(steps: int, method: str, classes, names) -> str:
    """The strip's caption (the Morph page's and the live morph route's)."""
    return (f"{steps} steps from A (left) to B, {method} interpolation"
            + ("" if classes is None else ": " + " ".join(names[c] for c in classes)))


def classes_along(class_map, path: np.ndarray, samples: int = 200) -> set[int]:
    """The classes of a map's grid points nearest to a finely sampled path (the regions it passes through)."""
    t = np.linspace(0, 1, samples)[:, None]
    fine = np.concatenate([p * (1 - t) + q * t for p, q in zip(path[:-1], path[1:])]) if len(path) > 1 else path
    found = set()
    for z in fine:
        index = tuple(class_map.nearest_index(axis, z[axis]) for axis in class_map.axes)
        found.add(int(class_map.labels[index]))
    return found
