"""The edge between model images ([-1, 1] tensors) and pictures (uint8 arrays, PIL, PNG)."""
from __future__ import annotations

import io
import math

import numpy as np
import torch
from PIL import Image, ImageDraw
from torchvision.utils import make_grid

from .colors import CLASS_COLORS


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


def feature_grid_columns(n: int) -> int:
    """Columns of feature_map_grid's grid of n maps (a little wider than square)."""
    return max(1, math.ceil(math.sqrt(n * 1.6)))


def feature_map_grid(activation: torch.Tensor, scale: int = 3, max_maps: int = 128) -> Image.Image:
    """One layer's output for one image as a grid of its feature maps, normalised over the layer.

    (C, H, W) -> C maps of H x W (at most `max_maps`); a flat (F,) vector (a dense layer) -> one
    square-ish map of its F values, row by row.
    """
    a = activation.detach().float().cpu()
    if a.dim() == 1:
        side = math.ceil(math.sqrt(a.numel()))
        a = torch.cat([a, a.new_full((side * side - a.numel(),), float(a.min()))]).view(1, side, side)
    maps = a[:max_maps]
    low, high = float(maps.min()), float(maps.max())
    maps = (maps - low) / (high - low) * 2 - 1 if high > low else torch.zeros_like(maps)
    nrow = feature_grid_columns(len(maps))
    return to_pil(tile(maps, nrow=nrow, padding=1, pad_value=-1.0).unsqueeze(0), scale)


def tile(maps: torch.Tensor, nrow: int, padding: int = 2, pad_value: float = 0.0) -> torch.Tensor:
    """(N, H, W) -> one (H, W) grid laid out as torchvision's make_grid lays out N one-channel images, in
    one reshape instead of a copy per tile (the live drag draws a layer's feature maps on every move: 0.05
    instead of 0.6 ms for 64 maps)."""
    n, h, w = maps.shape
    if n == 1:
        return maps[0]                 # make_grid returns a single image as it is
    cols = min(nrow, n)
    rows = math.ceil(n / cols)
    cells = maps.new_full((rows * cols, h + padding, w + padding), pad_value)
    cells[:n, padding:, padding:] = maps
    grid = cells.view(rows, cols, h + padding, w + padding).permute(0, 2, 1, 3).reshape(rows * (h + padding),
                                                                                        cols * (w + padding))
    return torch.nn.functional.pad(grid, (0, padding, 0, padding), value=pad_value)


def class_map_image(labels: np.ndarray, confidence: np.ndarray, scale: int = 4) -> Image.Image:
    """A 2D class-area map (labels[i, j]: i along x, j along y) as an RGB picture, y up, each class in
    its colour shaded towards white where the classifier is unsure (as the latent pad draws it)."""
    palette = np.array([[int(c[k:k + 2], 16) for k in (1, 3, 5)] for c in CLASS_COLORS], dtype=np.float32)
    rgb = palette[labels % len(CLASS_COLORS)]
    alpha = (0.35 + 0.65 * confidence)[..., None]
    rgb = 255 - alpha * (255 - rgb)
    picture = Image.fromarray(np.round(rgb).astype(np.uint8).transpose(1, 0, 2)[::-1].copy(), "RGB")
    return picture.resize((picture.width * scale, picture.height * scale), Image.NEAREST) if scale > 1 else picture


def slice_strip(slices: list[tuple[np.ndarray, np.ndarray]], highlight: int | None = None, scale: int = 5,
                per_row: int = 8) -> Image.Image:
    """Class-map slices (labels, confidence) side by side, `per_row` to a row, with a dark frame
    around the `highlight`-th (the slice through the current point)."""
    tiles = [class_map_image(lab, conf, scale) for lab, conf in slices]
    w, h, gap = tiles[0].width, tiles[0].height, 4
    rows = math.ceil(len(tiles) / per_row)
    strip = Image.new("RGB", (per_row * (w + gap) + gap, rows * (h + gap) + gap), "white")
    for k, tile in enumerate(tiles):
        x, y = gap + (k % per_row) * (w + gap), gap + (k // per_row) * (h + gap)
        strip.paste(tile, (x, y))
        if k == highlight:
            ImageDraw.Draw(strip).rectangle((x - 3, y - 3, x + w + 2, y + h + 2), outline=(17, 17, 17), width=3)
    return strip


def animated_gif(images: torch.Tensor, scale: int = 4, frame_ms: int = 120, bounce: bool = True) -> bytes:
    """(N, 1, H, W) in [-1, 1] -> an endlessly looping animated GIF (Pillow), one frame per image,
    upscaled by `scale` (nearest neighbour); `bounce` plays it forth and back (A -> B -> A)."""
    return frames_gif([to_pil(image, scale) for image in images], frame_ms, bounce)


def frames_gif(frames: list[Image.Image], frame_ms: int = 120, bounce: bool = False) -> bytes:
    """PIL frames (e.g. a run's sample grids or class maps, epoch by epoch) -> an endlessly looping
    animated GIF; `bounce` plays it forth and back."""
    if bounce and len(frames) > 2:
        frames = frames + frames[-2:0:-1]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:], duration=frame_ms, loop=0,
                   disposal=1, optimize=False)
    return buffer.getvalue()
