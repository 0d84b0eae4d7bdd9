"""The drag preview (issue 17): images generated over a grid of the pad's plane, sent once as one sprite, so
the browser can paint the image under the pointer at once (blended between the four nearest grid images)
while the exact image is on its way from the server.

The sprite holds k x k images of 28 x 28: cell (ix, iy) (ix along the pad's x axis, iy along its y axis, both
from the low end) is the image at x = x0 + ix * (x1 - x0) / (k - 1), y = y0 + iy * (y1 - y0) / (k - 1), the
other coordinates as in `point`; it lies at rows iy * 28.., columns ix * 28.. of the sprite.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..generate import label_tensor, latent_tensor
from ..images import to_uint8

GRID = 15          # images per axis: 225 images, a 420 x 420 sprite (about 60-90 KB as PNG)


@torch.inference_mode()
def preview_sprite(model: nn.Module, axes: tuple[int, int], x_range: tuple[float, float],
                   y_range: tuple[float, float], point: list[float], label: int | None = None,
                   k: int = GRID, batch_size: int = 256) -> np.ndarray:
    """The (k * 28, k * 28) uint8 sprite of the plane through `point` over `axes` (see the module docstring)."""
    if not 2 <= k <= 64:
        raise ValueError(f"the preview grid must have 2..64 points per axis, got {k}")
    a, b = axes
    xs, ys = np.linspace(*x_range, k), np.linspace(*y_range, k)
    points = []
    for y in ys:                         # row block iy
        for x in xs:                     # column block ix
            z = list(point)
            z[a], z[b] = float(x), float(y)
            points.append(z)
    zt = latent_tensor(model, points)
    images = torch.cat([model.generate(zt[i:i + batch_size], label_tensor(model, label, len(zt[i:i + batch_size])))
                        for i in range(0, len(zt), batch_size)]).cpu()
    cells = to_uint8(images)                                   # (k * k, 28, 28)
    return cells.reshape(k, k, 28, 28).transpose(0, 2, 1, 3).reshape(k * 28, k * 28)
