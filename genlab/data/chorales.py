"""Bach's four-part chorales from music21's corpus, encoded as piano-roll pitches.

Each chorale with soprano, alto, tenor and bass in 4/4 throughout is sampled on a sixteenth-note
grid: for every full 4/4 bar, the MIDI pitch each voice sings at each of the 16 steps (REST = -1),
so a bar is int (16, 4) in genlab.music.roll's "pitches" form. Bars that follow each other in the
piece share a segment id (a pickup or a short bar, e.g. at a repeat, starts a new segment), so
phrases of n consecutive bars never jump.

Parsing the whole corpus takes a minute, so the encoded set is cached in a compressed file that
ships with GenLab (CACHE, about 100 KB) and is rebuilt with
    python -m genlab.data.chorales [--limit N] [--out PATH]
The app and the training read only the cache; tests parse a few chorales with `encode_score`.
"""
from __future__ import annotations

import argparse
import os
import time
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path

import numpy as np
import torch

from ..files import load_arrays, save_arrays
from ..music.roll import LOWEST_PITCH, N_PITCHES, REST, STEPS_PER_BAR, VOICES

CACHE = Path(__file__).resolve().parent / "chorales.npz"
MUSIC_DATASETS = ("chorales",)
_VOICE_PREFIXES = ("s", "a", "t", "b")


class ChoraleUnusable(ValueError):
    """A score is not a four-voice chorale in 4/4 (the message says what is missing)."""


@dataclass
class ChoraleSet:
    pitches: np.ndarray       # int8 (bars, 16, 4) MIDI pitches, REST = -1; voices soprano, alto, tenor, bass
    segments: np.ndarray      # int32 (bars,): equal ids = consecutive bars of one piece
    chorale: np.ndarray       # int32 (bars,): index into names
    bar_numbers: np.ndarray   # int32 (bars,): the bar's measure number in the score
    names: np.ndarray         # str (chorales,): corpus names such as "bwv10.7"

    def __len__(self) -> int:
        return len(self.pitches)

    def phrase_starts(self, n_bars: int) -> np.ndarray:
        """Indices of the first bar of every window of `n_bars` consecutive bars (hop one bar)."""
        if len(self.segments) < n_bars:
            return np.zeros(0, dtype=np.int64)
        same = self.segments[n_bars - 1:] == self.segments[: len(self.segments) - n_bars + 1]
        return np.flatnonzero(same)

    def phrases(self, n_bars: int = 2, same_key: bool = False) -> np.ndarray:
        """int (windows, n_bars, 16, 4): every window of consecutive bars; with same_key, each moved to
        C major or A minor (see same_key_shifts)."""
        starts = self.phrase_starts(n_bars)
        if not len(starts):
            return np.zeros((0, n_bars, STEPS_PER_BAR, len(VOICES)), dtype=np.int8)
        pitches = self.same_key_pitches() if same_key else self.pitches
        return np.stack([pitches[starts + i] for i in range(n_bars)], axis=1)

    @cached_property
    def keys(self) -> list[tuple[int, str]]:
        """(tonic pitch class, "major" | "minor") of each chorale, estimated from all its kept bars."""
        from ..music.keys import estimate_key

        return [estimate_key(self.pitches[self.chorale == i]) for i in range(len(self.names))]

    def same_key_shifts(self) -> np.ndarray:
        """int (bars,): the semitones (-6..5) that move each bar's chorale to the key without sharps or flats,
        C major or A minor; the smaller move, so voices stay near their ranges."""
        tonic_to = {"major": 0, "minor": 9}
        per_chorale = np.array([(tonic_to[mode] - tonic + 6) % 12 - 6 for tonic, mode in self.keys], np.int16)
        return per_chorale[self.chorale]

    def same_key_pitches(self) -> np.ndarray:
        """int8 (bars, 16, 4): `pitches` with every chorale moved to C major or A minor (rests stay rests)."""
        shifted = np.where(self.pitches == REST, REST, self.pitches + self.same_key_shifts()[:, None, None])
        return shifted.astype(np.int8)

    def label(self, bar: int) -> str:
        """"bwv10.7, bar 3" for the bar at index `bar`."""
        return f"{self.names[self.chorale[bar]]}, bar {self.bar_numbers[bar]}"

    def key_name(self, bar: int) -> str:
        """"G major" : the estimated key of the chorale of the bar at index `bar`."""
        from ..music.keys import KEY_NAMES

        tonic, mode = self.keys[self.chorale[bar]]
        return f"{KEY_NAMES[tonic]} {mode}"


def _voice_parts(score) -> list:
    """Soprano, alto, tenor, bass parts of a score: by part name, else a score of exactly four parts."""
    parts = list(getattr(score, "parts", []))
    by_voice = {}
    for part in parts:
        name = (part.partName or "").strip().lower()
        for prefix, voice in zip(_VOICE_PREFIXES, VOICES):
            if name.startswith(voice) or name in (prefix, prefix + "."):
                by_voice.setdefault(voice, part)
    if len(by_voice) == 4:
        return [by_voice[v] for v in VOICES]
    if len(parts) == 4:
        return parts
    raise ChoraleUnusable(f"not four voices (parts: {[p.partName for p in parts]})")


def _timeline(part, n_steps: int) -> np.ndarray:
    """MIDI pitch per sixteenth step of one part (REST where silent); the top note of a chord."""
    line = np.full(n_steps, REST, dtype=np.int16)
    for element in part.flatten().notes:
        start = int(round(float(element.offset) * 4))
        end = int(round(float(element.offset + element.quarterLength) * 4))
        if end <= start:
            continue  # grace notes
        line[start:min(end, n_steps)] = max(p.midi for p in element.pitches)
    return line


