"""The Morph page's views and state (pages/morph.py keeps the widgets' layout).

State (prefix "morph."): "morph.a" and "morph.b" are the endpoints; the pad (both points), the number inputs
("morph.a0", "morph.b1", ...), the test-digit picker and an attribute vector (a JSON file from the VAE Lab,
added alpha times) only write into them.
"""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

import streamlit as st
import torch

from ..api import MORPH_PATH
from ..data import load_dataset
from ..generate import GenerateError
from ..images import animated_gif, image_grid, to_pil
from ..latent import views
from ..latent.attributes import apply_vector
from ..latent.morph import MAX_STEPS, METHODS, classes_along, morph, morph_caption, strip_columns
from ..latent.space import axis_name, check_point
from ..plots import class_cube_figure, morph_chart
from .explorer import class_map, png_bytes, thesis_note
from .latent_pad import latent_pad
from .links import link_choice, link_messages, link_number, page_follows
from .nearest import nearest_panel
from .point_explorer import axes_preview, pad_move_pending
from .widgets import vector_upload

ss = st.session_state


@dataclass
class Morph:
    """What the page's views share: the model and its ranges, the judge, and the widgets' choices."""
    file: str
    ckpt: object
    ranges: list
    classifier: object
    names: list
    steps: int = 16
    method: str = "linear"
    label: int | None = None
    slice_axis: int | None = None

    @property
    def model(self):
        return self.ckpt.model

    @property
    def d(self) -> int:
        return self.ckpt.model.latent_dim

    @property
    def pad_axes(self) -> tuple[int, int]:
        return views.pad_axes(self.d, self.slice_axis)

    def clamp(self, point) -> list[float]:
        return [min(max(float(v), lo), hi) for v, (lo, hi) in zip(point, self.ranges)]


def take_link_settings(link: dict, model) -> None:
    """A link's steps, interpolation, label and axis into the widgets' state (each checked, with a message)."""
    d = model.latent_dim
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


def start_endpoints(m: Morph, link: dict) -> None:
    """A new model's A and B: the thesis' morph from [-1, 0] to [1, 0] for a GAN, halfway to the range's ends
    for an autoencoder; a link's A and B checked against the model's ranges."""
    if ss.get("morph.for") == m.file:
        return
    a, b = [0.0] * m.d, [0.0] * m.d
    a[0], b[0] = (-1.0, 1.0) if not hasattr(m.model, "encode") else (m.ranges[0][0] / 2, m.ranges[0][1] / 2)
    for which, start in (("a", a), ("b", b)):
        text = link.pop(which, None)
        if text is not None:
            checked = check_point(text, m.ranges, start)
            link_messages("morph").extend(f"{which.upper()}: {msg}" for msg in checked.messages)
            start[:] = checked.point
    ss["morph.a"], ss["morph.b"], ss["morph.seq"], ss["morph.for"] = a, b, 0, m.file


def _encode_test_digits(m: Morph, images) -> None:
    with torch.inference_mode():
        codes = m.model.encode(images).tolist()
    ss["morph.a"], ss["morph.b"] = m.clamp(codes[0]), m.clamp(codes[1])
    ss["morph.clamped"] = m.clamp(codes[0]) != codes[0] or m.clamp(codes[1]) != codes[1]


def test_digits_expander(m: Morph) -> None:
    """Autoencoders: two encoded test digits as A and B."""
    if not hasattr(m.model, "encode"):
        return
    with st.expander("Start from two real test digits (encoded)"):
        test = load_dataset("mnist5k", "test")
        pick = st.columns([1, 1, 3])
        ia = pick[0].number_input("Test digit for A", 0, len(test) - 1, 0, key="morph.ia")
        ib = pick[1].number_input("Test digit for B", 0, len(test) - 1, 1, key="morph.ib")
        pick[2].image(image_grid(test.images[[ia, ib]], nrow=2, scale=3),
                      caption=f"A: a {m.names[test.labels[ia]]}, B: a {m.names[test.labels[ib]]}", output_format="PNG")
        pick[2].button("Encode them as A and B", key="morph.encode", on_click=_encode_test_digits,
                       args=(m, test.images[[ia, ib]]))
        if ss.pop("morph.clamped", False):
            st.warning("A code lay outside the map's range and was moved to its edge.")


