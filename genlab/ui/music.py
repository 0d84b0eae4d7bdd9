"""Widgets and cached values of the Music page: latent controls, sound settings, morph points.

Session state (all keys prefixed "music."):
  music.seeds          {input name: seed}: which N(0, I) vector each latent input starts from
  music.<input>.x/.y   the input's point on its latent pad (over its two main directions)
  music.<input>.pad    the pad's own state; music.<input>.seq the last pad move taken in
  music.point_a/_b     saved controls for the morph ({input name: (seed, x, y)})
"""
from __future__ import annotations

import streamlit as st

from ..files import file_stamp
from ..music.audio import soundfont_available
from ..music.controls import PAD_RANGE, Control, control_names, control_title, default_controls, main_directions
from ..music.midi import DEFAULT_INSTRUMENTS, PROGRAMS
from ..music.roll import VOICES
from ..music.studio import play
from .latent_pad import latent_pad
from .loaders import load_model

RESEED = 7919      # "resample" moves an input's seed by this much


@st.cache_resource(show_spinner=False, max_entries=8)
def _directions(path: str, stamp: tuple) -> dict:
    return main_directions(load_model(path).model)


def music_directions(path: str) -> dict:
    """Main directions of each latent input of the MuseGAN at `path` (cached, read-only)."""
    return _directions(str(path), file_stamp(path))


@st.cache_data(show_spinner=False, max_entries=64)
def cached_play(pitches, tempo: float, instruments: tuple[str, ...], renderer: str) -> bytes:
    """WAV bytes of a phrase that does not change with the controls (the nearest chorale, an upload)."""
    return play(pitches, tempo, instruments, renderer)


def init_state(model) -> None:
    """Create the page's session state keys once (seeds and pad points)."""
    if "music.seeds" not in st.session_state:
        st.session_state["music.seeds"] = {n: c.seed for n, c in default_controls(model).items()}
    for name in control_names(model):
        for axis in ("x", "y"):
            st.session_state.setdefault(f"music.{name}.{axis}", 0.0)


def _resample(names: list[str]) -> None:
    for name in names:
        st.session_state["music.seeds"][name] += RESEED
        st.session_state[f"music.{name}.x"] = 0.0
        st.session_state[f"music.{name}.y"] = 0.0


def current_controls(model) -> dict[str, Control]:
    """The controls as the session holds them."""
    seeds = st.session_state["music.seeds"]
    return {n: Control(seeds[n], float(st.session_state[f"music.{n}.x"]), float(st.session_state[f"music.{n}.y"]))
            for n in control_names(model)}


def _pad(name: str) -> None:
    """One input's control: the latent pad over its two main directions (drag, click, or arrow keys),
    and "Resample". A move on the pad is taken in before the controls are read, so the phrase follows it."""
    key = f"music.{name}"
    moved = (st.session_state.get(f"{key}.pad") or {}).get("point")
    if moved and moved.get("seq", 0) > st.session_state.get(f"{key}.seq", 0):
        st.session_state[f"{key}.seq"] = int(moved["seq"])
        st.session_state["music.dragging"] = bool(moved.get("dragging"))   # this run: the roll, not the sound
        st.session_state[f"{key}.x"] = min(max(float(moved["x"]), -PAD_RANGE), PAD_RANGE)
        st.session_state[f"{key}.y"] = min(max(float(moved["y"]), -PAD_RANGE), PAD_RANGE)
    st.markdown(f"**{control_title(name)}**")
    latent_pad(f"{key}.pad", (st.session_state[f"{key}.x"], st.session_state[f"{key}.y"]), (-PAD_RANGE, PAD_RANGE),
               (-PAD_RANGE, PAD_RANGE), "dir 1", "dir 2", seq=st.session_state.get(f"{key}.seq", 0))
    st.button("Resample", key=f"{key}.resample", on_click=_resample, args=([name],),
              help=f"A new random {control_title(name).lower()} input (the pad goes back to the centre).")


def latent_controls(model) -> None:
    """The latent inputs in three tabs: chords and style (all voices), melody and groove (one voice each)."""
    names = control_names(model)
    st.button("New phrase (resample everything)", key="music.resample_all", on_click=_resample, args=(names,))
    shared, melody, groove = st.tabs(["Chords & style", "Melody per voice", "Groove per voice"])
    with shared:
        st.caption("Chords change every voice, bar by bar; style changes every voice in both bars alike.")
        left, right = st.columns(2)
        with left:
            _pad("chords")
        with right:
            _pad("style")
    for tab, kind, caption in ((melody, "melody", "A voice's melody changes only that voice, bar by bar."),
                               (groove, "groove", "A voice's groove changes only that voice, both bars alike.")):
        with tab:
            st.caption(caption)
            columns = st.columns(2)                      # two pads a row: each wide enough to drag on
            for t in range(len(VOICES)):
                with columns[t % 2]:
                    _pad(f"{kind} {t}")


RENDERERS = {"SoundFont (fluidsynth)": "soundfont", "GenLab's synthesiser (numpy)": "synth"}


def sound_settings() -> tuple[int, tuple[str, ...], str, int]:
    """Tempo, an instrument per voice, the renderer ("soundfont" when one is installed, else "synth") and
    the transposition in semitones."""
    tempo_col, transpose_col = st.columns(2)
    st.session_state.setdefault("music.tempo", 72)
    st.session_state.setdefault("music.transpose", 0)
    tempo = tempo_col.slider("Tempo (quarter notes per minute)", 40, 160, step=2, key="music.tempo")
    transpose = transpose_col.slider("Transpose (semitones)", -6, 6, step=1, key="music.transpose",
                                     help="Moves every voice up or down: the same phrase in another key.")
    if soundfont_available():
        renderer = RENDERERS[st.radio("Sound", list(RENDERERS), horizontal=True, key="music.renderer")]
    else:
        renderer = "synth"
        st.caption("Sound: GenLab's numpy synthesiser (no SoundFont is installed on this server).")
    instruments = []
    for column, voice, default in zip(st.columns(len(VOICES)), VOICES, DEFAULT_INSTRUMENTS):
        with column:
            names = list(PROGRAMS)
            instruments.append(st.selectbox(voice.title(), names, index=names.index(default), key=f"music.{voice}"))
    return tempo, tuple(instruments), renderer, transpose


def save_point(slot: str, controls: dict[str, Control]) -> None:
    """Remember the controls as morph point "a" or "b"."""
    st.session_state[f"music.point_{slot}"] = {n: (c.seed, c.x, c.y) for n, c in controls.items()}


def morph_point(slot: str, model, fallback_seed: int) -> dict[str, Control]:
    """A saved morph point, or a random one (`fallback_seed`) when none was saved."""
    saved = st.session_state.get(f"music.point_{slot}")
    if saved is None:
        return default_controls(model, fallback_seed)
    return {n: Control(*v) for n, v in saved.items()}
