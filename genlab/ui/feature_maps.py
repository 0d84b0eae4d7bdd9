"""Clickable feature maps (issue 16, dissection): a Streamlit v2 component (inline, nothing from a CDN) that
draws one layer's feature maps as genlab.images.feature_map_grid lays them out and sends each edit back:
click a map to switch its channel off (again: on), shift-click to double it, drag a box in a map to zero
that region in every map. The edits make a genlab.inspect.Ablation, which the page keeps in the session and
the link."""
from __future__ import annotations

import base64
import math
from pathlib import Path

import streamlit as st
import torch

from ..images import feature_grid_columns, feature_map_grid
from ..inspect import Ablation

_HERE = Path(__file__).resolve().parent
MAX_MAPS = 128
HTML = '<div class="feature-maps"><img/><canvas></canvas></div>'
CSS = """
.feature-maps { position: relative; width: 100%; user-select: none; }
.feature-maps img { display: block; width: 100%; image-rendering: pixelated; border-radius: 4px; }
.feature-maps canvas { position: absolute; left: 0; top: 0; cursor: pointer; touch-action: none; }
"""
_COMPONENT = st.components.v2.component(
    "genlab.feature_maps", html=HTML, css=CSS, js=(_HERE / "feature_maps.js").read_text())


def grid_geometry(activation: torch.Tensor) -> dict:
    """Where each channel's map lies in feature_map_grid(activation, scale=1): n maps of h x w in `cols`
    columns, each after `pad` pixels; a flat layer is one map whose every pixel is a unit."""
    if activation.dim() == 1:
        side = math.ceil(math.sqrt(activation.numel()))
        return {"n": activation.numel(), "h": 1, "w": 1, "pad": 0, "cols": side, "spatial": False}
    n, h, w = min(activation.shape[0], MAX_MAPS), activation.shape[1], activation.shape[2]
    if n == 1:
        return {"n": 1, "h": h, "w": w, "pad": 0, "cols": 1, "spatial": True}
    return {"n": n, "h": h, "w": w, "pad": 1, "cols": min(n, feature_grid_columns(n)), "spatial": True}


def feature_maps(key: str, layer: str, activation: torch.Tensor, ablation: Ablation | None, seq: int, on_change):
    """Mount the clickable grid of `layer`'s maps (`activation`: one sample's output), marking `ablation`'s
    channels when it is on this layer. The edit arrives as st.session_state[key]["edit"]."""
    from .explorer import png_bytes

    picture = feature_map_grid(activation, scale=1, max_maps=MAX_MAPS)
    mine = ablation if ablation is not None and ablation.layer == layer else None
    data = {"src": "data:image/png;base64," + base64.b64encode(png_bytes(picture)).decode(),
            "width": picture.width, "layer": layer, "seq": seq, **grid_geometry(activation),
            "zeroed": list(mine.zeroed) if mine else [], "scaled": list(mine.scaled) if mine else [],
            "box": list(mine.box) if mine and mine.box else None}
    return _COMPONENT(key=key, data=data, default={"edit": None}, on_edit_change=on_change)


def edited(ablation: Ablation | None, layer: str, edit: dict) -> Ablation | None:
    """The ablation after one edit from the grid (a click on another layer's maps starts a new one)."""
    if ablation is None or ablation.layer != layer:
        ablation = Ablation(layer)
    channel = int(edit.get("channel", -1))
    zeroed, scaled, box = set(ablation.zeroed), set(ablation.scaled), ablation.box
    if edit.get("op") == "zero" and channel >= 0:
        zeroed ^= {channel}
        scaled.discard(channel)
    elif edit.get("op") == "scale" and channel >= 0:
        scaled ^= {channel}
        zeroed.discard(channel)
    elif edit.get("op") == "box" and isinstance(edit.get("box"), list) and len(edit["box"]) == 4:
        box = tuple(min(max(float(v), 0.0), 1.0) for v in edit["box"])
    try:
        result = Ablation(layer, tuple(sorted(zeroed)), tuple(sorted(scaled)), box)
    except ValueError:                             # e.g. a box of no height: the edit is ignored
        return None if ablation.empty else ablation
    return None if result.empty else result
