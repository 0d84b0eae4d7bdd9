"""Melody: the book's LSTM with attention continues a melody note by note; its next-pitch probabilities and its
attention, step by step."""
import numpy as np
import streamlit as st

from genlab.checkpoints import CheckpointError
from genlab.data.melodies import load_melodies
from genlab.music import melody
from genlab.music.melody import share_text
from genlab.music.plots import attention_heatmap, melody_roll_figure, probability_heatmap
from genlab.ui.links import (link_choice, link_messages, link_number, model_mismatch, page_title, read_link,
                             show_link_messages, write_link)
from genlab.ui.loaders import load_model
from genlab.ui.melody import (bach_continuation, chorale_names, default_chorale, fill_from_chorale, generated,
                              keyboard, melody_audio, melody_midi, melody_xml)
from genlab.ui.router import require_router
from genlab.ui.widgets import model_picker

require_router()
page_title("Melody")
st.write("The book's melody model reads a tune as tokens, a pitch and a duration per note, and predicts the next "
         "note from the last 32 with an LSTM and attention. Give it an opening, let it write on one note at a "
         "time, and see what it weighed at each step: the probability of every next pitch and the earlier "
         "notes it looked at.")

ss = st.session_state
STEP_SECONDS = 0.6       # "Play the steps": one more note this often
CHART_CONFIG = {"displayModeBar": False}   # the small charts' toolbar would cover their top rows
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

names = chorale_names()
corpus_names = [str(n) for n in load_melodies().names]
picked = link_choice("melody", link.pop("chorale", None), {n: i for i, n in enumerate(corpus_names)}, "chorale")
if picked is not None:
    ss["melody.chorale"] = picked
    if "notes" not in link:
        fill_from_chorale()
if "melody.chorale" not in ss:
    ss["melody.chorale"] = default_chorale()
if "notes" in link:
    text = link.pop("notes")
    try:
        ss["melody.notes"] = melody.format_notes(melody.parse_notes(text, model))
    except melody.MelodyError as err:
        link_messages("melody").append(f"The link's seed notes were refused ({err}); using a chorale's opening.")
if "melody.notes" not in ss:
    fill_from_chorale()
for key, name, low, high, integer, what in (("melody.temperature", "t", 0.0, 2.0, False, "temperature"),
                                            ("melody.length_n", "n", 8, 64, True, "number of notes"),
                                            ("melody.seed", "seed", 0, 2**31 - 1, True, "sampling seed"),
                                            ("melody.tempo", "tempo", 40, 160, True, "tempo")):
    value = link_number("melody", link.pop(name, None), low, high, what, integer)
    if value is not None:
        ss[key] = round(value, 1) if key == "melody.temperature" else value
if (step_link := link_number("melody", link.pop("step", None), 1, 64, "step", integer=True)) is not None:
    ss["melody.link_step"] = step_link            # the step-by-step view opens there (taken in step_by_step)
show_link_messages("melody")

metrics = row["metrics"]
if "held_out_pitch_accuracy" in metrics:
    st.caption(f"On {metrics.get('held_out_notes', 0):,} notes of tunes it never heard, it names the next pitch "
               f"{metrics['held_out_pitch_accuracy']:.1%} of the time (as unsure as a fair choice among "
               f"{metrics['held_out_pitch_perplexity']:.1f} pitches: its perplexity); counting which pitch follows which (a bigram) gets "
               f"{metrics['bigram_pitch_accuracy']:.1%} (perplexity {metrics['bigram_pitch_perplexity']:.2f}), the "
               f"commonest pitch alone {metrics['unigram_pitch_accuracy']:.1%}.")

controls, output = st.columns([4, 7], gap="large")
with controls:
    st.selectbox("Start from a chorale's opening", range(len(names)), key="melody.chorale",
                 format_func=lambda i: names[i], on_change=fill_from_chorale,
                 help="Its pickup and first bar become the seed. Held-out tunes were never used in training, "
                      "in any key.")
    st.text_input("Seed notes (pitch:duration in quarter notes)", key="melody.notes",
                  help="For example G4:1 G4:2 D5:1 B4:1.5 A4:0.5; 'rest:1' is a rest. Flats as B-4 or Bb4.")
    opening = melody.chorale_opening(int(ss["melody.chorale"]))   # the picked chorale's (its widget is drawn)
    about_seed = st.container()    # always there, so the keyboard's expander below keeps its place (and stays open)
    try:
        seed_notes, refused = melody.parse_notes(ss["melody.notes"], model), None
    except melody.MelodyError as err:
        seed_notes, refused = None, str(err)
        about_seed.error(f"The seed notes were refused: {refused}")
    if seed_notes is not None:
        if not seed_notes:
            about_seed.caption("No seed notes: the model starts a tune of its own from nothing.")
        elif seed_notes != opening:
            about_seed.caption("Your own seed (not the opening of the chorale named above).")
    with st.expander("Keyboard: add notes by clicking", expanded=False):
        keyboard()
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
write_link({"model": row["file"], "chorale": corpus_names[int(ss["melody.chorale"])] if from_chorale else None,
            "notes": seed_text, "t": f"{temperature:g}", "n": n_notes, "seed": seed,
            "tempo": tempo})
result = generated(row["path"], seed_text, n_notes, float(temperature), int(seed))
notes = tuple(result.notes)

