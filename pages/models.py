"""Model card: one checkpoint in detail."""
import io

import pandas as pd
import streamlit as st
import torch

from genlab.catalog import checkpoint_info, config_value_text, metric_rows, quality_summary, training_summary
from genlab.checkpoints import CheckpointError
from genlab.images import image_grid
from genlab.music.metrics import generated_phrases
from genlab.music.plots import piano_roll_image
from genlab.plots import loss_history_figure
from genlab.ui.explorer import strong_classifier
from genlab.ui.links import link_number, model_mismatch, page_title, read_link, show_link_messages, write_link
from genlab.ui.loaders import load_model
from genlab.ui.nearest import copy_rate_section
from genlab.ui.widgets import model_picker
from genlab.ui.router import require_router

require_router()
page_title("Model card")
st.write("Everything a checkpoint knows about its model: architecture, parameter counts, how it trained, and samples.")

link = read_link("models", ("model", "seed"))
wanted = link.pop("model", None)
row = model_picker("models.file", preferred=wanted, default="gan_2d.safetensors")
if row is None:
    st.stop()
if mismatch := model_mismatch(wanted, row["file"]):
    st.warning(mismatch)
seed = link_number("models", link.pop("seed", None), 0, 2**31 - 1, "sample seed", integer=True)
if seed is not None:
    st.session_state["models.seed"] = seed
show_link_messages("models")
try:
    ckpt = load_model(row["path"])
    info = checkpoint_info(ckpt)
except CheckpointError as err:
    st.error(f"This checkpoint cannot be loaded: {err}")
    st.stop()

left, right = st.columns(2)
with left:
    st.markdown(f"**{row['model']}** trained on **{info['dataset']}** ({info['created']})")
    st.caption("Trained: " + training_summary(ckpt.train, ckpt.history))
    summary = quality_summary(ckpt.metrics)
    if summary:
        where = ("`python bench/melody_report.py` measures it per epoch; docs: Melody" if ckpt.kind == "melody"
                 else "`python -m genlab quality` measures it; docs: Quality")
        st.caption(f"Quality: {summary} ({where})")
    copy_rate_section(ckpt, strong_classifier())
    st.markdown("**Configuration**")
    st.table({k: [config_value_text(v)] for k, v in info["config"].items()})
    st.markdown("**Parameters**")
    st.table({name: {"trainable": f"{c['trainable']:,}", "non-trainable": f"{c['non_trainable']:,}",
                     "total": f"{c['total']:,}"} for name, c in info["parameters"].items()})
    if info["metrics"]:
        st.markdown("**What was measured**")
        rows = metric_rows(info["metrics"])       # a table, not a dataframe: the long names and lists wrap
        st.table(pd.DataFrame({"value": [r["value"] for r in rows]}, index=[r["figure"] for r in rows]))
        with st.expander("The same figures as stored in the checkpoint (JSON)"):
            st.json(info["metrics"], expanded=False)
with right:
    if ckpt.history.get("losses"):
        right = ("pitch_accuracy",) if ckpt.kind == "melody" else ("accuracy",) if ckpt.kind == "classifier" else ()
        st.plotly_chart(loss_history_figure(ckpt.history, right=right), width="stretch")
    if ckpt.kind != "classifier":
        st.session_state.setdefault("models.seed", 0)
        seed = st.number_input("Sample seed", 0, 2**31 - 1, key="models.seed",
                               help="The same seed always gives the same samples.")
        if ckpt.kind == "melody":   # a melody from a held-out chorale's opening (Melody page: listen, watch)
            from genlab.music.melody import chorale_opening, format_notes
            from genlab.music.plots import melody_roll_figure
            from genlab.ui.melody import default_chorale, generated

            tune = generated(row["path"], format_notes(chorale_opening(default_chorale())), 32, 1.0, int(seed))
            st.plotly_chart(melody_roll_figure(tune.notes, tune.n_seed), width="stretch", key="models.melody")
            st.caption("32 notes after a held-out chorale's opening (grey), temperature 1; the Melody page plays "
                       "them and shows the model's probabilities and attention.")
        elif ckpt.kind == "musegan":  # phrases, drawn as one piano roll (Music page: listen to them)
            grid, caption = piano_roll_image(generated_phrases(ckpt.model, 4, seed=int(seed))), "4 random phrases"
        else:
            with torch.inference_mode():
                grid = image_grid(ckpt.model.sample(32, torch.Generator().manual_seed(int(seed))), nrow=8, scale=3)
            caption = "32 random samples"
        if ckpt.kind != "melody":
            st.image(grid, caption=caption, output_format="PNG")
            buffer = io.BytesIO()
            grid.save(buffer, format="PNG")
            st.download_button("Download samples (PNG)", buffer.getvalue(), file_name=f"{row['file']}_samples.png",
                               mime="image/png", key="models.download", on_click="ignore")
write_link({"model": row["file"], "seed": st.session_state.get("models.seed") or None})
