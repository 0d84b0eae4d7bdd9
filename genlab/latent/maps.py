"""Class-area maps: every point of a grid over (part of) a latent space, coloured by the class an
independent classifier gives its generated image (SEEDS.md A, "map of class areas").

One function for every case: a square over two latent axes (the 2D map, or a slice through a
3D/4D space), a cube over three (16 points per axis in the thesis), a hypercube over four (a cube
per value of the 4th coordinate). The axes that are not mapped stay at fixed values.

Speed comes from the shape of the answer, not only from batching: class areas are large regions,
so `method="adaptive"` classifies a coarse lattice first (every `coarse_step`-th grid point), then
halves the step again and again; a new point whose enclosing coarse cell has the same class at
every corner takes that class without running the models, and only the cells that straddle a
border are refined. In 3 and 4 dimensions a cell has 8 or 16 corners and most cells of a 16-point grid
touch a border, so at the last level a point takes the class that at least `finest_share` (3/4) of its
corners share (the shipped 4D GAN: 27% of the 16^4 points run instead of 40%, 99.6% agreement with brute
force instead of 99.9%). Where bfloat16 is native (AVX512-BF16 CPUs, CUDA) the adaptive method also runs the
models in bfloat16 and re-runs in float32 only the close calls (see PointClassifier); the models run as
private copies with their batch norms folded into the layers before them (`fuse_batch_norms`).
`method="brute"` runs every point in float32: the reference the tests and the benchmark compare against.

Maps are cached on disk beside the checkpoint (`<folder>/.genlab-cache/maps/`; new maps go to
$GENLAB_CACHE_DIR instead when it is set or that folder is not writable), keyed by the checkpoint's and the
classifier's content hashes and every parameter of the map, so a changed checkpoint never shows
a stale map.
"""
from __future__ import annotations

import copy
import hashlib
import io
import itertools
import json
import os
import time
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn

from ..checkpoints import model_hash
from ..files import atomic_write, cache_root, file_stamp

MAP_VERSION = 2                  # bump when the computation changes, so old cache files are not used
METHODS = ("adaptive", "brute")
COARSE_STEP = 8                  # the adaptive method's first lattice step (the shipped 2D GAN: 99.96% agreement)
FINEST_SHARE = 0.75              # cubes and hypercubes: at the last level, 3 of 4 corners agreeing decide (see below)
MARGIN = {2: 0.1, 3: 0.03, 4: 0.03}   # close calls (top-two gap below it) run again in float32, per mapped axes
Progress = Callable[[float, str], None]


@dataclass
class ClassAreaMap:
    """A class-area map over `len(axes)` latent axes, `resolution` points per axis.

    Array index order follows `axes`: `labels[i, j]` is the point with coordinate `coords[0][i]` on
    latent axis `axes[0]` and `coords[1][j]` on `axes[1]` (for a 2D map: i along x, j along y).
    """
    labels: np.ndarray                       # int16, shape (resolution,) * len(axes): the top class
    confidence: np.ndarray                   # float32, same shape: its probability (estimated where filled)
    axes: tuple[int, ...]                    # which latent coordinates the array axes run along
    coords: list[np.ndarray]                 # the grid values along each mapped axis
    fixed: dict[int, float]                  # latent coordinate -> value, for the axes not mapped
    latent_dim: int
    label: int | None = None                 # class label fed to a conditional generator
    computed_fraction: float = 1.0           # fraction of grid points run through the models
    seconds: float = 0.0                     # computing time (0 when read from the cache)
    key: str = ""                            # cache key (identifies the map: model, classifier, spec)
    from_cache: bool = False
    meta: dict = field(default_factory=dict)

    @property
    def resolution(self) -> int:
        return self.labels.shape[0]

    def nearest_index(self, axis: int, value: float) -> int:
        """Index of the grid value closest to `value` along latent coordinate `axis`."""
        values = self.coords[self.axes.index(axis)]
        return int(np.abs(values - value).argmin())

    def slice(self, axis: int, index: int) -> "ClassAreaMap":
        """The map with latent coordinate `axis` fixed at its `index`-th grid value (one fewer dimension)."""
        position = self.axes.index(axis)
        take = lambda a: np.take(a, index, axis=position)  # noqa: E731
        return ClassAreaMap(
            labels=take(self.labels), confidence=take(self.confidence),
            axes=tuple(a for a in self.axes if a != axis),
            coords=[c for a, c in zip(self.axes, self.coords) if a != axis],
            fixed={**self.fixed, axis: float(self.coords[position][index])}, latent_dim=self.latent_dim,
            label=self.label, computed_fraction=self.computed_fraction, key=f"{self.key}/{axis}={index}",
            from_cache=self.from_cache, meta=self.meta)