def _add_vector(m: Morph, which: str, vector: list[float]) -> None:
    moved = apply_vector(ss[f"morph.{which}"], vector, float(ss["morph.alpha"])).tolist()
    ss[f"morph.{which}"], ss["morph.vector_clamped"] = m.clamp(moved), m.clamp(moved) != moved


def vector_expander(m: Morph) -> None:
    """An attribute vector saved on the VAE Lab, added alpha times to A or B."""
    with st.expander("Apply an attribute vector to A or B (a JSON file saved on the VAE Lab)"):
        vector = vector_upload("morph.vector", m.d, m.file, "Attribute vector (JSON)")
        if vector is not None:
            cols = st.columns([2, 1, 1], vertical_alignment="bottom")
            cols[0].number_input("alpha", -5.0, 5.0, 1.0, 0.1, key="morph.alpha",
                                 help="The point z becomes z + alpha x vector.")
            for col, which in zip(cols[1:], "ab"):
                col.button(f"Add to {which.upper()}", key=f"morph.add_{which}", on_click=_add_vector,
                           args=(m, which, vector.vector))
            st.caption(f"\"{vector.name}\": {vector.description}")
            if ss.pop("morph.vector_clamped", False):
                st.warning("The moved point lay outside the map's range and was brought back to its edge.")


def _typed(which: str, i: int):
    def changed():
        if pad_move_pending("morph.pad", "morph.seq"):
            return   # the inputs' values are the browser's echo of the last run, sent with a pad move
        point = list(ss[f"morph.{which}"])
        point[i] = float(ss[f"morph.{which}{i}"])
        ss[f"morph.{which}"] = point
    return changed


def _take_pad_move(m: Morph) -> None:
    moved = (ss.get("morph.pad") or {}).get("point")
    if not moved or moved.get("seq", 0) <= ss["morph.seq"]:
        return
    which = "ab"[int(moved.get("index", 0)) % 2]
    point = list(ss[f"morph.{which}"])
    i, j = m.pad_axes
    point[i], point[j] = float(moved["x"]), float(moved["y"])
    ss[f"morph.{which}"], ss["morph.seq"] = m.clamp(point), int(moved["seq"])


def live_morph(m: Morph, a: list[float], b: list[float], preview: dict | None, count: int) -> dict:
    """The pad's live drag: each move paints the strip's preview from the plane's sprite, then asks the morph
    route (genlab/api.py) for the exact strip of the moved A and B; the release commits through Python."""
    query = {"model": m.file, "steps": int(m.steps), "method": m.method}
    if m.label is not None:
        query["label"] = m.label
    return {"url": MORPH_PATH, "query": urlencode(query), "points": [list(a), list(b)], "axes": list(m.pad_axes),
            "preview": preview, "targets": {"strip": ".st-key-morph-strip"},
            "morph": {"steps": count, "nrow": strip_columns(count)}}


