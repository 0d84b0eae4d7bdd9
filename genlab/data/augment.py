"""Augmentations for training a classifier that can be trusted on generated digits.

Generated and decoded digits are blurrier, thicker or thinner, more slanted and noisier than the
test digits: a classifier that saw only clean MNIST calls a blurry digit "8" (68% accurate on test
digits through a 5x5 box filter). `digit_augmentation` draws, per image, an affine move (rotation,
scale, shear, translation), an elastic warp, a stroke-width change (grey-scale dilation or erosion,
partly blended), a Gaussian or box blur and pixel noise, each with its own probability; about a
fifth of the images stay clean. Kornia does the per-image random geometry and blurs on a batch;
the stroke width is a max-pool here. Images are (N, 1, 28, 28) in [-1, 1] before and after.

The box blur it trains on is 3x3; the report's blur test uses 5x5, which training never sees.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

AUGMENTATIONS = ("none", "digits")


class StrokeWidth(nn.Module):
    """Per image with probability p: thicken (grey-scale dilation, 3x3) or thin (erosion) the ink,
    blended with the original by a random amount in [0.3, 1]. Works on ink in [0, 1]."""

    def __init__(self, p: float = 0.4):
        super().__init__()
        self.p = p

    def forward(self, ink: torch.Tensor) -> torch.Tensor:
        n = ink.shape[0]
        chosen = torch.rand(n, device=ink.device) < self.p
        if not chosen.any():
            return ink
        x = ink[chosen]
        dilated = F.max_pool2d(x, 3, stride=1, padding=1)
        eroded = -F.max_pool2d(-x, 3, stride=1, padding=1)
        thicker = (torch.rand(len(x), 1, 1, 1, device=ink.device) < 0.5)
        changed = torch.where(thicker, dilated, eroded)
        amount = torch.empty(len(x), 1, 1, 1, device=ink.device).uniform_(0.3, 1.0)
        out = ink.clone()
        out[chosen] = x + amount * (changed - x)
        return out


class DigitAugmentation(nn.Module):
    """images (N, 1, 28, 28) in [-1, 1] -> augmented images, same shape and range (training only)."""

    def __init__(self):
        super().__init__()
        import kornia.augmentation as K

        self.geometry = K.AugmentationSequential(
            K.RandomAffine(degrees=15, translate=(0.1, 0.1), scale=(0.8, 1.15), shear=12, p=0.7),
            K.RandomElasticTransform(kernel_size=(15, 15), sigma=(4.0, 4.0), alpha=(1.0, 1.0), p=0.3),
        )
        self.stroke = StrokeWidth(p=0.4)
        self.blur = K.AugmentationSequential(
            K.RandomGaussianBlur((7, 7), (0.3, 1.6), p=0.35),
            K.RandomBoxBlur((3, 3), p=0.1),
            K.RandomGaussianNoise(std=0.08, p=0.25),
        )

    @torch.no_grad()
    def forward(self, images: torch.Tensor) -> torch.Tensor:
        ink = (images.float() + 1) / 2
        ink = self.geometry(ink)
        ink = self.stroke(ink)
        ink = self.blur(ink)
        return ink.clamp(0, 1) * 2 - 1


def make_augmentation(kind: str) -> nn.Module | None:
    """The augmentation named `kind` (one of AUGMENTATIONS), None for "none"."""
    if kind == "none":
        return None
    if kind == "digits":
        return DigitAugmentation()
    raise ValueError(f"augment must be one of {', '.join(AUGMENTATIONS)}, got {kind!r}")


def box_blur(images: torch.Tensor, size: int = 5) -> torch.Tensor:
    """A size x size box filter on images in [-1, 1] (borders: zero ink), the report's blur test."""
    ink = (images + 1) / 2
    blurred = F.avg_pool2d(ink, size, stride=1, padding=size // 2, count_include_pad=True)
    return blurred * 2 - 1