def agreement(a: ClassAreaMap | np.ndarray, b: ClassAreaMap | np.ndarray) -> float:
    """Fraction of grid points where two maps give the same class."""
    la = a.labels if isinstance(a, ClassAreaMap) else a
    lb = b.labels if isinstance(b, ClassAreaMap) else b
    return float((la == lb).mean())


def fuse_batch_norms(module: nn.Module) -> nn.Module:
    """Fold each eval-mode batch norm that directly follows a convolution, transposed convolution or linear
    layer inside an nn.Sequential into that layer (torch.nn.utils.fusion; the batch norm becomes an Identity),
    and make the activations work in place. For a private inference copy only: the result computes the same
    function (to float rounding) with fewer passes over the data (the strong classifier: 73 -> 51 ms per 512
    images in bfloat16 here)."""
    from torch.nn.utils.fusion import fuse_conv_bn_eval, fuse_linear_bn_eval

    for seq in [m for m in module.modules() if isinstance(m, nn.Sequential)]:
        names = list(seq._modules)
        for first_name, second_name in zip(names, names[1:]):
            first, second = seq._modules[first_name], seq._modules[second_name]
            if not isinstance(second, (nn.BatchNorm1d, nn.BatchNorm2d)) or second.training or not second.track_running_stats:
                continue
            if isinstance(first, nn.ConvTranspose2d) and isinstance(second, nn.BatchNorm2d):
                fused = fuse_conv_bn_eval(first, second, transpose=True)
            elif isinstance(first, nn.Conv2d) and isinstance(second, nn.BatchNorm2d):
                fused = fuse_conv_bn_eval(first, second)
            elif isinstance(first, nn.Linear) and isinstance(second, nn.BatchNorm1d):
                fused = fuse_linear_bn_eval(first, second)
            else:
                continue
            seq._modules[first_name], seq._modules[second_name] = fused, nn.Identity()
    for m in module.modules():
        if isinstance(m, (nn.ReLU, nn.LeakyReLU, nn.ELU)):
            m.inplace = True
    return module


class Float32Linear(nn.Module):
    """A linear layer that runs in float32 even under bfloat16 autocast. oneDNN builds a bfloat16 kernel per
    shape on first use; for the maps' small dense layers (a generator's 2 -> 12,544, a classifier's heads)
    building them took longer than running the layers in float32 (the first 2D map of a process: 0.71-0.90 s
    -> 0.48-0.77 s here; later maps unchanged). The next convolution casts back to bfloat16."""

    def __init__(self, linear: nn.Linear):
        super().__init__()
        self.linear = linear

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch.autocast(x.device.type, enabled=False):
            return self.linear(x.float())


def _float32_linears(module: nn.Module) -> nn.Module:
    for parent in list(module.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, nn.Linear):
                setattr(parent, name, Float32Linear(child))
    return module


def inference_copy(module: nn.Module) -> nn.Module:
    """A private eval-mode copy with its batch norms folded in (`fuse_batch_norms`), its linear layers kept in
    float32 under autocast (`Float32Linear`), in channels-last memory format (faster convolutions on CPU).

    Cached models are shared by every session and must never be changed, so the copy is what
    gets converted.
    """
    clone = _float32_linears(fuse_batch_norms(copy.deepcopy(module).eval()))
    return clone.to(memory_format=torch.channels_last)


