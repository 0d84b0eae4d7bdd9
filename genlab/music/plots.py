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
    # the bar lines as layout shapes in one go (what add_vline makes, without its per-line validation: a
    # pad drag on the Music page redraws two rolls per move)
    bar_lines = [dict(type="line", xref="x", yref="y domain", x0=bar, x1=bar, y0=0, y1=1,
                      line=dict(color="rgba(120,120,120,0.6)", width=1, dash="solid" if bar > 1 else "dot"))
                 for bar in range(1, n_bars + 2)]
    fig.update_layout(
        shapes=bar_lines,
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


# ------------------------------------------------------------------ the melody model (genlab.music.melody)
SEED_COLOR, GENERATED_COLOR, STEP_COLOR = "#9a9a9a", "#d62728", "#1f3fbf"


def _note_label(index: int, pitch: str) -> str:
    from .melody import pitch_label

    return f"{index + 1} {pitch_label(pitch)}"


def melody_roll_figure(notes: list[tuple[str, str]], n_seed: int, upto: int | None = None, height: int = 260,
                       names: tuple[str, str] = ("seed", "generated"), label=None) -> go.Figure:
    """A melody as a piano roll: the first `n_seed` notes grey, the rest red (up to note `upto`), x in beats;
    `names`: the legend's words for the two parts; `label`: token -> the name shown (default pitch_label;
    the page spells by the melody's key)."""
    from ..data.melodies import duration_value
    from .melody import midi_number, pitch_label

    label = label or pitch_label
    fig = go.Figure()
    groups = {names[0]: ([], [], [], SEED_COLOR), names[1]: ([], [], [], GENERATED_COLOR)}
    position, numbers = 0.0, []
    for i, (pitch, duration) in enumerate(notes[:upto]):
        length, number = duration_value(duration), midi_number(pitch)
        if number is not None:
            xs, ys, texts, _ = groups[names[0] if i < n_seed else names[1]]
            xs += [position, position + length * 0.93, None]
            ys += [number, number, None]
            texts += [f"note {i + 1}: {label(pitch)}, {duration} beat{'s' if duration != '1' else ''}"] * 2 + [None]
            numbers.append(number)
        position += length
    for name, (xs, ys, texts, color) in groups.items():
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name=name, line=dict(color=color, width=8), text=texts,
                                 hovertemplate="%{text}<extra></extra>"))
    low, high = (min(numbers) - 2, max(numbers) + 2) if numbers else (60, 72)
    bar_lines = [dict(type="line", xref="x", yref="paper", x0=beat, x1=beat, y0=0, y1=1,
                      line=dict(color="rgba(120,120,120,0.45)", width=1))
                 for beat in range(0, int(np.ceil(position)) + 1, 4)]   # one layout update (add_vline: 10 ms each)
    fig.update_layout(shapes=bar_lines, height=height, margin=dict(l=10, r=10, t=10, b=10), plot_bgcolor="white",
                      xaxis=dict(title="beat (quarter notes; a line every 4)", range=[-0.2, max(4.0, position) + 0.2],
                                 gridcolor="rgba(200,200,200,0.25)"),
                      yaxis=dict(title="pitch", range=[low, high], gridcolor="rgba(200,200,200,0.25)",
                                 tickvals=[m for m in range(low, high + 1) if m % 12 in (0, 4, 7)],
                                 ticktext=[pitch_name(m) for m in range(low, high + 1) if m % 12 in (0, 4, 7)]),
                      legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right", x=1.0))
    return fig


def probability_heatmap(probabilities: np.ndarray, pitches: list[str], chosen: list[str], n_seed: int,
                        upto: int | None = None, height: int = 420, floor: float = 0.002) -> go.Figure:
    """The book's first heatmap: the next-pitch probability (rows: pitches from low to high, rest last) at each
    generated step (columns, numbered as notes of the melody); the pitch drawn at each step is outlined.
    Steps after `upto` are left empty (watching the melody grow). Pitches never above `floor` are left out."""
    from .melody import midi_number

    n = len(probabilities)
    upto = n if upto is None else max(1, min(upto, n))
    shown = [i for i, p in enumerate(pitches) if probabilities[:, i].max() > floor or p in chosen]
    order = sorted(shown, key=lambda i: (midi_number(pitches[i]) is None, midi_number(pitches[i]) or 0, pitches[i]))
    z = probabilities[:, order].T.astype(float).copy()
    z[:, upto:] = np.nan
    from .melody import pitch_label

    steps = [n_seed + s + 1 for s in range(n)]
    labels = [pitch_label(pitches[i]) for i in order]
    fig = go.Figure(go.Heatmap(z=z, x=steps, y=labels, colorscale="Viridis", zmin=0, zmax=1, hoverongaps=False,
                               colorbar=dict(title="p", thickness=12),
                               hovertemplate="note %{x}: %{y} with probability %{z:.1%}<extra></extra>"))
    fig.add_trace(go.Scatter(x=steps[:upto], y=[pitch_label(c) for c in chosen[:upto]], mode="markers", name="drawn",
                             marker=dict(symbol="square-open", size=11, color="white", line=dict(width=2)),
                             hovertemplate="note %{x}: drew %{y}<extra></extra>"))
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=10, b=10), showlegend=False,
                      xaxis=dict(title="note of the melody (generated)", dtick=4 if n > 16 else 1),
                      yaxis=dict(title="next pitch", type="category", categoryorder="array", categoryarray=labels,
                                 dtick=1, tickfont=dict(size=10)))
    return fig


def attention_heatmap(attention: np.ndarray, notes: list[tuple[str, str]], n_seed: int, upto: int | None = None,
                      height: int = 420) -> go.Figure:
    """The book's second heatmap: for each generated note (rows) the attention weights over the notes before it
    (columns: 'start' = the START padding, then note 1, 2, ... of the melody); each row sums to 1."""
    n = len(attention)
    upto = n if upto is None else max(1, min(upto, n))
    z = attention.astype(float).copy()
    z[z == 0] = np.nan                       # outside the window: not looked at
    z[upto:] = np.nan
    columns = ["start"] + [_note_label(j, p) for j, (p, _) in enumerate(notes[:attention.shape[1] - 1])]
    rows = [_note_label(n_seed + i, notes[n_seed + i][0]) for i in range(n)]
    fig = go.Figure(go.Heatmap(z=z, x=columns, y=rows, colorscale="Reds", zmin=0, zmax=1, hoverongaps=False,
                               colorbar=dict(title="weight", thickness=12),
                               hovertemplate="note %{y} put %{z:.1%} of its attention on %{x}<extra></extra>"))
    if n_seed:
        fig.add_vline(x=n_seed + 0.5, line=dict(color=STEP_COLOR, width=1, dash="dot"))
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=10, b=10), plot_bgcolor="#eeeeee",   # grey: outside the window
                      xaxis=dict(title="earlier note (the dotted line ends the seed)", type="category",
                                 showticklabels=len(columns) <= 40, tickangle=-60),
                      yaxis=dict(title="generated note", type="category", autorange="reversed",
                                 showticklabels=n <= 40))
    return fig
