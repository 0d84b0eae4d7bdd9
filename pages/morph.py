"""Morph: the images from latent point A to B, on the class-area map and along the class chart.

State (prefix "morph."): "morph.a" and "morph.b" are the endpoints; the pad (both points), the
number inputs ("morph.a0", "morph.b1", ...), the test-digit picker and an attribute vector (a JSON file
from the VAE Lab, added alpha times) only write into them.
"""
from urllib.parse import urlencode

import streamlit as st
import torch

from genlab.api import MORPH_PATH
from genlab.data import load_dataset
from genlab.generate import GenerateError
from genlab.images import animated_gif, image_grid, to_pil
from genlab.latent import views
from genlab.latent.attributes import apply_vector
from genlab.latent.morph import MAX_STEPS, METHODS, classes_along, morph, morph_caption, strip_columns
from genlab.latent.space import axis_name, check_point
from genlab.plots import class_cube_figure, morph_chart
from genlab.ui.explorer import class_map, class_names_of, png_bytes, ranges_of, strong_classifier, thesis_note
from genlab.ui.latent_pad import latent_pad
from genlab.ui.point_explorer import axes_preview, pad_move_pending
from genlab.ui.links import (link_choice, link_messages, link_number, model_mismatch, page_follows, page_title,
                             point_text, read_link, show_link_messages, write_link)
from genlab.ui.nearest import nearest_panel
from genlab.ui.router import require_router
from genlab.ui.widgets import load_or_stop, model_picker, vector_upload

KINDS = ("gan", "cgan", "vae", "ae")
ss = st.session_state

require_router()
page_title("Morph")
st.write("Generate the images on the straight (or spherical) path from latent point A to point B: drag A and B on "
         "the class-area map, type them, or start from two real digits (autoencoders). The chart shows where one "
         "class gives way to the next.")

link = read_link("morph", ("model", "a", "b", "steps", "method", "label", "axis"))
top = st.columns([3, 2, 2, 2])
wanted = link.pop("model", None)
row = model_picker("morph.model", KINDS, slot=top[0], preferred=wanted, default="gan_2d.safetensors",
                   empty="No generative model in the models folder yet. Train one with `python -m train gan "
                         "--out checkpoints/my_gan` (see docs/training.md).")
if row is None:
    st.stop()
if mismatch := model_mismatch(wanted, row["file"]):
    link_messages("morph").append(mismatch)
file = row["file"]
ckpt = load_or_stop(row)
model, d = ckpt.model, ckpt.model.latent_dim
ranges = ranges_of(ckpt)
classifier = strong_classifier()
names = class_names_of(classifier)
for key, value in (
        ("morph.steps", link_number("morph", link.pop("steps", None), 2, MAX_STEPS, "steps", integer=True)),
        ("morph.method", link_choice("morph", link.pop("method", None), {m: m for m in METHODS}, "interpolation")),
        ("morph.label", link_choice("morph", link.pop("label", None),
                                             {str(c): c for c in range(getattr(model, "n_classes", 0))}, "label")),
        ("morph.axis", link_choice("morph", link.pop("axis", None),
                                           {axis_name(k): k for k in range(3)} if d >= 3 else {}, "axis"))):
    if value is not None:
        ss[key] = value
ss.setdefault("morph.steps", 16)
steps = top[1].number_input("Steps", 2, MAX_STEPS, key="morph.steps", help=f"Images from A to B, 2 to {MAX_STEPS}.")
method = top[2].radio("Interpolation", METHODS, key="morph.method", horizontal=True,
                      help="linear: the straight line. spherical: the direction turns along a great circle while "
                           "the length changes evenly (keeps points at the typical distance from the centre).")
label = None
if model.conditional:
    label = top[3].selectbox("Class drawn", range(model.n_classes), key="morph.label", format_func=lambda c: names[c])

# The endpoints: the thesis' morph from [-1, 0] to [1, 0] for a GAN; halfway to the range's ends otherwise.
if ss.get("morph.for") != file:
    a, b = [0.0] * d, [0.0] * d
    a[0], b[0] = (-1.0, 1.0) if not hasattr(model, "encode") else (ranges[0][0] / 2, ranges[0][1] / 2)
    for which, start in (("a", a), ("b", b)):   # a link's A and B, checked against the model's ranges
        text = link.pop(which, None)
        if text is not None:
            checked = check_point(text, ranges, start)
            link_messages("morph").extend(f"{which.upper()}: {m}" for m in checked.messages)
            start[:] = checked.point
    ss["morph.a"], ss["morph.b"], ss["morph.seq"], ss["morph.for"] = a, b, 0, file
show_link_messages("morph")


def clamp(point):
    return [min(max(float(v), lo), hi) for v, (lo, hi) in zip(point, ranges)]


def encode_test_digits(images) -> None:
    with torch.inference_mode():
        codes = model.encode(images).tolist()
    ss["morph.a"], ss["morph.b"] = clamp(codes[0]), clamp(codes[1])
    ss["morph.clamped"] = clamp(codes[0]) != codes[0] or clamp(codes[1]) != codes[1]


