"""Attribute vectors (SEEDS.md C, the book's procedure): the mean code of images WITH an attribute minus
the mean code of images WITHOUT it; z' = z + alpha * vector adds it (alpha < 0 takes it away).

Here the attributes are measured from the digits themselves (no labels needed), or they are a class
("4 to 9": the mean code of the nines minus that of the fours), or two sets of examples a user picks.
A measured attribute splits each class on its own (the top quarter of that class against its bottom
quarter), so the vector carries the attribute and not a change of digit.

Measures, on images (N, 1, 28, 28) in [-1, 1], ink = (x + 1) / 2:
  thickness  2 x (ink mass) / (length of the ink's edge, the summed magnitude of the
             forward differences): the width of
             a stroke, in pixels (a stroke of length L and width w has mass L w and edge length 2 L);
  slant      the lean of the ink from its second moments, in degrees: atan(-mu11 / mu02), positive
             when the top leans right (a shear of x along the height);
  width, height  the extent of the ink mass across the columns / rows between its 2% and 98%
             quantiles, divided by 0.96 (a solid bar of w pixels measures w).
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from typing import Callable

import numpy as np
import torch
from torch import nn

from ..generate import latent_tensor
from ..metrics import classify

VECTOR_FORMAT = "genlab-attribute-vector"
VECTOR_VERSION = 1
MAX_JSON_BYTES = 200_000
MAX_VECTOR_VALUE = 1000.0    # |coordinate| of a loaded vector (codes lie within a few units of 0)
KINDS = ("measured", "class", "examples")


class VectorError(ValueError):
    """An attribute vector cannot be made or read; the message says why."""


def _ink(images) -> np.ndarray:
    x = images.detach().float().cpu().numpy() if isinstance(images, torch.Tensor) else np.asarray(images, np.float32)
    return np.clip((x.reshape(len(x), x.shape[-2], x.shape[-1]) + 1) / 2, 0, 1)


def thickness(images) -> np.ndarray:
    """Stroke thickness in pixels per image, (N,)."""
    ink = np.pad(_ink(images), ((0, 0), (0, 1), (0, 1)))
    gx, gy = np.diff(ink, axis=2)[:, :-1], np.diff(ink, axis=1)[:, :, :-1]     # forward differences
    edge = np.sqrt(gx ** 2 + gy ** 2).sum(axis=(1, 2))
    return 2 * ink.sum(axis=(1, 2)) / np.maximum(edge, 1e-6)


def slant(images) -> np.ndarray:
    """The lean in degrees per image, (N,): positive = the top leans right."""
    ink = _ink(images)
    rows, cols = np.mgrid[:ink.shape[1], :ink.shape[2]].astype(np.float64)
    mass = np.maximum(ink.sum(axis=(1, 2)), 1e-6)
    cy = (ink * rows).sum(axis=(1, 2)) / mass
    cx = (ink * cols).sum(axis=(1, 2)) / mass
    dy, dx = rows[None] - cy[:, None, None], cols[None] - cx[:, None, None]
    mu11 = (ink * dx * dy).sum(axis=(1, 2))
    mu02 = np.maximum((ink * dy * dy).sum(axis=(1, 2)), 1e-6)
    return np.degrees(np.arctan(-mu11 / mu02))


def _extent(profiles: np.ndarray) -> np.ndarray:
    """(N, n) ink per column (or row) -> the extent between the 2% and 98% quantiles of the mass / 0.96."""
    out = np.zeros(len(profiles))
    edges = np.arange(profiles.shape[1] + 1, dtype=np.float64)
    for k, profile in enumerate(profiles):
        total = profile.sum()
        if total <= 0:
            continue
        cumulative = np.concatenate([[0.0], np.cumsum(profile) / total])
        low, high = np.interp([0.02, 0.98], cumulative, edges)
        out[k] = (high - low) / 0.96
    return out


def width(images) -> np.ndarray:
    """Horizontal extent of the ink in pixels per image, (N,)."""
    return _extent(_ink(images).sum(axis=1))


def height(images) -> np.ndarray:
    """Vertical extent of the ink in pixels per image, (N,)."""
    return _extent(_ink(images).sum(axis=2))


@dataclass(frozen=True)
class Attribute:
    name: str
    unit: str
    measure: Callable[..., np.ndarray]
    meaning: str                          # for the user: what the number is


ATTRIBUTES = {
    "thickness": Attribute("thickness", "px", thickness, "stroke width: 2 x ink / length of the ink's edge"),
    "slant": Attribute("slant", "°", slant, "lean of the ink from its moments; positive = top to the right"),
    "width": Attribute("width", "px", width, "horizontal extent of the ink (2% to 98% of its mass)"),
    "height": Attribute("height", "px", height, "vertical extent of the ink (2% to 98% of its mass)"),
}


def measure(images, name: str) -> np.ndarray:
    """The attribute `name` (a key of ATTRIBUTES) of each image, (N,)."""
    if name not in ATTRIBUTES:
        raise VectorError(f"unknown attribute {name!r}; one of {', '.join(ATTRIBUTES)}")
    return ATTRIBUTES[name].measure(images)


def measure_all(images) -> dict[str, np.ndarray]:
    """Every attribute of each image: name -> (N,)."""
    return {name: attribute.measure(images) for name, attribute in ATTRIBUTES.items()}


@dataclass
class AttributeVector:
    name: str                             # "thickness", "4 to 9", a user's name
    kind: str                             # one of KINDS
    vector: list[float]                   # d numbers: mean z with minus mean z without
    model: str = ""                       # the checkpoint file whose codes made it
    n_with: int = 0
    n_without: int = 0
    description: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def latent_dim(self) -> int:
        return len(self.vector)

    @property
    def norm(self) -> float:
        return float(np.linalg.norm(self.vector))

    def to_json(self) -> str:
        return json.dumps({"format": VECTOR_FORMAT, "version": VECTOR_VERSION, "latent_dim": self.latent_dim,
                           **asdict(self)}, indent=1)


def attribute_vector(z_with, z_without) -> np.ndarray:
    """The book's attribute vector: mean of `z_with` (N, d) minus mean of `z_without` (M, d) -> (d,)."""
    z_with, z_without = np.asarray(z_with, np.float64), np.asarray(z_without, np.float64)
    if len(z_with) == 0 or len(z_without) == 0:
        raise VectorError("an attribute vector needs at least one image with the attribute and one without")
    if z_with.ndim != 2 or z_without.ndim != 2 or z_with.shape[1] != z_without.shape[1]:
        raise VectorError("the codes with and without the attribute must be (N, d) arrays of the same d")
    return z_with.mean(0) - z_without.mean(0)


