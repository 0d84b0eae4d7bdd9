"""Model loading for the pages: the process-wide cache of genlab.loading (shared with the live HTTP routes),
with a spinner while a model is read for the first time.

The cached objects are shared by every session: the model comes back in eval mode and nothing may mutate it.
"""
from __future__ import annotations

import streamlit as st

from ..checkpoints import Checkpoint
from ..loading import cached, load_model as _load_model


def load_model(path: str) -> Checkpoint:
    """The checkpoint at `path` (cached; raises CheckpointError with a message when invalid)."""
    checkpoint = cached(path)
    if checkpoint is not None:                  # a page's rerun: one stat of the file, no spinner
        return checkpoint
    with st.spinner("Loading the model..."):
        return _load_model(path)