if hasattr(model, "encode"):
    with st.expander("Start from two real test digits (encoded)"):
        test = load_dataset("mnist5k", "test")
        pick = st.columns([1, 1, 3])
        ia = pick[0].number_input("Test digit for A", 0, len(test) - 1, 0, key="morph.ia")
        ib = pick[1].number_input("Test digit for B", 0, len(test) - 1, 1, key="morph.ib")
        pick[2].image(image_grid(test.images[[ia, ib]], nrow=2, scale=3), caption=f"A: a {names[test.labels[ia]]}, "
                      f"B: a {names[test.labels[ib]]}", output_format="PNG")
        pick[2].button("Encode them as A and B", key="morph.encode", on_click=encode_test_digits,
                       args=(test.images[[ia, ib]],))
        if ss.pop("morph.clamped", False):
            st.warning("A code lay outside the map's range and was moved to its edge.")


def add_vector(which: str, vector: list[float]) -> None:
    moved = apply_vector(ss[f"morph.{which}"], vector, float(ss["morph.alpha"])).tolist()
    ss[f"morph.{which}"], ss["morph.vector_clamped"] = clamp(moved), clamp(moved) != moved


with st.expander("Apply an attribute vector to A or B (a JSON file saved on the VAE Lab)"):
    vector = vector_upload("morph.vector", d, file, "Attribute vector (JSON)")
    if vector is not None:
        cols = st.columns([2, 1, 1], vertical_alignment="bottom")
        cols[0].number_input("alpha", -5.0, 5.0, 1.0, 0.1, key="morph.alpha", help="The point z becomes z + alpha x vector.")
        for col, which in zip(cols[1:], "ab"):
            col.button(f"Add to {which.upper()}", key=f"morph.add_{which}", on_click=add_vector, args=(which, vector.vector))
        st.caption(f"\"{vector.name}\": {vector.description}")
        if ss.pop("morph.vector_clamped", False):
            st.warning("The moved point lay outside the map's range and was brought back to its edge.")

slice_axis = None
if d >= 3:
    ss.setdefault("morph.axis", 2)
    slice_axis = st.radio("Pad shows the plane across", range(3), key="morph.axis", horizontal=True,
                          format_func=axis_name)
pad_axes = views.pad_axes(d, slice_axis)


def typed(which: str, i: int):
    def changed():
        if pad_move_pending("morph.pad", "morph.seq"):
            return   # the inputs' values are the browser's echo of the last run, sent with a pad move
        point = list(ss[f"morph.{which}"])
        point[i] = float(ss[f"morph.{which}{i}"])
        ss[f"morph.{which}"] = point
    return changed


def take_pad_move() -> None:
    moved = (ss.get("morph.pad") or {}).get("point")
    if not moved or moved.get("seq", 0) <= ss["morph.seq"]:
        return
    which = "ab"[int(moved.get("index", 0)) % 2]
    point = list(ss[f"morph.{which}"])
    point[pad_axes[0]], point[pad_axes[1]] = float(moved["x"]), float(moved["y"])
    ss[f"morph.{which}"], ss["morph.seq"] = clamp(point), int(moved["seq"])


def live_morph(a: list[float], b: list[float], pad_axes: tuple[int, int], preview: dict | None, count: int) -> dict:
    """The pad's live drag: each move paints the strip's preview from the plane's sprite, then asks the morph
    route (genlab/api.py) for the exact strip of the moved A and B; the release commits through Python."""
    query = {"model": file, "steps": int(steps), "method": method}
    if label is not None:
        query["label"] = label
    return {"url": MORPH_PATH, "query": urlencode(query), "points": [list(a), list(b)], "axes": list(pad_axes),
            "preview": preview, "targets": {"strip": ".st-key-morph-strip"},
            "morph": {"steps": count, "nrow": strip_columns(count)}}


