"""The HTML fragments of the explorer's panels (the image, its class, the activations) and the strong classifier
that colours the maps: what the pages (genlab.ui) render and what the live HTTP routes (genlab/api.py) send, so
a page looks the same during and after a drag. No Streamlit here: both layers import this module.
"""
from __future__ import annotations

import base64
import io
from html import escape

import numpy as np
import torch
from torchvision.io import encode_png

from .bars import layer_bars, probability_bars
from .catalog import list_models
from .checkpoints import Checkpoint, CheckpointError
from .data import DATASETS, DIGIT_NAMES
from .images import feature_map_grid, to_pil
from .latent.point import PointView
from .loading import load_model


def strong_classifier(rows: list[dict] | None = None, load=load_model) -> Checkpoint | None:
    """The first valid strong classifier among the checkpoints (it colours the maps), or None. `rows`: a
    listing already made (default: `list_models()`); `load`: how to load one (default: the shared cache)."""
    for row in list_models()[0] if rows is None else rows:
        if row["kind"] == "classifier" and row.get("config", {}).get("size") == "strong":
            try:
                return load(row["path"])
            except CheckpointError:
                continue
    return None


def class_names_of(ckpt: Checkpoint | None) -> tuple[str, ...]:
    """The class names of the dataset a classifier was trained on (digits when unknown)."""
    info = DATASETS.get(ckpt.dataset) if ckpt is not None else None
    return info.class_names if info else DIGIT_NAMES


def png_bytes(image) -> bytes:
    """A PIL image as PNG bytes: grayscale and RGB by libpng through torchvision (the live drag encodes two
    per move: 0.45 instead of 0.7-1.4 ms for a layer's feature maps here), other modes by PIL."""
    if image.mode in ("L", "RGB"):
        pixels = torch.from_numpy(np.array(image))
        pixels = pixels.unsqueeze(0) if pixels.dim() == 2 else pixels.permute(2, 0, 1).contiguous()
        return encode_png(pixels).numpy().tobytes()
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def image_html(view: PointView) -> str:
    """The generated image, large and crisp, inline (a data URI: no second request, so it shows as soon as
    the rerun or the live answer brings it). The PNG holds the model's own pixels (28 x 28, about 0.5 KB);
    the browser scales it up pixelated, which costs the server nothing."""
    data = base64.b64encode(png_bytes(to_pil(view.image))).decode()
    where = "(" + ", ".join(f"{v:.2f}" for v in view.z) + ")"
    return (f'<img src="data:image/png;base64,{data}" width="280" height="280" alt="generated image at {where}" '
            f'style="display:block;margin:auto;border-radius:4px;max-width:100%;height:auto;'
            f'image-rendering:pixelated"/>'
            f'<div style="text-align:center;opacity:.6;font-size:14px">{where}</div>')


def class_html(view: PointView, class_names: tuple[str, ...]) -> str:
    """The image's class as a heading with its probability, the bars, and the discriminator's verdict."""
    parts = []
    if view.probabilities is not None:
        top = view.predicted
        parts.append(f'<h4 style="margin:0 0 2px 0;padding:0">Image class: {escape(class_names[top])}</h4>'
                     f'<small>probability {view.probabilities[top]:.2f}</small>'
                     + probability_bars(view.probabilities, class_names))
    if view.realness is not None:
        parts.append(f'<div style="font-size:14px;opacity:.6;margin-top:4px">Discriminator: {view.realness:.2f} '
                     f'(1 = looks real to it, 0 = looks generated)</div>')
    return "".join(parts)


def default_layer(view: PointView) -> str:
    """The layer whose feature maps show first: the last activation's."""
    layers = list(view.layer_means)
    return layers[next((i for i, n in reversed(list(enumerate(layers))) if ".act" in n), len(layers) - 1)]


def activations_html(view: PointView, layer: str, grid: bool = True) -> str:
    """The bar per layer with its mean activation, and `layer`'s feature maps as an image grid (`grid`)."""
    if not grid:
        return layer_bars(view.layer_means, layer)
    activation = view.activations[layer]
    shape = " x ".join(str(s) for s in activation.shape)
    maps = activation.shape[0] if activation.dim() == 3 else 1
    grid = base64.b64encode(png_bytes(feature_map_grid(activation, scale=1))).decode()
    caption = (f"{layer.split('.', 1)[-1]}: output {shape}, "
               + (f"{min(maps, 128)} feature maps" if activation.dim() == 3 else "one value per unit, row by row")
               + ", dark = low, light = high")
    return (layer_bars(view.layer_means, layer)
            + f'<img src="data:image/png;base64,{grid}" alt="feature maps of {escape(layer)}" style="width:100%;'
              f'image-rendering:pixelated;border-radius:4px;margin-top:8px"/><div style="text-align:center;opacity:.6;'
              f'font-size:14px">{escape(caption)}</div>')
