"""The latent pad: a Streamlit v2 component (inline HTML/CSS/JS, no iframe, nothing from a CDN).

A square over two latent axes with the class-area map drawn under it, and one point (the explorer)
or several named ones with a path (a morph's A and B). The user drags a point (mouse, pen, touch),
clicks to bring the nearest one there, or uses the arrow keys; the moved point comes back as the
state value "point" = {"x", "y", "index", "seq", "dragging"} while dragging, not only on release. Mount it inside
an `st.fragment`, so a drag reruns only that fragment.
"""
from __future__ import annotations

import base64
from pathlib import Path
from typing import Callable

import numpy as np
import streamlit as st

from ..colors import CLASS_COLORS
from ..latent.labels import area_labels
from ..latent.maps import ClassAreaMap

_HERE = Path(__file__).resolve().parent
HTML = """
<div class="latent-pad">
  <div class="frame">
    <span class="name-y"></span><span class="hi-y"></span>
    <canvas tabindex="0" role="slider"></canvas>
    <span class="lo-y"></span>
    <div class="tip"></div>
  </div>
  <div class="xaxis"><span class="lo-x"></span><span class="name-x"></span><span class="hi-x"></span></div>
  <div class="readout"></div>
</div>
"""
CSS = """
.latent-pad { font-family: var(--st-font, sans-serif); font-size: 13px; color: var(--st-text-color, #222);
  max-width: 440px; user-select: none; }
.latent-pad .frame { position: relative; margin-left: 34px; }
.latent-pad canvas { display: block; width: 100%; aspect-ratio: 1 / 1; touch-action: none; cursor: crosshair;
  border-radius: 4px; outline: none; }
.latent-pad canvas:focus-visible { box-shadow: 0 0 0 3px var(--st-primary-color, #ff4b4b); }
.latent-pad .hi-y, .latent-pad .lo-y, .latent-pad .name-y { position: absolute; left: -34px; width: 30px;
  text-align: right; opacity: 0.7; }
.latent-pad .hi-y { top: 6px; } .latent-pad .lo-y { bottom: 6px; } .latent-pad .name-y { top: 47%; font-weight: 600; }
.latent-pad .xaxis { display: flex; justify-content: space-between; margin-left: 40px; margin-right: 6px; opacity: 0.7; }
.latent-pad .xaxis .name-x { font-weight: 600; }
.latent-pad .readout { margin-left: 34px; margin-top: 2px; font-variant-numeric: tabular-nums; }
.latent-pad .tip { position: absolute; display: none; pointer-events: none; background: rgba(20,20,20,0.85);
  color: #fff; padding: 2px 6px; border-radius: 4px; white-space: nowrap; font-size: 12px; z-index: 5; }
"""
_COMPONENT = st.components.v2.component(
    "genlab.latent_pad", html=HTML, css=CSS, js=(_HERE / "latent_pad.js").read_text())


def _b64(values: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(values, dtype=np.uint8).tobytes()).decode()


@st.cache_data(max_entries=64, show_spinner=False)
def _map_payload(key: str, _class_map: ClassAreaMap, class_names: tuple[str, ...]) -> dict:
    """The map in the compact form the pad draws: uint8 class and confidence grids, base64 encoded."""
    m = _class_map
    return {
        "id": key, "nx": int(m.labels.shape[0]), "ny": int(m.labels.shape[1]),
        "labels": _b64(m.labels), "confidence": _b64(np.round(m.confidence * 255)),
        "names": list(class_names), "colors": list(CLASS_COLORS),
        "areas": [{"name": class_names[c], "x": x, "y": y} for c, x, y in area_labels(m)],
    }


def latent_pad(key: str, point, x_range: tuple[float, float], y_range: tuple[float, float],
               x_label: str, y_label: str, class_map: ClassAreaMap | None = None,
               class_names: tuple[str, ...] = (), seq: int = 0, caption: str = "",
               names: tuple[str, ...] | None = None, path: list[tuple[float, float]] | None = None,
               on_change: Callable[[], None] | None = None, live: dict | None = None, follow: dict | None = None):
    """Mount the pad; returns the component result (its "point" state, or None before any move).

    Args:
        key: the widget key; the pad's state is `st.session_state[key]["point"]` =
            {"x", "y", "index" (which point moved), "seq", "dragging"}.
        point: where to draw the point (x, y), or several points [(x, y), ...] (then also `names`).
        class_map: a 2D ClassAreaMap over (x axis, y axis) to draw under the points, or None.
        seq: the sequence number of the last pad move the app has taken in (echoed to the pad, so it
            sends the next move only after this one was answered).
        names: a short name drawn on each point ("A", "B").
        path: a polyline to draw (e.g. a morph's path from A to B), in latent coordinates.
        on_change: called (as a widget callback) whenever the pad sends a new point.
        live: while dragging, ask the live drag's HTTP route (genlab/api.py) instead of sending every move
            to Python, and paint its answer into the page: {"url", "query" (the route's parameters but z),
            "point" (the full latent point), "axes" (which two coordinates the pad moves), "targets"
            ({answer field: CSS selector of the container whose st.html it replaces})}, or instead of
            "point" and "axes" a "plane" ({"origin": d numbers, "directions": two lists of d}: the pad's
            (x, y) is the latent point origin + x * directions[0] + y * directions[1]). The release still
            goes to Python (it commits the point). Without the route (a 404) the pad sends every move.
            With "preview" (genlab.ui.point_explorer.preview_payload: a sprite of the plane) each move first
            paints the blended preview into targets["image"]; a `live` with a preview and no "url" paints the
            preview and sends every move to Python (the VAE Lab).
        follow: a student following a class (genlab.ui.classes.follow_data): {"url" (the class route with the
            code), "model", "label", "every" (ms between polls)}: the pad moves to the teacher's live point and
            paints its answer (needs `live` with a "url").
    """
    points = [point] if isinstance(point[0], (int, float)) else list(point)
    data = {
        "points": [[float(p[0]), float(p[1])] for p in points], "seq": int(seq),
        "names": list(names or []), "path": [[float(x), float(y)] for x, y in (path or [])],
        "x_range": [float(v) for v in x_range], "y_range": [float(v) for v in y_range],
        "x_label": x_label, "y_label": y_label, "size": 420, "caption": caption,
        "map": None if class_map is None else _map_payload(class_map.key, class_map, tuple(class_names)),
        "live": live, "follow": follow,
    }
    return _COMPONENT(key=key, data=data, default={"point": None}, on_point_change=on_change or (lambda: None))