def encode_score(score) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A music21 chorale -> (pitches int8 (bars, 16, 4), segment ids (bars,), measure numbers (bars,)).

    Only full 4/4 bars are kept. Raises ChoraleUnusable if the score is not four voices in 4/4.
    """
    parts = _voice_parts(score)
    signatures = {ts.ratioString for ts in score.recurse().getElementsByClass("TimeSignature")}
    if signatures != {"4/4"}:
        raise ChoraleUnusable(f"not in 4/4 throughout (time signatures: {sorted(signatures) or 'none'})")
    n_steps = int(round(float(score.highestTime) * 4)) + STEPS_PER_BAR
    lines = np.stack([_timeline(p, n_steps) for p in parts], axis=1)  # (steps, 4)
    bars, segments, numbers = [], [], []
    segment, previous_end = -1, None
    for measure in parts[0].getElementsByClass("Measure"):
        if float(measure.duration.quarterLength) != 4.0:
            previous_end = None
            continue
        start = int(round(float(measure.offset) * 4))
        if start != previous_end:
            segment += 1
        bars.append(lines[start:start + STEPS_PER_BAR])
        segments.append(segment)
        numbers.append(measure.number)
        previous_end = start + STEPS_PER_BAR
    if not bars:
        raise ChoraleUnusable("no full 4/4 bar")
    return np.stack(bars).astype(np.int8), np.array(segments, np.int32), np.array(numbers, np.int32)


def chorale_names() -> list[str]:
    """The 371 chorales of music21's corpus (its Riemenschneider list), e.g. "bwv269", in that order."""
    from music21 import corpus

    return [name.split("/", 1)[1] for name in corpus.chorales.Iterator(returnType="filename")]


def parse_chorales(names: list[str] | None = None, limit: int | None = None, progress: bool = False) -> ChoraleSet:
    """Parse and encode chorales of music21's corpus (all by default), skipping unusable ones."""
    from music21 import corpus

    names = (names or chorale_names())[:limit]
    pitches, segments, chorale, numbers, kept = [], [], [], [], []
    offset = 0
    for i, name in enumerate(names):
        try:
            bars, seg, num = encode_score(corpus.parse(f"bach/{name}"))
        except ChoraleUnusable as err:
            if progress:
                print(f"skip {name}: {err}")
            continue
        pitches.append(bars)
        segments.append(seg + offset)
        offset = int(segments[-1].max()) + 1
        chorale.append(np.full(len(bars), len(kept), np.int32))
        numbers.append(num)
        kept.append(name)
        if progress and i % 25 == 0:
            print(f"{i + 1}/{len(names)} parsed, {len(kept)} kept")
    if not kept:
        raise ChoraleUnusable("none of the given pieces is a four-voice chorale in 4/4")
    return ChoraleSet(np.concatenate(pitches), np.concatenate(segments), np.concatenate(chorale),
                      np.concatenate(numbers), np.array(kept))


def save_chorales(chorales: ChoraleSet, path: str | os.PathLike = CACHE) -> Path:
    """Write the encoded set as a compressed .npz (no pickled objects), atomically."""
    return save_arrays(path, chorales)


@lru_cache(maxsize=4)
def load_chorales(path: str | os.PathLike = CACHE) -> ChoraleSet:
    """The encoded chorales from the cache (read-only arrays; nothing is parsed)."""
    return load_arrays(path, ChoraleSet, "python -m genlab.data.chorales")


def training_phrases(n_bars: int = 2, path: str | os.PathLike = CACHE, same_key: bool = False) -> torch.Tensor:
    """int64 (windows, n_bars, 16, 4) MIDI pitches of every window of consecutive bars (REST = -1);
    same_key: every chorale moved to C major or A minor."""
    return torch.from_numpy(load_chorales(path).phrases(n_bars, same_key).astype(np.int64))


def transpose_phrases(pitches: torch.Tensor, max_shift: int, generator: torch.Generator | None = None,
                      n_pitches: int = N_PITCHES, lowest_pitch: int = LOWEST_PITCH) -> torch.Tensor:
    """Shift each phrase (N, ...) by a random number of semitones in [-max_shift, max_shift] (augmentation);
    a shift that would leave the pitch range is reduced to one that fits."""
    if max_shift == 0:
        return pitches
    n = pitches.shape[0]
    flat = pitches.reshape(n, -1)
    sounding = flat != REST
    high = torch.where(sounding, flat, torch.full_like(flat, -10_000)).max(1).values
    low = torch.where(sounding, flat, torch.full_like(flat, 10_000)).min(1).values
    shift = torch.randint(-max_shift, max_shift + 1, (n,), generator=generator).to(pitches.device)
    shift = torch.minimum(shift, (lowest_pitch + n_pitches - 1 - high).clamp(min=0))
    shift = torch.maximum(shift, (lowest_pitch - low).clamp(max=0))
    shifted = torch.where(sounding, flat + shift.unsqueeze(1), flat)
    return shifted.reshape(pitches.shape)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m genlab.data.chorales",
                                     description="Parse music21's Bach chorales and write the encoded cache.")
    parser.add_argument("--limit", type=int, default=None, help="parse only the first N pieces")
    parser.add_argument("--out", default=str(CACHE), help="the .npz to write")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    chorales = parse_chorales(limit=args.limit, progress=True)
    path = save_chorales(chorales, args.out)
    print(f"wrote {path}: {len(chorales.names)} chorales, {len(chorales)} bars, "
          f"{len(chorales.phrase_starts(2))} two-bar phrases ({time.perf_counter() - started:.0f} s, "
          f"{path.stat().st_size / 1024:.0f} KB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
