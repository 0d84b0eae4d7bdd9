"""How Bach-like a phrase is, measured the same way on generated and real phrases, and the nearest real one.

Every measure takes phrases in genlab.music.roll's pitches form (N, bars, steps, tracks), REST = -1:
  in_key_fraction             notes whose pitch class is in the phrase's key (Krumhansl-Kessler key
                              finding on the step-weighted pitch-class histogram; minor = natural minor
                              plus the leading tone)
  distinct_pitches_per_voice  different pitches a voice sings in the phrase (a stuck voice has 1)
  in_range_fraction           notes inside the voice's classical choir range (VOICE_RANGES)
  chord_fraction              steps where the four sounding pitch classes fit one triad or seventh chord
A phrase's key is estimated from the phrase itself, for real and generated phrases alike.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch

from .keys import KEY_NAMES, estimate_key, key_name  # noqa: F401  (the key's home: below chorales and metrics)
from .roll import REST, VOICES, decode_generated, notes_of

VOICE_RANGES = {"soprano": (60, 79), "alto": (55, 74), "tenor": (48, 67), "bass": (40, 60)}  # MIDI, inclusive
_SCALES = {"major": (0, 2, 4, 5, 7, 9, 11), "minor": (0, 2, 3, 5, 7, 8, 10, 11)}
_CHORDS = ((0, 4, 7), (0, 3, 7), (0, 3, 6), (0, 4, 7, 10), (0, 3, 7, 10), (0, 3, 6, 10), (0, 3, 6, 9),
           (0, 4, 7, 11))


@lru_cache(maxsize=1)
def _chord_table() -> np.ndarray:
    """bool (4096,): True for pitch-class sets (as 12-bit masks) that fit one chord of _CHORDS."""
    table = np.zeros(4096, bool)
    sets = np.arange(4096)
    for chord in _CHORDS:
        for root in range(12):
            mask = sum(1 << ((root + i) % 12) for i in chord)
            table |= (sets & mask) == sets
    table[0] = False
    return table


def phrase_measures(pitches: np.ndarray) -> dict:
    """The four measures of one phrase (bars, steps, tracks) as plain floats."""
    p = np.asarray(pitches, dtype=np.int64)     # int8 pitches would overflow the 12-bit chord masks
    line = p.reshape(-1, p.shape[-1])
    tonic, mode = estimate_key(line)
    scale = {(tonic + i) % 12 for i in _SCALES[mode]}
    notes = notes_of(line)
    in_key = np.mean([n.pitch % 12 in scale for n in notes]) if notes else 0.0
    in_range = np.mean([VOICE_RANGES[VOICES[n.track]][0] <= n.pitch <= VOICE_RANGES[VOICES[n.track]][1]
                        for n in notes if n.track < len(VOICES)]) if notes else 0.0
    distinct = np.mean([len(np.unique(line[:, t][line[:, t] != REST])) for t in range(line.shape[1])])
    full = (line != REST).all(axis=1)
    masks = (1 << (line[full] % 12)).astype(np.int64)
    masks = np.bitwise_or.reduce(masks, axis=1) if len(masks) else masks
    chords = float(_chord_table()[masks].mean()) if len(masks) else 0.0
    return {"in_key_fraction": float(in_key), "distinct_pitches_per_voice": float(distinct),
            "in_range_fraction": float(in_range), "chord_fraction": chords}


def phrase_metrics(phrases: np.ndarray) -> dict:
    """Means of `phrase_measures` over phrases (N, bars, steps, tracks), rounded for reports."""
    rows = [phrase_measures(p) for p in np.asarray(phrases)]
    return {k: round(float(np.mean([r[k] for r in rows])), 4) for k in rows[0]}


def nearest_phrases(pitches: np.ndarray, real: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each phrase (N, bars, steps, tracks), the index of the nearest real phrase among `real`
    (M, bars, steps, tracks) and the fraction of (step, voice) cells where they differ (0 = a copy)."""
    a = torch.as_tensor(np.asarray(pitches).reshape(len(pitches), -1), dtype=torch.int16)
    b = torch.as_tensor(np.asarray(real).reshape(len(real), -1), dtype=torch.int16)
    mismatch = torch.stack([(row != b).float().mean(1) for row in a])     # (N, M)
    best = mismatch.min(1)
    return best.indices.numpy(), best.values.numpy()


@torch.inference_mode()
def generated_phrases(model, n: int = 256, seed: int = 0, hold: bool = True) -> np.ndarray:
    """int (n, bars, steps, tracks) MIDI pitches of n phrases from random latent points (seeded), decoded as
    the page decodes them (hold=False: the book's plain argmax; see roll.decode_generated)."""
    rolls = model.sample(n, torch.Generator().manual_seed(seed))
    return decode_generated(rolls, model.config.lowest_pitch, hold)


def generator_music_metrics(model, n: int = 256, seed: int = 0, hold: bool = True) -> dict:
    """`phrase_metrics` of n generated phrases, and how far they are from the nearest real phrase."""
    from ..data.chorales import load_chorales

    phrases = generated_phrases(model, n, seed, hold)
    metrics = phrase_metrics(phrases)
    real = load_chorales().phrases(model.config.n_bars, model.config.same_key)
    _, mismatch = nearest_phrases(phrases, real)
    metrics["nearest_real_mismatch"] = round(float(mismatch.mean()), 4)
    return metrics


def real_music_metrics(n_bars: int = 2, same_key: bool = False) -> dict:
    """`phrase_metrics` of every real phrase of n_bars consecutive bars in the chorale cache (same_key: each
    chorale moved to C major or A minor)."""
    from ..data.chorales import load_chorales

    return phrase_metrics(load_chorales().phrases(n_bars, same_key))
