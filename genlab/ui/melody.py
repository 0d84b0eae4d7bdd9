"""Widgets and cached values of the Melody page: the seed notes (chorale openings, a small keyboard, typed
notes) and the generated melody with its audio.

Session state (all keys prefixed "melody."):
  melody.notes        the seed notes as text ("G4:1 A4:0.5"), the one source of the seed
  melody.chorale      the chorale whose opening was put in the seed (a selectbox)
  melody.key          the keyboard's last key (cleared after each press), melody.length its duration
"""
from __future__ import annotations

import numpy as np
import streamlit as st

from ..data.melodies import load_melodies
from ..files import file_stamp
from ..music import melody
from ..music.melody import share_text
from ..music.plots import attention_heatmap, melody_roll_figure, probability_heatmap
from .links import link_choice, link_messages, link_number
from .loaders import load_model

ss = st.session_state
STEP_SECONDS = 0.6       # "Play the steps": one more note this often
CHART_CONFIG = {"displayModeBar": False}   # the small charts' toolbar would cover their top rows
KEYS = ("C4", "C#4", "D4", "E-4", "E4", "F4", "F#4", "G4", "G#4", "A4", "B-4", "B4",
        "C5", "C#5", "D5", "E-5", "E5", "F5", "F#5", "G5", "A5", "rest")
LENGTHS = ("0.5", "1", "1.5", "2", "3", "4")
LENGTH_NAMES = {"0.5": "eighth 0.5", "1": "quarter 1", "1.5": "dotted quarter 1.5", "2": "half 2",
                "3": "dotted half 3", "4": "whole 4"}


def chorale_names() -> list[str]:
    """Every chorale of the melody cache, held-out ones marked."""
    melodies = load_melodies()
    held = melodies.held_out()
    return [f"{name}{' (held out)' if h else ''}" for name, h in zip(melodies.names, held)]


def default_chorale() -> int:
    """The first held-out chorale: music the model never heard, in any key."""
    held = load_melodies().held_out()
    return int(held.argmax()) if held.any() else 0


def fill_from_chorale() -> None:
    """Callback: the picked chorale's opening (pickup and first bar) becomes the seed."""
    ss["melody.notes"] = melody.format_notes(melody.chorale_opening(int(ss["melody.chorale"])))


def _press() -> None:
    key = ss.get("melody.key")
    if key:
        notes = ss.get("melody.notes", "").split()
        if len(notes) < melody.MAX_SEED_NOTES:
            ss["melody.notes"] = " ".join(notes + [f"{key}:{ss.get('melody.length') or '1'}"])
    ss["melody.key"] = None


def _undo() -> None:
    ss["melody.notes"] = " ".join(ss.get("melody.notes", "").split()[:-1])


def _clear() -> None:
    ss["melody.notes"] = ""


def keyboard() -> None:
    """A small keyboard: pick a duration, then click keys to add notes to the seed."""
    ss.setdefault("melody.length", "1")
    st.pills("Length of the next note (quarter notes)", LENGTHS, key="melody.length",
             format_func=lambda v: LENGTH_NAMES[v])
    st.pills("Click a key to add it", KEYS, key="melody.key", on_change=_press,
             format_func=melody.pitch_label,
             help="Pitch names with their octave: C4 is middle C. ♭ is written '-' in the seed text, as music21 does.")
    left, right = st.columns(2)
    left.button("Undo", key="melody.undo", on_click=_undo, width="stretch", help="Remove the last note of the seed")
    right.button("Clear", key="melody.clear", on_click=_clear, width="stretch", help="Empty the seed")


@st.cache_data(show_spinner=False, max_entries=64)
def _generate(path: str, stamp: tuple, seed_text: str, n_notes: int, temperature: float, seed: int) -> melody.Generated:
    model = load_model(path).model
    return melody.generate(model, melody.parse_notes(seed_text, model), n_notes, temperature, seed)


def generated(path: str, seed_text: str, n_notes: int, temperature: float, seed: int) -> melody.Generated:
    """The melody of these settings (cached across sessions; the model is read-only)."""
    return _generate(str(path), file_stamp(path), seed_text, n_notes, temperature, seed)


@st.cache_data(show_spinner=False, max_entries=64)
def _continuation(path: str, stamp: tuple, index: int, n_seed: int, n_notes: int) -> melody.Continuation:
    return melody.real_continuation(load_model(path).model, index, n_seed, n_notes)


def bach_continuation(path: str, index: int, n_seed: int, n_notes: int) -> melody.Continuation:
    """The chorale's real notes after its opening and the model's scores on them (cached)."""
    return _continuation(str(path), file_stamp(path), index, n_seed, n_notes)


@st.cache_data(show_spinner=False, max_entries=64)
def melody_audio(notes: tuple, tempo: float) -> bytes:
    return melody.audio(list(notes), tempo)