@st.fragment
def morph_view() -> None:
    """The pad with A, B and the path; the coordinates; the strip and the class chart (reruns alone on a drag)."""
    take_pad_move()
    a, b = ss["morph.a"], ss["morph.b"]
    try:
        result = morph(model, a, b, int(steps), method, classifier.model if classifier else None, label)
    except GenerateError as err:
        st.error(str(err))
        return
    ss["morph.result"] = result
    # a drag's release or a typed endpoint reruns this fragment alone: the link, the scrubber and the exports
    # outside it must show the same A and B
    page_follows("morph", (tuple(a), tuple(b)))
    outside = any(not lo - 1e-9 <= v <= hi + 1e-9 for p in result.path for v, (lo, hi) in zip(p, ranges))
    left, right = st.columns([2, 3], gap="medium")
    with left:
        middle = [(x + y) / 2 for x, y in zip(a, b)]
        pad_map = None
        if classifier is not None:
            pad_map = class_map(ckpt, classifier, views.pad_map_spec(ranges, middle, pad_axes), label=label,
                                what="map under the pad")
        i, j = pad_axes
        caption = "" if d == 2 else "map: slice at " + ", ".join(
            f"{axis_name(k)} = {middle[k]:.2f}" for k in range(d) if k not in pad_axes) + " (halfway between A and B)"
        preview = axes_preview(ckpt, (i, j), ranges[i], ranges[j], middle, label)
        latent_pad("morph.pad", [(a[i], a[j]), (b[i], b[j])], ranges[i], ranges[j], axis_name(i), axis_name(j),
                   pad_map, names, seq=ss["morph.seq"], caption=caption, names=("A", "B"),
                   path=[(p[i], p[j]) for p in result.path],
                   live=live_morph(a, b, (i, j), preview, len(result.images)))
        if outside:
            st.caption("Part of this path leaves the map's range between A and B (the generator still draws it).")
        for which, point in (("a", a), ("b", b)):
            cols = st.columns(d + 1)
            cols[0].markdown(f"**{which.upper()}**")
            for k in range(d):
                ss[f"morph.{which}{k}"] = float(point[k])
                cols[k + 1].number_input(axis_name(k), float(ranges[k][0]), float(ranges[k][1]), step=0.01, format="%.2f",
                                         key=f"morph.{which}{k}", on_change=typed(which, k))
    with right:
        with st.container(key="morph-strip"):
            st.image(image_grid(result.images, nrow=strip_columns(len(result.images)), scale=3), width="stretch",
                     output_format="PNG", caption=morph_caption(len(result.images), method, result.classes, names))
        if [list(a), list(b)] == [[-1.0, 0.0], [1.0, 0.0]]:   # the thesis' morph: does it hold for this model?
            thesis_note(ckpt, classifier, names, only="morph")
        if result.probabilities is not None or result.realness is not None:
            st.markdown("**Along the path:** the classifier's probability of each class that appears"
                        + (", and the discriminator's score (dashed)" if result.realness is not None else ""))
            st.plotly_chart(morph_chart(result.probabilities, result.realness, names), width="stretch",
                            config={"displayModeBar": False}, key="morph.chart")


morph_view()
result = ss["morph.result"]

# The scrubber: step through the morph, or let it play.
st.subheader("Play the morph")
left, right = st.columns([2, 3])
with left:
    playing = st.toggle("Play", key="morph.playing", help="Steps through the morph on its own, A to B and back.")


@st.fragment(run_every=0.25 if playing else None)
def scrubber() -> None:
    count = len(result.images)
    if playing:
        ss["morph.tick"] = (ss.get("morph.tick", 0) + 1) % (2 * count - 2)
        ss["morph.step"] = 1 + (ss["morph.tick"] if ss["morph.tick"] < count else 2 * count - 2 - ss["morph.tick"])
    step = st.slider("Step", 1, count, key="morph.step", value=min(ss.get("morph.step", 1), count))
    shown = to_pil(result.images[step - 1], scale=8)
    what = "" if result.classes is None else f": class {names[result.classes[step - 1]]}"
    st.image(shown, width=224, output_format="PNG", caption=f"step {step} of {count}{what}")
    if playing:
        st.caption("Pause to check a step against the training digits.")
    else:
        nearest_panel(result.images[step - 1], ckpt.dataset, classifier, "morph")


with left:
    scrubber()
with right:
    gif = animated_gif(result.images, scale=4, bounce=False)
    strip = png_bytes(image_grid(result.images, nrow=len(result.images), scale=3))
    st.download_button("Download the morph as an animated GIF", gif, file_name=f"{ckpt.path.stem}_morph.gif",
                       mime="image/gif", key="morph.gif", on_click="ignore")
    st.download_button("Download the strip (PNG)", strip, file_name=f"{ckpt.path.stem}_morph.png", mime="image/png",
                       key="morph.png", on_click="ignore")

# Through the cube (3D and more): the path, and optionally only the class regions it crosses.
if classifier is not None and d >= 3:
    st.subheader("The path through the class-area cube")
    whole = class_map(ckpt, classifier, views.space_map_spec(ranges, ss["morph.a"]), label=label,
                      what="class-area map")
    cube, where = whole, ""
    if d == 4:
        w = (ss["morph.a"][3] + ss["morph.b"][3]) / 2
        cube = whole.slice(3, whole.nearest_index(3, w))
        where = f" at z4 = {cube.fixed[3]:.2f} (halfway between A's and B's z4)"
    only = st.toggle("Show only the class regions the path passes through", key="morph.only")
    crossed = classes_along(cube, result.path[:, :3]) if only else None
    st.plotly_chart(class_cube_figure(cube.labels, cube.confidence, cube.coords, names,
                                      tuple(axis_name(k) for k in range(3)), only_classes=crossed,
                                      path=result.path[:, :3], title=f"{cube.resolution} points per axis{where}"),
                    width="stretch", key="morph.cube")

write_link({"model": file, "a": point_text(ss["morph.a"]), "b": point_text(ss["morph.b"]), "steps": int(steps),
            "method": method, "label": label, "axis": axis_name(slice_axis) if slice_axis is not None else None})
