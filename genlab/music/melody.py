"""The melody model at work: held-out scores against n-gram baselines, note-by-note generation with its
probabilities and attention, and melodies as music21 streams, MIDI, MusicXML and audio.

A melody is a list of (pitch token, duration token) pairs as genlab.data.melodies writes them, e.g.
[("G4", "1"), ("G4", "2"), ("D5", "1")]. Seed notes are typed as "G4:1 G4:2 D5:1" (pitch:duration; "rest:1").
"""
from __future__ import annotations

import io
import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
from torch.nn import functional as F

from ..data.melodies import (REST_TOKEN, SEQ_LEN, START, START_DURATION, check_vocabulary, duration_value,
                              load_melodies)
from .roll import Note

MAX_NOTES = 128            # notes generated at once (the page's slider stops at 64)
MAX_SEED_NOTES = 64        # seed notes a user can type or a link can carry
MAX_TEMPERATURE = 3.0
MELODY_INSTRUMENTS = ("Flute",)


class MelodyError(ValueError):
    """Seed notes or settings that GenLab refuses; the message says why."""


# ---------------------------------------------------------------------------------------------- tokens
def vocabulary(model) -> tuple[dict[str, int], dict[str, int]]:
    """{pitch token: id}, {duration token: id} of a melody model."""
    return ({p: i for i, p in enumerate(model.config.pitches)}, {d: i for i, d in enumerate(model.config.durations)})


def parse_notes(text: str, model) -> list[tuple[str, str]]:
    """"G4:1 A4:0.5 rest:1" -> [("G4", "1"), ("A4", "0.5"), ("rest", "1")], every token in the model's vocabulary.

    Raises:
        MelodyError: a malformed note, an unknown pitch or duration, or too many notes.
    """
    pitches, durations = vocabulary(model)
    words = text.replace(",", " ").split()
    if len(words) > MAX_SEED_NOTES:
        raise MelodyError(f"{len(words)} seed notes; at most {MAX_SEED_NOTES} are accepted")
    notes = []
    for word in words:
        pitch, _, duration = word.partition(":")
        duration = duration or "1"
        pitch = _pitch_spelling(pitch)
        if pitch not in pitches or pitch == START:
            sounding = sorted((p for p in pitches if "." not in p and p not in (START, REST_TOKEN)), key=midi_number)
            raise MelodyError(f"{word[:20]!r}: the model knows no pitch {pitch[:12]!r}. Write pitch names with "
                              f"their octave, sharps '#' and flats 'b' or '-' (G4, F#4, Bb4); it knows "
                              f"{sounding[0]} to {sounding[-1]} and 'rest'")
        if duration not in durations or duration == START_DURATION:
            known = ", ".join(d for d in durations if d != START_DURATION)
            raise MelodyError(f"{word[:20]!r}: the model knows no duration {duration[:12]!r} (quarter notes; "
                              f"known: {known})")
        notes.append((pitch, duration))
    return notes


def pitch_label(token: str) -> str:
    """A pitch token as a reader writes it: "B-4" -> "B♭4", "F#4" -> "F♯4", "E--5" -> "E♭♭5" (music21's tokens
    use "-" for a flat; the model keeps enharmonic spellings apart, so D♯4 and E♭4 are two tokens)."""
    return token.replace("-", "♭").replace("#", "♯")


_LETTERS, _NATURAL = "CDEFGAB", (0, 2, 4, 5, 7, 9, 11)
_MAJOR_TONICS = ("C", "D-", "D", "E-", "E", "F", "F#", "G", "A-", "A", "B-", "B")   # the fewer accidentals
_MINOR_TONICS = ("C", "C#", "D", "E-", "E", "F", "F#", "G", "G#", "A", "B-", "B")


