"""One call per user action on the Music page: controls -> phrase -> audio, a morph, the nearest real chorale.

The page collects plain values (controls, tempo, instruments) and calls one of these; they return
plain results (pitches, WAV bytes), so the same calls serve the benchmark and the tests.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..data.chorales import load_chorales
from ..models.musegan import MuseGAN
from .audio import render, wav_bytes
from .controls import Control, compose_z, generate_pitches, morph_path
from .metrics import nearest_phrases


@dataclass
class Rendered:
    pitches: np.ndarray      # int (bars, 16, tracks) MIDI pitches
    wav: bytes               # 16-bit mono WAV


@dataclass
class NearestChorale:
    label: str               # "bwv10.7, bar 3"
    pitches: np.ndarray      # the real phrase (bars, 16, tracks)
    mismatch: float          # fraction of (step, voice) cells that differ; 0 = a copy


def play(pitches: np.ndarray, tempo: float, instruments, renderer: str = "auto") -> bytes:
    """WAV bytes of a phrase."""
    return wav_bytes(render(pitches, tempo, instruments, renderer))


def compose(model: MuseGAN, controls: dict[str, Control], directions: dict, tempo: float, instruments,
            renderer: str = "auto") -> Rendered:
    """The phrase of the current controls, with its audio."""
    pitches = generate_pitches(model, compose_z(model, controls, directions))[0]
    return Rendered(pitches, play(pitches, tempo, instruments, renderer))


def morph(model: MuseGAN, controls_a: dict[str, Control], controls_b: dict[str, Control], directions: dict,
          steps: int, tempo: float, instruments, renderer: str = "auto") -> Rendered:
    """From point A to point B: the phrases of `steps` evenly spaced points, one after the other
    (steps x bars bars)."""
    z = morph_path(compose_z(model, controls_a, directions), compose_z(model, controls_b, directions), steps)
    pitches = np.concatenate(list(generate_pitches(model, z)), axis=0)
    return Rendered(pitches, play(pitches, tempo, instruments, renderer))


def nearest_chorale(pitches: np.ndarray) -> NearestChorale:
    """The real phrase of the same number of bars closest to `pitches` (bars, 16, tracks), cell by cell."""
    chorales = load_chorales()
    n_bars = len(pitches)
    index, mismatch = nearest_phrases(np.asarray(pitches)[None], chorales.phrases(n_bars))
    first_bar = chorales.phrase_starts(n_bars)[index[0]]
    return NearestChorale(chorales.label(first_bar), chorales.phrases(n_bars)[index[0]], float(mismatch[0]))
