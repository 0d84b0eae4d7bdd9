"""Pictures of phrases: the piano-roll figure (plotly) and a small piano-roll image (PIL) for listings."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from PIL import Image

from .roll import REST, STEPS_PER_BAR, VOICES, flatten_bars, notes_of, pitch_name

VOICE_COLORS = ("#d62728", "#ff7f0e", "#2ca02c", "#1f77b4")   # soprano, alto, tenor, bass


def piano_roll_figure(pitches: np.ndarray, title: str = "", height: int = 360) -> go.Figure:
    """A phrase (bars, steps, tracks): one coloured bar per note, voices in four colours, bar lines marked.

    x is in bars (1 = the start of bar 1), y in MIDI pitch labelled with note names.
    """
    p = np.asarray(pitches)
    line = flatten_bars(p) if p.ndim == 3 else p
    n_bars = int(np.ceil(len(line) / STEPS_PER_BAR))
    fig = go.Figure()
    notes = notes_of(line)
    for t in range(line.shape[1]):
        xs, ys, texts = [], [], []
        for n in (n for n in notes if n.track == t):
            xs += [1 + n.start / STEPS_PER_BAR, 1 + (n.end - 0.15) / STEPS_PER_BAR, None]
            ys += [n.pitch, n.pitch, None]
            texts += [pitch_name(n.pitch)] * 2 + [None]
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name=VOICES[t].title() if t < len(VOICES) else str(t),
                                 line=dict(color=VOICE_COLORS[t % 4], width=7), text=texts,
                                 hovertemplate="%{text}<extra>" + (VOICES[t] if t < len(VOICES) else "") + "</extra>"))
    sounding = line[line != REST]
    low, high = (int(sounding.min()) - 2, int(sounding.max()) + 2) if sounding.size else (48, 72)
    for bar in range(1, n_bars + 2):
        fig.add_vline(x=bar, line=dict(color="rgba(120,120,120,0.6)", width=1, dash="solid" if bar > 1 else "dot"))
    fig.update_layout(
        title=title or None, height=height, margin=dict(l=10, r=10, t=40 if title else 10, b=10),
        xaxis=dict(title="bar", range=[0.95, n_bars + 1.05], dtick=0.25, tick0=1, showgrid=True,
                   gridcolor="rgba(200,200,200,0.25)", tickvals=list(range(1, n_bars + 2))),
        yaxis=dict(title="pitch", range=[low, high], tickvals=[m for m in range(low, high + 1) if m % 12 in (0, 7)],
                   ticktext=[pitch_name(m) for m in range(low, high + 1) if m % 12 in (0, 7)],
                   gridcolor="rgba(200,200,200,0.25)"),
        legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right", x=1.0),
        plot_bgcolor="white")
    return fig


def piano_roll_image(pitches: np.ndarray, step_width: int = 4, pitch_height: int = 3) -> Image.Image:
    """A small RGB picture of a phrase (bars, steps, tracks) or of phrases side by side (N, bars, steps, tracks)."""
    p = np.asarray(pitches)
    if p.ndim == 4:
        p = np.concatenate(list(p), axis=0)
    line = flatten_bars(p)
    sounding = line[line != REST]
    low, high = (int(sounding.min()) - 1, int(sounding.max()) + 1) if sounding.size else (48, 72)
    rows = high - low + 1
    canvas = np.full((rows * pitch_height, len(line) * step_width, 3), 255, np.uint8)
    canvas[:, ::STEPS_PER_BAR * step_width] = 200                     # bar lines
    for n in notes_of(line):
        r = (high - n.pitch) * pitch_height
        color = np.array([int(VOICE_COLORS[n.track % 4][i:i + 2], 16) for i in (1, 3, 5)], np.uint8)
        canvas[r:r + pitch_height, n.start * step_width:n.end * step_width - 1] = color
    return Image.fromarray(canvas)
