"""Home: what GenLab is, its pages, and the models found in checkpoints/."""
import streamlit as st
import torch

from genlab.catalog import list_models, quality_summary
from genlab.checkpoints import CheckpointError
from genlab.images import image_grid
from genlab.music.metrics import generated_phrases
from genlab.music.plots import piano_roll_image
from genlab.ui.loaders import load_model
from genlab.ui.navigation import PAGES
from genlab.ui.router import require_router

require_router()
st.title("GenLab")
st.write("An interactive laboratory for the latent spaces of small generative models: "
         "GANs with 2D, 3D and 4D latent spaces, a conditional GAN, an autoencoder and a VAE on handwritten digits, a MuseGAN on Bach chorales and the book's melody model (an LSTM with attention).")

st.subheader("Pages")
for page in PAGES:
    st.page_link(page.path, label=f"**{page.title}** — {page.summary}", icon=page.icon)

st.subheader("Models")
rows, problems = list_models()
for problem in problems:
    st.warning(f"Skipped a checkpoint that failed validation: {problem}")
if not rows:
    st.info("No models found. Train one with `python -m train gan --out checkpoints/my_gan` (see docs/training.md).")
for row in rows:
    with st.container(border=True):
        left, right = st.columns([2, 3])
        left.markdown(f"**{row['model']}**  \n`{row['file']}` · trained {row['epochs']} epoch{'' if row['epochs'] == 1 else 's'} on {row['dataset']}")
        summary = quality_summary(row["metrics"])
        if "test_accuracy" in row["metrics"]:
            left.caption(f"Test accuracy {row['metrics']['test_accuracy']:.2%}")
        elif summary is not None:
            left.caption(summary)
        elif "in_key_fraction" in row["metrics"]:
            left.caption(f"{row['metrics']['in_key_fraction']:.0%} of its notes in key")
        if row["kind"] == "classifier":
            continue
        if row["kind"] == "melody":   # generated note by note on its own page
            right.page_link("pages/melody.py", label="Hear it write on from a chorale's opening (Melody page)",
                            icon=":material/queue_music:")
            continue
        try:
            model = load_model(row["path"]).model
        except CheckpointError as err:   # valid metadata, but weights that do not fit it (or NaN)
            right.warning(f"This checkpoint cannot be loaded: {err}")
            continue
        if row["kind"] == "musegan":
            phrases = generated_phrases(model, 3, seed=0)
            right.image(piano_roll_image(phrases, step_width=3, pitch_height=2), output_format="PNG",
                        caption="3 random phrases (soprano red, alto orange, tenor green, bass blue)")
        else:
            with torch.inference_mode():
                samples = model.sample(10, torch.Generator().manual_seed(0))
            right.image(image_grid(samples, nrow=10, scale=2), caption="10 random samples", output_format="PNG")
