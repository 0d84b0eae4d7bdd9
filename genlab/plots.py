"""Plotly figures built from plain values (no Streamlit here)."""
from __future__ import annotations

import plotly.graph_objects as go


def loss_history_figure(history: dict, title: str = "Losses per epoch") -> go.Figure:
    """One line per recorded loss (G and D, reconstruction and KL, ...) against the epoch."""
    fig = go.Figure()
    for name, values in sorted(history.get("losses", {}).items()):
        fig.add_trace(go.Scatter(x=list(range(1, len(values) + 1)), y=values, mode="lines+markers", name=name))
    fig.update_layout(title=title, xaxis_title="epoch", yaxis_title="loss", height=320,
                      margin=dict(l=10, r=10, t=40, b=10), legend=dict(orientation="h", yanchor="bottom", y=1.02, xanchor="right", x=1))
    return fig
