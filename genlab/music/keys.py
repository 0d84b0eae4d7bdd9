"""A phrase's key by Krumhansl-Kessler profiles: what the chorale corpus (genlab.data.chorales) and the
phrase measures (genlab.music.metrics) both need, so it lives below both."""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from .roll import REST

_MAJOR_PROFILE = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
_MINOR_PROFILE = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
KEY_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")


@lru_cache(maxsize=1)
def _key_profiles() -> np.ndarray:
    """(24, 12) centred, unit-norm profiles: 12 major keys, then 12 minor keys, by tonic."""
    rows = [np.roll(profile, tonic) for profile in (_MAJOR_PROFILE, _MINOR_PROFILE) for tonic in range(12)]
    rows = np.array(rows) - np.mean(rows, axis=1, keepdims=True)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def estimate_key(pitches: np.ndarray) -> tuple[int, str]:
    """(tonic pitch class, "major" | "minor") of one phrase (..., tracks) by Krumhansl-Kessler profiles."""
    p = np.asarray(pitches).ravel()
    histogram = np.bincount(p[p != REST] % 12, minlength=12).astype(float)
    centred = histogram - histogram.mean()
    if not centred.any():
        return 0, "major"
    best = int(np.argmax(_key_profiles() @ centred))   # the largest correlation
    return best % 12, ("major", "minor")[best // 12]


def key_name(pitches: np.ndarray) -> str:
    """"G major", "E minor", ... of one phrase."""
    tonic, mode = estimate_key(pitches)
    return f"{KEY_NAMES[tonic]} {mode}"
