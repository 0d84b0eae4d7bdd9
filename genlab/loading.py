"""The models' cache shared by every session and the live HTTP routes (genlab/api.py) of one server process.

A checkpoint comes back in eval mode and nothing may mutate it: pages and routes read the same object. The key
includes the file's size and modification time (genlab.files.file_stamp), so a retrained checkpoint at the same
path is loaded afresh. At most MAX_MODELS stay loaded (the least recently used goes). No Streamlit here: the UI
(genlab.ui.loaders) and the HTTP layer both import this module.
"""
from __future__ import annotations

import threading
from collections import OrderedDict

import torch

from .checkpoints import Checkpoint, load_checkpoint
from .files import file_stamp
from .models import default_device

MAX_MODELS = 16
_cache: OrderedDict[tuple, Checkpoint] = OrderedDict()
_lock = threading.Lock()
_loading: dict[tuple, threading.Lock] = {}


def _load(path: str) -> Checkpoint:
    checkpoint = load_checkpoint(path, device=default_device())
    model = checkpoint.model
    if model is not None and all(p.dim() != 5 for p in model.parameters()):
        # channels-last convolutions: the live drag's generator, discriminator and classifier passes for one
        # image take 5.0 instead of 5.6 ms of CPU here (same results up to float rounding)
        model.to(memory_format=torch.channels_last)
    return checkpoint


def _key(path) -> tuple:
    return str(path), file_stamp(path)


def cached(path) -> Checkpoint | None:
    """The checkpoint at `path` if its current version is loaded, else None (the UI shows a spinner then)."""
    key = _key(path)
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    return None


def load_model(path) -> Checkpoint:
    """The checkpoint at `path` (cached; raises CheckpointError with a message when invalid). Two callers that
    ask for the same file at once load it once."""
    key = _key(path)
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
        gate = _loading.setdefault(key, threading.Lock())
    try:
        with gate:
            with _lock:
                if key in _cache:
                    return _cache[key]
            checkpoint = _load(str(path))
            with _lock:
                _cache[key] = checkpoint
                while len(_cache) > MAX_MODELS:
                    _cache.popitem(last=False)
            return checkpoint
    finally:
        with _lock:
            _loading.pop(key, None)


def clear() -> None:
    """Forget every loaded model (tests)."""
    with _lock:
        _cache.clear()
