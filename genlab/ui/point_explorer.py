"""One point in a latent space, explored live: the state, the pad with its map, the coordinates, the
image with its class and activations, and the cube view. The Latent Explorer and the Conditional
GAN page both use it, under their own key prefix ("explorer.", "cgan.").

State (DESIGN rule 12), for prefix p: p+"point" is the one current point; the pad (p+"pad"), the
number inputs (p+"z0"...) and the 4th-coordinate slider (p+"w") only write into it. A drag reruns
only the live fragment; releasing the point or typing a coordinate "commits" it and reruns the whole
page, which updates the cube view and the link.
"""
from __future__ import annotations

import base64
import hashlib

from dataclasses import dataclass
from urllib.parse import urlencode

import numpy as np
import streamlit as st
from PIL import Image

from ..api import POINT_PATH
from ..checkpoints import Checkpoint
from ..files import file_stamp
from ..generate import GenerateError
from ..images import class_map_image, slice_strip
from ..inspect import named_layers
from ..latent import views
from ..latent.encoded import Plane, PlaneDecoder
from ..latent.point import explore_point, generating_network
from ..latent.preview import preview_sprite
from ..latent.space import axis_name, check_point, default_point
from ..plots import class_cube_figure
from . import classes, dissect
from .explorer import activations_panel, class_map, class_panel, image_panel, layer_key, png_bytes
from .latent_pad import latent_pad
from .loaders import load_model
from .nearest import nearest_panel

ss = st.session_state


@dataclass
class Space:
    """What the views need to know about the latent space being explored."""
    prefix: str                          # session-state key prefix, e.g. "explorer."
    ckpt: Checkpoint                     # the generative model
    classifier: Checkpoint | None        # the strong classifier (maps, classes), if any
    class_names: tuple[str, ...]
    ranges: list[tuple[float, float]]
    label: int | None = None             # the class label a conditional generator draws
    map_label: int | None = None         # whose class-area map to show (a conditional GAN has one per class)

    @property
    def d(self) -> int:
        return self.ckpt.model.latent_dim

    def key(self, name: str) -> str:
        return self.prefix + name


def begin_page(space_prefix: str) -> None:
    """Call at the top of a full page run (before the live view)."""
    ss[space_prefix + "full_pass"] = True
    ss.pop(space_prefix + "commit", None)


def end_page(space_prefix: str) -> None:
    """Call at the end of a full page run: later runs of the live view alone are fragment runs."""
    ss[space_prefix + "full_pass"] = False


def start_point(space: Space, model_id: str, link_z: str | None, messages: list[str]) -> None:
    """Set the current point when the model changes: from a link's z (checked; corrections go to
    `messages`), else the model's default point."""
    if ss.get(space.key("point_model")) == model_id:
        return
    start = default_point(space.ckpt.model)
    if link_z is not None:
        checked = check_point(link_z, space.ranges, start)
        messages += checked.messages
        start = checked.point
    ss[space.key("point")], ss[space.key("point_model")], ss[space.key("seq")] = start, model_id, 0
    ss[space.key("w")] = start[3] if space.d == 4 else 0.0


def axis_controls(space: Space, axis_slot, w_slot, link_axis: str | None) -> int | None:
    """For 3D and more: which axis the pad slices across (returned); for 4D: the z4 slider."""
    if space.d < 3:
        return None
    if space.key("axis") not in ss or link_axis:
        names = [axis_name(a) for a in range(3)]
        if link_axis and link_axis not in names:
            st.warning(f"The link's axis {link_axis[:20]!r} is not one of {', '.join(names)}; using z3.")
        ss[space.key("axis")] = names.index(link_axis) if link_axis in names else 2
    slice_axis = axis_slot.radio("Pad shows the slice across", range(3), key=space.key("axis"), horizontal=True,
                                 format_func=axis_name, help="The pad is the plane through the point across this "
                                 "axis; its coordinate is set with the number inputs.")
    if space.d == 4:
        def w_changed():
            ss[space.key("point")] = ss[space.key("point")][:3] + [float(ss[space.key("w")])]
        w_slot.slider("4th coordinate z4", float(space.ranges[3][0]), float(space.ranges[3][1]), step=0.01,
                      key=space.key("w"), on_change=w_changed,
                      help="The 4D space as a stack of cubes: the cube below is the one at this z4.")
    return slice_axis