def key_spelling(tonic: int, mode: str) -> dict[int, tuple[str, int]]:
    """{pitch class: (letter, alteration)} as a key spells its notes: the scale's seven letters in order (minor:
    both its natural and its raised seventh), the other pitch classes with the key's own accidental (flats in
    a flat key, sharps otherwise)."""
    name = (_MAJOR_TONICS if mode == "major" else _MINOR_TONICS)[tonic % 12]
    start = _LETTERS.index(name[0])
    steps = [(d, s) for d, s in enumerate((0, 2, 4, 5, 7, 9, 11) if mode == "major" else (0, 2, 3, 5, 7, 8, 10))]
    if mode != "major":
        steps.append((6, 11))                                  # the leading tone
    spelled = {}
    for degree, step in steps:
        letter = _LETTERS[(start + degree) % 7]
        pc = (tonic + step) % 12
        spelled[pc] = (letter, (pc - _NATURAL[_LETTERS.index(letter)] + 6) % 12 - 6)
    flats = any(alter < 0 for _, alter in spelled.values())
    for pc in range(12):
        if pc not in spelled:
            if pc in _NATURAL:
                spelled[pc] = (_LETTERS[_NATURAL.index(pc)], 0)
            elif flats:
                spelled[pc] = (_LETTERS[_NATURAL.index(pc + 1)], -1)
            else:
                spelled[pc] = (_LETTERS[_NATURAL.index(pc - 1)], 1)
    return spelled


def key_speller(tonic: int, mode: str):
    """A function token -> label that spells pitches by the key (E4, not F♭4; B♭4, not A♯4 in F major; a chord
    token note by note; rests as "rest"): what the page shows of generated notes, whose tokens can carry any
    spelling the corpus' transpositions made."""
    spelled = key_spelling(tonic, mode)

    def one(name: str) -> str:
        number = midi_number(name)
        if number is None:
            return pitch_label(name)
        letter, alter = spelled[number % 12]
        octave = (number - _NATURAL[_LETTERS.index(letter)] - alter) // 12 - 1
        return f"{letter}{'♯' * alter if alter > 0 else '♭' * -alter}{octave}"

    return lambda token: ".".join(one(part) for part in token.split(".")) if token not in (REST_TOKEN, START) \
        else pitch_label(token)


def share_text(p: float) -> str:
    """A probability for a caption: whole percent, finer below 1% (a drawn note is never shown as 0%)."""
    p = float(p)
    if p >= 0.01 or p == 0:
        return f"{p:.0%}"
    return f"{p:.1%}" if p >= 0.001 else "<0.1%"


def format_notes(notes: list[tuple[str, str]]) -> str:
    """The inverse of parse_notes: "G4:1 A4:0.5"."""
    return " ".join(f"{p}:{d}" for p, d in notes)


def chorale_opening(index: int, bars: int = 1, bar_quarters: float = 4.0) -> list[tuple[str, str]]:
    """The opening of chorale `index` (genlab.data.melodies order): its pickup and its first `bars` full bars
    (the notes that start within them)."""
    melodies = load_melodies()
    end = float(melodies.pickup[index]) + bars * bar_quarters
    notes, elapsed = [], 0.0
    for pitch, duration in melodies.tokens(index):
        if elapsed >= end:
            break
        notes.append((str(pitch), str(duration)))
        elapsed += duration_value(duration)
    return notes


def _pitch_spelling(word: str) -> str:
    """"a4" -> "A4", "bb4" / "Bb4" -> "B-4" (music21 writes flats as "-"), "f#4" -> "F#4"."""
    if not word or word.lower() == REST_TOKEN:
        return word.lower()
    head, tail = word[0].upper(), word[1:]
    if tail.startswith("bb") and len(tail) > 2:
        tail = "--" + tail[2:]
    elif tail.startswith("b") and len(tail) > 1:
        tail = "-" + tail[1:]
    return head + tail


# ----------------------------------------------------------------------------------------- evaluation
def held_out_windows() -> torch.Tensor:
    """int64 (windows, SEQ_LEN + 1, 2): every window of the held-out tunes in their own keys."""
    melodies = load_melodies()
    return torch.from_numpy(melodies.windows(melodies.held_out(), 0)[:, 0])


