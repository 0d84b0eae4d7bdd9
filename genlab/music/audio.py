"""Phrases to audio: a SoundFont through fluidsynth when one is installed, else GenLab's numpy synthesiser.

The numpy synthesiser gives each instrument of genlab.music.midi.PROGRAMS a timbre (the amplitudes of
its harmonics), an ADSR envelope, a delayed vibrato for the sustained ones, a touch of detuned
chorus and a short synthetic room reverb, so that four voices blend rather than beep. Audio is
float32 mono in [-1, 1], peak-normalised below full scale (never clipped), then 16-bit WAV at the edge.
SoundFont rendering plays the phrase's pretty_midi MIDI through fluidsynth (pyfluidsynth + libfluidsynth)
with a .sf2 file, e.g. Debian's timgm6mb-soundfont (scripts/test.sh installs them); `renderer="auto"`
uses it when present. The SoundFont is loaded once per process into one synthesiser, shared under a lock.
"""
from __future__ import annotations

import io
import threading
import wave
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from .midi import DEFAULT_INSTRUMENTS, PROGRAMS, step_seconds, to_midi
from .roll import flatten_bars, notes_of

SAMPLE_RATE = 22_050
TAIL_SECONDS = 0.8              # release and reverb after the last step
PEAK = 0.89                     # the loudest sample after normalisation
SOUNDFONT_DIRS = (Path("/usr/share/sounds/sf2"), Path("/usr/share/soundfonts"))
RENDERERS = ("auto", "synth", "soundfont")


@dataclass(frozen=True)
class Timbre:
    harmonics: tuple[float, ...]   # amplitude of partial 1, 2, 3, ...
    attack: float                  # seconds
    decay: float                   # seconds to fall to the sustain level
    sustain: float                 # level while held, 0..1
    release: float                 # seconds after the note ends
    vibrato: float = 0.0           # depth in semitones (5.5 Hz, fades in after 0.15 s)
    plucked: bool = False          # exponential decay instead of a sustain (piano)


TIMBRES = {
    "Choir": Timbre((1, .55, .25, .12, .06, .03), .09, .2, .85, .25, vibrato=.12),
    "Church organ": Timbre((1, .7, .45, .3, .22, .12, .08, .06), .03, .05, 1.0, .12),
    "Strings": Timbre((1, .6, .42, .3, .22, .16, .11, .08), .12, .25, .8, .3, vibrato=.1),
    "Flute": Timbre((1, .35, .12, .05), .06, .15, .85, .15, vibrato=.08),
    "Oboe": Timbre((.6, 1, .8, .55, .35, .2, .12), .04, .1, .85, .12, vibrato=.06),
    "Clarinet": Timbre((1, .05, .5, .04, .3, .03, .15), .05, .1, .85, .15, vibrato=.04),
    "Bassoon": Timbre((.8, 1, .7, .5, .35, .25, .15), .05, .12, .85, .15),
    "Cello": Timbre((1, .75, .5, .35, .25, .16, .1), .08, .2, .8, .25, vibrato=.12),
    "Piano": Timbre((1, .45, .25, .12, .07, .04), .005, 0.0, 0.0, .25, plucked=True),
}


def soundfont_path() -> Path | None:
    """The first .sf2 file in the usual Debian folders, if any."""
    for folder in SOUNDFONT_DIRS:
        if folder.is_dir():
            for path in sorted(folder.glob("*.sf2")):
                return path
    return None


@lru_cache(maxsize=1)
def soundfont_available() -> bool:
    """True when pretty_midi can render with fluidsynth and a SoundFont is installed."""
    if soundfont_path() is None:
        return False
    try:
        import fluidsynth  # noqa: F401  (pyfluidsynth, which loads libfluidsynth)
    except Exception:
        return False
    return True


def duration_seconds(n_steps: int, tempo: float) -> float:
    """Length of the rendered audio of n_steps sixteenth steps: the notes plus TAIL_SECONDS."""
    return n_steps * step_seconds(tempo) + TAIL_SECONDS


