"""Beside a generated or decoded image: its nearest training digits (genlab.nearest), and whether it is a copy."""
from __future__ import annotations

import streamlit as st
import torch

from ..checkpoints import Checkpoint
from ..images import to_pil
from ..files import file_stamp
from ..nearest import COPY_PERCENTILE, NearestIndex, build_index, searched_set_note

K = 5
MNIST_KINDS = ("mnist", "mnist5k")


@st.cache_resource(show_spinner=False, max_entries=2)
def _index(classifier_path: str, stamp: tuple) -> NearestIndex:
    from .loaders import load_model

    return build_index(load_model(classifier_path).model, classifier_path)


def nearest_index(classifier: Checkpoint | None) -> NearestIndex | None:
    """The shared index of the training digits with `classifier`'s features (built once per classifier
    file, with a spinner: the full 60,000 digits' features take up to a minute on 2 cores, then come from
    the disk cache)."""
    if classifier is None or classifier.path is None:
        return None
    with st.spinner("Indexing the training digits (once per server; up to a minute with the full 60,000)..."):
        return _index(str(classifier.path), file_stamp(classifier.path))


def _row(index: NearestIndex, query: torch.Tensor, space: str, unit: str) -> None:
    found = index.search(query, k=K, space=space)
    images = [to_pil(query[0], scale=2)] + [to_pil(index.images[int(i)], scale=2) for i in found.indices[0]]
    captions = ["this image"] + [f"{int(label)} · {float(d):.2f}" for label, d in zip(found.labels[0], found.distances[0])]
    st.markdown(f"**Nearest in {unit}**")
    st.image(images, caption=captions, width=56)


def nearest_panel(image: torch.Tensor, dataset: str | None, classifier: Checkpoint | None, key: str) -> None:
    """A toggle; when on, the k nearest training digits of `image` (1, 28, 28) by pixels and by the classifier's
    features, and the verdict: a copy or not (the copy threshold of genlab.nearest)."""
    if not st.toggle("Is it a copy? Show the nearest training digits", key=f"{key}-nearest",
                     help="Finds the training digits closest to this image, in pixels and in the strong classifier's "
                          "features. A generator that memorised its training set would draw some of them again."):
        return
    if dataset not in MNIST_KINDS:
        st.info(f"This model was trained on {dataset or 'an unknown dataset'}; the check searches MNIST digits, so it "
                "covers models trained on MNIST.")
        return
    index = nearest_index(classifier)
    if index is None:
        st.info("The check needs the strong classifier (its features); none is in the models folder.")
        return
    query = image.detach().float().reshape(1, 1, 28, 28)
    nearest = float(index.search(query, k=1).distances[0, 0])
    threshold = index.copy_threshold()
    if nearest < threshold:
        st.warning(f"**Possibly a copy**: the nearest of the {index.source} is {nearest:.2f} away in pixels, closer "
                   f"than {1 - COPY_PERCENTILE:.0%} of training digits are to their own nearest neighbour "
                   f"({threshold:.2f}).")
    else:
        st.success(f"**Not a copy**: the nearest of the {index.source} is {nearest:.2f} away in pixels; a copy "
                   f"would be closer than {threshold:.2f} (closer than {1 - COPY_PERCENTILE:.0%} of training "
                   "digits are to their own nearest neighbour).")
    st.caption(searched_set_note(dataset, index))
    _row(index, query, "pixels", "pixels")
    if index.features is not None:
        _row(index, query, "features", "the classifier's features")
    st.caption("Under each training digit: its label and its distance (pixels: Euclidean, each pixel 0 to 1; "
               "features: Euclidean in the strong classifier's 128 penultimate features, where digits that look "
               "alike to it are near).")


def _test_digits():
    from ..data import DatasetUnavailable, load_dataset

    try:
        return load_dataset("mnist", "test")
    except DatasetUnavailable:
        return load_dataset("mnist5k", "test")


@st.cache_data(show_spinner=False, max_entries=32)
def _copy_figures(path: str, stamp: tuple, classifier_path: str, classifier_stamp: tuple) -> tuple[dict, dict]:
    from ..quality import COPY_SAMPLES, copy_subset, quality_samples
    from .loaders import load_model

    index = _index(classifier_path, classifier_stamp)
    images, _ = quality_samples(load_model(path).model, COPY_SAMPLES, seed=0)
    return index.copy_figures(images), index.copy_figures(copy_subset(_test_digits().images))


def copy_rate_section(ckpt: Checkpoint, classifier: Checkpoint | None) -> None:
    """The Model card's memorisation check: the copy rate of 1,000 samples beside real test digits'."""
    if ckpt.kind not in ("gan", "cgan", "vae", "ae") or ckpt.path is None:
        return
    if not st.toggle("Check for copies of training digits", key="models.copies",
                     help="The memorisation check: draws 1,000 samples the way the app does and finds each one's "
                          "nearest training digit."):
        return
    if ckpt.dataset not in MNIST_KINDS:
        st.info(f"This model was trained on {ckpt.dataset}; the check searches MNIST digits.")
        return
    if classifier is None or classifier.path is None:
        st.info("The check needs the strong classifier; none is in the models folder.")
        return
    nearest_index(classifier)                      # built once, with its spinner
    with st.spinner("Drawing 1,000 samples and searching the training digits..."):
        model, real = _copy_figures(str(ckpt.path), file_stamp(ckpt.path), str(classifier.path),
                                    file_stamp(classifier.path))
    st.caption(searched_set_note(ckpt.dataset, nearest_index(classifier)))
    st.markdown(f"**Copies: {model['copy_rate']:.1%}** of {model['copy_samples']:,} samples (real test digits, never "
                f"trained on: {real['copy_rate']:.1%}). A copy is an image closer to one of the "
                f"{model['copy_reference']} than {1 - COPY_PERCENTILE:.0%} of training digits are to their own nearest "
                f"neighbour (pixel distance {model['copy_threshold']:.2f}). Median distance to the nearest training "
                f"digit: {model['median_nearest_distance']:.2f} (test digits: {real['median_nearest_distance']:.2f}).")
