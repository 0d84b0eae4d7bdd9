"""The extent of a model's latent space, and user-given points checked against it.

A GAN's latent space is the cube [-1, 1]^d it was trained on. An autoencoder's or VAE's has no
fixed bounds: its range is the box that covers the codes of real images (encoded test digits),
rounded outwards to half units.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from .encoded import encode_images

AXIS_NAMES = ("z1", "z2", "z3", "z4", "z5", "z6", "z7", "z8")


def axis_name(axis: int) -> str:
    return AXIS_NAMES[axis] if axis < len(AXIS_NAMES) else f"z{axis + 1}"


def encoded_range(model: nn.Module, images: torch.Tensor, batch_size: int = 500) -> list[tuple[float, float]]:
    """(low, high) per latent coordinate covering the codes of `images` (an AE's z, a VAE's mu); see `code_box`."""
    return code_box(encode_images(model, images, batch_size=batch_size).mu)


def code_box(codes: np.ndarray) -> list[tuple[float, float]]:
    """(low, high) per column of `codes` (N, d): the 0.5 and 99.5 percentiles, widened by 10% and rounded
    outwards to multiples of 0.5, so a few outliers do not shrink the rest of the map into a corner."""
    low, high = np.percentile(codes, 0.5, axis=0), np.percentile(codes, 99.5, axis=0)
    pad = (high - low) * 0.1
    return [(math.floor((lo - p) * 2) / 2, math.ceil((hi + p) * 2) / 2) for lo, hi, p in zip(low, high, pad)]


def latent_ranges(model: nn.Module, images: torch.Tensor | None = None) -> list[tuple[float, float]]:
    """(low, high) per latent coordinate: [-1, 1] for a GAN, the encoded data's box for an AE/VAE."""
    if hasattr(model, "encode"):
        if images is None:
            raise ValueError("an autoencoder's latent range comes from encoded images; pass some")
        return encoded_range(model, images)
    return [(-1.0, 1.0)] * model.latent_dim


def default_point(model: nn.Module) -> list[float]:
    """Where the explorer starts: the thesis' (-0.84, 0.54) (a "9" area) for a 2D GAN; for a conditional GAN with
    the thesis' multiply conditioning, a point away from the centre (at the centre z * e_label is 0 for every label,
    so every label draws the same digit); else the origin."""
    if not hasattr(model, "encode") and model.latent_dim == 2:
        return [-0.84, 0.54]
    if getattr(getattr(model, "config", None), "conditioning", None) == "multiply":
        return [(0.6, -0.6, 0.45)[i % 3] for i in range(model.latent_dim)]
    return [0.0] * model.latent_dim


@dataclass
class CheckedPoint:
    point: list[float]
    messages: list[str] = field(default_factory=list)   # what was clamped or refused, for the user


def check_point(values, ranges: list[tuple[float, float]], fallback: list[float]) -> CheckedPoint:
    """A point typed or linked by a user (numbers or strings), checked against `ranges`.

    Out-of-range coordinates are clamped; a non-numeric or missing coordinate, or the wrong number
    of them, refuses the whole point in favour of `fallback`. Each correction comes with a message.
    """
    d = len(ranges)
    if isinstance(values, str):
        values = [v for v in values.replace(";", ",").split(",") if v.strip()]
    values = list(values)
    numbers = []
    for v in values[:d + 1]:   # the wrong count is reported below; no need to parse thousands of values
        try:
            x = float(v)
        except (TypeError, ValueError, OverflowError):
            x = math.nan
        if not math.isfinite(x):
            return CheckedPoint(list(fallback), [f"{str(v)[:20]!r} is not a number; using {_fmt(fallback)} instead"])
        numbers.append(x)
    if len(values) != d:
        return CheckedPoint(list(fallback), [f"a point in this latent space has {d} coordinates, "
                                             f"not {len(values)}; using {_fmt(fallback)} instead"])
    clamped = [min(max(x, lo), hi) for x, (lo, hi) in zip(numbers, ranges)]
    messages = []
    if clamped != numbers:
        messages.append(f"{_fmt(numbers)} lies outside the latent space "
                        f"({' x '.join(f'[{lo:g}, {hi:g}]' for lo, hi in ranges)}); moved to {_fmt(clamped)}")
    return CheckedPoint(clamped, messages)


def _fmt(point) -> str:
    return "(" + ", ".join(f"{x:.3g}" for x in point) + ")"
