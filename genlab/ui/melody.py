"""Widgets and cached values of the Melody page: the seed notes (chorale openings, a small keyboard, typed
notes) and the generated melody with its audio.

Session state (all keys prefixed "melody."):
  melody.notes        the seed notes as text ("G4:1 A4:0.5"), the one source of the seed
  melody.chorale      the chorale whose opening was put in the seed (a selectbox)
  melody.key          the keyboard's last key (cleared after each press), melody.length its duration
"""
from __future__ import annotations

import streamlit as st

from ..data.melodies import load_melodies
from ..files import file_stamp
from ..music import melody
from .loaders import load_model

ss = st.session_state
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
