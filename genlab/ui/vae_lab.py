"""The VAE Lab's shared state and its "Your digit" view (the page is pages/vae_lab.py; the other two views
are genlab/ui/vae_vectors.py and genlab/ui/vae_maps.py).

State (prefix "vae."): "vae.digit" is the user's digit (an MNIST-style image from the canvas, an upload
or a test digit, with its source); "vae.point" is the current latent point, which starts at the digit's
code in the chosen VAE and is then dragged on the pad ("vae.point_for" says for which model and digit).
The canvas ("vae.canvas"), the uploader and the pad only write into these. A drag reruns only the live
fragment; releasing the point reruns the page (the scatter and the other views follow).
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import numpy as np
import streamlit as st
import torch

from ..api import POINT_PATH
from ..checkpoints import Checkpoint
from ..data import load_dataset
from ..drawing import MAX_BYTES, ImageRefused, image_from_data_url, mnist_style, read_image
from ..files import file_stamp
from ..images import to_pil
from ..latent import views
from ..latent.attributes import ATTRIBUTES, AttributeVector, measured_vector
from ..latent.encoded import EncodedSet, Plane, PlaneDecoder, encode_images, view_plane
from ..latent.maps import ClassAreaMap, compute_class_area_map
from ..latent.point import explore_point
from ..latent.space import code_box
from ..metrics import classify
from ..plots import latent_scatter_figure
from .draw_canvas import draw_canvas
from .explorer import class_map, class_panel, image_panel, ranges_of, remembered_map
from .latent_pad import latent_pad
from .loaders import load_model
from .nearest import nearest_panel
from .point_explorer import begin_page, end_page, plane_preview

ss = st.session_state
PREFIX = "vae."
UPLOAD_LIMIT_MB = MAX_BYTES // 2**20


@dataclass
class Lab:
    """The models the lab works with."""
    vae: Checkpoint                      # the VAE of the "Your digit" and "Attribute vectors" views
    classifier: Checkpoint | None        # the strong classifier (maps, classes), if any
    class_names: tuple[str, ...]

    @property
    def d(self) -> int:
        return self.vae.model.latent_dim


def stamp_of(ckpt: Checkpoint) -> tuple:
    """(path, (size, mtime)): the cache key of a checkpoint file (a retrained file is a new key)."""
    return str(ckpt.path), file_stamp(ckpt.path)


@st.cache_data(max_entries=16, show_spinner="Encoding the embedded digits...")
def _codes(path: str, stamp: tuple, split: str) -> EncodedSet:
    data = load_dataset("mnist5k", split)
    return encode_images(load_model(path).model, data.images, data.labels)


def codes(ckpt: Checkpoint, split: str = "test") -> EncodedSet:
    """The codes of the embedded digits (mnist5k, "test": 1,000 or "train": 4,000) in this model."""
    return _codes(*stamp_of(ckpt), split)


@st.cache_data(max_entries=16, show_spinner="Computing the attribute vectors from 4,000 digits...")
def _measured_vectors(path: str, stamp: tuple) -> dict[str, AttributeVector]:
    train = load_dataset("mnist5k", "train")
    z = _codes(path, stamp, "train").mu
    return {name: measured_vector(z, train.images, train.labels, name, model=Path(path).name) for name in ATTRIBUTES}


def measured_vectors(ckpt: Checkpoint) -> dict[str, AttributeVector]:
    """The vector of every measured attribute (thickness, slant, width, height) in this model."""
    return _measured_vectors(*stamp_of(ckpt))


@st.cache_resource(max_entries=16)
def _view_plane(path: str, stamp: tuple) -> tuple[Plane, list[tuple[float, float]], np.ndarray]:
    """The view plane of a model, the box of its test codes on it and their projection, fitted once per
    checkpoint file (shared read-only: a drag moves a point, never the plane)."""
    encoded = _codes(path, stamp, "test")
    plane = view_plane(encoded)
    projected = plane.project(encoded.mu)
    projected.flags.writeable = False
    return plane, code_box(projected), projected


def projected_codes(lab: Lab) -> np.ndarray:
    """The test digits' codes on the view plane, (N, 2) (read-only)."""
    return _view_plane(*stamp_of(lab.vae))[2]


