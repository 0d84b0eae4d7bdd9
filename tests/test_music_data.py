"""Chorales: real chorales parsed with music21 encode to piano rolls and survive MIDI round trips."""
import numpy as np
import pytest
import torch

from genlab.data.chorales import (CACHE, ChoraleUnusable, encode_score, load_chorales, parse_chorales,
                                  save_chorales, training_phrases, transpose_phrases)
from genlab.music.midi import midi_bytes, midi_to_pitches
from genlab.music.roll import REST, pitches_to_roll, roll_to_pitches

FEW = ["bwv347", "bwv153.1", "bwv1.6"]   # bwv1.6 also has a horn part, which is not a voice


@pytest.fixture(scope="module")
def few():
    return parse_chorales(FEW)


def test_a_few_chorales_parse_into_full_4_4_bars(few):
    assert list(few.names) == FEW
    assert few.pitches.shape[1:] == (16, 4) and few.pitches.dtype == np.int8
    sounding = few.pitches[few.pitches != REST]
    assert 36 <= sounding.min() and sounding.max() <= 84
    # voices stay in order most of the time: soprano above alto above tenor above bass
    s, a, t, b = (few.pitches[..., i].astype(int) for i in range(4))
    assert ((s >= a) & (a >= t) & (t >= b)).mean() > 0.95
    assert few.phrases(2).shape[1:] == (2, 16, 4)
    assert len(few.phrase_starts(2)) == len(few.phrases(2))


def test_encoding_round_trip_keeps_every_note_on_the_grid(few):
    from music21 import corpus

    score = corpus.parse("bach/bwv347")
    pitches, segments, numbers = encode_score(score)
    # chorale -> piano roll -> pitches -> MIDI -> pitches is the identity on the kept notes
    roll = pitches_to_roll(pitches)
    assert roll.shape == (len(pitches), 16, 84, 4) and roll.min() == -1 and roll.max() == 1
    assert np.array_equal(roll_to_pitches(roll, threshold=0), pitches)
    assert np.array_equal(midi_to_pitches(midi_bytes(pitches, tempo=90)), pitches)
    # every note of the score that starts on the grid inside a kept bar sounds there
    soprano = [p for p in score.parts if p.partName.lower().startswith("soprano")][0]
    kept = dict(zip(numbers, range(len(numbers))))
    checked = 0
    for measure in soprano.getElementsByClass("Measure"):
        if measure.number not in kept:
            continue
        for n in measure.notes:
            step = float(n.offset) * 4
            if step == int(step):
                assert pitches[kept[measure.number], int(step), 0] == n.pitch.midi
                checked += 1
    assert checked > 20


def test_a_score_that_is_not_a_chorale_is_refused():
    from music21 import converter

    with pytest.raises(ChoraleUnusable, match="four voices"):
        encode_score(converter.parse("tinyNotation: 4/4 c4 d e f"))


def test_the_shipped_cache_is_small_and_complete():
    assert CACHE.stat().st_size < 3_000_000
    chorales = load_chorales()
    assert len(chorales.names) > 300 and len(chorales) > 3000
    assert not chorales.pitches.flags.writeable
    assert training_phrases(2).shape == (len(chorales.phrase_starts(2)), 2, 16, 4)


def test_cache_round_trip(few, tmp_path):
    path = save_chorales(few, tmp_path / "c.npz")
    back = load_chorales(path)
    assert np.array_equal(back.pitches, few.pitches) and list(back.names) == FEW


def test_transposition_keeps_rests_and_the_pitch_range(few):
    phrases = torch.from_numpy(few.phrases(2).astype(np.int64))
    shifted = transpose_phrases(phrases, 5, torch.Generator().manual_seed(0))
    rests = phrases == REST
    assert torch.equal(shifted == REST, rests)
    diff = (shifted - phrases)[~rests].reshape(-1)
    assert diff.abs().max() <= 5 and (shifted[~rests] >= 24).all() and (shifted[~rests] < 108).all()
    for before, after, rest in zip(phrases, shifted, rests):   # one shift per phrase
        assert len(torch.unique((after - before)[~rest])) == 1


def test_same_key_moves_each_chorale_to_c_major_or_a_minor(few):
    from genlab.music.metrics import estimate_key

    shifts = few.same_key_shifts()
    assert ((-6 <= shifts) & (shifts <= 5)).all()
    moved = few.same_key_pitches()
    assert np.array_equal(moved == REST, few.pitches == REST)
    for i, name in enumerate(few.names):
        bars = few.chorale == i
        assert len(np.unique(shifts[bars])) == 1              # one shift per chorale
        tonic, mode = estimate_key(moved[bars])
        assert (tonic, mode) in ((0, "major"), (9, "minor")), (name, tonic, mode)
        original = few.pitches[bars]
        sounding = original != REST
        assert np.array_equal(moved[bars][sounding] - original[sounding], np.full(sounding.sum(), shifts[bars][0]))
    assert few.phrases(2, same_key=True).shape == few.phrases(2).shape


def test_a_generated_voice_holds_its_note_where_no_pitch_is_on():
    from genlab.music.roll import decode_generated

    roll = torch.full((2, 16, 84, 4), -1.0)                 # one phrase, every output "off"
    roll[0, 0:4, 36, 0] = 1.0                                # soprano: C4 for four steps, then off ...
    roll[0, 5, 70, 0] = -0.5                                 # ... where the largest "off" value is far away
    roll[1, 0, 40, 0] = 0.5                                  # and E4 at the second bar's start
    roll[0, 2:, 30, 1] = roll[1, :, 30, 1] = 0.3             # alto: on from step 2 only
    roll[..., 50, 2] = -0.2                                  # tenor: never on
    roll[..., 20, 3] = 1.0                                   # bass: always on
    plain, held = decode_generated(roll, hold=False), decode_generated(roll)
    assert plain[0, 5, 0] == 94 and plain[0, 4, 0] == 24     # the book's argmax: stray notes
    assert held[0, :, 0].tolist() == [60] * 16 and held[1, :, 0].tolist() == [64] * 16
    assert held[..., 1].ravel().tolist() == [54] * 32        # the start takes the first note sung
    assert np.array_equal(held[..., 2], plain[..., 2]) and (held[..., 3] == 44).all()
    batch = decode_generated(torch.stack([roll, roll]))
    assert batch.shape == (2, 2, 16, 4) and np.array_equal(batch[1], held)


def test_rests_take_the_note_before_them_for_training():
    from genlab.music.roll import fill_rests

    x = torch.tensor([[[[REST, 60], [62, REST]], [[REST, REST], [64, 65]]]])   # (1, 2 bars, 2 steps, 2 voices)
    assert fill_rests(x).tolist() == [[[[62, 60], [62, 60]], [[62, 60], [64, 65]]]]
    assert torch.equal(fill_rests(torch.full((1, 2, 2, 1), REST)), torch.full((1, 2, 2, 1), REST))
