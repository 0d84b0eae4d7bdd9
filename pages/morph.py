"""Morph: the images from latent point A to B, on the class-area map and along the class chart.

Widgets and layout only; the views and the state they share are in genlab/ui/morph.py.
"""
import streamlit as st

from genlab.latent.morph import MAX_STEPS, METHODS
from genlab.latent.space import axis_name
from genlab.ui.explorer import class_names_of, ranges_of, strong_classifier
from genlab.ui.links import (link_messages, model_mismatch, page_title, point_text, read_link,
                             show_link_messages, write_link)
from genlab.ui.morph import (Morph, cube_view, exports, morph_view, scrubber, start_endpoints,
                             take_link_settings, test_digits_expander, vector_expander)
from genlab.ui.router import require_router
from genlab.ui.widgets import load_or_stop, model_picker

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
ckpt = load_or_stop(row)
classifier = strong_classifier()
m = Morph(row["file"], ckpt, ranges_of(ckpt), classifier, class_names_of(classifier))
take_link_settings(link, m.model)
m.steps = top[1].number_input("Steps", 2, MAX_STEPS, key="morph.steps", help=f"Images from A to B, 2 to {MAX_STEPS}.")
m.method = top[2].radio("Interpolation", METHODS, key="morph.method", horizontal=True,
                        help="linear: the straight line. spherical: the direction turns along a great circle while "
                             "the length changes evenly (keeps points at the typical distance from the centre).")
if m.model.conditional:
    m.label = top[3].selectbox("Class drawn", range(m.model.n_classes), key="morph.label",
                               format_func=lambda c: m.names[c])
start_endpoints(m, link)
show_link_messages("morph")

test_digits_expander(m)
vector_expander(m)
if m.d >= 3:
    ss.setdefault("morph.axis", 2)
    m.slice_axis = st.radio("Pad shows the plane across", range(3), key="morph.axis", horizontal=True,
                            format_func=axis_name)

morph_view(m)
result = ss["morph.result"]

st.subheader("Play the morph")
left, right = st.columns([2, 3])
with left:
    playing = st.toggle("Play", key="morph.playing", help="Steps through the morph on its own, A to B and back.")
    scrubber(m, result, playing)
with right:
    exports(m, result)
cube_view(m, result)

write_link({"model": m.file, "a": point_text(ss["morph.a"]), "b": point_text(ss["morph.b"]), "steps": int(m.steps),
            "method": m.method, "label": m.label,
            "axis": axis_name(m.slice_axis) if m.slice_axis is not None else None})