def split_by_class(values: np.ndarray, labels: np.ndarray, fraction: float = 0.25) -> tuple[np.ndarray, np.ndarray]:
    """Masks (with, without): per class, its top `fraction` of `values` and its bottom `fraction`."""
    values, labels = np.asarray(values), np.asarray(labels)
    with_mask, without_mask = np.zeros(len(values), bool), np.zeros(len(values), bool)
    for cls in np.unique(labels):
        members = labels == cls
        low, high = np.quantile(values[members], [fraction, 1 - fraction])
        with_mask |= members & (values >= high)
        without_mask |= members & (values <= low)
    return with_mask, without_mask


def measured_vector(z, images, labels, name: str, model: str = "", fraction: float = 0.25) -> AttributeVector:
    """The vector of a measured attribute: per class, the top `fraction` of the images minus the bottom one.

    Args:
        z: (N, d) codes of `images` (N, 1, 28, 28); labels: (N,) their classes.
    """
    values = measure(images, name)
    with_mask, without_mask = split_by_class(values, np.asarray(labels), fraction)
    unit = ATTRIBUTES[name].unit
    return AttributeVector(
        name, "measured", attribute_vector(np.asarray(z)[with_mask], np.asarray(z)[without_mask]).tolist(), model,
        int(with_mask.sum()), int(without_mask.sum()),
        f"{name}: the {fraction:.0%} of each digit's images with the most minus the {fraction:.0%} with the least "
        f"(mean {values[with_mask].mean():.1f} {unit} against {values[without_mask].mean():.1f} {unit})")


def class_vector(z, labels, source: int, target: int, class_names: tuple[str, ...], model: str = "") -> AttributeVector:
    """From class `source` to class `target`: mean code of the targets minus mean code of the sources."""
    z, labels = np.asarray(z), np.asarray(labels)
    if source == target:
        raise VectorError("pick two different classes")
    a, b = class_names[source], class_names[target]
    return AttributeVector(f"{a} to {b}", "class", attribute_vector(z[labels == target], z[labels == source]).tolist(),
                           model, int((labels == target).sum()), int((labels == source).sum()),
                           f"the mean code of the {b}s minus the mean code of the {a}s",
                           {"source": int(source), "target": int(target)})


def examples_vector(z, with_indices, without_indices, name: str, model: str = "") -> AttributeVector:
    """From two sets of example images a user picked (indices into `z`)."""
    with_indices, without_indices = list(with_indices), list(without_indices)
    if set(with_indices) & set(without_indices):
        raise VectorError("an image cannot be both with and without the attribute")
    z = np.asarray(z)
    return AttributeVector(name.strip() or "my attribute", "examples",
                           attribute_vector(z[with_indices], z[without_indices]).tolist(), model,
                           len(with_indices), len(without_indices),
                           f"the mean code of {len(with_indices)} picked images minus that of {len(without_indices)} others")


