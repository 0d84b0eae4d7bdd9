"""Melody: the book's LSTM with attention continues a melody note by note; its next-pitch probabilities and its
attention, step by step. Widgets and layout only; the views are in genlab/ui/melody.py."""
import streamlit as st

from genlab.checkpoints import CheckpointError
from genlab.music import melody
from genlab.ui.links import link_messages, model_mismatch, page_title, read_link, show_link_messages, write_link
from genlab.ui.loaders import load_model
from genlab.ui.melody import corpus_name, generated, melody_view, model_figures, seed_notes_view, steps_section, take_link
from genlab.ui.router import require_router
from genlab.ui.widgets import model_picker

require_router()
page_title("Melody")
st.write("The book's melody model reads a tune as tokens, a pitch and a duration per note, and predicts the next "
         "note from the last 32 with an LSTM and attention. Give it an opening, let it write on one note at a "
         "time, and see what it weighed at each step: the probability of every next pitch and the earlier "
         "notes it looked at.")

ss = st.session_state
link = read_link("melody", ("model", "chorale", "notes", "t", "n", "seed", "tempo")
                 + (() if "lesson" in st.query_params else ("step",)))   # a lesson's link has a step of its own
wanted = link.pop("model", None)
row = model_picker("melody.file", kinds=("melody",), label="Melody model", preferred=wanted,
                   empty="No melody model yet. Train one with `python -m train melody --epochs 20 --batch-size 64 "
                         "--transpose 3 --out checkpoints/melody_chorales` (docs: Melody).")
if row is None:
    st.stop()
if mismatch := model_mismatch(wanted, row["file"], "a melody model"):
    link_messages("melody").append(mismatch)
try:
    model = load_model(row["path"]).model
except CheckpointError as err:
    st.error(f"This checkpoint cannot be loaded: {err}")
    st.stop()
take_link(link, model)
show_link_messages("melody")
model_figures(row["metrics"])

controls, output = st.columns([4, 7], gap="large")
with controls:
    seed_notes, refused, opening = seed_notes_view(model)
    ss.setdefault("melody.temperature", 1.0)
    ss.setdefault("melody.length_n", 32)
    ss.setdefault("melody.seed", 0)
    ss.setdefault("melody.tempo", 80)
    temperature = st.slider("Temperature", 0.0, 2.0, step=0.1, key="melody.temperature",
                            help="0: always the most likely note (tame, often repetitive). 1: the model's own "
                                 "probabilities. Above 1: flatter, wilder choices.")
    n_notes = st.slider("Notes to generate", 8, 64, step=1, key="melody.length_n")
    seed = st.number_input("Sampling seed", 0, 2**31 - 1, key="melody.seed",
                           help="The same seed, seed notes and temperature always give the same melody.")
    tempo = st.slider("Tempo (quarter notes per minute)", 40, 160, step=4, key="melody.tempo")

if seed_notes is None:
    output.warning(f"No melody: the seed notes were refused ({refused}). Correct them on the left, pick a "
                   "chorale, or clear them to let the model start on its own.")
    st.stop()
seed_text = melody.format_notes(seed_notes)
from_chorale = seed_notes == opening
write_link({"model": row["file"], "chorale": corpus_name(int(ss["melody.chorale"])) if from_chorale else None,
            "notes": seed_text, "t": f"{temperature:g}", "n": n_notes, "seed": seed, "tempo": tempo})
result = generated(row["path"], seed_text, n_notes, float(temperature), int(seed))
with output:
    spell = melody_view(row["path"], result, seed_notes, from_chorale, n_notes, tempo)
steps_section(result, spell)
