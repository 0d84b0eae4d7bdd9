"""Widgets shared by several pages."""
from __future__ import annotations

import streamlit as st

from .. import __version__
from ..catalog import checkpoint_folder, list_models
from ..models import default_device


def sidebar() -> None:
    """The sidebar every page shares: where models come from and what computes."""
    with st.sidebar:
        st.caption(f"GenLab {__version__} · computing on **{default_device().type.upper()}**")
        st.caption(f"Models folder: `{checkpoint_folder()}`")


def model_picker(key: str, kinds: tuple[str, ...] | None = None, label: str = "Model") -> dict | None:
    """A selectbox over the valid checkpoints (optionally of some kinds); None when there are none."""
    rows, problems = list_models()
    for problem in problems:
        st.warning(f"Skipped a checkpoint that failed validation: {problem}")
    rows = [r for r in rows if kinds is None or r["kind"] in kinds]
    if not rows:
        st.info(f"No models in `{checkpoint_folder()}` yet. Train one with `python -m train ...` (see README).")
        return None
    files = [r["file"] for r in rows]
    choice = st.selectbox(label, files, key=key,
                          format_func=lambda f: f"{next(r['model'] for r in rows if r['file'] == f)} — {f}")
    return next(r for r in rows if r["file"] == choice)