def plane_of(lab: Lab) -> Plane:
    """The plane the lab draws: z1, z2 of a 2D VAE, else the PCA plane of its test codes."""
    return _view_plane(*stamp_of(lab.vae))[0]


def plane_class_map(lab: Lab, point: list[float]) -> ClassAreaMap:
    """The class-area map of the view plane through `point` (for a latent space larger than 2D): a drag
    within the plane keeps the plane, so the map is computed once per digit (genlab.ui.explorer's store)."""
    plane = plane_of(lab).through(point)
    path, stamp = stamp_of(lab.vae)
    origin, ranges = tuple(np.round(plane.origin, 4)), tuple(map(tuple, plane_ranges(lab)))
    key = "plane-" + hashlib.sha256(repr((path, stamp, str(lab.classifier.path), origin, ranges)).encode()).hexdigest()[:24]

    def compute() -> ClassAreaMap:
        placed = Plane(np.array(origin), plane.directions, ("PC1", "PC2"))
        result = compute_class_area_map(PlaneDecoder(lab.vae.model, placed), lab.classifier.model, (0, 1),
                                        list(ranges), views.SLICE_RESOLUTION)
        result.key = key
        return result

    return remembered_map(key, compute, "class-area map of the plane through your digit")


def plane_ranges(lab: Lab) -> list[tuple[float, float]]:
    """The pad's and the scatter's ranges: the explorer's for a 2D space (so the maps are shared)."""
    if lab.d == 2:
        return ranges_of(lab.vae)
    return list(_view_plane(*stamp_of(lab.vae))[1])


def keep(key: str, default) -> str:
    """A widget's value kept while its tab is closed (Streamlit forgets the state of widgets that are not
    drawn): sets the widget's state from the kept copy; the widget passes `on_change=kept(key)`."""
    store = ss.setdefault("vae.kept", {})
    if key not in ss:
        ss[key] = store.get(key, default)
    return key


def kept(key: str):
    def remember():
        ss["vae.kept"][key] = ss[key]
    return remember


# --- the user's digit ------------------------------------------------------------------------------

def set_digit(image: torch.Tensor, source: str, png: str | None = None) -> None:
    """Make `image` (1, 1, 28, 28) in [-1, 1] the current digit; the point goes back to its code."""
    version = ss.get("vae.digit_version", 0) + 1
    ss["vae.digit"] = {"image": image.reshape(1, 1, 28, 28).float(), "source": source, "png": png, "version": version}
    ss["vae.digit_version"] = version
    ss.pop("vae.message", None)


def _take_drawing() -> None:
    """Adopt a new stroke or a cleared canvas (newer than the last one taken in)."""
    drawing = (ss.get("vae.canvas") or {}).get("drawing")
    if not drawing or drawing.get("seq", 0) <= ss.get("vae.drawing_seq", 0):
        return
    ss["vae.drawing_seq"] = int(drawing["seq"])
    if not drawing.get("png"):
        ss["vae.digit"], ss["vae.message"] = None, "The canvas is empty: draw a digit on it."
        return
    try:
        set_digit(mnist_style(image_from_data_url(drawing["png"])), "your drawing", drawing["png"])
    except ImageRefused as err:
        ss["vae.digit"], ss["vae.message"] = None, f"Nothing to encode: {err}."


def _take_upload(upload) -> None:
    if upload is None or ss.get("vae.upload_id") == upload.file_id:
        return
    ss["vae.upload_id"] = upload.file_id
    try:
        set_digit(mnist_style(read_image(upload.getvalue())), f"your upload {upload.name[:40]}")
    except ImageRefused as err:
        ss["vae.message"] = f"{upload.name[:40]} was refused: {err}."


def first_of_class(cls: int) -> int:
    """The index of the first test digit (mnist5k) of class `cls`."""
    return int(np.flatnonzero(load_dataset("mnist5k", "test").labels.numpy() == cls)[0])


