"""Piano rolls: the one music tensor convention of GenLab, and the notes it holds.

Two forms of the same phrase (salu133445/pypianoroll's convention of documented shapes):
  pitches  int (bars, steps, tracks): the MIDI pitch each voice sings at each sixteenth-note step,
           REST (-1) for silence. This is what the data cache stores and what MIDI, audio and
           MusicXML are made from.
  roll     float (bars, steps, pitches, tracks) in [-1, 1]: one-hot over N_PITCHES pitches
           (index = MIDI pitch - lowest_pitch), -1 elsewhere. This is what the MuseGAN reads and writes.
A batch adds a leading N to either form. A generated roll becomes pitches by an argmax over the
pitch axis (one note per voice and step, SEEDS.md C). A note is a run of equal pitches: a repeated
note and a held note look the same in a roll (the book's representation does the same).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

VOICES = ("soprano", "alto", "tenor", "bass")
STEPS_PER_BAR = 16            # sixteenth notes in a 4/4 bar
N_PITCHES = 84                # seven octaves
LOWEST_PITCH = 24             # MIDI pitch of index 0 (C1), so index % 12 is the pitch class
REST = -1


@dataclass(frozen=True)
class Note:
    track: int                # 0 soprano .. 3 bass
    start: int                # first step (from the phrase's start)
    end: int                  # one past the last step
    pitch: int                # MIDI pitch


def shift_pitches(pitches, semitones: int) -> np.ndarray:
    """int pitches (..., tracks) moved by `semitones` (rests stay rests), e.g. to play a phrase in another key."""
    p = np.asarray(pitches).astype(np.int16)
    return np.where(p == REST, REST, p + int(semitones)).astype(np.int16)


def pitches_to_roll(pitches, n_pitches: int = N_PITCHES, lowest_pitch: int = LOWEST_PITCH) -> torch.Tensor:
    """int (..., steps, tracks) MIDI pitches (REST = -1) -> float32 (..., steps, n_pitches, tracks) in [-1, 1].

    Pitches outside the range are dropped (silence).
    """
    p = torch.as_tensor(np.asarray(pitches), dtype=torch.long)
    index = p - lowest_pitch
    valid = (p != REST) & (index >= 0) & (index < n_pitches)
    one_hot = torch.nn.functional.one_hot(index.clamp(0, n_pitches - 1), n_pitches) * valid.unsqueeze(-1)
    return (one_hot.movedim(-1, -2).float() * 2 - 1).contiguous()


def roll_to_pitches(roll, lowest_pitch: int = LOWEST_PITCH, threshold: float | None = None) -> np.ndarray:
    """float (..., steps, pitches, tracks) -> int (..., steps, tracks) MIDI pitches by argmax over pitches.

    Args:
        threshold: when given, a step whose largest value is below it is a rest (for encoded real
            rolls use 0: their rests are all -1); None always picks a note (generated rolls).
    """
    r = torch.as_tensor(roll).detach().float().cpu()
    best, index = r.max(dim=-2)
    pitches = index.numpy().astype(np.int16) + lowest_pitch
    if threshold is not None:
        pitches[best.numpy() < threshold] = REST
    return pitches


def fill_rests(pitches: torch.Tensor) -> torch.Tensor:
    """Each voice's rests (REST) take the note before them (the first note after, at a phrase's start);
    a voice that never sings stays silent. pitches: int (N, bars, steps, tracks).

    The MuseGAN's argmax always sings a note, so a rest in its training data would only teach it an
    all-off column that the argmax turns into a random pitch. `decode_generated` reads the generator's
    all-off columns the same way back.
    """
    n, bars, steps, tracks = pitches.shape
    line = pitches.reshape(n, bars * steps, tracks).clone()
    for direction in (1, -1):               # forward fill, then backward fill for leading rests
        order = range(1, line.shape[1]) if direction == 1 else range(line.shape[1] - 2, -1, -1)
        for i in order:
            rest = line[:, i] == REST
            line[:, i] = torch.where(rest, line[:, i - direction], line[:, i])
    return line.reshape(pitches.shape)


def decode_generated(roll, lowest_pitch: int = LOWEST_PITCH, hold: bool = True) -> np.ndarray:
    """A generated roll (..., bars, steps, pitches, tracks) -> int (..., bars, steps, tracks) MIDI pitches.

    hold=False is the book's plain argmax: a note at every step, even where the generator turns no
    pitch on (every output below 0, the midpoint of a real roll's off -1 and on +1). There the argmax
    picks among "off" values, often an octave or two away: most of a young MuseGAN's out-of-range notes.
    hold=True (GenLab's default) reads such a step as the training data's filled rests were written: the
    voice holds the note it sang before (at a phrase's start, the first note it sings); a voice that
    turns no pitch on in the whole phrase falls back to the argmax.
    """
    plain = roll_to_pitches(roll, lowest_pitch)
    if not hold:
        return plain
    on = roll_to_pitches(roll, lowest_pitch, threshold=0.0)
    phrases = torch.from_numpy(on.reshape(-1, *on.shape[-3:]).astype(np.int64))
    held = fill_rests(phrases).numpy().reshape(on.shape)
    return np.where(held == REST, plain, held).astype(np.int16)


def flatten_bars(pitches: np.ndarray) -> np.ndarray:
    """(bars, steps, tracks) -> (bars * steps, tracks): one timeline."""
    p = np.asarray(pitches)
    return p.reshape(-1, p.shape[-1])


def notes_of(pitches: np.ndarray) -> list[Note]:
    """The notes of a phrase (bars, steps, tracks) or a timeline (steps, tracks): runs of equal pitch."""
    p = np.asarray(pitches)
    line = flatten_bars(p) if p.ndim == 3 else p
    notes = []
    for track in range(line.shape[1]):
        voice = line[:, track]
        change = np.flatnonzero(np.diff(voice)) + 1
        starts = np.concatenate([[0], change])
        ends = np.concatenate([change, [len(voice)]])
        notes.extend(Note(track, int(s), int(e), int(voice[s])) for s, e in zip(starts, ends) if voice[s] != REST)
    return sorted(notes, key=lambda n: (n.start, n.track))


def pitch_name(midi: int) -> str:
    """60 -> "C4"."""
    names = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
    return f"{names[midi % 12]}{midi // 12 - 1}"
