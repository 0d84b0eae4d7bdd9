"""Phrases (pitches form, genlab.music.roll) <-> MIDI bytes (pretty_midi), and MusicXML bytes (music21).

Also the one gate for MIDI a user uploads: `read_midi` refuses files that are too big, not MIDI,
without notes, or too long, with a message that says which.
"""
from __future__ import annotations

import io
import math

import numpy as np
import pretty_midi

from .roll import REST, STEPS_PER_BAR, VOICES, flatten_bars, notes_of

# The voices' instruments a user picks from: name -> General MIDI program (0-based).
PROGRAMS = {
    "Choir": 52, "Church organ": 19, "Strings": 48, "Flute": 73, "Oboe": 68, "Clarinet": 71,
    "Bassoon": 70, "Cello": 42, "Piano": 0,
}
DEFAULT_INSTRUMENTS = ("Flute", "Oboe", "Clarinet", "Bassoon")
MAX_MIDI_BYTES = 1_000_000      # an upload larger than this is refused
MAX_MIDI_NOTES = 20_000
MAX_MIDI_SECONDS = 15 * 60
MAX_BARS = 64                   # an encoded upload keeps at most this many bars


class MidiError(ValueError):
    """A MIDI file that GenLab refuses; the message says why."""


def step_seconds(tempo: float) -> float:
    """Seconds of one sixteenth-note step at `tempo` quarter notes per minute."""
    return 60.0 / tempo / 4


def to_midi(pitches: np.ndarray, tempo: float = 80.0, instruments=DEFAULT_INSTRUMENTS, velocity: int = 80,
            notes: list | None = None) -> pretty_midi.PrettyMIDI:
    """A phrase (bars, steps, tracks) or timeline (steps, tracks) -> a PrettyMIDI with one instrument per voice.

    Args:
        tempo: quarter notes per minute.
        instruments: one name of PROGRAMS per voice.
        notes: these notes (genlab.music.roll.Note, in steps) instead of the phrase's runs of equal pitch, so
            that repeated notes stay apart (a melody); the phrase then gives only the number of voices.
    """
    if not 20 <= tempo <= 300:
        raise ValueError(f"tempo must be in 20..300 quarter notes per minute, got {tempo}")
    step = step_seconds(tempo)
    pm = pretty_midi.PrettyMIDI(initial_tempo=float(tempo))
    p = np.asarray(pitches)
    n_tracks = p.shape[-1]
    tracks = [pretty_midi.Instrument(program=PROGRAMS[instruments[t]], name=VOICES[t] if t < len(VOICES) else f"voice {t}")
              for t in range(n_tracks)]
    for note in notes_of(p) if notes is None else notes:
        tracks[note.track].notes.append(pretty_midi.Note(velocity=velocity, pitch=note.pitch,
                                                         start=note.start * step, end=note.end * step))
    pm.instruments.extend(tracks)
    return pm


def midi_bytes(pitches: np.ndarray, tempo: float = 80.0, instruments=DEFAULT_INSTRUMENTS) -> bytes:
    """The phrase as a standard MIDI file (.mid bytes)."""
    buffer = io.BytesIO()
    to_midi(pitches, tempo, instruments).write(buffer)
    return buffer.getvalue()


def _damage(err: Exception, data: bytes) -> str:
    """What is wrong with a MIDI file that mido or pretty_midi could not read, in words (not the library's error)."""
    if len(data) < 14:
        return "it ends inside its header (the file is cut short)"
    if data[12:14] == b"\x00\x00" or isinstance(err, ZeroDivisionError):
        return "its header gives 0 ticks per beat, so no note has a time"
    if isinstance(err, EOFError) or "end of file" in str(err).lower():
        return "it ends before its last track does (the file is cut short, or its header announces more tracks than it has)"
    if "running status" in str(err).lower() or "status" in str(err).lower():
        return "a track holds bytes that are not MIDI events"
    if isinstance(err, (KeyError, IndexError, ValueError, OSError)):
        return "a track's events do not follow the MIDI format"
    return "its contents do not follow the MIDI format"


