"""The drawing canvas: a Streamlit v2 component (inline HTML/CSS/JS, no iframe, nothing from a CDN).

The user draws a digit (mouse, pen, touch) in white on black; at the end of each stroke the picture
comes back as the state value "drawing" = {"png": a PNG data URL, "seq"}; the Clear button sends
{"png": None, "seq"}. Python turns the picture into an MNIST-style digit (genlab.drawing).
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import streamlit as st

_HERE = Path(__file__).resolve().parent
HTML = """
<div class="draw-canvas">
  <div class="frame">
    <canvas role="img" aria-label="drawing canvas: draw a digit"></canvas>
    <div class="hint">draw a digit here</div>
  </div>
  <button class="clear" type="button">Clear</button>
</div>
"""
CSS = """
.draw-canvas { font-family: var(--st-font, sans-serif); font-size: 14px; max-width: 280px; user-select: none; }
.draw-canvas .frame { position: relative; }
.draw-canvas canvas { display: block; width: 100%; aspect-ratio: 1 / 1; touch-action: none; cursor: crosshair;
  border-radius: 6px; background: #000; }
.draw-canvas .hint { position: absolute; inset: 0; display: flex; align-items: center; justify-content: center;
  color: rgba(255,255,255,0.45); pointer-events: none; }
.draw-canvas .clear { margin-top: 6px; padding: 4px 14px; border-radius: 6px; cursor: pointer;
  border: 1px solid var(--st-border-color, #ccc); background: var(--st-background-color, #fff);
  color: var(--st-text-color, #222); font: inherit; }
.draw-canvas .clear:hover { border-color: var(--st-primary-color, #ff4b4b); color: var(--st-primary-color, #ff4b4b); }
"""
_COMPONENT = st.components.v2.component(
    "genlab.draw_canvas", html=HTML, css=CSS, js=(_HERE / "draw_canvas.js").read_text())


def draw_canvas(key: str, png: str | None = None, seq: int = 0, pen: int = 18,
                on_change: Callable[[], None] | None = None):
    """Mount the canvas; returns the component result (its "drawing" state, or None before any stroke).

    Args:
        key: the widget key; the state is `st.session_state[key]["drawing"]` = {"png", "seq"}.
        png: the last drawing (a data URL), painted again when the canvas is mounted afresh.
        seq: the sequence number of the last drawing the app has taken in (a fresh canvas counts on from it).
        pen: the stroke width on the 280 x 280 surface (18 gives MNIST-like strokes).
        on_change: called (as a widget callback) whenever a stroke ends or the canvas is cleared.
    """
    return _COMPONENT(key=key, data={"png": png, "seq": int(seq), "pen": int(pen)}, default={"drawing": None},
                      on_drawing_change=on_change or (lambda: None))
