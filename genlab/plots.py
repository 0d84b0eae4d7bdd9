"""Plotly figures built from plain values (no Streamlit here)."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from .colors import class_color


def loss_history_figure(history: dict, title: str = "Losses per epoch", hide: tuple[str, ...] = (),
                        right: tuple[str, ...] = ()) -> go.Figure:
    """One line per recorded loss (G and D, reconstruction and KL, ...) against the epoch; the losses in
    `right` on a second axis (a VAE's KL beside its reconstruction error), those in `hide` left out."""
    fig = go.Figure()
    for name, values in sorted(history.get("losses", {}).items()):
        if name in hide:
            continue
        fig.add_trace(go.Scatter(x=list(range(1, len(values) + 1)), y=values, mode="lines+markers",
                                 name=f"{name} (right axis)" if name in right else name,
                                 yaxis="y2" if name in right else "y"))
    fig.update_layout(title=title, xaxis_title="epoch", yaxis_title="loss", height=320,
                      margin=dict(l=10, r=10, t=40, b=10), legend=dict(orientation="h", yanchor="top", y=-0.25))
    fig.update_xaxes(tickformat="d")
    if right:
        fig.update_layout(yaxis2=dict(title=", ".join(right), overlaying="y", side="right", showgrid=False))
    return fig


def class_cube_figure(labels: np.ndarray, confidence: np.ndarray, coords: list[np.ndarray], class_names: tuple[str, ...],
                      axis_names: tuple[str, str, str], point: tuple[float, float, float] | None = None,
                      only_classes: set[int] | None = None, title: str = "",
                      path: np.ndarray | None = None) -> go.Figure:
    """A class-area cube: every grid point as a marker coloured by its class (one legend entry per
    class, so a click hides a class and a double click isolates one), the current point and its
    three projections onto the cube's back faces, joined to it by dashed lines; or a morph's path
    (N, 3) from A to B."""
    grids = np.meshgrid(*coords, indexing="ij")
    fig = go.Figure()
    for cls in np.unique(labels):
        if only_classes is not None and int(cls) not in only_classes:
            continue
        where = labels == cls
        fig.add_trace(go.Scatter3d(
            x=grids[0][where], y=grids[1][where], z=grids[2][where], mode="markers", name=class_names[cls],
            marker=dict(size=3.5, color=class_color(int(cls)), opacity=0.55),
            customdata=confidence[where], hovertemplate=f"class {class_names[cls]}" + " · p %{customdata:.2f}<br>"
            "(%{x:.2f}, %{y:.2f}, %{z:.2f})<extra></extra>"))
    if point is not None:
        lows = [float(c[0]) for c in coords]
        x, y, z = point
        projections = [(lows[0], y, z), (x, lows[1], z), (x, y, lows[2])]
        for px, py, pz in projections:
            fig.add_trace(go.Scatter3d(x=[x, px], y=[y, py], z=[z, pz], mode="lines", showlegend=False, hoverinfo="skip",
                                       line=dict(color="#111", width=3, dash="dash")))
        fig.add_trace(go.Scatter3d(
            x=[p[0] for p in projections], y=[p[1] for p in projections], z=[p[2] for p in projections],
            mode="markers", name="projections", marker=dict(size=5, color="#555", symbol="square"),
            hovertemplate="projection (%{x:.2f}, %{y:.2f}, %{z:.2f})<extra></extra>"))
        fig.add_trace(go.Scatter3d(x=[x], y=[y], z=[z], mode="markers", name="the point",
                                   marker=dict(size=8, color="#111", symbol="diamond", line=dict(color="#fff", width=2)),
                                   hovertemplate="the point (%{x:.2f}, %{y:.2f}, %{z:.2f})<extra></extra>"))
    if path is not None:
        fig.add_trace(go.Scatter3d(x=path[:, 0], y=path[:, 1], z=path[:, 2], mode="lines+markers+text", name="morph path",
                                   text=["A"] + [""] * (len(path) - 2) + ["B"], textfont=dict(size=16, color="#111"),
                                   line=dict(color="#111", width=6), marker=dict(size=3, color="#111"),
                                   hovertemplate="(%{x:.2f}, %{y:.2f}, %{z:.2f})<extra></extra>"))
    ranges = [[float(c[0]), float(c[-1])] for c in coords]
    fig.update_layout(
        title=title, height=560, margin=dict(l=0, r=0, t=36, b=0), legend=dict(itemsizing="constant"),
        scene=dict(xaxis=dict(title=axis_names[0], range=ranges[0]), yaxis=dict(title=axis_names[1], range=ranges[1]),
                   zaxis=dict(title=axis_names[2], range=ranges[2]), aspectmode="cube"))
    return fig


def morph_chart(probabilities: np.ndarray | None, realness: np.ndarray | None, class_names: tuple[str, ...]) -> go.Figure:
    """Along a morph: the classifier's probability of each class that shows up (where the seven becomes
    a one), and the discriminator's score where the model has one."""
    fig = go.Figure()
    steps = list(range(1, len(probabilities if probabilities is not None else realness) + 1))
    if probabilities is not None:
        for cls in range(probabilities.shape[1]):
            if probabilities[:, cls].max() < 0.05:
                continue
            fig.add_trace(go.Scatter(x=steps, y=probabilities[:, cls], mode="lines+markers", name=f"class {class_names[cls]}",
                                     line=dict(color=class_color(cls), width=3),
                                     hovertemplate=f"step %{{x}}: p({class_names[cls]}) = %{{y:.2f}}<extra></extra>"))
    if realness is not None:
        fig.add_trace(go.Scatter(x=steps, y=realness, mode="lines", name="discriminator: real", line=dict(color="#111", dash="dash"),
                                 hovertemplate="step %{x}: discriminator %{y:.2f}<extra></extra>"))
    fig.update_layout(height=320, margin=dict(l=10, r=10, t=10, b=10),
                      xaxis=dict(title="step (A = 1)", dtick=1 if len(steps) <= 24 else None),
                      yaxis=dict(range=[0, 1.02], title="probability"),
                      legend=dict(orientation="h", yanchor="top", y=-0.22, xanchor="left", x=0))
    return fig


def monitor_figure(history: dict) -> go.Figure:
    """A run's monitoring per epoch: how much of the class-area map changed since the previous map
    (a signal to stop when it settles), and the weak classifier's mean confidence on generated images."""
    series = history.get("monitor", {})
    fig = go.Figure()
    changes = [(e, c) for e, c in zip(series.get("map_epochs", []), series.get("map_change", [])) if c is not None]
    if changes:
        fig.add_trace(go.Scatter(x=[e for e, _ in changes], y=[c for _, c in changes], mode="lines+markers",
                                 name="map change (fraction of the grid)"))
    if series.get("score_epochs"):
        fig.add_trace(go.Scatter(x=series["score_epochs"], y=series["weak_top_probability"], mode="lines+markers",
                                 name="weak classifier's confidence"))
    fig.update_layout(title="Map change and weak classifier per epoch", xaxis_title="epoch", yaxis_title="fraction",
                      yaxis_range=[0, 1.02], height=320, margin=dict(l=10, r=10, t=40, b=10),
                      legend=dict(orientation="h", yanchor="top", y=-0.25))
    fig.update_xaxes(tickformat="d")
    return fig


def runs_bar_figure(names: list[str], values: list[float | None], title: str, axis: str) -> go.Figure:
    """One bar per run (runs without the value are left out)."""
    pairs = [(n, v) for n, v in zip(names, values) if v is not None]
    fig = go.Figure(go.Bar(x=[n for n, _ in pairs], y=[v for _, v in pairs], text=[f"{v:.3g}" for _, v in pairs],
                           textposition="auto"))
    fig.update_layout(title=title, yaxis_title=axis, height=300, margin=dict(l=10, r=10, t=40, b=10))
    return fig


def runs_loss_figure(histories: dict[str, dict], loss: str) -> go.Figure:
    """One line per run: the loss `loss` against the epoch."""
    fig = go.Figure()
    for name, history in histories.items():
        values = history.get("losses", {}).get(loss)
        if values:
            fig.add_trace(go.Scatter(x=list(range(1, len(values) + 1)), y=values, mode="lines+markers", name=name))
    fig.update_layout(title=f"{loss} per epoch", xaxis_title="epoch", yaxis_title=loss, height=320,
                      margin=dict(l=10, r=10, t=40, b=10))
    return fig
