"""Music at the edges: MIDI and MusicXML that other tools read, audio of the right length, refusal of bad MIDI."""
import io
import wave

import numpy as np
import pretty_midi
import pytest

from genlab.data.chorales import load_chorales
from genlab.music import audio
from genlab.music.metrics import estimate_key, nearest_phrases, phrase_measures
from genlab.music.midi import (MAX_MIDI_BYTES, MidiError, midi_bytes, midi_to_pitches, musicxml_bytes, read_midi)
from genlab.music.roll import REST, notes_of


@pytest.fixture(scope="module")
def phrase():
    return load_chorales().phrases(2)[40]


def test_midi_export_is_read_by_pretty_midi_and_music21(phrase):
    from music21 import converter

    data = midi_bytes(phrase, tempo=100, instruments=("Choir", "Strings", "Cello", "Bassoon"))
    pm = pretty_midi.PrettyMIDI(io.BytesIO(data))
    assert [i.program for i in pm.instruments] == [52, 48, 42, 70]
    assert sum(len(i.notes) for i in pm.instruments) == len(notes_of(phrase))
    assert pm.get_end_time() == pytest.approx(32 * 60 / 100 / 4, abs=0.01)
    score = converter.parseData(data, format="midi")
    assert len(score.parts) == 4 and len(score.flatten().notes) > 10


def test_musicxml_export_is_read_back_by_music21(phrase):
    from music21 import converter

    score = converter.parseData(musicxml_bytes(phrase, tempo=80), format="musicxml")
    assert len(score.parts) == 4
    soprano = [n.pitch.midi for n in score.parts[0].flatten().notes]
    assert soprano == [n.pitch for n in notes_of(phrase) if n.track == 0]


@pytest.mark.parametrize("tempo", [60, 120])
def test_audio_length_follows_the_tempo_and_is_neither_silent_nor_clipped(phrase, tempo):
    sound = audio.render(phrase, tempo, renderer="synth")
    assert len(sound) == pytest.approx(audio.duration_seconds(32, tempo) * audio.SAMPLE_RATE, abs=2)
    assert 0.5 < np.abs(sound).max() < 0.99
    assert np.sqrt((sound ** 2).mean()) > 0.05
    wav = wave.open(io.BytesIO(audio.wav_bytes(sound)))
    assert wav.getframerate() == audio.SAMPLE_RATE and wav.getnframes() == len(sound)


def test_every_instrument_sounds_and_the_pitch_is_right():
    line = np.full((16, 4), REST)
    line[:, 0] = 69   # A4, 440 Hz, in one voice
    for name in audio.TIMBRES:
        sound = audio.render(line, 60, instruments=(name,) * 4, renderer="synth")
        spectrum = np.abs(np.fft.rfft(sound[: audio.SAMPLE_RATE]))
        peak_hz = np.argmax(spectrum)   # one second of sound: bin k is k Hz
        harmonic = round(peak_hz / 440)
        assert 1 <= harmonic <= 4 and abs(peak_hz / (440 * harmonic) - 1) < 0.01, name   # a harmonic of A4


@pytest.mark.parametrize("data, message", [
    (b"not midi at all", "not a MIDI file"),
    (b"MThd\x00\x00\x00\x06\x00\x01\x00\x02\x01\xe0MTrk\x00\x00\xff\xff", "damaged"),
    (b"MThd" + b"\x00" * (MAX_MIDI_BYTES + 1), "MB"),
])
def test_bad_midi_is_refused_with_a_message(data, message):
    with pytest.raises(MidiError, match=message):
        read_midi(data)


def test_a_damaged_midi_is_refused_in_words_not_python_errors():
    """Issue 32.19: "ZeroDivisionError: float division by zero" and "EOFError: " told a user nothing."""
    buffer = io.BytesIO()
    pm = pretty_midi.PrettyMIDI()
    piano = pretty_midi.Instrument(0)
    piano.notes.append(pretty_midi.Note(80, 60, 0, 1))
    pm.instruments.append(piano)
    pm.write(buffer)
    good = buffer.getvalue()
    cases = {good[:12] + b"\x00\x00" + good[14:]: "0 ticks per beat", good[:-6]: "cut short", good[:10]: "cut short",
             good[:22] + b"\xf7\xff\xff\xff\xff" + good[27:]: "not MIDI events",
             good[:10] + b"\x00\x09" + good[12:]: "more tracks than it has"}
    for data, words in cases.items():
        with pytest.raises(MidiError) as err:
            read_midi(data)
        assert words in str(err.value) and "Error" not in str(err.value), str(err.value)


def test_a_midi_without_notes_is_refused():
    buffer = io.BytesIO()
    pretty_midi.PrettyMIDI().write(buffer)
    with pytest.raises(MidiError, match="no .*notes"):
        midi_to_pitches(buffer.getvalue())


def test_metrics_of_a_real_phrase_and_its_nearest_neighbour(phrase):
    m = phrase_measures(phrase)
    assert m["in_key_fraction"] > 0.7 and m["in_range_fraction"] > 0.9 and m["distinct_pitches_per_voice"] > 1
    assert estimate_key(np.array([60, 64, 67, 72, 62, 65, 71, 60])) == (0, "major")
    real = load_chorales().phrases(2)
    index, mismatch = nearest_phrases(phrase[None], real)
    assert mismatch[0] == 0 and np.array_equal(real[index[0]], phrase)


def test_the_measures_do_not_depend_on_the_integer_type_or_the_key(phrase):
    """int8 pitches (the cache's type) once overflowed the chord masks: Bach's chords counted 62%, not 88%."""
    wide = phrase_measures(phrase.astype(np.int64))
    assert phrase_measures(phrase.astype(np.int8)) == wide
    up = np.where(phrase == REST, REST, phrase + 5)
    moved = phrase_measures(up)
    assert moved["chord_fraction"] == wide["chord_fraction"] and moved["in_key_fraction"] == wide["in_key_fraction"]
    c_major = np.array([[[72, 64, 55, 48]] * 16] * 2)               # C major triads
    assert phrase_measures(c_major.astype(np.int8))["chord_fraction"] == 1.0
    assert phrase_measures(np.array([[[72, 73, 74, 48]] * 16] * 2))["chord_fraction"] == 0.0


@pytest.mark.skipif(not audio.soundfont_available(), reason="no SoundFont renderer (scripts/test.sh installs one)")
def test_soundfont_rendering_has_the_same_length_and_is_repeatable(phrase):
    sound = audio.render(phrase, 90, ("Choir", "Strings", "Cello", "Bassoon"), renderer="soundfont")
    assert len(sound) == pytest.approx(audio.duration_seconds(32, 90) * audio.SAMPLE_RATE, abs=2)
    assert 0.5 < np.abs(sound).max() < 0.99 and np.sqrt((sound ** 2).mean()) > 0.03
    again = audio.render(phrase, 90, ("Choir", "Strings", "Cello", "Bassoon"), renderer="soundfont")
    assert np.abs(sound - again).max() < 0.01


def test_auto_renderer_falls_back_to_the_synthesiser(phrase, monkeypatch):
    monkeypatch.setattr(audio, "soundfont_available", lambda: False)
    assert np.array_equal(audio.render(phrase, 80), audio.render(phrase, 80, renderer="synth"))
    with pytest.raises(ValueError, match="SoundFont"):
        audio.render(phrase, 80, renderer="soundfont")
