"""Conditional GAN: one latent space per class. Pick the digit to draw ("Change Number") and whose
class-area map to show ("Change 3D map"); see one point drawn as every digit, and how often each
class' latent space really yields that class."""
import streamlit as st

from genlab.images import image_grid
from genlab.inspect import named_layers
from genlab.latent import views
from genlab.latent.conditional import every_class, label_agreement
from genlab.latent.space import axis_name
from genlab.ui import dissect
from genlab.ui import point_explorer as px
from genlab.ui.explorer import class_map, class_names_of, multiply_note, strong_classifier
from genlab.ui.links import link_choice, model_mismatch, page_title, point_text, read_link, write_link
from genlab.ui.router import require_router
from genlab.ui.widgets import load_or_stop, model_picker

ss = st.session_state

require_router()
page_title("Conditional GAN")
st.write("A conditional GAN draws the digit you ask for: it has one latent space per class. Move the point, "
         "change the number it draws, and pick whose class-area map to see. In an ideal conditional GAN every "
         "point yields every digit, so each class' map would be that class everywhere.")

link = read_link("cgan", ("model", "z", "label", "map", "axis", "off"))
ss.setdefault("cgan.messages", ss["cgan.link_messages"])
px.begin_page("cgan.")
top = st.columns([3, 2, 2, 2, 2])
wanted = link.pop("model", None)
row = model_picker("cgan.model", ("cgan",), slot=top[0], preferred=wanted, default="cgan_3d.safetensors",
                   empty="No conditional GAN in the models folder yet. Train one with `python -m train cgan "
                         "--latent-dim 3 --out checkpoints/my_cgan` (see docs/training.md).")
if row is None:
    st.stop()
if mismatch := model_mismatch(wanted, row["file"], "a conditional GAN"):
    ss["cgan.messages"].append(mismatch)
file = row["file"]
ckpt = load_or_stop(row)
classifier = strong_classifier()
names = class_names_of(classifier)
n_classes = ckpt.model.n_classes
for param, key, what in (("label", "cgan.label", "number drawn"), ("map", "cgan.map_label", "map's class")):
    chosen = link_choice("cgan", link.pop(param, None), {str(c): c for c in range(n_classes)}, what)
    if chosen is not None:
        ss[key] = chosen
label = top[1].selectbox("Change Number", range(n_classes), key="cgan.label", format_func=lambda c: names[c],
                         help="The class label fed to the generator with the point.")
map_label = top[2].selectbox("Change 3D map", range(n_classes), key="cgan.map_label", format_func=lambda c: names[c],
                             help="Whose latent space the maps show: the classifier's view of what the generator "
                                  "draws at every point when asked for this class.")
space = px.Space("cgan.", ckpt, classifier, names, [(-1.0, 1.0)] * ckpt.model.latent_dim, label=label,
                 map_label=map_label if classifier is not None else None)
if classifier is None:
    st.info("No strong classifier in the models folder, so there are no class-area maps and no image classes.")
if (note := multiply_note(ckpt)) is not None:
    st.info(note, icon=":material/info:")
px.start_point(space, file, link.pop("z", None), ss["cgan.messages"])
dissect.link_ablation("cgan", link.pop("off", None), named_layers(ckpt.model, "generator"), ss["cgan.messages"])
for message in ss["cgan.messages"]:
    st.warning(message)
slice_axis = px.axis_controls(space, top[3], top[4], link.pop("axis", None))
pad_axes = views.pad_axes(space.d, slice_axis)

px.live_view(space, pad_axes)

point = ss["cgan.point"]
st.subheader("One point, every class")
images, predicted, confidence = every_class(ckpt.model, point, classifier.model if classifier else None)
st.image(image_grid(images, nrow=n_classes, padding=2, scale=3), width="stretch", output_format="PNG",
         caption="The point (" + ", ".join(f"{v:.2f}" for v in point) + ") with the labels "
                 + ", ".join(names[:n_classes]) + " (left to right)")
if predicted is not None:
    hits = sum(p == c for c, p in enumerate(predicted))
    st.write(f"The strong classifier recognises **{hits} of {n_classes}** as the digit asked for: "
             + ", ".join(f"{names[c]}→**{names[p]}**" if p != c else names[c] for c, p in enumerate(predicted)))

px.space_view(space, slice_axis, pad_axes)

if classifier is not None:
    st.subheader("How often each class' latent space yields that class")
    spec = views.space_map_spec(space.ranges, point)
    maps = {c: class_map(ckpt, classifier, spec, label=c, what=f"map of class {names[c]}") for c in range(n_classes)}
    agreement = label_agreement(maps)
    grid = "x".join([str(spec.resolution)] * len(spec.axes))
    st.dataframe({"class asked for": [names[c] for c in agreement],
                  "classifier agrees": [f"{v:.0%}" for v in agreement.values()],
                  "most frequent other class": [names[max((k for k in range(n_classes) if k != c),
                                                          key=lambda k: int((maps[c].labels == k).sum()))]
                                                for c in agreement]},
                 hide_index=True, width="content")
    st.caption(f"Over the {grid} grid of the latent cube, the fraction of points whose image the strong classifier "
               f"puts in the class the generator was asked for (mean {sum(agreement.values()) / n_classes:.0%}).")
write_link({"model": file, "z": point_text(ss["cgan.point"]), "label": label, "map": map_label,
            **({"axis": axis_name(slice_axis)} if slice_axis is not None else {}),
            **({"off": ablation.to_text()} if (ablation := dissect.current_ablation("cgan")) else {})})
px.end_page("cgan.")
