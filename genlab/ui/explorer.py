"""Views shared by the pages that move through a latent space: the strong classifier, class-area
maps with a progress bar, latent ranges, and the panels for one point (image and class, layer
activations). Computation lives in genlab.latent; this module only caches and displays."""
from __future__ import annotations

import threading
from collections import OrderedDict

import streamlit as st

from ..checkpoints import Checkpoint
from ..files import file_stamp
from ..images import to_pil
from ..latent.maps import COARSE_STEP, ClassAreaMap, class_area_map, map_key
from ..latent.point import PointView
from ..latent.thesis import thesis_checks
from ..latent.views import MapSpec, explorer_ranges
from ..panels import (activations_html, class_html, class_names_of, default_layer, image_html, png_bytes,  # noqa: F401
                      strong_classifier)
from .heavy import heavy_turn
from .loaders import load_model

_STORE_SIZE = 48


@st.cache_resource
def _map_store() -> tuple[OrderedDict, threading.Lock]:
    """Maps computed or read in this server process, shared by every session (read-only arrays)."""
    return OrderedDict(), threading.Lock()


@st.cache_data(show_spinner="Encoding test digits to find the latent range...", max_entries=32)
def _encoded_ranges(path: str, stamp: tuple) -> list[tuple[float, float]]:
    return explorer_ranges(load_model(path).model)


@st.cache_data(show_spinner=False, max_entries=32)
def _thesis_sentences(path: str, stamp: tuple, classifier_path: str, classifier_stamp: tuple,
                      names: tuple[str, ...]) -> list[tuple[bool, str]]:
    checks = thesis_checks(load_model(path).model, load_model(classifier_path).model, names)
    return [(c.holds, c.sentence()) for c in checks]


def thesis_note(ckpt: Checkpoint, classifier: Checkpoint | None, names: tuple[str, ...], only: str | None = None) -> None:
    """For a 2D GAN: where the thesis' examples ("(0, 0) is a 1", the morph 7, 1, 8) hold for this model, and
    what it shows instead where they do not. `only` = "morph" keeps the morph's sentence alone."""
    if classifier is None or ckpt.path is None:
        return
    sentences = _thesis_sentences(str(ckpt.path), file_stamp(ckpt.path), str(classifier.path),
                                  file_stamp(classifier.path), names)
    if only == "morph":
        sentences = sentences[-1:]
    if sentences:
        st.caption("The thesis' examples on this model: " + " ".join(text for _, text in sentences))


@st.cache_data(max_entries=16, show_spinner=False)
def _ceiling(path: str, stamp: tuple) -> float:
    from ..quality import label_ceiling

    return min(label_ceiling(load_model(path).model.generator.label_embedding.weight.detach(), n=50_000))


def multiply_note(ckpt: Checkpoint) -> str | None:
    """Why a conditional GAN with the thesis' multiply conditioning mixes its labels, with its ceiling and its own
    worst label (None for other models)."""
    if getattr(getattr(ckpt.model, "config", None), "conditioning", None) != "multiply" or ckpt.path is None:
        return None
    ceiling = _ceiling(str(ckpt.path), file_stamp(ckpt.path))
    worst = ckpt.metrics.get("worst_label_agreement")
    own = f"; this one draws its worst label as itself {worst:.0%} of the time" if isinstance(worst, (int, float)) else ""
    return ("This is the thesis' own design: the generator sees the point **multiplied** by the label's embedding, so "
            "near the centre every label gets almost the same input and draws the same digit (at (0, 0, 0) exactly "
            f"the same). No generator of this design can draw its worst label as itself more than **{ceiling:.0%}** of "
            f"the time (the ceiling the quality report measures){own}. The page opens away from the centre, where the "
            "labels differ.")


def ranges_of(ckpt: Checkpoint) -> list[tuple[float, float]]:
    """The latent range per coordinate: the cube [-1, 1]^d for a GAN, the encoded digits' box for an AE/VAE."""
    if not hasattr(ckpt.model, "encode"):
        return explorer_ranges(ckpt.model)
    return [tuple(r) for r in _encoded_ranges(str(ckpt.path), file_stamp(ckpt.path))]


def class_map(ckpt: Checkpoint, classifier: Checkpoint, spec: MapSpec, label: int | None = None,
              what: str = "class-area map") -> ClassAreaMap:
    """A class-area map from memory, the disk cache, or computed now with a progress bar, in this visitor's
    turn at the server's heavy work (genlab.ui.heavy)."""
    key = map_key(ckpt.path, classifier.path, spec.axes, spec.ranges, spec.resolution, spec.fixed, label, "adaptive", COARSE_STEP)
    store, lock = _map_store()
    with lock:
        if key in store:
            store.move_to_end(key)
            return store[key]
    bar = None

    def progress(fraction: float, message: str) -> None:
        nonlocal bar
        if bar is None:
            bar = st.progress(0.0, text=f"Computing the {what}...")
        bar.progress(min(1.0, fraction), text=f"Computing the {what}: {message}")

    result = class_area_map(ckpt.model, classifier.model, ckpt.path, classifier.path, spec.axes, spec.ranges,
                            spec.resolution, spec.fixed, label, progress=progress, gate=lambda: heavy_turn(what))
    if bar is not None:
        bar.empty()
    _remember(key, result)
    return result


def _remember(key: str, result: ClassAreaMap) -> None:
    store, lock = _map_store()
    with lock:
        store[key] = result
        while len(store) > _STORE_SIZE:
            store.popitem(last=False)


def remembered_map(key: str, compute, what: str) -> ClassAreaMap:
    """A map without a disk cache (e.g. the VAE Lab's plane through a digit): from this process's store, else
    `compute()`d in this visitor's turn at the heavy work, with a spinner, and kept in the store."""
    store, lock = _map_store()
    with lock:
        if key in store:
            store.move_to_end(key)
            return store[key]
    with heavy_turn(what), st.spinner(f"Computing the {what}..."):
        result = compute()
    _remember(key, result)
    return result


def image_panel(view: PointView, key: str) -> None:
    """The generated image (`image_html`) in a container keyed `key`-image (the live drag updates it)."""
    with st.container(key=f"{key}-image"):
        st.html(image_html(view))


def class_panel(view: PointView, class_names: tuple[str, ...], file_stem: str, key: str) -> None:
    """The image's class with the probabilities, the discriminator's verdict (`class_html`, in a container
    keyed `key`-class), and a PNG download."""
    if view.probabilities is not None or view.realness is not None:
        with st.container(key=f"{key}-class"):
            st.html(class_html(view, class_names))
    st.download_button("Download image (PNG)", lambda: png_bytes(to_pil(view.image, scale=10)),
                       file_name=f"{file_stem}_" + "_".join(f"{v:.2f}" for v in view.z) + ".png",
                       mime="image/png", key=f"{key}-download", on_click="ignore")


def layer_key(key: str) -> str:
    """The session-state key of the layer picker of the panels keyed `key` (the live drag asks for its layer)."""
    return f"{key}-layer"


def activations_panel(view: PointView, key: str, dissect: bool = False) -> str:
    """The layer picker (`layer_key`), then `activations_html` in a container keyed `key`-layers (with
    `dissect`, the bars only: genlab.ui.dissect draws the clickable maps). Returns the layer picked."""
    layers = list(view.layer_means)
    layer = st.selectbox("Feature maps of layer", layers, index=layers.index(default_layer(view)), key=layer_key(key),
                         format_func=lambda n: n.split(".", 1)[-1].removeprefix("layers."))
    with st.container(key=f"{key}-layers"):
        st.html(activations_html(view, layer, grid=not dissect))
    return layer
