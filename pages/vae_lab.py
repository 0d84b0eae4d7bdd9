"""VAE Lab: the book's autoencoder and VAE side by side, your own digit among their codes, attribute vectors.

The views live in genlab.ui.vae_lab ("Your digit"), genlab.ui.vae_vectors ("Attribute vectors") and
genlab.ui.vae_maps ("AE vs VAE maps", which picks its own pair of models); this page picks the VAE and opens
the tab the user chose (only that tab is computed).
"""
import streamlit as st

from genlab.ui.explorer import class_names_of, strong_classifier
from genlab.data import load_dataset
from genlab.ui.links import (link_choice, link_number, model_mismatch, page_title, read_link, show_link_messages,
                             write_link)
from genlab.ui.router import require_router
from genlab.ui.vae_lab import Lab, digit_view, measured_vectors, use_test_digit
from genlab.ui.vae_maps import maps_view
from genlab.ui.vae_vectors import ALPHA_LIMIT, vectors_view
from genlab.ui.widgets import load_or_stop, model_picker

require_router()
page_title("VAE Lab")
st.write("Draw a digit and see where a variational autoencoder puts it among the real ones; make it thicker, more "
         "slanted or another digit with attribute vectors; and compare the VAE's compact latent space with a plain "
         "autoencoder's gappy one.")

TABS = {"digit": "Your digit", "vectors": "Attribute vectors", "maps": "AE vs VAE maps"}
ss = st.session_state
link = read_link("vae", ("model", "tab", "digit", "alpha"))
top = st.columns([3, 5])
wanted = link.pop("model", None)
vae_row = model_picker("vae.model", ("vae",), label="VAE (your digit, attribute vectors)", slot=top[0],
                       preferred=wanted, default="vae_16.safetensors",
                       help="vae_16: 16 dimensions, drawn through a 2D PCA projection; room for thickness and slant "
                            "besides the digit. vae_2d: a 2D latent space, drawn as it is.",
                       empty="No VAE in the models folder yet. Train one with `python -m train vae --out "
                             "checkpoints/my_vae` (see docs/training.md).")
if vae_row is None:
    st.stop()
classifier = strong_classifier()
lab = Lab(load_or_stop(vae_row), classifier, class_names_of(classifier))
if mismatch := model_mismatch(wanted, vae_row["file"], "a VAE"):
    st.warning(mismatch)
tab = link_choice("vae", link.pop("tab", None), TABS, "tab")
if tab is not None:
    ss["vae.tab"] = tab
digit = link.pop("digit", None)   # the test set is read only when a link names one of its digits
if digit is not None:
    digit = link_number("vae", digit, 0, len(load_dataset("mnist5k", "test")) - 1, "test digit", integer=True)
if digit is not None:
    use_test_digit(digit)
measured = measured_vectors(lab.vae)
for pair in (link.pop("alpha", None) or "").split(";")[:16]:   # "thickness:1.5;slant:-1"
    if pair:
        name, _, value = pair.partition(":")
        if link_choice("vae", name, {n: n for n in measured}, "attribute") is not None:
            alpha = link_number("vae", value, -ALPHA_LIMIT, ALPHA_LIMIT, f"alpha of {name}")
            if alpha is not None:
                ss[f"vae.alpha.{name}"] = ss.setdefault("vae.kept", {})[f"vae.alpha.{name}"] = alpha
show_link_messages("vae")
if classifier is None:
    st.info("No strong classifier in the models folder, so there is no class-area map and no class of an image. "
            "Train one with `python -m train classifier --size strong --out checkpoints/classifier_strong`.")

digit_tab, vectors_tab, maps_tab = st.tabs(list(TABS.values()), key="vae.tab",
                                           on_change="rerun")
if digit_tab.open:
    with digit_tab:
        digit_view(lab)
if vectors_tab.open:
    with vectors_tab:
        vectors_view(lab)
if maps_tab.open:
    with maps_tab:
        maps_view(lab)

alphas = {n: (ss.get("vae.kept") or {}).get(f"vae.alpha.{n}", 0.0) for n in measured}
current = ss.get("vae.digit") or {}
write_link({"model": vae_row["file"], "tab": next((k for k, v in TABS.items() if v == ss.get("vae.tab")), None),
            "digit": current.get("test_index"),
            "alpha": ";".join(f"{n}:{a:g}" for n, a in alphas.items() if a) or None})