def fast_precision_available(device: torch.device) -> bool:
    """Whether bfloat16 runs natively here (AVX512-BF16 / AMX CPUs, CUDA), so it is faster, not slower."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


class PointClassifier:
    """latent points (M, d) -> (top class, its probability), batched, for one generator and classifier.

    With `fast=True` (and native bfloat16), every point runs in bfloat16 first; a point whose two most
    probable classes are within `margin` of each other is run again in float32. bfloat16 moves the
    probabilities by about 0.01, so the top class is the float32 one but for a few points near a border
    (the benchmark's agreement with brute force counts them).
    """

    def __init__(self, model: nn.Module, classifier: nn.Module, label: int | None = None, batch_size: int = 512,
                 fast: bool = True, margin: float = 0.1):
        if model.conditional and label is None:
            raise ValueError("a conditional generator needs the class label whose map to compute")
        self.model, self.classifier = inference_copy(model), inference_copy(classifier)
        self.device = next(self.model.parameters()).device
        self.label, self.batch_size, self.margin = label, batch_size, margin
        self.fast = fast and fast_precision_available(self.device)
        self.rechecked = 0                       # points run again in float32

    def _probabilities(self, z: torch.Tensor, low_precision: bool) -> torch.Tensor:
        labels = None
        if self.label is not None:
            labels = torch.full((len(z),), self.label, dtype=torch.long, device=self.device)
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=low_precision):
            images = self.model.generate(z, labels).contiguous(memory_format=torch.channels_last)
            logits = self.classifier(images)
        return torch.softmax(logits.float(), dim=1)

    @torch.inference_mode()
    def __call__(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        top_class, top_prob = [], []
        for start in range(0, len(z), self.batch_size):
            chunk = torch.as_tensor(z[start:start + self.batch_size], dtype=torch.float32, device=self.device)
            probs = self._probabilities(chunk, low_precision=self.fast)
            if self.fast:
                best_two = probs.topk(2, dim=1).values
                unsure = (best_two[:, 0] - best_two[:, 1]) < self.margin
                if unsure.any():
                    probs[unsure] = self._probabilities(chunk[unsure], low_precision=False)
                    self.rechecked += int(unsure.sum())
            p, c = probs.max(dim=1)
            top_class.append(c.cpu().numpy())
            top_prob.append(p.cpu().numpy())
        return np.concatenate(top_class).astype(np.int16), np.concatenate(top_prob).astype(np.float32)


def _lattice(n: int, step: int) -> np.ndarray:
    """Every `step`-th index of 0..n-1, always with the last index."""
    idx = np.arange(0, n, step)
    return idx if idx[-1] == n - 1 else np.append(idx, n - 1)


def _steps(coarse_step: int) -> list[int]:
    """coarse_step, coarse_step/2, ..., 1 (coarse_step must be a power of two)."""
    if coarse_step < 1 or coarse_step & (coarse_step - 1):
        raise ValueError(f"coarse_step must be a power of two, got {coarse_step}")
    steps = [coarse_step]
    while steps[-1] > 1:
        steps.append(steps[-1] // 2)
    return steps


def _latent_points(index_arrays: list[np.ndarray], coords: list[np.ndarray], axes: tuple[int, ...],
                   fixed: dict[int, float], latent_dim: int) -> np.ndarray:
    """Grid indices (one array per mapped axis, each (M,)) -> latent points (M, latent_dim)."""
    z = np.zeros((len(index_arrays[0]), latent_dim), dtype=np.float32)
    for axis, value in fixed.items():
        z[:, axis] = value
    for axis, values, idx in zip(axes, coords, index_arrays):
        z[:, axis] = values[idx]
    return z


def compute_class_area_map(model: nn.Module, classifier: nn.Module, axes: tuple[int, ...],
                           ranges: list[tuple[float, float]], resolution: int = 100,
                           fixed: dict[int, float] | None = None, label: int | None = None,
                           method: str = "adaptive", coarse_step: int = COARSE_STEP, batch_size: int = 512,
                           finest_share: float | None = None, margin: float | None = None,
                           progress: Progress | None = None) -> ClassAreaMap:
    """Compute a class-area map (no cache; see `class_area_map` for the cached entry point).

    Args:
        model: a generative model with `generate(z, labels)` and `latent_dim` (GAN, CGAN, AE, VAE).
        classifier: images (N, 1, 28, 28) in [-1, 1] -> logits (N, classes).
        axes: the latent coordinates to map, e.g. (0, 1) for a plane, (0, 1, 2) for a cube.
        ranges: (low, high) per mapped axis.
        resolution: grid points per mapped axis.
        fixed: values of the latent coordinates that are not mapped (missing ones are 0).
        label: the class label for a conditional generator.
        method: "adaptive" (coarse-to-fine, refining only borders) or "brute" (every point).
        coarse_step: the adaptive method's first lattice step in grid points (a power of two).
        finest_share: at the last level, the share of a cell's corners that must agree for a point to take
            their class unclassified (1: all; default FINEST_SHARE for 3 and more axes, 1 for a plane).
        margin: the top-two probability gap below which a bfloat16 call is run again in float32 (default
            MARGIN by the number of axes).
        progress: called with (fraction done, message).
    Returns:
        The map; `computed_fraction` says how many grid points went through the models.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    d = model.latent_dim
    axes = tuple(int(a) for a in axes)
    if not axes or len(set(axes)) != len(axes) or not all(0 <= a < d for a in axes):
        raise ValueError(f"axes must be distinct latent coordinates in 0..{d - 1}, got {axes}")
    if len(ranges) != len(axes) or not all(lo < hi for lo, hi in ranges):
        raise ValueError(f"need one (low, high) range with low < high per mapped axis, got {ranges}")
    if not 2 <= resolution <= 1024:
        raise ValueError(f"resolution must be in 2..1024, got {resolution}")
    fixed = {int(a): float(v) for a, v in (fixed or {}).items() if int(a) not in axes}
    fixed.update({a: 0.0 for a in range(d) if a not in axes and a not in fixed})
    coords = [np.linspace(lo, hi, resolution, dtype=np.float32) for lo, hi in ranges]
    k, n = len(axes), resolution
    finest_share = (FINEST_SHARE if k >= 3 else 1.0) if finest_share is None else float(finest_share)
    margin = MARGIN.get(k, 0.03) if margin is None else float(margin)
    if not 0.5 < finest_share <= 1:
        raise ValueError(f"finest_share must be in (0.5, 1], got {finest_share}")
    classify = PointClassifier(model, classifier, label, batch_size, fast=method == "adaptive", margin=margin)
    started = time.perf_counter()
    labels = np.full((n,) * k, -1, dtype=np.int16)
    confidence = np.zeros((n,) * k, dtype=np.float32)
    largest = 1 << ((n - 1).bit_length() - 1)  # the largest power of two below n
    steps = [1] if method == "brute" else _steps(min(coarse_step, largest))
    computed = 0

    def run(index_arrays: list[np.ndarray], done: float, share: float) -> None:
        nonlocal computed
        z = _latent_points(index_arrays, coords, axes, fixed, d)
        for start in range(0, len(z), 4 * batch_size):
            c, p = classify(z[start:start + 4 * batch_size])
            where = tuple(a[start:start + 4 * batch_size] for a in index_arrays)
            labels[where], confidence[where] = c, p
            if progress:
                progress(min(1.0, done + share * min(1.0, (start + len(c)) / len(z))),
                         f"classifying generated images: {computed + start + len(c):,} so far")
        computed += len(z)

    previous = None
    for level, step in enumerate(steps):
        lattice = _lattice(n, step)
        mesh = [m.ravel() for m in np.meshgrid(*([lattice] * k), indexing="ij")]
        todo = labels[tuple(mesh)] < 0
        mesh = [m[todo] for m in mesh]
        done, share = level / len(steps), 1 / len(steps)
        if previous is not None and len(mesh[0]):
            # The enclosing cell of the previous lattice: along each axis, the lattice values around the index.
            corners_lo, corners_hi = [], []
            for m in mesh:
                right = np.searchsorted(previous, m, side="right")
                left = np.searchsorted(previous, m, side="left")
                corners_lo.append(previous[right - 1])
                corners_hi.append(previous[np.minimum(left, len(previous) - 1)])
            corner_labels, corner_conf = [], []
            for choice in itertools.product((0, 1), repeat=k):
                where = tuple(corners_hi[i] if c else corners_lo[i] for i, c in enumerate(choice))
                corner_labels.append(labels[where])
                corner_conf.append(confidence[where])
            corner_labels = np.stack(corner_labels)
            if step == 1 and finest_share < 1:
                # the last level: a point whose corners mostly agree takes their label (see `finest_share`)
                counts = (corner_labels[:, None, :] == corner_labels[None, :, :]).sum(axis=0)
                best = counts.argmax(axis=0)
                majority = corner_labels[best, np.arange(corner_labels.shape[1])]
                uniform = counts.max(axis=0) >= finest_share * len(corner_labels)
            else:
                majority = corner_labels[0]
                uniform = (corner_labels == corner_labels[0]).all(axis=0)
            filled = tuple(m[uniform] for m in mesh)
            labels[filled] = majority[uniform]
            confidence[filled] = np.stack(corner_conf).mean(axis=0)[uniform]
            mesh = [m[~uniform] for m in mesh]
        if len(mesh[0]):
            run(mesh, done, share)
        previous = lattice
    if progress:
        progress(1.0, f"done: {computed:,} of {n ** k:,} points classified")
    return ClassAreaMap(labels=labels, confidence=confidence, axes=axes, coords=coords, fixed=fixed,
                        latent_dim=d, label=label, computed_fraction=computed / n ** k,
                        seconds=time.perf_counter() - started,
                        meta={"method": method, "coarse_step": coarse_step if method == "adaptive" else 1,
                              "precision": "bfloat16, close calls in float32" if classify.fast else "float32",
                              "rechecked": classify.rechecked, "finest_share": finest_share, "margin": margin})


# --- the disk cache -------------------------------------------------------------------------------

@lru_cache(maxsize=64)
def _hash_of(path: str, size: int, mtime_ns: int) -> str:
    return model_hash(path)


def file_hash(path: str | os.PathLike) -> str:
    """sha256 of a checkpoint's model (genlab.checkpoints.model_hash: kind, config, tensors; not its metadata),
    remembered while the file's size and modification time stay the same."""
    return _hash_of(str(Path(path).resolve()), *file_stamp(path))


def _beside(checkpoint_path: str | os.PathLike) -> Path:
    return Path(checkpoint_path).resolve().parent / ".genlab-cache" / "maps"


def _elsewhere() -> Path:
    return cache_root() / "maps"


def cache_folder(checkpoint_path: str | os.PathLike) -> Path:
    """Where new maps of a checkpoint are written: `.genlab-cache/maps` beside it, or
    $GENLAB_CACHE_DIR/maps (else ~/.cache/genlab/maps) when that is set or the checkpoint's folder
    is not writable (a read-only deployment)."""
    if os.environ.get("GENLAB_CACHE_DIR") or not os.access(Path(checkpoint_path).resolve().parent, os.W_OK):
        return _elsewhere()
    return _beside(checkpoint_path)


def cache_folders(checkpoint_path: str | os.PathLike) -> list[Path]:
    """Where maps of a checkpoint are looked for: beside it first (maps shipped with it), then the other cache."""
    return list(dict.fromkeys([_beside(checkpoint_path), _elsewhere()]))


def map_key(checkpoint_path, classifier_path, axes, ranges, resolution, fixed, label, method, coarse_step) -> str:
    """The cache key: model hashes of both checkpoints (their weights and configs) and every parameter of the map."""
    spec = {
        "version": MAP_VERSION, "model": file_hash(checkpoint_path), "classifier": file_hash(classifier_path),
        "axes": list(axes), "ranges": [[round(float(lo), 6), round(float(hi), 6)] for lo, hi in ranges],
        "resolution": int(resolution), "fixed": {str(a): round(float(v), 6) for a, v in sorted((fixed or {}).items())},
        "label": label, "method": method, "coarse_step": coarse_step if method == "adaptive" else 1,
    }
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:24]


