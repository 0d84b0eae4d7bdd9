"""Latent Explorer: drag a point through a GAN's, VAE's or autoencoder's latent space.

State (DESIGN rule 12): "explorer.point" is the one current point; the pad ("explorer.pad"), the
number inputs ("explorer.z0"...) and the 4th-coordinate slider ("explorer.w") only write into it.
A drag reruns only the live fragment; releasing the point or typing a coordinate "commits" it and
reruns the whole page, which updates the cube view and the link (query parameters).
"""
import streamlit as st

from genlab.catalog import list_models
from genlab.checkpoints import CheckpointError
from genlab.generate import GenerateError
from genlab.images import class_map_image, slice_strip
from genlab.latent import views
from genlab.latent.point import explore_point
from genlab.latent.space import axis_name, check_point, default_point
from genlab.plots import class_cube_figure
from genlab.ui.explorer import (activations_panel, class_map, class_names_of, class_panel, image_panel, png_bytes,
                                ranges_of, strong_classifier)
from genlab.ui.latent_pad import latent_pad
from genlab.ui.loaders import load_model
from genlab.ui.router import require_router

KINDS = ("gan", "vae", "ae")
ss = st.session_state

require_router()
st.title("Latent Explorer")
st.write("Drag the point through a generative model's latent space: the generated image, its class and every "
         "layer's activations follow as you move. The colours under the point are the class-area map: the class "
         "a strong classifier gives the image generated at each place.")

# 1. Models, and the view a link asks for (read once per session).
rows = [r for r in list_models()[0] if r["kind"] in KINDS]
if not rows:
    st.info("No GAN, VAE or autoencoder in the models folder yet. Train one with `python -m train gan --out "
            "checkpoints/my_gan` (see README).")
    st.stop()
files = [r["file"] for r in rows]
if "explorer.link" not in ss:
    params = st.query_params
    ss["explorer.link"] = {k: params[k] for k in ("model", "z", "axis") if k in params}
    ss["explorer.messages"] = []
    wanted = ss["explorer.link"].pop("model", None)
    if wanted in files:
        ss["explorer.model"] = wanted
    elif wanted:
        ss["explorer.messages"].append(f"The link asks for model {wanted[:60]!r}, which is not in the models "
                                       f"folder; showing {files[0]} instead.")
link = ss["explorer.link"]
ss["explorer.full_pass"] = True
ss.pop("explorer.commit", None)

top = st.columns([3, 2, 2])
file = top[0].selectbox("Model", files, key="explorer.model", help="Any GAN, VAE or autoencoder checkpoint, "
                        "shipped or trained by you; the latent dimension comes from the checkpoint.",
                        format_func=lambda f: f"{next(r['model'] for r in rows if r['file'] == f)} — {f}")
row = next(r for r in rows if r["file"] == file)
try:
    ckpt = load_model(row["path"])
except CheckpointError as err:
    st.error(f"This checkpoint cannot be loaded: {err}")
    st.stop()
model, d = ckpt.model, ckpt.model.latent_dim
ranges = ranges_of(ckpt)
classifier = strong_classifier()
class_names = class_names_of(classifier)
if classifier is None:
    st.info("No strong classifier in the models folder, so there is no class-area map and no image class. "
            "Train one with `python -m train classifier --size strong --out checkpoints/classifier_strong`.")

# 2. The current point: kept per model; from the link on first open, else the default.
if ss.get("explorer.point_model") != file:
    start = default_point(model)
    if "z" in link:
        checked = check_point(link.pop("z"), ranges, start)
        ss["explorer.messages"] += checked.messages
        start = checked.point
    ss["explorer.point"], ss["explorer.point_model"], ss["explorer.seq"] = start, file, 0
    ss["explorer.w"] = start[3] if d == 4 else 0.0
for message in ss["explorer.messages"]:
    st.warning(message)

slice_axis = None
if d >= 3:
    link_axis = link.pop("axis", None)
    if "explorer.axis" not in ss or link_axis:
        names = [axis_name(a) for a in range(3)]
        if link_axis and link_axis not in names:
            st.warning(f"The link's axis {link_axis[:20]!r} is not one of {', '.join(names)}; using z3.")
        ss["explorer.axis"] = names.index(link_axis) if link_axis in names else 2
    slice_axis = top[1].radio("Pad shows the slice across", range(3), key="explorer.axis", horizontal=True,
                              format_func=axis_name, help="The pad is the plane through the point across this "
                              "axis; its coordinate is set with the number inputs.")
if d == 4:
    def _w_changed():
        ss["explorer.point"] = ss["explorer.point"][:3] + [float(ss["explorer.w"])]
    top[2].slider("4th coordinate z4", float(ranges[3][0]), float(ranges[3][1]), step=0.01, key="explorer.w",
                  on_change=_w_changed, help="The 4D space as a stack of cubes: the cube below is the one at this z4.")

pad_axes = views.pad_axes(d, slice_axis)
ss["explorer.pad_axes"] = pad_axes


def _typed(i: int):
    def changed():
        point = list(ss["explorer.point"])
        point[i] = float(ss[f"explorer.z{i}"])
        ss["explorer.point"], ss["explorer.commit"], ss["explorer.messages"] = point, True, []
    return changed


