"""Image classifiers: the independent classifier (IC) of the thesis (SEEDS.md A).

size="strong": a small VGG-style CNN, over 99% test accuracy on full MNIST after a few CPU
epochs; it colours class-area maps and scores generated images.
size="weak": a tiny CNN, quick enough to score samples during training.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import torch
from torch import nn

from .layers import check_choice

SIZES = ("strong", "weak")


@dataclass
class ClassifierConfig:
    size: str = "strong"             # strong (maps, final scores) or weak (monitoring during training).
    n_classes: int = 10              # Number of classes.

    def __post_init__(self):
        check_choice("size", self.size, SIZES)
        if not isinstance(self.n_classes, int) or not 2 <= self.n_classes <= 1000:
            raise ValueError(f"n_classes must be an integer in 2..1000, got {self.n_classes!r}")


def _strong_layers(n_classes: int) -> OrderedDict:
    return OrderedDict([
        ("conv1", nn.Conv2d(1, 32, 3, padding=1)),
        ("bn1", nn.BatchNorm2d(32)),
        ("act1", nn.ReLU()),
        ("conv2", nn.Conv2d(32, 32, 3, padding=1)),
        ("bn2", nn.BatchNorm2d(32)),
        ("act2", nn.ReLU()),
        ("pool2", nn.MaxPool2d(2)),
        # state size. 32 x 14 x 14
        ("conv3", nn.Conv2d(32, 64, 3, padding=1)),
        ("bn3", nn.BatchNorm2d(64)),
        ("act3", nn.ReLU()),
        ("conv4", nn.Conv2d(64, 64, 3, padding=1)),
        ("bn4", nn.BatchNorm2d(64)),
        ("act4", nn.ReLU()),
        ("pool4", nn.MaxPool2d(2)),
        # state size. 64 x 7 x 7
        ("flatten", nn.Flatten()),
        ("dense1", nn.Linear(64 * 7 * 7, 128)),
        ("act5", nn.ReLU()),
        ("drop5", nn.Dropout(0.3)),
        ("dense2", nn.Linear(128, n_classes)),
    ])


def _weak_layers(n_classes: int) -> OrderedDict:
    return OrderedDict([
        ("conv1", nn.Conv2d(1, 8, 5, stride=2, padding=2)),
        ("act1", nn.ReLU()),
        # state size. 8 x 14 x 14
        ("pool1", nn.MaxPool2d(2)),
        # state size. 8 x 7 x 7
        ("flatten", nn.Flatten()),
        ("dense", nn.Linear(8 * 7 * 7, n_classes)),
    ])


class Classifier(nn.Module):
    """images (N, 1, 28, 28) in [-1, 1] -> class logits (N, n_classes)."""

    kind = "classifier"
    conditional = False

    def __init__(self, cfg: ClassifierConfig):
        super().__init__()
        self.config = cfg
        build = _strong_layers if cfg.size == "strong" else _weak_layers
        self.layers = nn.Sequential(build(cfg.n_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)

    def probabilities(self, x: torch.Tensor) -> torch.Tensor:
        """images -> class probabilities (N, n_classes)."""
        return torch.softmax(self.layers(x), dim=1)
