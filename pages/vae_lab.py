"""VAE Lab: the book's autoencoder and VAE side by side, your own digit among their codes, attribute vectors.

The views live in genlab.ui.vae_lab ("Your digit"), genlab.ui.vae_vectors ("Attribute vectors") and
genlab.ui.vae_maps ("AE vs VAE maps", which picks its own pair of models); this page picks the VAE and opens
the tab the user chose (only that tab is computed).
"""
import streamlit as st

from genlab.ui.explorer import class_names_of, strong_classifier
from genlab.ui.router import require_router
from genlab.ui.vae_lab import Lab, digit_view
from genlab.ui.vae_maps import maps_view
from genlab.ui.vae_vectors import vectors_view
from genlab.ui.widgets import load_or_stop, model_picker

require_router()
st.title("VAE Lab")
st.write("Draw a digit and see where a variational autoencoder puts it among the real ones; make it thicker, more "
         "slanted or another digit with attribute vectors; and compare the VAE's compact latent space with a plain "
         "autoencoder's gappy one.")

top = st.columns([3, 5])
vae_row = model_picker("vae.model", ("vae",), label="VAE (your digit, attribute vectors)", slot=top[0], preferred="vae_16.safetensors",
                       help="vae_16: 16 dimensions, drawn through a 2D PCA projection; room for thickness and slant "
                            "besides the digit. vae_2d: a 2D latent space, drawn as it is.",
                       empty="No VAE in the models folder yet. Train one with `python -m train vae --out "
                             "checkpoints/my_vae` (see README).")
if vae_row is None:
    st.stop()
classifier = strong_classifier()
lab = Lab(load_or_stop(vae_row), classifier, class_names_of(classifier))
if classifier is None:
    st.info("No strong classifier in the models folder, so there is no class-area map and no class of an image. "
            "Train one with `python -m train classifier --size strong --out checkpoints/classifier_strong`.")

digit_tab, vectors_tab, maps_tab = st.tabs(["Your digit", "Attribute vectors", "AE vs VAE maps"], key="vae.tab",
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