def _envelope(n_on: int, n_total: int, timbre: Timbre, sr: int) -> np.ndarray:
    t = np.arange(n_total) / sr
    if timbre.plucked:
        env = np.exp(-t * 2.2) * np.minimum(1, t / max(timbre.attack, 1e-4))
    else:
        attack = np.minimum(1, t / timbre.attack)
        decay = 1 - (1 - timbre.sustain) * np.clip((t - timbre.attack) / max(timbre.decay, 1e-4), 0, 1)
        env = attack * decay
    held = n_on / sr
    after = np.clip((t - held) / timbre.release, 0, 1)
    level_at_release = env[min(n_on, n_total - 1)]
    return np.where(t < held, env, level_at_release * (1 - after) ** 2)


@lru_cache(maxsize=None)
def _wavetable(harmonics: tuple[float, ...], size: int = 4096) -> np.ndarray:
    """One period of a timbre (its harmonics summed), peak 1: a note is this table read at its frequency."""
    x = np.arange(size) / size
    table = sum(a * np.sin(2 * np.pi * (k + 1) * x) for k, a in enumerate(harmonics))
    return (table / np.abs(table).max()).astype(np.float32)


def _tone(pitch: int, n_on: int, timbre: Timbre, sr: int) -> np.ndarray:
    """One note: wavetable synthesis with a slight chorus (a second voice 4 cents up) and its envelope."""
    n_total = n_on + int(timbre.release * sr)
    t = np.arange(n_total, dtype=np.float32) / sr
    freq = 440.0 * 2 ** ((pitch - 69) / 12)
    cycles = freq * t
    if timbre.vibrato:
        bend = timbre.vibrato * np.clip((t - 0.15) / 0.3, 0, 1) * np.sin(2 * np.pi * 5.5 * t)
        cycles = np.cumsum(freq * 2 ** (bend / 12)) / sr
    table = _wavetable(timbre.harmonics)
    size = len(table)
    signal = table[(cycles * size).astype(np.int64) % size]
    signal += 0.5 * table[(cycles * (size * 2 ** (4 / 1200)) + size // 3).astype(np.int64) % size]
    return (signal * _envelope(n_on, n_total, timbre, sr) / 1.5).astype(np.float32)


@lru_cache(maxsize=4)
def _room(sr: int, seconds: float = 0.7) -> np.ndarray:
    """A short synthetic room impulse response: the dry sound plus decaying noise."""
    rng = np.random.default_rng(0)
    n = int(seconds * sr)
    tail = rng.standard_normal(n) * np.exp(-np.arange(n) / sr * 7.0) * 0.07
    tail[: int(0.012 * sr)] = 0
    tail[0] = 1.0
    return tail.astype(np.float32)


def _reverb(x: np.ndarray, sr: int) -> np.ndarray:
    ir = _room(sr)
    size = 1 << int(np.ceil(np.log2(len(x) + len(ir))))
    wet = np.fft.irfft(np.fft.rfft(x, size) * np.fft.rfft(ir, size), size)[: len(x)]
    return wet.astype(np.float32)


def synthesise(pitches: np.ndarray, tempo: float = 80.0, instruments=DEFAULT_INSTRUMENTS,
               sample_rate: int = SAMPLE_RATE, notes: list | None = None) -> np.ndarray:
    """A phrase (bars, steps, tracks) or timeline (steps, tracks) -> float32 mono audio with the numpy synthesiser.
    `notes`: play these (genlab.music.roll.Note, in steps, fractions allowed) instead of the timeline's runs
    (a melody's repeated notes stay apart); the timeline then gives only the length."""
    line = flatten_bars(np.asarray(pitches)) if np.asarray(pitches).ndim == 3 else np.asarray(pitches)
    step = step_seconds(tempo)
    out = np.zeros(int(round(duration_seconds(len(line), tempo) * sample_rate)), dtype=np.float32)
    for note in notes_of(line) if notes is None else notes:
        timbre = TIMBRES[instruments[note.track]]
        start = int(round(note.start * step * sample_rate))
        tone = _tone(note.pitch, int(round((note.end - note.start) * step * sample_rate)), timbre, sample_rate)
        end = min(len(out), start + len(tone))
        out[start:end] += tone[: end - start] * (0.9 if note.track == 0 else 0.7)   # the melody a little on top
    return _reverb(out, sample_rate)


_SYNTH_LOCK = threading.Lock()


@lru_cache(maxsize=2)
def _fluidsynth(sample_rate: int):
    """One fluidsynth synthesiser with the SoundFont loaded (loading takes ~50 ms, so it is done once)."""
    import fluidsynth

    # fluidsynth's own reverb and chorus carry over from one phrase to the next: off (GenLab's room is added)
    synth = fluidsynth.Synth(samplerate=float(sample_rate), gain=0.4,
                             **{"synth.reverb.active": 0, "synth.chorus.active": 0})
    return synth, synth.sfload(str(soundfont_path()))


def _soundfont_render(pitches: np.ndarray, tempo: float, instruments, sample_rate: int,
                      notes: list | None = None) -> np.ndarray:
    """The phrase's MIDI (pretty_midi) played through fluidsynth, event by event (`notes`: see synthesise)."""
    line = flatten_bars(np.asarray(pitches)) if np.asarray(pitches).ndim == 3 else np.asarray(pitches)
    midi = to_midi(line, tempo, instruments, notes=notes)
    events = sorted((int(round(t * sample_rate)), on, channel, note.pitch, note.velocity)
                    for channel, instrument in enumerate(midi.instruments) for note in instrument.notes
                    for t, on in ((note.start, 1), (note.end, 0)))          # note-offs first at equal times
    total = int(round(duration_seconds(len(line), tempo) * sample_rate))
    synth, font = _fluidsynth(sample_rate)
    chunks, position = [], 0
    with _SYNTH_LOCK:
        for channel, name in enumerate(instruments[: line.shape[1]]):
            synth.program_select(channel, font, 0, PROGRAMS[name])
        for sample, on, channel, pitch, velocity in events:
            if sample > position:
                chunks.append(synth.get_samples(sample - position))
                position = sample
            synth.noteon(channel, pitch, velocity) if on else synth.noteoff(channel, pitch)
        chunks.append(synth.get_samples(max(1, total - position)))
        position = max(position + 1, total)
        for channel in range(16):
            synth.cc(channel, 120, 0)                  # all sound off, for the next phrase
        synth.get_samples(64 + (-position) % 64)       # end on fluidsynth's 64-sample block: the same start next time
    stereo = np.concatenate(chunks).astype(np.float32).reshape(-1, 2) / 32768.0
    return _reverb(np.pad(stereo.mean(axis=1), (0, max(0, total - len(stereo))))[:total], sample_rate)


def render(pitches: np.ndarray, tempo: float = 80.0, instruments=DEFAULT_INSTRUMENTS, renderer: str = "auto",
           sample_rate: int = SAMPLE_RATE, notes: list | None = None) -> np.ndarray:
    """A phrase -> float32 mono audio of duration_seconds(steps, tempo), peak-normalised to PEAK (never clipped).

    Args:
        renderer: "synth" (numpy), "soundfont" (fluidsynth; an error when not installed) or "auto".
        notes: the notes to play instead of the phrase's runs of equal pitch (see synthesise).
    """
    if renderer not in RENDERERS:
        raise ValueError(f"renderer must be one of {RENDERERS}, got {renderer!r}")
    use_soundfont = renderer == "soundfont" or (renderer == "auto" and soundfont_available())
    if use_soundfont and not soundfont_available():
        raise ValueError("no SoundFont renderer here: install pyfluidsynth, libfluidsynth and a .sf2 "
                         "(e.g. apt-get install timgm6mb-soundfont)")
    audio = (_soundfont_render if use_soundfont else synthesise)(pitches, tempo, instruments, sample_rate, notes=notes)
    peak = float(np.abs(audio).max())
    return (audio * (PEAK / peak)).astype(np.float32) if peak > 0 else audio


def wav_bytes(audio: np.ndarray, sample_rate: int = SAMPLE_RATE) -> bytes:
    """float audio in [-1, 1] -> a 16-bit mono WAV file."""
    pcm = (np.clip(audio, -1, 1) * 32767).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        w.writeframes(pcm.tobytes())
    return buffer.getvalue()