@torch.no_grad()
def evaluate(model, windows: torch.Tensor | None = None, batch: int = 1024) -> dict:
    """Next-pitch accuracy and perplexity, and next-duration accuracy, of `model` on `windows` (default: the
    held-out tunes)."""
    if windows is None:
        check_vocabulary(model.config)
        windows = held_out_windows()
    correct = duration_correct = 0
    nll = 0.0
    for chunk in windows.split(batch):
        pitch_logits, duration_logits, _ = model(chunk[:, :-1, 0], chunk[:, :-1, 1])
        target_p, target_d = chunk[:, -1, 0], chunk[:, -1, 1]
        correct += int((pitch_logits.argmax(1) == target_p).sum())
        duration_correct += int((duration_logits.argmax(1) == target_d).sum())
        nll += float(F.cross_entropy(pitch_logits.float(), target_p, reduction="sum"))
    n = len(windows)
    return {"pitch_accuracy": correct / n, "pitch_perplexity": math.exp(nll / n),
            "duration_accuracy": duration_correct / n, "notes": n}


def ngram_baselines(max_shift: int = 0, smoothing: float = 0.1) -> dict:
    """Unigram and bigram next-pitch models counted on the training tunes (in the same 2 * max_shift + 1 keys
    the model trained on, add-`smoothing` counts), scored on the held-out windows like `evaluate`."""
    melodies = load_melodies()
    n_pitches = len(melodies.pitches)
    train = melodies.windows(~melodies.held_out(), max_shift)[:, :, -2:, 0].reshape(-1, 2)   # (previous, next)
    unigram = np.bincount(train[:, 1], minlength=n_pitches) + smoothing
    bigram = np.zeros((n_pitches, n_pitches)) + smoothing
    np.add.at(bigram, (train[:, 0], train[:, 1]), 1)
    unigram[0] = bigram[:, 0] = 0   # START is never a next pitch
    unigram, bigram = unigram / unigram.sum(), bigram / bigram.sum(1, keepdims=True)
    held = held_out_windows().numpy()
    previous, target = held[:, -2, 0], held[:, -1, 0]
    return {"unigram_pitch_accuracy": float((unigram.argmax() == target).mean()),
            "unigram_pitch_perplexity": float(np.exp(-np.log(unigram[target]).mean())),
            "bigram_pitch_accuracy": float((bigram[previous].argmax(1) == target).mean()),
            "bigram_pitch_perplexity": float(np.exp(-np.log(bigram[previous, target]).mean()))}


def melody_metrics(model, max_shift: int = 0) -> dict:
    """The checkpoint's metrics: held-out scores and the baselines', rounded."""
    scores = evaluate(model)
    values = {"held_out_pitch_accuracy": scores["pitch_accuracy"], "held_out_pitch_perplexity": scores["pitch_perplexity"],
              "held_out_duration_accuracy": scores["duration_accuracy"], **ngram_baselines(max_shift)}
    return {**{k: round(v, 4) for k, v in values.items()}, "held_out_notes": scores["notes"]}


# ----------------------------------------------------------------------------------------- generation
@dataclass
class Generated:
    notes: list[tuple[str, str]]    # seed notes, then the generated ones
    n_seed: int                     # how many of `notes` are the seed
    probabilities: np.ndarray       # float32 (generated, pitches): the next-pitch distribution at each step
    attention: np.ndarray           # float32 (generated, 1 + len(notes)): column 0 = the START padding, column
                                    # 1 + j = note j; row i = what the prediction of note n_seed + i attended to
    pitches: list[str]              # the pitch vocabulary (the probabilities' columns)