def _take_pad_move() -> None:
    """Adopt a pad move the app has not taken in yet (the pad's seq is newer than ours)."""
    moved = (ss.get("explorer.pad") or {}).get("point")
    if not moved or moved.get("seq", 0) <= ss["explorer.seq"]:
        return
    a, b = ss["explorer.pad_axes"]
    point = list(ss["explorer.point"])
    point[a] = min(max(float(moved["x"]), ranges[a][0]), ranges[a][1])
    point[b] = min(max(float(moved["y"]), ranges[b][0]), ranges[b][1])
    ss["explorer.point"], ss["explorer.seq"] = point, int(moved["seq"])
    if not moved.get("dragging"):
        ss["explorer.commit"], ss["explorer.messages"] = True, []


@st.fragment
def live_view() -> None:
    """The pad, the coordinates, the image with its class, and the activations: reruns alone on a drag."""
    _take_pad_move()
    if ss.get("explorer.commit") and not ss.get("explorer.full_pass"):
        st.rerun(scope="app")                      # a released or typed point also updates the cube and the link
    point = ss["explorer.point"]
    a, b = pad_axes
    left, middle, right = st.columns([5, 4, 5], gap="medium")
    try:
        view = explore_point(model, point, classifier.model if classifier else None)
    except GenerateError as err:
        st.error(str(err))
        return
    with middle:
        image_panel(view, "explorer")              # first: what a drag waits for
    with left:
        pad_map = None
        if classifier is not None:
            pad_map = class_map(ckpt, classifier, views.pad_map_spec(ranges, point, pad_axes), what="map under the pad")
        caption = "slice at " + ", ".join(f"{axis_name(i)} = {point[i]:.2f}" for i in range(d) if i not in pad_axes)
        latent_pad("explorer.pad", (point[a], point[b]), ranges[a], ranges[b], axis_name(a), axis_name(b),
                   pad_map, class_names, seq=ss["explorer.seq"], caption=caption if d > 2 else "")
        st.caption("Drag the point or click to jump; or click the pad and use the arrow keys (Shift: bigger steps). "
                   "Hover for the class and probability under the cursor.")
        inputs = st.columns(min(d, 4) if d != 4 else 3)
        for i in range(d if d != 4 else 3):
            ss[f"explorer.z{i}"] = float(point[i])
            inputs[i % len(inputs)].number_input(
                axis_name(i), min_value=float(ranges[i][0]), max_value=float(ranges[i][1]), step=0.01,
                format="%.3f", key=f"explorer.z{i}", on_change=_typed(i))
    with middle:
        class_panel(view, class_names, ckpt.path.stem, "explorer")
    with right:
        activations_panel(view, "explorer")


live_view()
point = ss["explorer.point"]

# 3. The whole space: the cube (3D and more) with the point and its projections, the slices, downloads.
if classifier is not None:
    space = class_map(ckpt, classifier, views.space_map_spec(ranges, point),
                      what={2: "class-area map", 3: "3D class-area map", 4: "4D class-area map (16 cubes)"}.get(d, "cube"))
if classifier is not None and d >= 3:
    st.subheader("The class-area cube")
    where = "" if d == 3 else " at " + ", ".join(f"{axis_name(i)} = {v:.1f}" for i, v in space.fixed.items())
    cube = space
    if d == 4:
        w_index = space.nearest_index(3, point[3])
        cube = space.slice(3, w_index)
        where = f" at z4 = {space.coords[3][w_index]:.2f} (the map's nearest of its 16 values of z4)"
    left, right = st.columns([3, 2])
    with left:
        st.plotly_chart(class_cube_figure(cube.labels, cube.confidence, cube.coords, class_names,
                                          tuple(axis_name(i) for i in range(3)), tuple(point[:3]),
                                          title=f"{cube.resolution} points per axis" + where),
                        width="stretch", key="explorer.cube")
        st.caption("Drag to turn the cube. Click a class in the legend to hide it, double-click to see it alone. "
                   "The grey squares are the point's projections onto three faces: they locate a point hidden "
                   "inside the cube.")
    with right:
        index = cube.nearest_index(slice_axis, point[slice_axis])
        slices = [cube.slice(slice_axis, k) for k in range(cube.resolution)]
        st.image(slice_strip([(s.labels, s.confidence) for s in slices], highlight=index), width="stretch",
                 caption=f"The cube as {cube.resolution} slices across {axis_name(slice_axis)}, from "
                         f"{ranges[slice_axis][0]:g} to {ranges[slice_axis][1]:g} (left to right, top to bottom); "
                         f"framed: the slice through the point. In each, {axis_name(pad_axes[0])} runs right and "
                         f"{axis_name(pad_axes[1])} up.")
elif classifier is not None:
    st.download_button("Download the class-area map (PNG)", png_bytes(class_map_image(space.labels, space.confidence)),
                       file_name=f"{ckpt.path.stem}_class_map.png", mime="image/png", on_click="ignore",
                       key="explorer.map-download")

# 4. The link: this view's state in the query parameters.
st.query_params.from_dict({"model": file, "z": ",".join(f"{v:.3f}" for v in point),
                           **({"axis": axis_name(slice_axis)} if slice_axis is not None else {})})
ss["explorer.full_pass"] = False