def use_test_digit(index: int) -> None:
    """Make test digit `index` (mnist5k) the current digit (a button's callback)."""
    test = load_dataset("mnist5k", "test")
    set_digit(test.images[index], f"test digit #{index} (a {test.class_names[int(test.labels[index])]})")
    ss["vae.digit"]["test_index"] = int(index)   # a test digit can go in the page's link


def digit_code(model) -> list[float] | None:
    """The code of the current digit in `model` (an AE or a VAE; None without a digit)."""
    digit = ss.get("vae.digit")
    if digit is None:
        return None
    return encode_images(model, digit["image"]).mu[0].tolist()


def current_point(lab: Lab) -> list[float] | None:
    """The current latent point: the digit's code, until the pad moves it (per model and digit)."""
    digit = ss.get("vae.digit")
    if digit is None:
        return None
    owner = (str(lab.vae.path), digit["version"])
    if ss.get("vae.point_for") != owner:
        ss["vae.point"], ss["vae.point_for"] = digit_code(lab.vae.model), owner
    return ss["vae.point"]


def _take_pad_move(lab: Lab) -> None:
    moved = (ss.get("vae.pad") or {}).get("point")
    if not moved or moved.get("seq", 0) <= ss.get("vae.seq", 0) or ss.get("vae.point") is None:
        return
    ss["vae.seq"] = int(moved["seq"])
    try:   # the pad's numbers, clamped to its box (as the explorer does); anything else is ignored
        xy = [min(max(float(moved[k]), lo), hi) for k, (lo, hi) in zip("xy", plane_ranges(lab))]
    except (TypeError, ValueError, KeyError):
        return
    if not all(math.isfinite(v) for v in xy):
        return
    ss["vae.point"] = plane_of(lab).move(ss["vae.point"], tuple(xy)).tolist()
    if not moved.get("dragging"):
        ss["vae.commit"] = True


def digit_image(image: torch.Tensor, caption: str, width: int = 140) -> None:
    st.image(to_pil(image.reshape(1, 28, 28), scale=5), width=width, caption=caption, output_format="PNG")


def digit_view(lab: Lab) -> None:
    """Draw or upload a digit: it is preprocessed like MNIST, encoded, shown on the pad over the class-area
    map with its reconstruction, and can be dragged on from there."""
    begin_page(PREFIX)
    left, rest = st.columns([2, 7], gap="medium")
    with left:
        st.markdown("**Draw a digit** (one stroke at a time; it is read when you lift the pen)")
        digit = ss.get("vae.digit")
        draw_canvas("vae.canvas", png=(digit or {}).get("png"), seq=ss.get("vae.drawing_seq", 0))
        _take_drawing()
        upload = st.file_uploader(f"…or upload a picture of one digit (PNG or JPEG, up to {UPLOAD_LIMIT_MB} MB)",
                                  type=["png", "jpg", "jpeg"], key="vae.upload", max_upload_size=UPLOAD_LIMIT_MB)
        _take_upload(upload)
        test = load_dataset("mnist5k", "test")
        # one below the other: side by side in this narrow column the button's label was cut to "Us..."
        index = st.number_input("…or a test digit (its number)", 0, len(test) - 1, first_of_class(3),
                                key="vae.test_index")
        st.button("Use this test digit", key="vae.use_test", on_click=use_test_digit, args=(int(index),))
        if ss.get("vae.message"):
            st.warning(ss["vae.message"])
        digit = ss.get("vae.digit")
        if digit is not None:
            seen = ""
            if lab.classifier is not None:
                p = classify(lab.classifier.model, digit["image"])[0]
                seen = f"; the classifier reads a {lab.class_names[int(p.argmax())]} ({float(p.max()):.2f})"
            digit_image(digit["image"], f"{digit['source']}, as MNIST: 28 x 28, centred by mass{seen}")
    with rest:
        if ss.get("vae.digit") is None:
            st.info("Draw a digit on the black square (or upload a picture, or pick a test digit): it appears here as "
                    "a point in the VAE's latent space, with the VAE's reconstruction.")
        else:
            live_digit(lab)
            scatter_with_digit(lab)
    end_page(PREFIX)


