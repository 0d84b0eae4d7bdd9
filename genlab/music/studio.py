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
from .roll import shift_pitches


@dataclass
class Rendered:
    pitches: np.ndarray      # int (bars, 16, tracks) MIDI pitches
    wav: bytes               # 16-bit mono WAV


@dataclass
class NearestChorale:
    label: str               # "bwv10.7, bar 3", plus " (G minor, here in A minor)" when same_key
    pitches: np.ndarray      # the real phrase (bars, 16, tracks), moved to C major or A minor when same_key
    mismatch: float          # fraction of (step, voice) cells that differ; 0 = a copy


def play(pitches: np.ndarray, tempo: float, instruments, renderer: str = "auto") -> bytes:
    """WAV bytes of a phrase."""
    return wav_bytes(render(pitches, tempo, instruments, renderer))


def compose(model: MuseGAN, controls: dict[str, Control], directions: dict, tempo: float, instruments,
            renderer: str = "auto", transpose: int = 0, hold: bool = True, audio: bool = True) -> Rendered:
    """The phrase of the current controls (moved by `transpose` semitones), with its audio (`audio` False:
    no audio, wav b""; the page's pads while dragging); `hold`: see roll.decode_generated."""
    pitches = shift_pitches(generate_pitches(model, compose_z(model, controls, directions), hold)[0], transpose)
    return Rendered(pitches, play(pitches, tempo, instruments, renderer) if audio else b"")


def morph(model: MuseGAN, controls_a: dict[str, Control], controls_b: dict[str, Control], directions: dict,
          steps: int, tempo: float, instruments, renderer: str = "auto", transpose: int = 0,
          hold: bool = True) -> Rendered:
    """From point A to point B: the phrases of `steps` evenly spaced points, one after the other
    (steps x bars bars)."""
    z = morph_path(compose_z(model, controls_a, directions), compose_z(model, controls_b, directions), steps)
    pitches = shift_pitches(np.concatenate(list(generate_pitches(model, z, hold)), axis=0), transpose)
    return Rendered(pitches, play(pitches, tempo, instruments, renderer))


def nearest_chorale(pitches: np.ndarray, same_key: bool = False) -> NearestChorale:
    """The real phrase of the same number of bars closest to `pitches` (bars, 16, tracks), cell by cell;
    same_key: among the chorales moved to C major or A minor (what a same_key MuseGAN learned from)."""
    chorales = load_chorales()
    n_bars = len(pitches)
    real = chorales.phrases(n_bars, same_key)
    index, mismatch = nearest_phrases(np.asarray(pitches)[None], real)
    first_bar = chorales.phrase_starts(n_bars)[index[0]]
    label = chorales.label(first_bar)
    if same_key:
        mode = chorales.keys[chorales.chorale[first_bar]][1]
        label += f" ({chorales.key_name(first_bar)}, here in {'C major' if mode == 'major' else 'A minor'})"
    return NearestChorale(label, real[index[0]], float(mismatch[0]))
