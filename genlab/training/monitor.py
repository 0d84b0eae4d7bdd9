"""What a training run shows each epoch (SEEDS.md A, "Training monitoring"): the image grid from the
SAME fixed noise, the class-area map of a latent plane and the fraction of it whose class changed
since the previous map, and the weak independent classifier's score of generated images.

`Monitor.observe(epoch, model)` computes one epoch's record; it reads and writes no files and knows
nothing of the interface (the job worker stores what it returns).
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image
from torch import nn

from ..images import class_map_image, image_grid
from ..latent.maps import ClassAreaMap, compute_class_area_map
from ..latent.space import encoded_range
from ..metrics import generator_scores

GENERATIVE_KINDS = ("gan", "cgan", "ae", "vae")
CGAN_MAP_LABEL = 3                 # a conditional GAN's monitored map is the plane generated with this label
VAE_RANGE = (-3.0, 3.0)            # a VAE's monitored plane: 3 standard deviations of its N(0, 1) prior


@dataclass
class MonitorConfig:
    samples: int = 64              # images in the fixed-noise grid (8 x 8)
    map_every: int = 1             # a class-area map every N epochs (0: never)
    map_resolution: int = 48       # grid points per axis of the monitored plane
    score_samples: int = 500       # generated images the weak classifier scores each epoch
    seed: int = 1234               # seed of the fixed noise (and of the scored samples)
    final_images: int = 1000       # generated images (and test digits) in the final scores and FID

    def __post_init__(self):
        for name, low, high in (("samples", 1, 256), ("map_every", 0, 1000), ("map_resolution", 8, 128),
                                ("score_samples", 10, 10_000), ("final_images", 10, 10_000)):
            value = getattr(self, name)
            if not isinstance(value, int) or not low <= value <= high:
                raise ValueError(f"{name} must be an integer in {low}..{high}, got {value!r}")


@dataclass
class EpochRecord:
    epoch: int
    samples: Image.Image | None                # the fixed-noise grid
    class_map: ClassAreaMap | None             # when a map was due this epoch
    map_change: float | None                   # fraction of grid points whose class changed since the last map
    scores: dict                               # the weak classifier's scores ({} for a classifier run)
    seconds: float                             # time this monitoring took


def map_change(before: np.ndarray, after: np.ndarray) -> float:
    """Fraction of grid points whose class differs between two maps of the same grid."""
    if before.shape != after.shape:
        raise ValueError(f"maps of different grids: {before.shape} and {after.shape}")
    return float((before != after).mean())


class Monitor:
    """Per-epoch monitoring of one run of a generative model.

    Args:
        cfg: what to compute and how often.
        map_classifier: colours the class-area maps (the strong classifier).
        score_classifier: scores generated images every epoch (the weak classifier).
        real_images: a fixed batch of test digits; an autoencoder's monitored plane covers their codes.
    """

    def __init__(self, cfg: MonitorConfig, map_classifier: nn.Module | None, score_classifier: nn.Module | None,
                 real_images: torch.Tensor | None = None):
        self.cfg = cfg
        self.map_classifier, self.score_classifier = map_classifier, score_classifier
        self.real_images = real_images
        self.last_labels: np.ndarray | None = None
        self._noise: tuple[torch.Tensor, torch.Tensor | None] | None = None

    def fixed_noise(self, model: nn.Module) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The same latent points (and labels 0, 1, ..., 9, 0, ... for a conditional model) every epoch."""
        if self._noise is None:
            generator = torch.Generator().manual_seed(self.cfg.seed)
            z = model.sample_z(self.cfg.samples, generator)
            labels = torch.arange(self.cfg.samples) % model.n_classes if model.conditional else None
            self._noise = (z, labels)
        return self._noise

    def plane(self, model: nn.Module) -> tuple[list[tuple[float, float]], int | None]:
        """The monitored plane (latent axes 0 and 1, the others at 0): its two ranges and the label."""
        if model.kind == "vae":
            return [VAE_RANGE] * 2, None
        if model.kind == "ae":   # an AE's codes have no fixed bounds: the plane follows the encoded digits
            return encoded_range(model, self.real_images)[:2], None
        return [(-1.0, 1.0)] * 2, CGAN_MAP_LABEL if model.conditional else None

    @torch.inference_mode()
    def observe(self, epoch: int, model: nn.Module) -> EpochRecord:
        """One epoch's monitoring of `model` (in eval mode while observed; the caller restores train mode)."""
        started = time.perf_counter()
        if model.kind not in GENERATIVE_KINDS:
            return EpochRecord(epoch, None, None, None, {}, 0.0)
        was_training = model.training
        model.eval()
        try:
            z, labels = self.fixed_noise(model)
            device = next(model.parameters()).device
            images = model.generate(z.to(device), None if labels is None else labels.to(device))
            samples = image_grid(images, nrow=8)
            scores = {}
            if self.score_classifier is not None:
                scores = generator_scores(model, self.score_classifier, n=self.cfg.score_samples, seed=self.cfg.seed)
            class_map, change = None, None
            every = self.cfg.map_every
            if self.map_classifier is not None and every and epoch % every == 0 and model.latent_dim >= 2:
                ranges, label = self.plane(model)
                class_map = compute_class_area_map(model, self.map_classifier, (0, 1), ranges,
                                                   self.cfg.map_resolution, label=label)
                if self.last_labels is not None:
                    change = map_change(self.last_labels, class_map.labels)
                self.last_labels = class_map.labels
        finally:
            model.train(was_training)
        return EpochRecord(epoch, samples, class_map, change, scores, round(time.perf_counter() - started, 3))


def map_picture(class_map: ClassAreaMap, scale: int = 4) -> Image.Image:
    """The monitored map as a picture (y up), as the latent pad draws it."""
    return class_map_image(class_map.labels, class_map.confidence, scale=scale)