@st.cache_data(show_spinner=False, max_entries=16)
def melody_midi(notes: tuple, tempo: float) -> bytes:
    return melody.midi(list(notes), tempo)


@st.cache_data(show_spinner=False, max_entries=16)
def melody_xml(notes: tuple, tempo: float) -> bytes:
    return melody.musicxml(list(notes), tempo)


def take_link(link: dict, model) -> None:
    """A link's chorale, seed notes, temperature, length, seed, tempo and step into the page's state (each
    checked; a refused value leaves a message and the default)."""
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


def corpus_name(index: int) -> str:
    return str(load_melodies().names[index])


def model_figures(metrics: dict) -> None:
    """The model's held-out accuracy and perplexity beside a bigram's and the commonest pitch's."""
    if "held_out_pitch_accuracy" in metrics:
        st.caption(f"On {metrics.get('held_out_notes', 0):,} notes of tunes it never heard, it names the next pitch "
                   f"{metrics['held_out_pitch_accuracy']:.1%} of the time (as unsure as a fair choice among "
                   f"{metrics['held_out_pitch_perplexity']:.1f} pitches: its perplexity); counting which pitch "
                   f"follows which (a bigram) gets {metrics['bigram_pitch_accuracy']:.1%} (perplexity "
                   f"{metrics['bigram_pitch_perplexity']:.2f}), the commonest pitch alone "
                   f"{metrics['unigram_pitch_accuracy']:.1%}.")


def seed_notes_view(model) -> tuple[list | None, str | None, list]:
    """The chorale picker, the seed notes' field and the keyboard: (the parsed seed or None, why it was
    refused, the picked chorale's opening)."""
    names = chorale_names()
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
    return seed_notes, refused, opening


def melody_view(path: str, result: melody.Generated, seed_notes: list, from_chorale: bool, n_notes: int,
                tempo: int):
    """The piano roll, audio, the notes spelled in the melody's key, its measures, Bach's own continuation
    (when the seed is a chorale's opening) and the downloads. Returns the key's speller."""
    notes = tuple(result.notes)
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
        real = bach_continuation(path, chorale, len(seed_notes), n_notes)
        if real.notes:
            with st.expander(f"What Bach's tune does next: the model named {real.named} of its next "
                             f"{len(real.notes)} pitches", expanded=False):
                st.plotly_chart(melody_roll_figure(seed_notes + real.notes, len(seed_notes),
                                                   names=("opening", "Bach's notes")), width="stretch",
                                key="melody.real_roll", config=CHART_CONFIG)
                st.audio(melody_audio(tuple(seed_notes + real.notes), tempo), format="audio/wav")
                st.caption(f"{chorale_names()[chorale]}'s soprano after the same opening. Given the real notes "
                           f"before each one, the model's likeliest next pitch was the real one {real.named} times "
                           f"out of {len(real.notes)}; it gave the real pitch {np.mean(real.probabilities):.0%} "
                           "on average.")
    left, right = st.columns(2)
    left.download_button("Download MIDI (.mid)", melody_midi(notes, tempo), file_name="genlab_melody.mid",
                         mime="audio/midi", key="melody.download_midi", on_click="ignore", width="stretch")
    right.download_button("Download MusicXML", melody_xml(notes, tempo), file_name="genlab_melody.musicxml",
                          mime="application/vnd.recordare.musicxml+xml", key="melody.download_xml",
                          on_click="ignore", width="stretch")
    return spell


def _play(n: int) -> None:
    ss["melody.playing"] = not ss.get("melody.playing", False)
    if ss["melody.playing"] and ss.get("melody.step", 0) >= n:
        ss["melody.step"] = 1                     # from the start again


def steps_section(result: melody.Generated, spell) -> None:
    """"Step by step": the Play button and the two heatmaps revealed up to a step (a fragment that moves the
    step on one note every STEP_SECONDS while playing)."""
    playing = ss.get("melody.playing", False)

    @st.fragment(run_every=STEP_SECONDS if playing else None)
    def step_by_step() -> None:
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
            st.plotly_chart(probability_heatmap(result.probabilities, result.pitches, chosen, result.n_seed,
                                                upto=step), width="stretch", key="melody.probabilities",
                            config=CHART_CONFIG)
        with right:
            st.markdown("**Attention**: which earlier notes each prediction weighed (each row sums to 1)")
            st.plotly_chart(attention_heatmap(result.attention, result.notes, result.n_seed, upto=step),
                            width="stretch", key="melody.attention", config=CHART_CONFIG)

    title, button = st.columns([5, 2], vertical_alignment="bottom")
    title.subheader("Step by step")
    button.button("Pause" if playing else "Play the steps", key="melody.play", on_click=_play,
                  args=(len(result.probabilities),), width="stretch",
                  icon=":material/pause:" if playing else ":material/play_arrow:",
                  help=f"Reveal the melody's steps one by one, a note every {STEP_SECONDS:g} s.")
    step_by_step()