def pad_move_pending(pad_key: str, seq_key: str) -> bool:
    """Does this rerun carry a pad move the app has not taken in yet? Then the number inputs' values in the
    same message are the browser's echo of an earlier run (it sends every widget's value with the move,
    before the last run's new coordinates have reached it), not something the user typed."""
    moved = (ss.get(pad_key) or {}).get("point") or {}
    return moved.get("seq", 0) > ss.get(seq_key, 0)


def _typed(space: Space, i: int):
    def changed():
        if pad_move_pending(space.key("pad"), space.key("seq")):
            return   # a stale echo: taking it would move the point back and rerun the whole page
        point = list(ss[space.key("point")])
        point[i] = float(ss[space.key(f"z{i}")])
        ss[space.key("point")], ss[space.key("commit")], ss[space.key("messages")] = point, True, []
    return changed


def _take_pad_move(space: Space, pad_axes: tuple[int, int]) -> None:
    """Adopt a pad move the app has not taken in yet (the pad's seq is newer than ours)."""
    moved = (ss.get(space.key("pad")) or {}).get("point")
    if not moved or moved.get("seq", 0) <= ss[space.key("seq")]:
        return
    a, b = pad_axes
    point = list(ss[space.key("point")])
    point[a] = min(max(float(moved["x"]), space.ranges[a][0]), space.ranges[a][1])
    point[b] = min(max(float(moved["y"]), space.ranges[b][0]), space.ranges[b][1])
    ss[space.key("point")], ss[space.key("seq")] = point, int(moved["seq"])
    if not moved.get("dragging"):
        ss[space.key("commit")], ss[space.key("messages")] = True, []


@st.fragment
def live_view(space: Space, pad_axes: tuple[int, int]) -> None:
    """The pad, the coordinates, the image with its class, and the activations: reruns alone on a drag."""
    _take_pad_move(space, pad_axes)
    if ss.get(space.key("commit")) and not ss.get(space.key("full_pass")):
        st.rerun(scope="app")                      # a released or typed point also updates the cube and the link
    point, d, prefix = ss[space.key("point")], space.d, space.prefix.rstrip(".")
    a, b = pad_axes
    left, middle = st.columns([6, 5], gap="medium")   # the pad as large as the screen allows, the image beside it
    layers = named_layers(space.ckpt.model, generating_network(space.ckpt.model))
    dissect.take_edit(prefix, layers)
    dissecting = dissect.dissecting(prefix)
    try:
        view = explore_point(space.ckpt.model, point, space.classifier.model if space.classifier else None,
                             label=space.label, ablation=dissect.current_ablation(prefix) if dissecting else None)
    except GenerateError as err:
        st.error(str(err))
        return
    except ValueError as err:                      # units to switch off that this model does not have
        ss[dissect.ablation_key(prefix)] = None
        st.warning(f"The units to switch off were dropped: {err}.")
        view = explore_point(space.ckpt.model, point, space.classifier.model if space.classifier else None,
                             label=space.label)
    dissect.sync_link(prefix)
    with middle:
        image_panel(view, prefix)                  # first: what a drag waits for
        dissect.comparison(view, space.class_names, reserve=dissecting)
    with left:
        pad_map = None
        if space.classifier is not None:
            pad_map = class_map(space.ckpt, space.classifier, views.pad_map_spec(space.ranges, point, pad_axes),
                                label=space.map_label, what="map under the pad")
        caption = "slice at " + ", ".join(f"{axis_name(i)} = {point[i]:.2f}" for i in range(d) if i not in pad_axes)
        if space.map_label is not None:
            caption = f"map of class {space.class_names[space.map_label]}" + (f", {caption}" if d > 2 else "")
        elif d == 2:
            caption = ""
        latent_pad(space.key("pad"), (point[a], point[b]), space.ranges[a], space.ranges[b], axis_name(a),
                   axis_name(b), pad_map, space.class_names, seq=ss[space.key("seq")], caption=caption,
                   live=None if dissecting else live_drag(space, point, pad_axes),
                   follow=None if dissecting or space.ckpt.path is None else classes.follow_data(space.ckpt.path.name,
                                                                                              space.label))
        st.caption("Drag the point or click to jump; or click the pad and use the arrow keys (Shift: bigger steps). "
                   "Hover for the class and probability under the cursor.")
        shown = d if d != 4 else 3                 # z4 of a 4D space has its slider
        inputs = st.columns(min(shown, 4))
        for i in range(shown):
            ss[space.key(f"z{i}")] = float(point[i])
            inputs[i % len(inputs)].number_input(
                axis_name(i), min_value=float(space.ranges[i][0]), max_value=float(space.ranges[i][1]), step=0.01,
                format="%.3f", key=space.key(f"z{i}"), on_change=_typed(space, i))
    with middle:
        class_panel(view, space.class_names, space.ckpt.path.stem, prefix)
    inside, copies = st.columns([6, 5], gap="medium")
    with inside:
        dissect.dissect_toggle(prefix)
        layer = activations_panel(view, prefix, dissect=dissecting)
        if dissecting:
            dissect.dissect_panel(view, prefix, layer, space.ckpt.model,
                                  space.classifier.model if space.classifier else None, space.label, space.class_names)
    with copies:
        nearest_panel(view.image, space.ckpt.dataset, space.classifier, prefix)