@torch.no_grad()
def generate(model, seed_notes: list[tuple[str, str]], n_notes: int = 32, temperature: float = 1.0,
             seed: int = 0) -> Generated:
    """Continue `seed_notes` by `n_notes` notes, one at a time: the last SEQ_LEN notes (START before the
    first) predict the next pitch and duration, sampled from softmax(logits / temperature) (temperature 0:
    the most likely). START and its duration are never sampled. Same seed, same melody."""
    if not 0 <= temperature <= MAX_TEMPERATURE:
        raise MelodyError(f"temperature must be in 0..{MAX_TEMPERATURE:g}, got {temperature}")
    if not 1 <= n_notes <= MAX_NOTES:
        raise MelodyError(f"notes to generate must be in 1..{MAX_NOTES}, got {n_notes}")
    pitches, durations = vocabulary(model)
    p_ids = [pitches[START]] * SEQ_LEN + [pitches[p] for p, _ in seed_notes]
    d_ids = [durations[START_DURATION]] * SEQ_LEN + [durations[d] for _, d in seed_notes]
    generator = torch.Generator().manual_seed(int(seed))
    total = len(seed_notes) + n_notes
    probabilities = np.zeros((n_notes, len(pitches)), np.float32)
    attention = np.zeros((n_notes, 1 + total), np.float32)
    window = model.config.seq_len
    for i in range(n_notes):
        pitch_logits, duration_logits, alpha = model(torch.tensor([p_ids[-window:]]), torch.tensor([d_ids[-window:]]))
        pitch_logits[:, 0] = duration_logits[:, 0] = -math.inf     # never START
        probabilities[i] = torch.softmax(pitch_logits[0].float(), 0).numpy()
        weights = alpha[0].numpy()
        first = len(p_ids) - window                                    # window position 0 -> token index `first`
        for k, w in enumerate(weights):
            token = first + k
            attention[i, 0 if token < SEQ_LEN else 1 + token - SEQ_LEN] += w
        p_ids.append(_pick(pitch_logits[0], temperature, generator))
        d_ids.append(_pick(duration_logits[0], temperature, generator))
    names, lengths = model.config.pitches, model.config.durations
    notes = [(names[p], lengths[d]) for p, d in zip(p_ids[SEQ_LEN:], d_ids[SEQ_LEN:])]
    return Generated(notes, len(seed_notes), probabilities, attention, list(names))


def _pick(logits: torch.Tensor, temperature: float, generator: torch.Generator) -> int:
    if temperature == 0:
        return int(logits.argmax())
    return int(torch.multinomial(torch.softmax(logits.float() / temperature, 0), 1, generator=generator))


# ------------------------------------------------------------------------------------------ rendering
@lru_cache(maxsize=1024)
def midi_number(pitch: str) -> int | None:
    """The MIDI number of a pitch token (a chord: its top note); None for a rest."""
    if pitch in (REST_TOKEN, START):
        return None
    from music21 import pitch as m21pitch

    return max(m21pitch.Pitch(name).midi for name in pitch.split("."))


def to_stream(notes: list[tuple[str, str]], tempo: float = 80.0, title: str = "GenLab melody"):
    """A music21 Stream (one part, 4/4) of the notes."""
    from music21 import chord, metadata, meter, note, stream, tempo as m21tempo

    part = stream.Part()
    part.append(meter.TimeSignature("4/4"))
    part.append(m21tempo.MetronomeMark(number=tempo))
    for pitch, duration in notes:
        length = duration_value(duration)
        if pitch == REST_TOKEN:
            part.append(note.Rest(quarterLength=length))
        elif "." in pitch:
            part.append(chord.Chord(pitch.split("."), quarterLength=length))
        else:
            part.append(note.Note(pitch, quarterLength=length))
    score = stream.Score()
    score.metadata = metadata.Metadata(title=title)
    score.insert(0, part)
    return score


def stream_notes(score) -> list[tuple[str, str]]:
    """The (pitch, duration) tokens of a stream's first part (ties joined): to_stream's inverse."""
    from ..data.melodies import melody_of

    return melody_of(score)


def musicxml(notes: list[tuple[str, str]], tempo: float = 80.0) -> bytes:
    from music21.musicxml.m21ToXml import GeneralObjectExporter

    return GeneralObjectExporter(to_stream(notes, tempo)).parse()


def timed_notes(notes: list[tuple[str, str]]) -> tuple[list[Note], int]:
    """The melody as genlab.music.roll Notes on the sixteenth-note grid (fractional steps kept, repeated
    notes apart) and its length in whole steps."""
    out, position = [], 0.0
    for pitch, duration in notes:
        length = duration_value(duration) * 4
        number = midi_number(pitch)
        if number is not None:
            out.append(Note(0, position, position + length, number))
        position += length
    return out, int(math.ceil(position))


