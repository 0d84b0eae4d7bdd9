"""The edge between model images ([-1, 1] tensors) and pictures (uint8 arrays, PIL, PNG)."""
from __future__ import annotations

import numpy as np
import torch
from PIL import Image
from torchvision.utils import make_grid


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """(N, 1, H, W) or (1, H, W) in [-1, 1] -> uint8 (N, H, W) or (H, W) in [0, 255]."""
    x = ((images.detach().float().cpu().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return x.squeeze(-3).numpy()


def to_pil(image: torch.Tensor, scale: int = 1) -> Image.Image:
    """One image (1, H, W) in [-1, 1] -> a grayscale PIL image, upscaled by `scale` (nearest neighbour)."""
    pil = Image.fromarray(to_uint8(image))
    return pil.resize((pil.width * scale, pil.height * scale), Image.NEAREST) if scale > 1 else pil


def image_grid(images: torch.Tensor, nrow: int = 8, padding: int = 2, scale: int = 1) -> Image.Image:
    """(N, 1, H, W) in [-1, 1] -> one grayscale PIL grid (torchvision's make_grid), upscaled by `scale`."""
    grid = make_grid(images.detach().float().cpu(), nrow=nrow, padding=padding, pad_value=-1)[:1]
    return to_pil(grid, scale)