def live_drag(space: Space, point: list[float], pad_axes: tuple[int, int]) -> dict | None:
    """The pad's live drag (genlab/api.py answers each move; the release commits through Python), for a model
    the pickers list by file name."""
    if space.ckpt.path is None:
        return None
    prefix = space.prefix.rstrip(".")
    query = {"model": space.ckpt.path.name}
    if space.label is not None:
        query["label"] = str(space.label)
    layer = ss.get(layer_key(prefix))
    if isinstance(layer, str):
        query["layer"] = layer
    query.update(classes.lead_query())        # a teacher's drag goes to the class (genlab.lessons.classroom)
    return {"url": POINT_PATH, "query": urlencode(query), "point": [float(v) for v in point],
            "axes": list(pad_axes), "targets": {name: f".st-key-{prefix}-{name}" for name in ("image", "class", "layers")},
            "preview": drag_preview(space, point, pad_axes)}


def drag_preview(space: Space, point: list[float], pad_axes: tuple[int, int]) -> dict | None:
    """The sprite the pad paints its preview from (genlab.latent.preview), for this plane; None when it fails."""
    a, b = pad_axes
    return axes_preview(space.ckpt, pad_axes, space.ranges[a], space.ranges[b], point, space.label)


def axes_preview(ckpt: Checkpoint, pad_axes: tuple[int, int], x_range, y_range, point: list[float],
                 label: int | None = None) -> dict | None:
    """The sprite of the plane through `point` over `pad_axes` (the other coordinates as in `point`)."""
    fixed = tuple((i, round(float(v), 3)) for i, v in enumerate(point) if i not in pad_axes)
    try:
        return _preview(str(ckpt.path), file_stamp(ckpt.path), tuple(pad_axes), tuple(x_range), tuple(y_range),
                        fixed, label)
    except (GenerateError, ValueError):
        return None


@st.cache_data(max_entries=64, show_spinner=False)
def _preview(path: str, stamp: tuple, axes: tuple[int, int], x_range: tuple, y_range: tuple, fixed: tuple,
             label: int | None, plane: tuple | None = None) -> dict:
    """The sprite of a plane: `axes` of the model's latent space with the `fixed` (axis, value) pairs, or (with
    `plane` = (origin, directions) as nested tuples) plane coordinates through a PlaneDecoder."""
    model = load_model(path).model
    if plane is not None:
        model = PlaneDecoder(model, Plane(np.array(plane[0]), np.array(plane[1]), ("x", "y")))
    point = [0.0] * model.latent_dim
    for i, v in fixed:
        point[i] = v
    sprite = preview_sprite(model, axes, x_range, y_range, point, label)
    return preview_payload(sprite, repr((path, stamp, axes, x_range, y_range, fixed, label, plane)), x_range, y_range)