@st.fragment
def morph_view(m: Morph) -> None:
    """The pad with A, B and the path; the coordinates; the strip and the class chart (reruns alone on a drag)."""
    _take_pad_move(m)
    a, b, ranges, d = ss["morph.a"], ss["morph.b"], m.ranges, m.d
    try:
        result = morph(m.model, a, b, int(m.steps), m.method, m.classifier.model if m.classifier else None, m.label)
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
        i, j = m.pad_axes
        if m.classifier is not None:
            pad_map = class_map(m.ckpt, m.classifier, views.pad_map_spec(ranges, middle, (i, j)), label=m.label,
                                what="map under the pad")
        caption = "" if d == 2 else "map: slice at " + ", ".join(
            f"{axis_name(k)} = {middle[k]:.2f}" for k in range(d) if k not in (i, j)) + " (halfway between A and B)"
        preview = axes_preview(m.ckpt, (i, j), ranges[i], ranges[j], middle, m.label)
        latent_pad("morph.pad", [(a[i], a[j]), (b[i], b[j])], ranges[i], ranges[j], axis_name(i), axis_name(j),
                   pad_map, m.names, seq=ss["morph.seq"], caption=caption, names=("A", "B"),
                   path=[(p[i], p[j]) for p in result.path],
                   live=live_morph(m, a, b, preview, len(result.images)))
        if outside:
            st.caption("Part of this path leaves the map's range between A and B (the generator still draws it).")
        for which, point in (("a", a), ("b", b)):
            cols = st.columns(d + 1)
            cols[0].markdown(f"**{which.upper()}**")
            for k in range(d):
                ss[f"morph.{which}{k}"] = float(point[k])
                cols[k + 1].number_input(axis_name(k), float(ranges[k][0]), float(ranges[k][1]), step=0.01,
                                         format="%.2f", key=f"morph.{which}{k}", on_change=_typed(which, k))
    with right:
        with st.container(key="morph-strip"):
            st.image(image_grid(result.images, nrow=strip_columns(len(result.images)), scale=3), width="stretch",
                     output_format="PNG", caption=morph_caption(len(result.images), m.method, result.classes, m.names))
        if [list(a), list(b)] == [[-1.0, 0.0], [1.0, 0.0]]:   # the thesis' morph: does it hold for this model?
            thesis_note(m.ckpt, m.classifier, m.names, only="morph")
        if result.probabilities is not None or result.realness is not None:
            st.markdown("**Along the path:** the classifier's probability of each class that appears"
                        + (", and the discriminator's score (dashed)" if result.realness is not None else ""))
            st.plotly_chart(morph_chart(result.probabilities, result.realness, m.names), width="stretch",
                            config={"displayModeBar": False}, key="morph.chart")


def scrubber(m: Morph, result, playing: bool) -> None:
    """Step through the morph, or let it play (A to B and back); a paused step gets the copy check."""
    @st.fragment(run_every=0.25 if playing else None)
    def steps_view() -> None:
        count = len(result.images)
        if playing:
            ss["morph.tick"] = (ss.get("morph.tick", 0) + 1) % (2 * count - 2)
            ss["morph.step"] = 1 + (ss["morph.tick"] if ss["morph.tick"] < count else 2 * count - 2 - ss["morph.tick"])
        step = st.slider("Step", 1, count, key="morph.step", value=min(ss.get("morph.step", 1), count))
        shown = to_pil(result.images[step - 1], scale=8)
        what = "" if result.classes is None else f": class {m.names[result.classes[step - 1]]}"
        st.image(shown, width=224, output_format="PNG", caption=f"step {step} of {count}{what}")
        if playing:
            st.caption("Pause to check a step against the training digits.")
        else:
            nearest_panel(result.images[step - 1], m.ckpt.dataset, m.classifier, "morph")
    steps_view()


def exports(m: Morph, result) -> None:
    """The morph as an animated GIF and as a PNG strip."""
    gif = animated_gif(result.images, scale=4, bounce=False)
    strip = png_bytes(image_grid(result.images, nrow=len(result.images), scale=3))
    stem = m.ckpt.path.stem
    st.download_button("Download the morph as an animated GIF", gif, file_name=f"{stem}_morph.gif",
                       mime="image/gif", key="morph.gif", on_click="ignore")
    st.download_button("Download the strip (PNG)", strip, file_name=f"{stem}_morph.png", mime="image/png",
                       key="morph.png", on_click="ignore")


def cube_view(m: Morph, result) -> None:
    """3D and more: the path through the class-area cube, optionally only the class regions it crosses."""
    if m.classifier is None or m.d < 3:
        return
    st.subheader("The path through the class-area cube")
    whole = class_map(m.ckpt, m.classifier, views.space_map_spec(m.ranges, ss["morph.a"]), label=m.label,
                      what="class-area map")
    cube, where = whole, ""
    if m.d == 4:
        w = (ss["morph.a"][3] + ss["morph.b"][3]) / 2
        cube = whole.slice(3, whole.nearest_index(3, w))
        where = f" at z4 = {cube.fixed[3]:.2f} (halfway between A's and B's z4)"
    only = st.toggle("Show only the class regions the path passes through", key="morph.only")
    crossed = classes_along(cube, result.path[:, :3]) if only else None
    st.plotly_chart(class_cube_figure(cube.labels, cube.confidence, cube.coords, m.names,
                                      tuple(axis_name(k) for k in range(3)), only_classes=crossed,
                                      path=result.path[:, :3], title=f"{cube.resolution} points per axis{where}"),
                    width="stretch", key="morph.cube")
