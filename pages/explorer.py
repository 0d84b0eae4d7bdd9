"""Latent Explorer: drag a point through a GAN's, VAE's or autoencoder's latent space.

The point's state and views live in genlab.ui.point_explorer (shared with the Conditional GAN page);
this page picks the model, reads and writes the link (query parameters), and lays the views out.
"""
import streamlit as st

from genlab.inspect import named_layers
from genlab.latent import views
from genlab.latent.point import generating_network
from genlab.latent.space import axis_name
from genlab.ui import dissect
from genlab.ui.activations import activations_view
from genlab.ui import point_explorer as px
from genlab.ui.explorer import class_names_of, ranges_of, strong_classifier, thesis_note
from genlab.ui.links import model_mismatch, page_title
from genlab.ui.router import require_router
from genlab.ui.widgets import load_or_stop, model_picker

KINDS = ("gan", "vae", "ae")
ss = st.session_state

require_router()
page_title("Latent Explorer")
st.write("Drag the point through a generative model's latent space: the generated image, its class and every "
         "layer's activations follow as you move. The colours under the point are the class-area map: the class "
         "a strong classifier gives the image generated at each place.")

# 1. The model, and the view a link asks for (read once per session).
if "explorer.link" not in ss:
    ss["explorer.link"] = {k: st.query_params[k] for k in ("model", "z", "axis", "off") if k in st.query_params}
    ss["explorer.messages"] = []
link = ss["explorer.link"]
px.begin_page("explorer.")
top = st.columns([3, 2, 2])
row = model_picker("explorer.model", KINDS, slot=top[0], preferred=link.get("model"), default="gan_2d.safetensors",
                   help="Any GAN, VAE or autoencoder checkpoint, shipped or trained by you; the latent dimension "
                        "comes from the checkpoint.",
                   empty="No GAN, VAE or autoencoder in the models folder yet. Train one with `python -m train gan "
                         "--out checkpoints/my_gan` (see docs/training.md).")
if row is None:
    st.stop()
wanted = link.pop("model", None)
if mismatch := model_mismatch(wanted, row["file"]):
    ss["explorer.messages"].append(mismatch)
file = row["file"]
ckpt = load_or_stop(row)
classifier = strong_classifier()
if classifier is None:
    st.info("No strong classifier in the models folder, so there is no class-area map and no image class. "
            "Train one with `python -m train classifier --size strong --out checkpoints/classifier_strong`.")
space = px.Space("explorer.", ckpt, classifier, class_names_of(classifier), ranges_of(ckpt))
thesis_note(ckpt, classifier, space.class_names)

# 2. The point (from the link on first open, else the model's default), the slice axis, z4.
px.start_point(space, file, link.pop("z", None), ss["explorer.messages"])
dissect.link_ablation("explorer", link.pop("off", None), named_layers(ckpt.model, generating_network(ckpt.model)),
                      ss["explorer.messages"])
for message in ss["explorer.messages"]:
    st.warning(message)
slice_axis = px.axis_controls(space, top[1], top[2], link.pop("axis", None))
pad_axes = views.pad_axes(space.d, slice_axis)

# 3. The live view (reruns alone while dragging), then the whole space.
px.live_view(space, pad_axes)
px.space_view(space, slice_axis, pad_axes)
activations_view("explorer", ss["explorer.point"], classifier, space.class_names)

# 4. The link: this view's state in the query parameters.
point = ss["explorer.point"]
st.query_params.from_dict({"model": file, "z": ",".join(f"{v:.3f}" for v in point),
                           **({"axis": axis_name(slice_axis)} if slice_axis is not None else {}),
                           **({"off": ablation.to_text()} if (ablation := dissect.current_ablation("explorer")) else {})})
px.end_page("explorer.")
