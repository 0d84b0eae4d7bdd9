"""The VAE Lab's attribute vectors view: sliders that add attribute vectors to the current point, one vector
along alpha (a strip and a chart of the measured attribute), and vectors a user makes (class to class,
two sets of examples) or loads; every vector can be saved as JSON (and applied on the Morph page).

State: "vae.vectors" holds the user's vectors per model file; "vae.alphas" (kept through `keep`) the sliders.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import streamlit as st

from ..data import load_dataset
from ..generate import generate_images
from ..images import image_grid
from ..latent.attributes import (ATTRIBUTES, AttributeVector, VectorError, apply_vector, class_vector,
                                 examples_vector, mean_sweep, measure_all, sweep)
from ..latent.point import explore_point
from .links import page_follows
from ..plots import attribute_chart, latent_scatter_figure, morph_chart
from .explorer import image_panel
from .widgets import vector_upload
from .loaders import load_model
from .vae_lab import (Lab, codes, current_point, digit_code, digit_image, first_of_class, keep, kept, measured_vectors, plane_of,
                      plane_ranges, projected_codes, stamp_of)

ss = st.session_state
ALPHA_LIMIT = 3.0                               # sliders run from -ALPHA_LIMIT to +ALPHA_LIMIT
STRIP_ALPHAS = np.linspace(-ALPHA_LIMIT, ALPHA_LIMIT, 13)
MEAN_OVER = 100                                 # test digits averaged in the chart along alpha
CLASSES = "class probabilities"


def user_vectors(lab: Lab) -> dict[str, AttributeVector]:
    """The vectors the user made or loaded for this VAE."""
    return ss.setdefault("vae.vectors", {}).setdefault(str(lab.vae.path), {})


def all_vectors(lab: Lab) -> dict[str, AttributeVector]:
    return {**measured_vectors(lab.vae), **user_vectors(lab)}


def base_point(lab: Lab) -> tuple[list[float], str, object]:
    """The point the vectors start from, what it is, and its digit image (or None): the current point of
    the "Your digit" view, else the first test 3."""
    point = current_point(lab)
    if point is not None:
        digit = ss["vae.digit"]
        moved = not np.allclose(point, digit_code(lab.vae.model))
        return point, digit["source"] + (", dragged on the pad" if moved else ""), None if moved else digit["image"]
    test = load_dataset("mnist5k", "test")
    index = first_of_class(3)
    return codes(lab.vae).mu[index].tolist(), f"test digit #{index} (a 3; draw your own on the first tab)", test.images[index]


def mean_along(lab: Lab, vector: AttributeVector, name: str) -> np.ndarray:
    """The attribute `name` averaged over the first 100 test digits moved along `vector`, per alpha."""
    return _mean_along(*stamp_of(lab.vae), tuple(vector.vector), name)


@st.cache_data(max_entries=64, show_spinner="Measuring 100 test digits along alpha...")
def _mean_along(path: str, stamp: tuple, vector: tuple, name: str) -> np.ndarray:
    ckpt = load_model(path)
    return mean_sweep(ckpt.model, codes(ckpt).mu[:MEAN_OVER], np.array(vector), STRIP_ALPHAS, name)


def vectors_view(lab: Lab) -> None:
    """The whole tab: sliders, one vector along alpha, making and loading vectors."""
    point, source, image = base_point(lab)
    st.markdown(f"Starting from **{source}**. Each vector is the book's: the mean code of digits *with* the "
                "attribute minus the mean code of digits *without* it; a slider adds alpha times it to the point.")
    if lab.d == 2:
        st.caption("A 2D latent space has room for little besides the digit itself: here slant and width change, "
                   "thickness hardly. Pick the 16D VAE (vae_16) at the top to see thickness change too.")
    sliders_view(lab, point, image)
    st.divider()
    along_alpha_view(lab, point)
    st.divider()
    make_vectors_view(lab)


def _alpha_key(name: str) -> str:
    return f"vae.alpha.{name}"


def _reset(names: list[str]) -> None:
    for name in names:
        ss[_alpha_key(name)] = 0.0
        ss.setdefault("vae.kept", {})[_alpha_key(name)] = 0.0


@st.fragment
def sliders_view(lab: Lab, point: list[float], image) -> None:
    """A slider per vector; the point moved by all of them, decoded, measured, and drawn on the map."""
    vectors = all_vectors(lab)
    controls, result, where = st.columns([3, 3, 4], gap="medium")
    with controls:
        st.markdown("**Attribute sliders** (alpha < 0 takes the attribute away)")
        alphas = {}
        for name, vector in vectors.items():
            key = keep(_alpha_key(name), 0.0)
            alphas[name] = st.slider(name, -ALPHA_LIMIT, ALPHA_LIMIT, step=0.1, key=key, on_change=kept(key),
                                     help=vector.description)
        st.button("All sliders to 0", key="vae.reset", on_click=_reset, args=(list(vectors),))
    page_follows("vae", tuple(sorted(alphas.items())))   # the page's link holds the sliders
    moved = point
    for name, alpha in alphas.items():
        if alpha:
            moved = apply_vector(moved, vectors[name].vector, alpha).tolist()
    view = explore_point(lab.vae.model, moved, lab.classifier.model if lab.classifier else None)
    with result:
        st.markdown("**The point moved by the sliders**")
        image_panel(view, "vae-moved")
        start, now = _start_measures(*stamp_of(lab.vae), tuple(point)), measure_all(view.image[None])
        rows = "".join(f"<tr><td>{name}</td><td>{start[name][0]:.1f}</td><td><b>{now[name][0]:.1f}"
                       f"</b></td><td>{a.unit}</td></tr>" for name, a in ATTRIBUTES.items())
        st.html(f"<table style='font-size:14px;margin:auto'><tr><th></th><th>start</th><th>now</th><th></th></tr>"
                f"{rows}</table>")
        if view.predicted is not None:
            st.caption(f"The classifier reads a {lab.class_names[view.predicted]} "
                       f"({view.probabilities[view.predicted]:.2f}). Measured on the decoded images.")
    with where:
        plane = plane_of(lab)
        test = codes(lab.vae)
        a, b = plane.project(point), plane.project(moved)
        what = "z1, z2" if lab.d == 2 else f"a 2D PCA projection of the {lab.d}D codes"
        st.markdown(f"**The move in the latent space** ({what})")
        st.plotly_chart(latent_scatter_figure(projected_codes(lab), test.labels, lab.class_names, plane.names,
                                              marks=[dict(name="start", symbol="circle", size=12, x=a[0], y=a[1]),
                                                     dict(name="moved", x=b[0], y=b[1])],
                                              arrow=((a[0], a[1]), (b[0], b[1])), ranges=tuple(plane_ranges(lab)[:2]),
                                              height=380),
                        width="stretch", key="vae.vector_scatter", config={"displayModeBar": False})
        if image is not None:
            digit_image(image, "the start", width=84)


@st.cache_data(max_entries=64, show_spinner=False)
def _start_measures(path: str, stamp: tuple, point: tuple) -> dict:
    """The attributes measured on the image decoded at the start point (fixed while the sliders move)."""
    return measure_all(generate_images(load_model(path).model, [list(point)]))


def along_alpha_view(lab: Lab, point: list[float]) -> None:
    """One vector over alpha from -3 to 3: the strip of decoded images and what is measured on them."""
    vectors = all_vectors(lab)
    st.subheader("One vector along alpha")
    top = st.columns([2, 2, 3], vertical_alignment="bottom")
    key = keep("vae.along", "thickness")
    if ss[key] not in vectors:
        ss[key] = "thickness"
    name = top[0].selectbox("Vector", list(vectors), key=key, on_change=kept(key))
    vector = vectors[name]
    measures = list(ATTRIBUTES) + ([CLASSES] if lab.classifier is not None else [])
    measure_key = keep(f"vae.measure.{name}", name if name in ATTRIBUTES else measures[-1])
    measured = top[1].selectbox("Measure along alpha", measures, key=measure_key, on_change=kept(measure_key))
    top[2].download_button("Save this vector (JSON)", vector.to_json(), file_name=f"{lab.vae.path.stem}_{_slug(name)}.json",
                           mime="application/json", key="vae.save", on_click="ignore",
                           help="Load it again here or on the Morph page, which applies it to A or B.")
    st.caption(f"{vector.description} ({vector.n_with} with, {vector.n_without} without; length {vector.norm:.2f}).")
    result = sweep(lab.vae.model, point, vector.vector, STRIP_ALPHAS, lab.classifier.model if lab.classifier else None)
    with st.container(key="vae-strip"):
        st.image(image_grid(result.images, nrow=len(STRIP_ALPHAS), scale=3), width="stretch", output_format="PNG",
                 caption="alpha = " + ", ".join(f"{a:g}" for a in STRIP_ALPHAS) + " (left to right; the middle one is "
                         "the start)")
    if measured == CLASSES:
        st.plotly_chart(morph_chart(result.probabilities, None, lab.class_names, steps=list(STRIP_ALPHAS), x_title="alpha"),
                        width="stretch", key="vae.along_chart", config={"displayModeBar": False})
    else:
        unit = ATTRIBUTES[measured].unit
        st.plotly_chart(attribute_chart(STRIP_ALPHAS, result.measures[measured], measured, unit,
                                        mean_along(lab, vector, measured)),
                        width="stretch", key="vae.along_chart", config={"displayModeBar": False})
        st.caption(f"The {measured} of each decoded image ({ATTRIBUTES[measured].meaning}); dashed: the mean over "
                   f"{MEAN_OVER} test digits moved by the same vector.")


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name).strip("_")[:40] or "vector"


def add_vector(lab: Lab, vector: AttributeVector) -> None:
    """Keep a made or loaded vector; a name already taken (a measured attribute, an earlier vector) gets
    a number, so nothing is replaced silently."""
    taken, name, n = set(all_vectors(lab)), vector.name, 2
    while name in taken:
        name, n = f"{vector.name} ({n})", n + 1
    vector = dataclasses.replace(vector, name=name)
    user_vectors(lab)[vector.name] = vector
    ss["vae.along"] = ss.setdefault("vae.kept", {})["vae.along"] = vector.name
    ss["vae.vector_message"] = ("success", f"Added the vector \"{vector.name}\": it has a slider above and is shown "
                                           "along alpha.")


def _make_class_vector(lab: Lab) -> None:
    train = codes(lab.vae, "train")
    try:
        add_vector(lab, class_vector(train.mu, train.labels, int(ss["vae.from"]), int(ss["vae.to"]), lab.class_names,
                                     lab.vae.path.name))
    except VectorError as err:
        ss["vae.vector_message"] = ("error", str(err))


def _make_examples_vector(lab: Lab) -> None:
    try:
        add_vector(lab, examples_vector(codes(lab.vae).mu, ss.get("vae.with") or [], ss.get("vae.without") or [],
                                        ss.get("vae.name") or "", lab.vae.path.name))
    except VectorError as err:
        ss["vae.vector_message"] = ("error", str(err))


def make_vectors_view(lab: Lab) -> None:
    """Class to class, from picked examples, or loaded from JSON."""
    st.subheader("Make your own vector")
    message = ss.pop("vae.vector_message", None)
    if message:
        (st.success if message[0] == "success" else st.error)(message[1])
    by_class, by_examples, loaded = st.columns([2, 4, 2], gap="large")
    names = lab.class_names
    with by_class:
        st.markdown("**From one class to another** (the mean code of the second minus that of the first)")
        st.selectbox("From", range(len(names)), index=4, key="vae.from", format_func=lambda c: names[c])
        st.selectbox("To", range(len(names)), index=9, key="vae.to", format_func=lambda c: names[c])
        st.button("Make the class vector", key="vae.make_class", on_click=_make_class_vector, args=(lab,))
    with by_examples:
        test = load_dataset("mnist5k", "test")
        st.markdown("**From examples you pick** among the first 60 test digits")
        st.image(image_grid(test.images[:60], nrow=15, scale=2), width="stretch", output_format="PNG",
                 caption="numbered from 0, left to right and row by row (row 2 starts at 15)")
        label = lambda i: f"#{i} (a {names[int(test.labels[i])]})"  # noqa: E731
        st.multiselect("With the attribute", range(60), key="vae.with", format_func=label)
        st.multiselect("Without it", range(60), key="vae.without", format_func=label)
        st.text_input("Its name", key="vae.name", placeholder="e.g. closed top")
        st.button("Make the vector from the examples", key="vae.make_examples", on_click=_make_examples_vector,
                  args=(lab,))
    with loaded:
        st.markdown("**Load a saved vector**")
        vector = vector_upload("vae.load", lab.d, lab.vae.path.name, "A JSON file saved here")
        if vector is not None and user_vectors(lab).get(vector.name) != vector:
            st.button(f"Add \"{vector.name[:30]}\"", key="vae.add_loaded", on_click=add_vector, args=(lab, vector))