def _finite(v: int | float) -> bool:
    """A finite number that fits a float (a JSON integer may have hundreds of digits)."""
    try:
        return math.isfinite(float(v))
    except OverflowError:
        return False


def vector_from_json(text: str | bytes, latent_dim: int | None = None) -> AttributeVector:
    """Read a vector saved with `AttributeVector.to_json`, checked (and against `latent_dim` when given).

    Raises:
        VectorError: not JSON, not a GenLab attribute vector, wrong or non-finite numbers, or made for a
            latent space of another size.
    """
    if isinstance(text, bytes):
        if len(text) > MAX_JSON_BYTES:
            raise VectorError(f"the file has {len(text):,} bytes; an attribute vector is far smaller")
        text = text.decode("utf-8", errors="replace")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise VectorError(f"this is not a JSON file ({err.msg} at line {err.lineno})") from None
    except (ValueError, RecursionError):   # a number of thousands of digits, or arrays nested thousands deep
        raise VectorError("this JSON file is not a GenLab attribute vector (saved from the VAE Lab)") from None
    if not isinstance(data, dict) or data.get("format") != VECTOR_FORMAT:
        raise VectorError("this JSON file is not a GenLab attribute vector (saved from the VAE Lab)")
    vector = data.get("vector")
    if (not isinstance(vector, list) or not vector
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and _finite(v) for v in vector)):
        raise VectorError("the file's vector must be a list of finite numbers")
    if max(abs(v) for v in vector) > MAX_VECTOR_VALUE:
        raise VectorError(f"the file's vector has numbers beyond ±{MAX_VECTOR_VALUE:g}; a latent move is far "
                          "smaller (codes lie within a few units of 0)")
    if latent_dim is not None and len(vector) != latent_dim:
        raise VectorError(f"this vector has {len(vector)} numbers, for a {len(vector)}D latent space; "
                          f"the model here has a {latent_dim}D one")
    kind = data.get("kind") if data.get("kind") in KINDS else "examples"
    text_field = lambda k: str(data.get(k, ""))[:200]  # noqa: E731
    count = lambda k: int(data[k]) if isinstance(data.get(k), int) else 0  # noqa: E731
    return AttributeVector(text_field("name") or "loaded vector", kind, [float(v) for v in vector],
                           text_field("model"), count("n_with"), count("n_without"), text_field("description"),
                           data["extra"] if isinstance(data.get("extra"), dict) else {})


def apply_vector(z, vector, alpha: float) -> np.ndarray:
    """z' = z + alpha * vector, for one point (d,) or many (N, d)."""
    return np.asarray(z, np.float64) + float(alpha) * np.asarray(vector, np.float64)


@dataclass
class Sweep:
    alphas: np.ndarray                    # (A,)
    points: np.ndarray                    # (A, d): z + alpha * vector
    images: torch.Tensor                  # (A, 1, 28, 28) in [-1, 1]
    measures: dict[str, np.ndarray]       # attribute -> (A,) measured on the images
    probabilities: np.ndarray | None      # (A, classes): the classifier's, or None


@torch.inference_mode()
def sweep(model: nn.Module, z, vector, alphas, classifier: nn.Module | None = None) -> Sweep:
    """Decode z + alpha * vector for each alpha, and measure every attribute of each image (a strip over alpha)."""
    alphas = np.asarray(alphas, np.float64)
    points = np.stack([apply_vector(z, vector, alpha) for alpha in alphas])
    images = model.decode(latent_tensor(model, points.tolist())).cpu()
    probabilities = None if classifier is None else classify(classifier, images).numpy()
    return Sweep(alphas, points, images, measure_all(images), probabilities)


@torch.inference_mode()
def mean_sweep(model: nn.Module, z, vector, alphas, name: str, batch_size: int = 512) -> np.ndarray:
    """The attribute `name` averaged over many points z (N, d) moved by alpha * vector: (A,) for the alphas."""
    z = np.asarray(z, np.float64)
    means = []
    for alpha in np.asarray(alphas, np.float64):
        moved = apply_vector(z, vector, alpha)
        values = [measure(model.decode(latent_tensor(model, moved[i:i + batch_size].tolist())).cpu(), name)
                  for i in range(0, len(moved), batch_size)]
        means.append(float(np.concatenate(values).mean()))
    return np.array(means)