def read_midi(data: bytes) -> pretty_midi.PrettyMIDI:
    """Parse MIDI bytes a user gave, refusing what is too big, malformed, empty or too long.

    Raises:
        MidiError: with a message for the user.
    """
    if len(data) > MAX_MIDI_BYTES:
        raise MidiError(f"the file has {len(data) / 1e6:.1f} MB; MIDI files up to {MAX_MIDI_BYTES / 1e6:.0f} MB are accepted")
    if not data.startswith(b"MThd"):
        raise MidiError("this is not a MIDI file (it does not start with a MIDI header)")
    try:
        pm = pretty_midi.PrettyMIDI(io.BytesIO(data))
    except Exception as err:  # mido and pretty_midi raise many kinds of errors on malformed files
        raise MidiError(f"this MIDI file is damaged and cannot be read: {_damage(err, data)}") from None
    n_notes = sum(len(i.notes) for i in pm.instruments if not i.is_drum)
    if n_notes == 0:
        raise MidiError("this MIDI file has no (non-drum) notes")
    if n_notes > MAX_MIDI_NOTES:
        raise MidiError(f"this MIDI file has {n_notes:,} notes; at most {MAX_MIDI_NOTES:,} are accepted")
    end = pm.get_end_time()
    if not math.isfinite(end) or end > MAX_MIDI_SECONDS:
        raise MidiError(f"this MIDI file lasts {end / 60:.0f} minutes; at most {MAX_MIDI_SECONDS // 60} are accepted")
    return pm


def encode_midi(pm: pretty_midi.PrettyMIDI, n_tracks: int = 4, max_bars: int = MAX_BARS) -> np.ndarray:
    """A PrettyMIDI -> phrase (bars, 16, n_tracks): the first n_tracks non-drum instruments with notes become
    the voices (the top note where one plays a chord), on the sixteenth-note grid of its first tempo."""
    tempo = float(pm.get_tempo_changes()[1][0]) if len(pm.get_tempo_changes()[1]) else 120.0
    step = step_seconds(tempo)
    voices = [i for i in pm.instruments if not i.is_drum and i.notes][:n_tracks]
    n_steps = min(max_bars * STEPS_PER_BAR, max(1, int(round(pm.get_end_time() / step))))
    n_steps = int(math.ceil(n_steps / STEPS_PER_BAR)) * STEPS_PER_BAR
    line = np.full((n_steps, n_tracks), REST, dtype=np.int16)
    for t, instrument in enumerate(voices):
        for note in sorted(instrument.notes, key=lambda n: n.pitch):   # the top note wins
            start, end = int(round(note.start / step)), int(round(note.end / step))
            if start < n_steps and end > start:
                line[start:min(end, n_steps), t] = note.pitch
    return line.reshape(-1, STEPS_PER_BAR, n_tracks)


def midi_to_pitches(data: bytes, n_tracks: int = 4) -> np.ndarray:
    """MIDI bytes -> phrase (bars, 16, n_tracks); refuses bad files with MidiError."""
    return encode_midi(read_midi(data), n_tracks)


def musicxml_bytes(pitches: np.ndarray, tempo: float = 80.0, instruments=DEFAULT_INSTRUMENTS,
                   title: str = "GenLab chorale phrase") -> bytes:
    """The phrase as MusicXML (through music21): four parts in 4/4, notes and rests in quarter lengths."""
    from music21 import metadata, meter, note, stream, tempo as m21tempo
    from music21.musicxml.m21ToXml import GeneralObjectExporter

    line = flatten_bars(np.asarray(pitches))
    score = stream.Score()
    score.metadata = metadata.Metadata(title=title)
    notes = notes_of(line)
    for t in range(line.shape[1]):
        part = stream.Part()
        part.partName = f"{VOICES[t].title() if t < len(VOICES) else f'Voice {t}'} ({instruments[t]})"
        part.append(meter.TimeSignature("4/4"))
        if t == 0:
            part.append(m21tempo.MetronomeMark(number=tempo))
        position = 0
        for n in (n for n in notes if n.track == t):
            if n.start > position:
                part.append(note.Rest(quarterLength=(n.start - position) / 4))
            part.append(note.Note(n.pitch, quarterLength=(n.end - n.start) / 4))
            position = n.end
        if position < len(line):
            part.append(note.Rest(quarterLength=(len(line) - position) / 4))
        score.insert(0, part)
    return GeneralObjectExporter(score).parse()