def midi(notes: list[tuple[str, str]], tempo: float = 80.0, instrument: str = MELODY_INSTRUMENTS[0]) -> bytes:
    from .midi import to_midi

    timed, steps = timed_notes(notes)
    buffer = io.BytesIO()
    to_midi(np.zeros((max(1, steps), 1)), tempo, (instrument,), notes=timed).write(buffer)
    return buffer.getvalue()


def audio(notes: list[tuple[str, str]], tempo: float = 80.0, instrument: str = MELODY_INSTRUMENTS[0],
          renderer: str = "auto") -> bytes:
    """WAV bytes of the melody (the Music page's synthesiser or SoundFont)."""
    from .audio import render, wav_bytes

    timed, steps = timed_notes(notes)
    return wav_bytes(render(np.zeros((max(1, steps), 1)), tempo, (instrument,), renderer, notes=timed))


MAJOR_SCALE, MINOR_SCALE = (0, 2, 4, 5, 7, 9, 11), (0, 2, 3, 5, 7, 8, 10, 11)   # minor: natural plus the leading tone


def melody_measures(result: Generated) -> dict:
    """How tame or wild the generated notes are: the model's mean probability of the pitches it drew, their
    number of different pitches, the largest leap in semitones, and the share in the key of the whole melody
    (Krumhansl-Kessler, genlab.music.metrics; minor with its raised seventh)."""
    from .metrics import estimate_key

    drawn = [p for p, _ in result.notes[result.n_seed:]]
    index = {p: i for i, p in enumerate(result.pitches)}
    chance = [float(result.probabilities[i, index[p]]) for i, p in enumerate(drawn)]
    every = np.array([n for n in (midi_number(p) for p, _ in result.notes) if n is not None])
    new = np.array([n for n in (midi_number(p) for p in drawn) if n is not None])
    tonic, mode = estimate_key(every) if len(every) else (0, "major")
    scale = {(tonic + s) % 12 for s in (MAJOR_SCALE if mode == "major" else MINOR_SCALE)}
    return {"mean_probability": float(np.mean(chance)) if chance else 0.0,
            "distinct_pitches": int(len(set(new.tolist()))),
            "largest_leap": int(np.abs(np.diff(new)).max()) if len(new) > 1 else 0,
            "in_key": float(np.mean([n % 12 in scale for n in new])) if len(new) else 1.0,
            "key": f"{pitch_label((_MAJOR_TONICS if mode == 'major' else _MINOR_TONICS)[tonic])} {mode}",
            "tonic": int(tonic), "mode": mode}


@dataclass
class Continuation:
    notes: list[tuple[str, str]]     # what the chorale really does after its opening
    named: int                       # how many of those pitches were the model's most likely next pitch
    probabilities: list[float]       # the model's probability of each real next pitch, given the real notes before


@torch.no_grad()
def real_continuation(model, index: int, n_seed: int, n_notes: int) -> Continuation:
    """Chorale `index`'s real notes after its first `n_seed`, and how well the model predicts each of them from
    the real notes before it (teacher forcing: the book's next-note task on this one line)."""
    melodies = load_melodies()
    check_vocabulary(model.config)
    pitch_ids, duration_ids = (torch.from_numpy(a.astype(np.int64)) for a in melodies.line(index))
    first = SEQ_LEN + n_seed                               # token index of the first note after the seed
    last = min(len(pitch_ids), first + n_notes)
    if last <= first:
        return Continuation([], 0, [])
    starts = torch.arange(first, last) - model.config.seq_len
    window = starts[:, None] + torch.arange(model.config.seq_len)[None, :]
    logits, _, _ = model(pitch_ids[window], duration_ids[window])
    logits[:, 0] = -math.inf
    target = pitch_ids[first:last]
    probabilities = torch.softmax(logits, 1)[torch.arange(len(target)), target]
    names, lengths = model.config.pitches, model.config.durations
    notes = [(names[int(p)], lengths[int(d)]) for p, d in zip(target, duration_ids[first:last])]
    return Continuation(notes, int((logits.argmax(1) == target).sum()), [float(p) for p in probabilities])
