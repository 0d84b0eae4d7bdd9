"""The soprano lines of Bach's chorales as (pitch, duration) tokens, the way the book's melody model reads music.

Each chorale of music21's corpus gives one melodic line: its soprano part (the part named Soprano, else
the first part), tied notes joined (`stripTies`). A note is two tokens, as in the book: its pitch name with
octave ("F#4"; "rest" for a rest; a chord would be its notes joined with ".") and its duration in quarter
lengths ("1", "0.5", "1/3"). The soprano rather than a chordified score: a chordified chorale is four voices
squeezed into chords, a melody model should hear a melody.

Every line starts with SEQ_LEN "START" tokens of duration "0" (as the book pads each piece), so a model
with a window of SEQ_LEN tokens learns how chorales begin. Augmentation transposes whole lines by up to
MAX_SHIFT semitones, spelled as intervals (a minor second up turns E4 into F4, F#4 into G4), so the
vocabulary holds every transposed token too and `shift_table` maps a token id to its transposed id.

Held out: whole tunes. Bach harmonised many hymn tunes more than once, so the corpus holds the same
melody several times (13 of every 10th chorale's melodies appear elsewhere too, transposed or not). Lines
are grouped into tunes by their opening (the intervals between their first 13 notes); a tune is held out
when its first chorale in the corpus list has index % 10 == 9, with every harmonisation of it. The docs'
figures are on those held-out tunes, never seen in training in any key.

Parsing the corpus takes about a minute, so the tokens are cached in a compressed file that ships with
GenLab (CACHE, about 40 KB) and is rebuilt with
    python -m genlab.data.melodies [--limit N] [--out PATH]
"""
from __future__ import annotations

import argparse
import os
import time
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..files import load_arrays, save_arrays

CACHE = Path(__file__).resolve().parent / "melodies.npz"
SEQ_LEN = 32                      # the book's window: 32 tokens predict the next
START, START_DURATION = "START", "0"
REST_TOKEN = "rest"
MAX_SHIFT = 3                     # transpositions stored: -3..+3 semitones
SHIFT_INTERVALS = {-3: "-m3", -2: "-M2", -1: "-m2", 0: "P1", 1: "m2", 2: "M2", 3: "m3"}
HELD_OUT_EVERY = 10               # a tune whose first chorale has index % 10 == 9 is held out
OPENING_NOTES = 13                # lines with the same intervals between their first 13 notes are one tune


class MelodyUnusable(ValueError):
    """A score has no usable melodic line."""


def duration_token(quarter_length) -> str:
    """"1", "0.5", "1.5" or "1/3" for a duration in quarter lengths."""
    value = Fraction(quarter_length).limit_denominator(48)
    if value.denominator in (1, 2, 4, 8, 16):
        return f"{float(value):g}"
    return f"{value.numerator}/{value.denominator}"


def duration_value(token: str) -> float:
    """The quarter length of a duration token ("1/3" -> 0.333...)."""
    return float(Fraction(token))


def pitch_token(element) -> str:
    """The book's pitch token of a music21 note, rest or chord."""
    if element.isRest:
        return REST_TOKEN
    if element.isChord:
        return ".".join(p.nameWithOctave for p in element.pitches)
    return element.nameWithOctave


def transpose_token(token: str, semitones: int) -> str:
    """A pitch token moved by SHIFT_INTERVALS[semitones] (rests and START stay)."""
    if token in (START, REST_TOKEN) or semitones == 0:
        return token
    from music21 import pitch

    return ".".join(pitch.Pitch(name).transpose(SHIFT_INTERVALS[semitones]).nameWithOctave
                    for name in token.split("."))


def _soprano(score):
    parts = list(getattr(score, "parts", []))
    if not parts:
        raise MelodyUnusable("no parts")
    return next((p for p in parts if (p.partName or "").strip().lower().startswith("soprano")), parts[0])


def pickup_of(score) -> float:
    """Quarter lengths before the first full bar of the soprano line (0 when it starts on a downbeat)."""
    measures = list(_soprano(score).getElementsByClass("Measure"))
    if not measures or measures[0].number != 0:
        return 0.0
    return float(measures[0].duration.quarterLength)