with output:
    measures = melody.melody_measures(result)
    spell = melody.key_speller(measures["tonic"], measures["mode"])
    st.plotly_chart(melody_roll_figure(result.notes, result.n_seed, label=spell), width="stretch", key="melody.roll",
                    config=CHART_CONFIG)
    st.audio(melody_audio(notes, tempo), format="audio/wav")
    st.caption(f"{result.n_seed} seed notes (grey), then {len(notes) - result.n_seed} generated (red), spelled in "
               f"{measures['key']}: "
               + " ".join(spell(p) for p, _ in result.notes[result.n_seed:result.n_seed + 16])
               + (" ..." if n_notes > 16 else ""))
    st.caption(f"Tame or wild: the model gave the pitches it drew {measures['mean_probability']:.0%} on average; "
               f"{measures['distinct_pitches']} different pitches, the largest leap {measures['largest_leap']} "
               f"semitones, {measures['in_key']:.0%} of the new notes in {measures['key']}.")
    chorale = int(ss["melody.chorale"])
    if from_chorale:       # the seed is this chorale's opening: what came next?
        real = bach_continuation(row["path"], chorale, len(seed_notes), n_notes)
        if real.notes:
            with st.expander(f"What Bach's tune does next: the model named {real.named} of its next "
                             f"{len(real.notes)} pitches", expanded=False):
                st.plotly_chart(melody_roll_figure(seed_notes + real.notes, len(seed_notes),
                                                   names=("opening", "Bach's notes")), width="stretch",
                                key="melody.real_roll", config=CHART_CONFIG)
                st.audio(melody_audio(tuple(seed_notes + real.notes), tempo), format="audio/wav")
                st.caption(f"{names[chorale]}'s soprano after the same opening. Given the real notes before each "
                           f"one, the model's likeliest next pitch was the real one {real.named} times out of "
                           f"{len(real.notes)}; it gave the real pitch {np.mean(real.probabilities):.0%} on average.")
    left, right = st.columns(2)
    left.download_button("Download MIDI (.mid)", melody_midi(notes, tempo), file_name="genlab_melody.mid",
                         mime="audio/midi", key="melody.download_midi", on_click="ignore", width="stretch")
    right.download_button("Download MusicXML", melody_xml(notes, tempo), file_name="genlab_melody.musicxml",
                          mime="application/vnd.recordare.musicxml+xml", key="melody.download_xml",
                          on_click="ignore", width="stretch")


def _play() -> None:
    ss["melody.playing"] = not ss.get("melody.playing", False)
    if ss["melody.playing"] and ss.get("melody.step", 0) >= len(result.probabilities):
        ss["melody.step"] = 1                     # from the start again


playing = ss.get("melody.playing", False)


@st.fragment(run_every=STEP_SECONDS if playing else None)
def step_by_step() -> None:
    """The two heatmaps, revealed up to the step the slider names, and what the model did at that step;
    while playing, the fragment moves the slider on one note every STEP_SECONDS."""
    n = len(result.probabilities)
    if (linked := ss.pop("melody.link_step", None)) is not None:      # a link's step (at most the length)
        ss["melody.step"] = ss["melody.step_shown"] = min(int(linked), n)
        ss["melody.step_n"] = n
    shown, before = ss.get("melody.step_shown", n), ss.get("melody.step_n", n)
    if n != before:                               # a new length: every step stays every step, else the same step
        ss["melody.step"] = n if shown >= before else min(shown, n)
    elif "melody.step" not in ss:
        ss["melody.step"] = min(shown, n)
    if ss.get("melody.playing"):
        ss["melody.step"] = min(n, int(ss["melody.step"]) + 1)
        if ss["melody.step"] >= n:
            ss["melody.playing"] = False
            ss["melody.step_shown"], ss["melody.step_n"] = n, n
            st.rerun(scope="app")                 # the page again, without the timer
    ss["melody.step_n"] = n
    step = st.slider("Watch it write: show the first k generated notes", 1, n, key="melody.step")
    ss["melody.step_shown"] = step
    if step < n and not ss.get("melody.playing"):    # the link keeps a step part-way (not while it plays)
        st.query_params["step"] = str(step)
    elif "step" in st.query_params:
        del st.query_params["step"]
    i = step - 1
    chosen = [p for p, _ in result.notes[result.n_seed:]]
    probabilities = result.probabilities[i]
    top = probabilities.argsort()[::-1][:5]
    attended = result.attention[i].argsort()[::-1][:3]
    looked = ", ".join(("the start" if j == 0 else f"note {j} ({spell(result.notes[j - 1][0])})")
                       + f" {share_text(result.attention[i, j])}" for j in attended)
    st.markdown(f"**Note {result.n_seed + step}**: it drew **{spell(chosen[i])}** "
                f"(p = {share_text(probabilities[result.pitches.index(chosen[i])])}). Its top five: "
                + ", ".join(f"{spell(result.pitches[k])} {share_text(probabilities[k])}" for k in top)
                + f". It looked most at {looked}.")
    left, right = st.columns(2)
    with left:
        st.markdown("**Next-pitch probability** at each step (the drawn pitch outlined)")
        st.plotly_chart(probability_heatmap(result.probabilities, result.pitches, chosen, result.n_seed, upto=step),
                        width="stretch", key="melody.probabilities", config=CHART_CONFIG)
    with right:
        st.markdown("**Attention**: which earlier notes each prediction weighed (each row sums to 1)")
        st.plotly_chart(attention_heatmap(result.attention, result.notes, result.n_seed, upto=step),
                        width="stretch", key="melody.attention", config=CHART_CONFIG)


title, button = st.columns([5, 2], vertical_alignment="bottom")
title.subheader("Step by step")
button.button("Pause" if playing else "Play the steps", key="melody.play", on_click=_play, width="stretch",
              icon=":material/pause:" if playing else ":material/play_arrow:",
              help=f"Reveal the melody's steps one by one, a note every {STEP_SECONDS:g} s.")
step_by_step()
