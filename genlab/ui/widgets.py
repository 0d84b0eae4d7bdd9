"""Widgets shared by several pages."""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from .. import __version__
from ..catalog import KIND_TITLES, checkpoint_folder, list_models, trained_folder
from ..checkpoints import Checkpoint, CheckpointError
from ..latent.attributes import AttributeVector, VectorError, vector_from_json
from ..models import default_device
from ..training.jobs import DEMO_LIMITS, demo_mode, max_queue
from .loaders import load_model
from .visitor import mount as mount_visitor


def sidebar() -> None:
    """The sidebar every page shares: where models come from and what computes."""
    with st.sidebar:
        st.caption(f"GenLab {__version__} · computing on **{default_device().type.upper()}**")
        if demo_mode():   # a visitor of the hosted demo is not shown the server's folders
            st.caption("Models: the shipped ones and those trained on the Train page")
        else:
            st.caption(f"Models: `{checkpoint_folder()}` (shipped) and `{trained_folder()}` (trained on the Train page)")
        if demo_mode():
            st.info(f"**Hosted demo**, shared with other visitors: training runs are limited to "
                    f"{DEMO_LIMITS['epochs']} epochs on at most {DEMO_LIMITS['limit']:,} embedded digits, one run per "
                    f"visitor at a time, {max_queue()} waiting at most. Anyone can watch a run; only the visitor who "
                    "started it can stop it.", icon=":material/groups:")
        mount_visitor()


def model_picker(key: str, kinds: tuple[str, ...] | None = None, label: str = "Model", slot=None,
                 preferred: str | None = None, help: str | None = None, empty: str | None = None,
                 default: str | None = None) -> dict | None:
    """A selectbox over the valid checkpoints (optionally of some kinds); None when there are none.

    Args:
        slot: where to put it (a column), else the main area.
        preferred: the file to select when the session has no choice yet (e.g. from a link), if present.
        default: the page's usual model, selected when `preferred` is missing or not here (a bad link), if present.
        empty: the message when there is no such model (how to train one).
    """
    rows, problems = list_models()
    for problem in problems:
        st.warning(f"Skipped a checkpoint that failed validation: {problem}")
    rows = [r for r in rows if kinds is None or r["kind"] in kinds]
    if not rows:
        st.info(empty or f"No models in `{checkpoint_folder()}` yet. Train one with `python -m train ...` (see docs/training.md).")
        return None
    files = [r["file"] for r in rows]
    if key not in st.session_state:
        chosen = next((f for f in (preferred, default) if f in files), None)
        if chosen is not None:
            st.session_state[key] = chosen
    # the file's name first (short and distinct), then the model in a few words: the kind is left out where the
    # picker holds one kind (the page's title says it), so the label fits a narrow column
    prefix = f"{KIND_TITLES[kinds[0]]}, " if kinds and len(kinds) == 1 and kinds[0] in KIND_TITLES else ""

    def name(f: str) -> str:
        short = next(r.get("short", r["model"]) for r in rows if r["file"] == f)
        return f"{Path(f).stem} — {short.removeprefix(prefix) if prefix else short}"

    choice = (slot or st).selectbox(label, files, key=key, help=help, format_func=name)
    return next(r for r in rows if r["file"] == choice)


def load_or_stop(row: dict) -> Checkpoint:
    """The picked checkpoint, or an error that says why it cannot be loaded (the rest of the page stops;
    the picker above stays usable)."""
    try:
        return load_model(row["path"])
    except CheckpointError as err:
        st.error(f"This checkpoint cannot be loaded: {err}")
        st.stop()


def vector_upload(key: str, latent_dim: int, model_file: str, label: str) -> AttributeVector | None:
    """A file uploader for a saved vector (JSON), checked against the latent size; the reason shown when refused,
    and a note when it was made with another model. Used by the VAE Lab and the Morph page."""
    upload = st.file_uploader(label, type=["json"], key=key, max_upload_size=1)
    if upload is None:
        return None
    try:
        vector = vector_from_json(upload.getvalue(), latent_dim)
    except VectorError as err:
        st.error(f"{upload.name[:40]}: {err}")
        return None
    if vector.model and vector.model != model_file:
        st.caption(f"Note: this vector was made with {vector.model}, not {model_file}; it moves the same way only "
                   "if both models share their latent space.")
    return vector