def melody_of(score) -> list[tuple[str, str]]:
    """(pitch token, duration token) of every note and rest of a score's soprano line (ties joined)."""
    part = _soprano(score)
    line = [(pitch_token(e), duration_token(e.quarterLength))
            for e in part.flatten().stripTies().notesAndRests if e.quarterLength > 0]
    if len(line) < 4:
        raise MelodyUnusable(f"only {len(line)} notes")
    return line


@dataclass
class MelodySet:
    pitch_ids: np.ndarray     # int16 (2 * MAX_SHIFT + 1, tokens): every line's pitch ids, per transposition
    duration_ids: np.ndarray  # int16 (tokens,)
    offsets: np.ndarray       # int32 (lines + 1,): line i is tokens offsets[i]:offsets[i + 1] (START padding included)
    names: np.ndarray         # str (lines,): corpus names such as "bwv269"
    corpus_index: np.ndarray  # int32 (lines,): the chorale's index in music21's chorale list
    tune: np.ndarray          # int32 (lines,): the corpus index of the first chorale with the same opening (the split)
    pickup: np.ndarray        # float32 (lines,): quarter lengths before the first full bar
    pitches: np.ndarray       # str: the pitch vocabulary (index 0 is START)
    durations: np.ndarray     # str: the duration vocabulary (index 0 is "0")

    def __len__(self) -> int:
        return len(self.names)

    def line(self, i: int, shift: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """(pitch ids, duration ids) of line i (with its START padding), transposed by `shift` semitones."""
        a, b = self.offsets[i], self.offsets[i + 1]
        return self.pitch_ids[shift + MAX_SHIFT, a:b], self.duration_ids[a:b]

    def tokens(self, i: int, shift: int = 0) -> list[tuple[str, str]]:
        """The (pitch, duration) tokens of line i without its START padding."""
        p, d = self.line(i, shift)
        return [(self.pitches[a], self.durations[b]) for a, b in zip(p[SEQ_LEN:], d[SEQ_LEN:])]

    def held_out(self) -> np.ndarray:
        """bool (lines,): the held-out lines (every harmonisation of a held-out tune)."""
        return self.tune % HELD_OUT_EVERY == HELD_OUT_EVERY - 1

    def windows(self, lines: np.ndarray, max_shift: int = 0) -> np.ndarray:
        """int64 (windows, 2 * max_shift + 1, SEQ_LEN + 1, 2): every window of SEQ_LEN tokens and the token
        after it, in each of the transpositions -max_shift..max_shift (pitch id, duration id)."""
        if not 0 <= max_shift <= MAX_SHIFT:
            raise ValueError(f"transpose must be in 0..{MAX_SHIFT} for melodies, got {max_shift}")
        out = []
        width = SEQ_LEN + 1
        for i in np.flatnonzero(lines):
            a, b = int(self.offsets[i]), int(self.offsets[i + 1])
            if b - a < width:
                continue
            starts = np.arange(a, b - width + 1)
            index = starts[:, None] + np.arange(width)[None, :]
            shifts = self.pitch_ids[MAX_SHIFT - max_shift: MAX_SHIFT + max_shift + 1]
            p = shifts[:, index].transpose(1, 0, 2)                                  # (windows, shifts, width)
            d = np.broadcast_to(self.duration_ids[index][:, None, :], p.shape)
            out.append(np.stack([p, d], axis=-1))
        if not out:
            return np.zeros((0, 2 * max_shift + 1, width, 2), dtype=np.int64)
        return np.concatenate(out).astype(np.int64)


def opening(tokens: list[tuple[str, str]], notes: int = OPENING_NOTES) -> tuple[int, ...]:
    """The intervals in semitones between the first `notes` notes of a line (rests skipped; a chord's
    first note): the same tune in any key has the same opening."""
    from music21 import pitch

    midi = [pitch.Pitch(p.split(".")[0]).midi for p, _ in tokens if p not in (START, REST_TOKEN)][:notes]
    return tuple(int(b - a) for a, b in zip(midi, midi[1:]))


def build_set(lines: list[tuple[str, list[tuple[str, str]]]], corpus_index: list[int],
              pickup: list[float] | None = None) -> MelodySet:
    """Token ids, vocabularies, transpositions and tunes of (name, tokens) lines."""
    first_of: dict[tuple, int] = {}
    tune = [first_of.setdefault(opening(tokens), i) for (_, tokens), i in zip(lines, corpus_index)]
    padded = [[(START, START_DURATION)] * SEQ_LEN + tokens for _, tokens in lines]
    originals = sorted({p for line in padded for p, _ in line} - {START})
    transposed = {s: {p: transpose_token(p, s) for p in originals} for s in SHIFT_INTERVALS}
    pitches = [START] + sorted({t for table in transposed.values() for t in table.values()})
    durations = [START_DURATION] + sorted({d for line in padded for _, d in line} - {START_DURATION},
                                          key=duration_value)
    p_index, d_index = {p: i for i, p in enumerate(pitches)}, {d: i for i, d in enumerate(durations)}
    flat = [t for line in padded for t in line]
    pitch_ids = np.array([[p_index[transposed[s].get(p, p)] for p, _ in flat] for s in sorted(SHIFT_INTERVALS)],
                         dtype=np.int16)
    duration_ids = np.array([d_index[d] for _, d in flat], dtype=np.int16)
    offsets = np.concatenate([[0], np.cumsum([len(line) for line in padded])]).astype(np.int32)
    return MelodySet(pitch_ids, duration_ids, offsets, np.array([n for n, _ in lines]),
                     np.array(corpus_index, np.int32), np.array(tune, np.int32),
                     np.array(pickup or [0.0] * len(lines), np.float32), np.array(pitches), np.array(durations))


def parse_melodies(limit: int | None = None, progress: bool = False) -> MelodySet:
    """Parse the chorales of music21's corpus (all by default) into a MelodySet."""
    from music21 import corpus

    from .chorales import chorale_names

    names = chorale_names()[:limit]
    lines, index, pickups = [], [], []
    for i, name in enumerate(names):
        try:
            score = corpus.parse(f"bach/{name}")
            lines.append((name, melody_of(score)))
            pickups.append(pickup_of(score))
            index.append(i)
        except MelodyUnusable as err:
            if progress:
                print(f"skip {name}: {err}")
        if progress and i % 50 == 0:
            print(f"{i + 1}/{len(names)} parsed")
    if not lines:
        raise MelodyUnusable("no chorale gave a melody")
    return build_set(lines, index, pickups)


def save_melodies(melodies: MelodySet, path: str | os.PathLike = CACHE) -> Path:
    """Write the set as a compressed .npz (no pickled objects), atomically."""
    return save_arrays(path, melodies)


def check_vocabulary(config, path: str | os.PathLike = CACHE) -> None:
    """Raise ValueError unless a melody model's config (its `pitches` and `durations`) has the cache's
    vocabulary: the token ids of the cache mean the same to the model."""
    melodies = load_melodies(path)
    if list(config.pitches) != [str(p) for p in melodies.pitches] or \
            list(config.durations) != [str(d) for d in melodies.durations]:
        raise ValueError("this melody model's vocabulary is not the melody cache's (rebuilt since?); "
                         "it can only be trained and scored on the data it was made for")


@lru_cache(maxsize=4)
def load_melodies(path: str | os.PathLike = CACHE) -> MelodySet:
    """The tokenised melodies from the cache (read-only arrays; nothing is parsed)."""
    return load_arrays(path, MelodySet, "python -m genlab.data.melodies")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m genlab.data.melodies",
                                     description="Parse the soprano lines of music21's Bach chorales into tokens.")
    parser.add_argument("--limit", type=int, default=None, help="parse only the first N chorales")
    parser.add_argument("--out", default=str(CACHE), help="the .npz to write")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    melodies = parse_melodies(limit=args.limit, progress=True)
    path = save_melodies(melodies, args.out)
    notes = int(melodies.offsets[-1]) - SEQ_LEN * len(melodies)
    held = melodies.held_out()
    print(f"wrote {path}: {len(melodies)} melodies ({held.sum()} held out, {len(set(melodies.tune))} tunes), {notes} notes, {len(melodies.pitches)} pitch tokens, "
          f"{len(melodies.durations)} duration tokens ({time.perf_counter() - started:.0f} s, "
          f"{path.stat().st_size / 1024:.0f} KB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