def _save(path: Path, m: ClassAreaMap) -> None:
    buffer = io.BytesIO()
    np.savez_compressed(
        buffer, labels=m.labels, confidence=m.confidence.astype(np.float16), axes=np.array(m.axes),
        coords=np.stack(m.coords), fixed_axes=np.array(sorted(m.fixed), dtype=np.int64),
        fixed_values=np.array([m.fixed[a] for a in sorted(m.fixed)], dtype=np.float64),
        latent_dim=m.latent_dim, label=-1 if m.label is None else m.label,
        computed_fraction=m.computed_fraction, seconds=m.seconds)
    atomic_write(path, buffer.getvalue(), sync=False)


def _load(path: Path, key: str, shape: tuple[int, ...]) -> ClassAreaMap | None:
    """The cached map, or None when the file is missing, unreadable or does not have the expected shape."""
    try:
        with np.load(path, allow_pickle=False) as f:
            labels, confidence = f["labels"].astype(np.int16), f["confidence"].astype(np.float32)
            if labels.shape != shape or confidence.shape != shape:
                return None
            label = int(f["label"])
            return ClassAreaMap(
                labels=labels, confidence=confidence, axes=tuple(int(a) for a in f["axes"]),
                coords=[c.astype(np.float32) for c in f["coords"]],
                fixed={int(a): float(v) for a, v in zip(f["fixed_axes"], f["fixed_values"])},
                latent_dim=int(f["latent_dim"]), label=None if label < 0 else label,
                computed_fraction=float(f["computed_fraction"]), seconds=0.0, key=key, from_cache=True,
                meta={"computed_seconds": float(f["seconds"])})
    except (OSError, ValueError, KeyError):
        return None