@st.fragment
def live_digit(lab: Lab) -> None:
    """The pad with the current point and the image decoded there: reruns alone while dragging."""
    _take_pad_move(lab)
    if ss.get("vae.commit") and not ss.get("vae.full_pass"):
        st.rerun(scope="app")                      # a released point also updates the scatter and the vectors
    point = current_point(lab)
    plane, ranges = plane_of(lab), plane_ranges(lab)
    xy = plane.project(point)
    pad, image = st.columns([5, 4], gap="medium")
    view = explore_point(lab.vae.model, point, lab.classifier.model if lab.classifier else None)
    with image:
        st.markdown("**Decoded at the point**")
        image_panel(view, "vae-point")
        st.caption("The VAE's reconstruction of your digit, until you drag the point.")
        class_panel(view, lab.class_names, lab.vae.path.stem, "vae")
    with pad:
        pad_map, caption = None, ""
        if lab.d == 2 and lab.classifier is not None:
            pad_map = class_map(lab.vae, lab.classifier, views.pad_map_spec(ranges, point, (0, 1)),
                                what="map under the pad")
        elif lab.d > 2:
            pad_map = plane_class_map(lab, point) if lab.classifier is not None else None
            caption = f"the plane of the codes' two main directions through the point; the other {lab.d - 2} stay"
        shown = [min(max(v, lo), hi) for v, (lo, hi) in zip(xy, ranges)]
        placed = plane.through(point)
        preview = plane_preview(lab.vae, placed, ranges[0], ranges[1])
        latent_pad("vae.pad", tuple(shown), ranges[0], ranges[1], plane.names[0], plane.names[1], pad_map,
                   lab.class_names, seq=ss.get("vae.seq", 0), caption=caption, live=live_drag(lab, placed, preview))
        st.caption("Your digit's place in the latent space" + (" over the class-area map" if pad_map else "")
                   + ". Drag the point (or click, or use the arrow keys) to move on from there.")
        if shown != list(xy):
            st.caption("The point lies outside the range of the encoded test digits; the pad shows it at the edge.")
    nearest_panel(view.image, lab.vae.dataset, lab.classifier, "vae")


def live_drag(lab: Lab, placed: Plane, preview: dict | None) -> dict:
    """The pad's live drag: each move paints the preview from the plane's sprite, then asks the live route
    (genlab/api.py) for the decoded image and its class at the moved point of `placed` (the plane through
    the current point); the release commits the point through Python (`_take_pad_move`)."""
    if lab.vae.path is None:       # not a file the route can name: the preview, and every move to Python
        return {"preview": preview, "targets": {"image": ".st-key-vae-point-image"}}
    return {"url": POINT_PATH, "query": urlencode({"model": lab.vae.path.name}),
            "plane": {"origin": [float(v) for v in placed.origin],
                      "directions": [[float(v) for v in row] for row in placed.directions]},
            "preview": preview, "targets": {"image": ".st-key-vae-point-image", "class": ".st-key-vae-class"}}


def scatter_with_digit(lab: Lab) -> None:
    """The encoded test digits, your digit (a star) and the current point (a circle) among them."""
    test, plane = codes(lab.vae), plane_of(lab)
    marks = [dict(name="your digit", **dict(zip("xy", plane.project(digit_code(lab.vae.model)))))]
    point = ss.get("vae.point")
    if point is not None and not np.allclose(point, digit_code(lab.vae.model)):
        marks.append(dict(name="the point", symbol="circle", size=12, **dict(zip("xy", plane.project(point)))))
    where = "its codes" if lab.d == 2 else f"a 2D PCA projection of its {lab.d}D codes"
    st.markdown(f"**Among the 1,000 encoded test digits** ({lab.vae.path.name}, {where})")
    st.plotly_chart(latent_scatter_figure(projected_codes(lab), test.labels, lab.class_names, plane.names,
                                          marks=marks, ranges=tuple(plane_ranges(lab)[:2])),
                    width="stretch", key="vae.digit_scatter", config={"displayModeBar": False})