def preview_payload(sprite: np.ndarray, key: str, x_range, y_range) -> dict:
    """What the pad's `live["preview"]` takes: the sprite as a PNG data URL, its grid and ranges, and an id."""
    return {"id": hashlib.sha256(key.encode()).hexdigest()[:16], "k": sprite.shape[0] // 28,
            "x_range": [float(v) for v in x_range], "y_range": [float(v) for v in y_range],
            "src": "data:image/png;base64," + base64.b64encode(png_bytes(Image.fromarray(sprite))).decode()}


def plane_preview(ckpt: Checkpoint, plane: Plane, x_range, y_range) -> dict | None:
    """The sprite of a plane of a larger latent space (the VAE Lab's view plane through its point)."""
    try:
        return _preview(str(ckpt.path), file_stamp(ckpt.path), (0, 1), tuple(x_range), tuple(y_range), (), None,
                        (tuple(np.round(plane.origin, 4)), tuple(map(tuple, np.round(plane.directions, 6)))))
    except (GenerateError, ValueError):
        return None


def space_view(space: Space, slice_axis: int | None, pad_axes: tuple[int, int]) -> None:
    """The whole space: for 3D and more the class-area cube with the point and its three projections
    and the cube's slices across the pad's slice axis; for 2D the map's PNG download."""
    if space.classifier is None:
        return
    point, d = ss[space.key("point")], space.d
    of_class = "" if space.map_label is None else f" of class {space.class_names[space.map_label]}"
    whole = class_map(space.ckpt, space.classifier, views.space_map_spec(space.ranges, point), label=space.map_label,
                      what={2: "class-area map", 3: "3D class-area map", 4: "4D class-area map (16 cubes)"}.get(d, "cube"))
    if d == 2:
        st.download_button("Download the class-area map (PNG)",   # drawn when clicked, not on every run
                           lambda: png_bytes(class_map_image(whole.labels, whole.confidence)),
                           file_name=f"{space.ckpt.path.stem}_class_map.png", mime="image/png", on_click="ignore",
                           key=space.key("map-download"))
        return
    st.subheader("The class-area cube" + of_class)
    where = "" if d == 3 else " at " + ", ".join(f"{axis_name(i)} = {v:.1f}" for i, v in whole.fixed.items())
    cube = whole
    if d == 4:
        w_index = whole.nearest_index(3, point[3])
        cube = whole.slice(3, w_index)
        where = f", z4 = {whole.coords[3][w_index]:.2f}"      # the caption says why not the point's z4 itself
    left, right = st.columns([3, 2])
    with left:
        st.plotly_chart(class_cube_figure(cube.labels, cube.confidence, cube.coords, space.class_names,
                                          tuple(axis_name(i) for i in range(3)), tuple(point[:3]),
                                          title=f"{cube.resolution} points per axis" + where),
                        width="stretch", key=space.key("cube"))
        st.caption(("" if d != 4 else f"The cube at z4 = {whole.coords[3][w_index]:.2f}: of the map's "
                    f"{whole.resolution} values of z4, the nearest to the point's. ")
                   + "Drag to turn the cube. Click a class in the legend to hide it, double-click to see it alone. "
                   "The grey squares are the point's projections onto three faces: they locate a point hidden "
                   "inside the cube.")
    with right:
        index = cube.nearest_index(slice_axis, point[slice_axis])
        slices = [cube.slice(slice_axis, k) for k in range(cube.resolution)]
        st.image(slice_strip([(s.labels, s.confidence) for s in slices], highlight=index), width="stretch",
                 caption=f"The cube as {cube.resolution} slices across {axis_name(slice_axis)}, from "
                         f"{space.ranges[slice_axis][0]:g} to {space.ranges[slice_axis][1]:g} (left to right, top to "
                         f"bottom); framed: the slice through the point. In each, {axis_name(pad_axes[0])} runs right "
                         f"and {axis_name(pad_axes[1])} up.")