def class_area_map(model: nn.Module, classifier: nn.Module, checkpoint_path: str | os.PathLike,
                   classifier_path: str | os.PathLike, axes: tuple[int, ...], ranges: list[tuple[float, float]],
                   resolution: int = 100, fixed: dict[int, float] | None = None, label: int | None = None,
                   method: str = "adaptive", coarse_step: int = COARSE_STEP, progress: Progress | None = None,
                   cache: bool = True, gate: Callable[[], AbstractContextManager] | None = None) -> ClassAreaMap:
    """The class-area map from the disk cache, computed (and stored) when missing.

    `model` and `classifier` must be the models stored at `checkpoint_path` and `classifier_path`:
    the cache key is made from those files' contents. Arguments as in `compute_class_area_map`; `gate`,
    when given, makes the context a computation runs in (e.g. a turn at the server's heavy work): the
    cache is read again once inside it, so a map someone else computed meanwhile is not computed twice.
    """
    fixed = {int(a): float(v) for a, v in (fixed or {}).items() if int(a) not in axes}
    key = map_key(checkpoint_path, classifier_path, axes, ranges, resolution, fixed, label, method, coarse_step)
    name = f"{Path(checkpoint_path).stem}.{key}.npz"

    def cached() -> ClassAreaMap | None:
        for folder in cache_folders(checkpoint_path) if cache else []:
            found = _load(folder / name, key, (resolution,) * len(axes))
            if found is not None:
                return found
        return None

    found = cached()
    if found is not None:
        return found
    with gate() if gate is not None else nullcontext():
        found = cached() if gate is not None else None
        if found is not None:
            return found
        result = compute_class_area_map(model, classifier, axes, ranges, resolution, fixed, label, method,
                                        coarse_step, progress=progress)
        result.key = key
        if cache:
            try:
                _save(cache_folder(checkpoint_path) / name, result)
            except OSError:
                pass  # a read-only disk only costs the next visitor the computation
    return result
