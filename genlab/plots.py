"""Plotly figures built from plain values (no Streamlit here)."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from .colors import class_color


LOSS_NAMES = {   # plain words first, the term after (the legend a first-time student reads)
    "D": "discriminator (D)", "G": "generator (G)",
    "reconstruction": "reconstruction error (MSE)",
    "code_classes": "can the classes be read from the codes? (code_classes)",
    "latent_sw": "codes spread like the noise (latent_sw)",
    "kl": "codes' distance from N(0, I) (KL)",
    "loss": "loss", "accuracy": "accuracy",
    "pitch": "next-pitch loss (cross-entropy)", "duration": "next-duration loss (cross-entropy)",
    "pitch_accuracy": "next pitch named right",
}


def loss_history_figure(history: dict, title: str = "Losses per epoch", hide: tuple[str, ...] = (),
                        right: tuple[str, ...] = ()) -> go.Figure:
    """One line per recorded loss (G and D, reconstruction and KL, ...) against the epoch; the losses in
    `right` on a second axis (a VAE's KL beside its reconstruction error), those in `hide` left out."""
    fig = go.Figure()
    epochs = history.get("epochs", 0)
    for name, values in sorted(history.get("losses", {}).items()):
        if name in hide:
            continue
        # a loss added when a resumed run changed its settings covers the last epochs only
        start = max(1, epochs - len(values) + 1)
        fig.add_trace(go.Scatter(x=list(range(start, start + len(values))), y=values, mode="lines+markers",
                                 name=LOSS_NAMES.get(name, name) + (" (right axis)" if name in right else ""),
                                 yaxis="y2" if name in right else "y",
                                 line=dict(dash="dot") if name in right else None))
    fig.update_layout(title=title, xaxis_title="epoch", yaxis_title="loss", height=320,
                      margin=dict(l=10, r=10, t=40, b=10), legend=dict(orientation="h", yanchor="top", y=-0.25))
    _whole_epochs(fig, history.get("epochs", 0))
    if right:
        fig.update_layout(yaxis2=dict(title=", ".join(right), overlaying="y", side="right", showgrid=False))
    return fig


def _whole_epochs(fig: go.Figure, epochs: int) -> None:
    """Ticks on whole epochs only (about ten of them)."""
    fig.update_xaxes(tickmode="linear", tick0=1, dtick=max(1, -(-epochs // 10)), tickformat="d")


POINT_COLOR = "#111111"      # the point and its projections in the class-area cube, against dimmed class dots


DEFAULT_EYE = np.array([1.25, 1.25, 1.25])    # plotly's default 3D camera position


def path_camera(path: np.ndarray) -> dict | None:
    """A camera that sees a morph's path from the side: plotly's default eye looks along the cube's diagonal, so a
    diagonal path (A = -B on every axis) would be one point. The eye keeps its distance and is turned away from
    the path's direction to 60 degrees when they are under 45 degrees apart (None when the default sees it)."""
    direction = np.asarray(path[-1], float) - np.asarray(path[0], float)
    if not np.linalg.norm(direction):
        return None
    d = direction / np.linalg.norm(direction)
    eye = DEFAULT_EYE
    if abs(eye @ d) / np.linalg.norm(eye) <= np.sqrt(0.5):     # 45 degrees or more apart: seen well enough
        return None
    side = eye - (eye @ d) * d                   # the part of the eye perpendicular to the path
    if np.linalg.norm(side) < 1e-6:
        side = np.cross(d, [0.0, 0.0, 1.0]) if abs(d[2]) < 0.9 else np.cross(d, [1.0, 0.0, 0.0])
    side = side / np.linalg.norm(side)
    new = np.linalg.norm(eye) * (0.5 * np.sign(eye @ d) * d + np.sqrt(0.75) * side)   # 60 degrees from the path
    return dict(eye=dict(x=float(new[0]), y=float(new[1]), z=float(new[2])))


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
            marker=dict(size=3.5 if point is None else 2.8, color=class_color(int(cls)),
                        opacity=0.55 if point is None else 0.28),                # the point stands out against them
            customdata=confidence[where], hovertemplate=f"class {class_names[cls]}" + " · p %{customdata:.2f}<br>"
            "(%{x:.2f}, %{y:.2f}, %{z:.2f})<extra></extra>"))
    if point is not None:
        lows = [float(c[0]) for c in coords]
        x, y, z = point
        projections = [(lows[0], y, z), (x, lows[1], z), (x, y, lows[2])]
        for px, py, pz in projections:
            fig.add_trace(go.Scatter3d(x=[x, px], y=[y, py], z=[z, pz], mode="lines", showlegend=False, hoverinfo="skip",
                                       line=dict(color=POINT_COLOR, width=6)))
        fig.add_trace(go.Scatter3d(
            x=[p[0] for p in projections], y=[p[1] for p in projections], z=[p[2] for p in projections],
            mode="markers", name="its projections", marker=dict(size=7, color=POINT_COLOR, symbol="square",
                                                               line=dict(color="#fff", width=1)),
            hovertemplate="projection (%{x:.2f}, %{y:.2f}, %{z:.2f})<extra></extra>"))
        fig.add_trace(go.Scatter3d(x=[x], y=[y], z=[z], mode="markers", name="the point",
                                   marker=dict(size=13, color="#111", symbol="diamond", line=dict(color=POINT_COLOR, width=4)),
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
    if path is not None and (camera := path_camera(path)) is not None:
        fig.update_layout(scene_camera=camera)
    return fig


def morph_chart(probabilities: np.ndarray | None, realness: np.ndarray | None, class_names: tuple[str, ...],
                steps: list[float] | None = None, x_title: str = "step (A = 1)") -> go.Figure:
    """Along a morph (or any path): the classifier's probability of each class that shows up (where the
    seven becomes a one), and the discriminator's score where the model has one. `steps` are the x
    values (1, 2, ... by default)."""
    fig = go.Figure()
    steps = steps if steps is not None else list(range(1, len(probabilities if probabilities is not None else realness) + 1))
    if probabilities is not None:
        for cls in range(probabilities.shape[1]):
            if probabilities[:, cls].max() < 0.05:
                continue
            fig.add_trace(go.Scatter(x=steps, y=probabilities[:, cls], mode="lines+markers", name=f"class {class_names[cls]}",
                                     line=dict(color=class_color(cls), width=3),
                                     hovertemplate=f"%{{x}}: p({class_names[cls]}) = %{{y:.2f}}<extra></extra>"))
    if realness is not None:
        fig.add_trace(go.Scatter(x=steps, y=realness, mode="lines", name="discriminator: real", line=dict(color="#111", dash="dash"),
                                 hovertemplate="%{x}: discriminator %{y:.2f}<extra></extra>"))
    fig.update_layout(height=320, margin=dict(l=10, r=10, t=10, b=10),
                      xaxis=dict(title=x_title, dtick=1 if len(steps) <= 24 and x_title.startswith("step") else None),
                      yaxis=dict(range=[0, 1.02], title="probability"),
                      legend=dict(orientation="h", yanchor="top", y=-0.22, xanchor="left", x=0))
    return fig


def latent_scatter_figure(xy: np.ndarray, labels: np.ndarray, class_names: tuple[str, ...], axis_names: tuple[str, str],
                          title: str = "", samples: np.ndarray | None = None, marks: list[dict] | None = None,
                          arrow: tuple[tuple[float, float], tuple[float, float]] | None = None,
                          ranges: tuple[tuple[float, float], tuple[float, float]] | None = None,
                          height: int = 430) -> go.Figure:
    """Encoded digits as a 2D scatter, one colour (and legend entry) per class.

    Args:
        xy: (N, 2) the points (codes, their p-values, or a PCA projection); labels: (N,) their classes.
        samples: (M, 2) points drawn from N(0, I), shown as small grey crosses.
        marks: single points to draw on top: dicts with "name", "x", "y" and optional "symbol", "color".
        arrow: ((x0, y0), (x1, y1)): an attribute vector drawn from a point.
        ranges: the axis ranges ((x_lo, x_hi), (y_lo, y_hi)); plotly's own otherwise.
    """
    fig = go.Figure()
    for cls in np.unique(labels):
        where = labels == cls
        fig.add_trace(go.Scatter(x=xy[where, 0], y=xy[where, 1], mode="markers", name=class_names[cls],
                                 marker=dict(size=5, color=class_color(int(cls)), opacity=0.75),
                                 hovertemplate=f"a {class_names[cls]}" + " (%{x:.2f}, %{y:.2f})<extra></extra>"))
    if samples is not None:
        fig.add_trace(go.Scatter(x=samples[:, 0], y=samples[:, 1], mode="markers", name="N(0, I) samples",
                                 marker=dict(size=5, color="#111", symbol="x-thin", line=dict(width=1, color="#111")),
                                 hovertemplate="sample (%{x:.2f}, %{y:.2f})<extra></extra>"))
    if arrow is not None:
        (x0, y0), (x1, y1) = arrow
        fig.add_annotation(x=x1, y=y1, ax=x0, ay=y0, xref="x", yref="y", axref="x", ayref="y", showarrow=True,
                           arrowhead=3, arrowsize=1.4, arrowwidth=3, arrowcolor="#111", text="")
    for mark in marks or []:
        fig.add_trace(go.Scatter(x=[mark["x"]], y=[mark["y"]], mode="markers", name=mark["name"],
                                 marker=dict(size=mark.get("size", 16), symbol=mark.get("symbol", "star"),
                                             color=mark.get("color", "#111"), line=dict(width=2, color="#fff")),
                                 hovertemplate=mark["name"] + " (%{x:.2f}, %{y:.2f})<extra></extra>"))
    fig.update_layout(title=title, height=height, margin=dict(l=10, r=10, t=40 if title else 10, b=10),
                      legend=dict(itemsizing="constant"), xaxis_title=axis_names[0], yaxis_title=axis_names[1])
    if ranges is not None:
        fig.update_xaxes(range=list(ranges[0]))
        fig.update_yaxes(range=list(ranges[1]))
    return fig


def latent_histograms_figure(z: np.ndarray, kl: np.ndarray | None = None, columns: int = 4) -> go.Figure:
    """One histogram per latent dimension of codes z (N, d), as densities, each against the N(0, 1) curve
    (the book's health check of a VAE); `kl` (d,) puts each dimension's KL divergence in its title."""
    from plotly.subplots import make_subplots

    d = z.shape[1]
    rows = -(-d // columns)
    titles = [f"z{i + 1}" + ("" if kl is None else f" · KL {kl[i]:.2f}") for i in range(d)]
    fig = make_subplots(rows=rows, cols=columns, subplot_titles=titles, horizontal_spacing=0.04, vertical_spacing=0.12)
    grid = np.linspace(-4, 4, 81)
    curve = np.exp(-grid ** 2 / 2) / np.sqrt(2 * np.pi)
    for i in range(d):
        row, col = i // columns + 1, i % columns + 1
        fig.add_trace(go.Histogram(x=z[:, i], histnorm="probability density", xbins=dict(start=-4, end=4, size=0.25),
                                   marker_color="#3f90da", opacity=0.8, showlegend=i == 0, name="codes",
                                   hovertemplate="%{x}: %{y:.2f}<extra></extra>"), row=row, col=col)
        fig.add_trace(go.Scatter(x=grid, y=curve, mode="lines", line=dict(color="#111", width=1.5),
                                 showlegend=i == 0, name="N(0, 1)", hoverinfo="skip"), row=row, col=col)
    fig.update_xaxes(range=[-4, 4])
    fig.update_layout(height=170 * rows + 60, margin=dict(l=10, r=10, t=40, b=10), bargap=0.05,
                      legend=dict(orientation="h", yanchor="bottom", y=1.02, xanchor="right", x=1))
    fig.update_annotations(font_size=12)
    return fig


def attribute_chart(alphas: np.ndarray, values: np.ndarray, name: str, unit: str,
                    mean_values: np.ndarray | None = None) -> go.Figure:
    """The measured attribute of the decoded images along alpha: for the point (and, dashed, the mean over
    many test digits moved by the same vector)."""
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=alphas, y=values, mode="lines+markers", name="this point", line=dict(color="#bd1f01", width=3),
                             hovertemplate=f"alpha %{{x:.2f}}: {name} %{{y:.2f}} {unit}<extra></extra>"))
    if mean_values is not None:
        fig.add_trace(go.Scatter(x=alphas, y=mean_values, mode="lines+markers", name="mean over test digits",
                                 line=dict(color="#111", dash="dash"),
                                 hovertemplate=f"alpha %{{x:.2f}}: mean {name} %{{y:.2f}} {unit}<extra></extra>"))
    fig.update_layout(height=300, margin=dict(l=10, r=10, t=10, b=10), xaxis_title="alpha",
                      yaxis_title=f"{name} ({unit})", legend=dict(orientation="h", yanchor="top", y=-0.25, xanchor="left", x=0))
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
    _whole_epochs(fig, history.get("epochs", 0))
    return fig


def runs_bar_figure(names: list[str], values: list[float | None], title: str, axis: str) -> go.Figure:
    """One bar per run (runs without the value are left out)."""
    pairs = [(n, v) for n, v in zip(names, values) if v is not None]
    fig = go.Figure(go.Bar(x=[n for n, _ in pairs], y=[v for _, v in pairs],
                           text=[f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}" for _, v in pairs],
                           textposition="auto"))
    fig.update_layout(title=title, yaxis_title=axis, height=300, margin=dict(l=10, r=10, t=40, b=10))
    return fig


def activation_scores_figure(histories: dict[str, dict]) -> go.Figure:
    """The thesis' chart of the activation experiment: per activation (one line each), the weak classifier's mean
    confidence on the generated images after each epoch (the Train page's monitoring)."""
    fig = go.Figure()
    for name, history in histories.items():
        series = history.get("monitor", {})
        if series.get("score_epochs"):
            fig.add_trace(go.Scatter(x=series["score_epochs"], y=series["weak_top_probability"], mode="lines+markers",
                                     name=name))
    fig.update_layout(title="Score per epoch: the weak classifier's confidence on 500 samples", xaxis_title="epoch",
                      yaxis_title="mean top probability", yaxis_range=[0, 1.02], height=320,
                      margin=dict(l=10, r=10, t=40, b=10), legend=dict(orientation="h", yanchor="top", y=-0.25))
    _whole_epochs(fig, max((h.get("epochs", 0) for h in histories.values()), default=0))
    return fig


def runs_loss_figure(histories: dict[str, dict], loss: str) -> go.Figure:
    """One line per run: the loss `loss` against the epoch."""
    fig = go.Figure()
    for name, history in histories.items():
        values = history.get("losses", {}).get(loss)
        if values:
            fig.add_trace(go.Scatter(x=list(range(1, len(values) + 1)), y=values, mode="lines+markers", name=name))
    fig.update_layout(title=f"{LOSS_NAMES.get(loss, loss)} per epoch", xaxis_title="epoch", yaxis_title=loss, height=320,
                      margin=dict(l=10, r=10, t=40, b=10))
    _whole_epochs(fig, max((len(h.get("losses", {}).get(loss, [])) for h in histories.values()), default=0))
    return fig


def distill_figure(result: dict, metric: str) -> go.Figure:
    """A distillation comparison (distill.json): `metric` ("accuracy" or "cross_entropy") on the test set per
    epoch, the student with the teacher against the student alone."""
    epochs = result.get("epochs", [])
    title = {"accuracy": "Test accuracy", "cross_entropy": "Test cross-entropy (nats)"}[metric]
    fig = go.Figure()
    for key, name, color in (("with_teacher", "student with the teacher", "#1f77b4"),
                             ("alone", "student alone (lambda = 0)", "#ff7f0e")):
        values = [row[metric] for row in result.get(key, [])]
        fig.add_trace(go.Scatter(x=epochs[:len(values)], y=values, mode="lines+markers", name=name,
                                 line=dict(color=color)))
    for (other, rows), color in zip((result.get("others") or {}).items(), ("#2ca02c", "#9467bd")):
        values = [row[metric] for row in rows]
        fig.add_trace(go.Scatter(x=epochs[:len(values)], y=values, mode="lines+markers", name=f"student with the {other}",
                                 line=dict(color=color, dash="dot")))
    fig.update_layout(title=title, xaxis_title="epoch", yaxis_title=metric.replace("_", "-"), height=320,
                      margin=dict(l=10, r=10, t=40, b=10), legend=dict(orientation="h", y=-0.25))
    _whole_epochs(fig, len(epochs))
    return fig


def sweep_figure(lambdas: list[float], with_teacher: list[float], alone: list[float], epochs: list[int]) -> go.Figure:
    """A lambda sweep: each comparison's last test accuracy with the teacher, and alone, against lambda."""
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=lambdas, y=with_teacher, mode="lines+markers", name="student with the teacher",
                             line=dict(color="#1f77b4"),
                             text=[f"epoch {e}" for e in epochs], hovertemplate="lambda %{x}: %{y:.2%} (%{text})"))
    fig.add_trace(go.Scatter(x=lambdas, y=alone, mode="markers", name="student alone (lambda = 0)",
                             marker=dict(color="#ff7f0e")))
    fig.update_layout(title="Test accuracy against lambda", xaxis_title="lambda", yaxis_title="accuracy",
                      height=320, margin=dict(l=10, r=10, t=40, b=10), legend=dict(orientation="h", y=-0.25))
    return fig


def two_domain_scatter(digits_xy: np.ndarray, digit_labels: np.ndarray, clothes_xy: np.ndarray,
                       clothes_labels: np.ndarray, clothes_names: tuple[str, ...],
                       axes: tuple[str, str] = ("z1", "z2")) -> go.Figure:
    """The dual-decoder VAE's latent plane: encoded digits (dots) and clothes (crosses), one colour per class
    index, so a class of clothes and the digit of the same index show in the same colour."""
    from .colors import CLASS_COLORS

    fig = go.Figure()
    for c in range(10):
        color = CLASS_COLORS[c % len(CLASS_COLORS)]
        d, f = digits_xy[digit_labels == c], clothes_xy[clothes_labels == c]
        fig.add_trace(go.Scatter(x=d[:, 0], y=d[:, 1], mode="markers", name=f"digit {c}", legendgroup=str(c),
                                   marker=dict(color=color, size=5, opacity=0.6)))
        fig.add_trace(go.Scatter(x=f[:, 0], y=f[:, 1], mode="markers", name=f"{clothes_names[c]} ({c})",
                                   legendgroup=str(c), marker=dict(color=color, size=7, symbol="x")))
    fig.update_layout(title="The dual VAE's latent plane: digits (dots) and clothes (crosses) by class index",
                      xaxis_title=axes[0], yaxis_title=axes[1], height=460, margin=dict(l=10, r=10, t=40, b=10))
    return fig
