"""The melody model (SEEDS.md C, last item): tokens, the split, the model, generation, files, training, the page."""
import base64
import io
import json
import shutil

import numpy as np
import pretty_midi
import pytest
import torch

from genlab.checkpoints import load_checkpoint
from genlab.data.melodies import (SEQ_LEN, START, build_set, duration_token, load_melodies, melody_of,
                                  transpose_token)
from genlab.models import build_model
from genlab.music import melody
from genlab.training import TrainConfig, train

from .conftest import SHIPPED, open_app

MELODY = SHIPPED / "melody_chorales.safetensors"
TINY = {"hidden": 16, "embed": 8, "attention_size": 8}


@pytest.fixture(scope="module")
def tiny_model():
    torch.manual_seed(0)
    return build_model("melody", TINY).eval()


def test_the_shipped_model_beats_the_bigram_on_held_out_tunes():
    ckpt = load_checkpoint(MELODY)
    assert ckpt.kind == "melody" and ckpt.dataset == "chorales" and ckpt.config["attention"] == "additive"
    m = ckpt.metrics
    assert m["held_out_pitch_accuracy"] > m["bigram_pitch_accuracy"] + 0.15 > m["unigram_pitch_accuracy"]
    assert m["held_out_pitch_perplexity"] < m["bigram_pitch_perplexity"]
    again = melody.evaluate(ckpt.model)             # the stored figures are what the shipped weights give
    assert again["pitch_accuracy"] == pytest.approx(m["held_out_pitch_accuracy"], abs=0.005)
    assert again["notes"] == m["held_out_notes"]


def test_tokens_round_trip_through_a_music21_stream():
    line = [(str(p), str(d)) for p, d in load_melodies().tokens(5)]
    assert melody.stream_notes(melody.to_stream(line)) == line
    by_hand = [("G4", "1"), ("rest", "0.5"), ("C4.E4.G4", "1.5"), ("F#4", "0.25"), ("B-4", "4")]
    assert melody.stream_notes(melody.to_stream(by_hand)) == by_hand
    assert melody.parse_notes(melody.format_notes(line), build_model("melody", TINY)) == line


def test_durations_and_transpositions_are_spelled_as_music21_does():
    assert [duration_token(x) for x in (1, 0.5, 1.5, 4, 1 / 3)] == ["1", "0.5", "1.5", "4", "1/3"]
    assert transpose_token("E4", 1) == "F4" and transpose_token("F#4", 2) == "G#4"
    assert transpose_token("B4", -3) == "G#4" and transpose_token("rest", 2) == "rest"
    assert transpose_token("C4.E4", 2) == "D4.F#4"


def test_the_soprano_line_is_read_with_ties_joined():
    from music21 import note, stream, tie

    score, soprano, alto = stream.Score(), stream.Part(), stream.Part()
    soprano.partName, alto.partName = "Soprano", "Alto"
    first, second = note.Note("G4", quarterLength=1), note.Note("G4", quarterLength=1)
    first.tie, second.tie = tie.Tie("start"), tie.Tie("stop")
    soprano.append([note.Note("D5"), first, second, note.Rest(quarterLength=0.5), note.Note("A4")])
    alto.append([note.Note("C4") for _ in range(5)])
    score.insert(0, alto)
    score.insert(0, soprano)
    assert melody_of(score) == [("D5", "1"), ("G4", "2"), ("rest", "0.5"), ("A4", "1")]


def test_held_out_tunes_never_reach_training_in_any_key():
    melodies = load_melodies()
    held = melodies.held_out()
    assert 0 < held.sum() < len(held) // 5
    assert not set(melodies.tune[held]) & set(melodies.tune[~held])       # whole tunes, every harmonisation
    train_windows = melodies.windows(~held, 3)
    assert train_windows.shape[1:] == (7, SEQ_LEN + 1, 2)
    held_windows = melodies.windows(held, 0)
    # every note of a line is predicted once: windows = notes
    notes = sum(int(melodies.offsets[i + 1] - melodies.offsets[i]) - SEQ_LEN for i in np.flatnonzero(held))
    assert len(held_windows) == notes
    # a window's transpositions move every pitch, keep every duration, and never the START padding
    w = train_windows[0]
    assert (w[:, :, 1] == w[3, :, 1]).all() and (w[:, :SEQ_LEN, 0] == 0).all()
    assert len(set(w[:, -1, 0].tolist())) == 7          # the first note, in 7 keys


def test_tunes_group_the_same_melody_in_any_key():
    a = [("G4", "1"), ("A4", "1"), ("B4", "1"), ("G4", "1"), ("D5", "2")] * 3
    b = [(transpose_token(p, 2), d) for p, d in a]
    c = [("E4", "1")] * 15
    melodies = build_set([("x", a), ("y", c), ("z", b)], [0, 1, 9])
    assert list(melodies.tune) == [0, 1, 0]
    assert list(melodies.held_out()) == [False, False, False]
    assert melodies.pitches[0] == START


def test_the_model_has_the_books_shape_and_attention_sums_to_one():
    model = build_model("melody").eval()
    counts = sum(p.numel() for p in model.lstm.parameters())
    assert counts == 4 * 256 * (200 + 256 + 2) + 4 * 256 * (256 + 256 + 2)       # LSTM 256 x 2 over 2 x 100
    pitches = torch.randint(0, len(model.config.pitches), (3, SEQ_LEN))
    durations = torch.randint(0, len(model.config.durations), (3, SEQ_LEN))
    with torch.no_grad():
        pitch_logits, duration_logits, attention = model(pitches, durations)
    assert pitch_logits.shape == (3, len(model.config.pitches))
    assert duration_logits.shape == (3, len(model.config.durations))
    assert attention.shape == (3, SEQ_LEN) and (attention >= 0).all()
    assert torch.allclose(attention.sum(1), torch.ones(3))


def test_every_step_training_predicts_what_the_window_predicts():
    model = build_model("melody", TINY).eval()
    pitches, durations = torch.randint(1, 40, (2, SEQ_LEN)), torch.randint(1, 8, (2, SEQ_LEN))
    with torch.no_grad():
        every_p, every_d = model.forward_every_step(pitches, durations)
        for t in (3, SEQ_LEN):        # step t of the full window = the model run on the first t notes
            p, d, _ = model(pitches[:, :t], durations[:, :t])
            assert torch.allclose(every_p[:, t - 1], p, atol=1e-5) and torch.allclose(every_d[:, t - 1], d, atol=1e-5)


def test_the_books_attention_cannot_look_hard_at_one_note():
    """Its scores are tanh(w . h + b) in [-1, 1]: over 32 steps no weight passes e / (e + 31 / e) = 19.3%."""
    import math

    book = build_model("melody", {**TINY, "attention": "book"}).eval()
    with torch.no_grad():
        book.attention.weight.mul_(1000)                 # saturate every score at -1 or +1
        _, _, alpha = book(torch.randint(1, 40, (64, SEQ_LEN)), torch.randint(1, 8, (64, SEQ_LEN)))
    cap = math.e / (math.e + (SEQ_LEN - 1) / math.e)
    assert alpha.max() <= cap + 1e-6
    additive = build_model("melody", TINY).eval()
    with torch.no_grad():
        additive.attention.v.weight.mul_(1000)
        _, _, alpha = additive(torch.randint(1, 40, (64, SEQ_LEN)), torch.randint(1, 8, (64, SEQ_LEN)))
    assert alpha.max() > 0.9


def test_generation_is_seeded_and_temperature_zero_is_the_argmax(tiny_model):
    opening = melody.chorale_opening(0)
    a = melody.generate(tiny_model, opening, 12, 1.2, seed=3)
    b = melody.generate(tiny_model, opening, 12, 1.2, seed=3)
    c = melody.generate(tiny_model, opening, 12, 1.2, seed=4)
    assert a.notes == b.notes and a.notes != c.notes
    assert a.notes[:len(opening)] == opening and len(a.notes) == len(opening) + 12
    cold = melody.generate(tiny_model, opening, 12, 0.0, seed=5)
    drawn = [p for p, _ in cold.notes[cold.n_seed:]]
    assert drawn == [cold.pitches[int(row.argmax())] for row in cold.probabilities]
    assert np.allclose(a.probabilities.sum(1), 1, atol=1e-5) and a.probabilities[:, 0].max() == 0   # never START
    assert np.allclose(a.attention.sum(1), 1, atol=1e-5)
    # a prediction attends only to the notes before it
    for i, row in enumerate(a.attention):
        assert not row[1 + a.n_seed + i:].any()


def test_measures_say_how_tame_a_melody_is():
    pitches = [START, "C4", "D4", "E4", "F#4", "G4", "rest"]
    probabilities = np.zeros((4, len(pitches)), np.float32)
    probabilities[:, 1] = 0.5
    probabilities[:, 4] = 0.2
    result = melody.Generated([("C4", "1"), ("E4", "1"), ("C4", "1"), ("F#4", "1"), ("C4", "1"), ("G4", "2")], 2,
                              probabilities, np.zeros((4, 7), np.float32), pitches)
    measures = melody.melody_measures(result)
    assert measures["mean_probability"] == pytest.approx((0.5 + 0.2 + 0.5 + 0) / 4)
    assert measures["distinct_pitches"] == 3 and measures["largest_leap"] == 7     # C4 F#4 C4 G4: F#4 -> C4 is 6
    assert measures["key"] == "C major" and measures["in_key"] == 0.75            # F#4 is not in C major


def test_a_cooler_temperature_gives_a_tamer_melody():
    model = load_checkpoint(MELODY).model
    opening = melody.chorale_opening(4)
    cold, hot = ([melody.melody_measures(melody.generate(model, opening, 32, t, seed=s)) for s in range(3)]
                 for t in (0.3, 1.8))
    assert min(m["mean_probability"] for m in cold) > max(m["mean_probability"] for m in hot)
    assert np.mean([m["distinct_pitches"] for m in cold]) < np.mean([m["distinct_pitches"] for m in hot])


def test_the_real_continuation_is_scored_like_the_held_out_figures(tiny_model):
    melodies = load_melodies()
    i = int(melodies.held_out().argmax())
    only = np.zeros(len(melodies), bool)
    only[i] = True
    windows = torch.from_numpy(melodies.windows(only, 0)[:, 0])
    scores = melody.evaluate(tiny_model, windows)
    whole = melody.real_continuation(tiny_model, i, 0, 10_000)
    assert len(whole.notes) == scores["notes"] and whole.named == round(scores["pitch_accuracy"] * scores["notes"])
    assert whole.notes == [(str(p), str(d)) for p, d in melodies.tokens(i)]
    later = melody.real_continuation(tiny_model, i, 3, 5)
    assert later.notes == whole.notes[3:8] and later.probabilities == pytest.approx(whole.probabilities[3:8], abs=1e-5)


def test_bad_seed_notes_and_settings_are_refused_with_a_message(tiny_model):
    assert melody.parse_notes("g4:1 bb4:0.5 REST:2 f#4", tiny_model) == [("G4", "1"), ("B-4", "0.5"),
                                                                         ("rest", "2"), ("F#4", "1")]
    for text, words in (("H4:1", "no pitch 'H4'"), ("G4:0.3", "no duration '0.3'"), ("START:1", "no pitch"),
                        ("G4:1 " * 65, "at most 64")):
        with pytest.raises(melody.MelodyError, match=words):
            melody.parse_notes(text, tiny_model)
    for kwargs in ({"temperature": -1}, {"temperature": 9}, {"n_notes": 0}, {"n_notes": 10_000}):
        with pytest.raises(melody.MelodyError):
            melody.generate(tiny_model, [("G4", "1")], **{"n_notes": 4, **kwargs})


def test_midi_musicxml_and_audio_keep_repeated_notes_apart():
    notes = [("G4", "1"), ("G4", "1"), ("rest", "1"), ("D5", "0.5"), ("C5", "1.5")]
    pm = pretty_midi.PrettyMIDI(io.BytesIO(melody.midi(notes, tempo=60)))
    played = [(n.pitch, round(n.start, 3), round(n.end, 3)) for n in pm.instruments[0].notes]
    assert played == [(67, 0.0, 1.0), (67, 1.0, 2.0), (74, 3.0, 3.5), (72, 3.5, 5.0)]
    from music21 import converter

    xml = melody.musicxml(notes)          # the C5 crosses the bar line: two tied notes there, one token back
    assert melody.stream_notes(converter.parse(xml, format="musicxml")) == notes
    wav = melody.audio(notes, tempo=120, renderer="synth")
    assert wav[:4] == b"RIFF" and len(wav) > 22_050 * 2 * 2.5    # 2.5 s of notes at 120 bpm, plus the tail


def test_ngram_baselines_are_scored_on_the_held_out_tunes():
    scores = melody.ngram_baselines()
    assert 0 < scores["unigram_pitch_accuracy"] < scores["bigram_pitch_accuracy"] < 1
    assert scores["bigram_pitch_perplexity"] < scores["unigram_pitch_perplexity"]


def test_the_cli_trains_resumes_and_scores_a_melody_model(tmp_path):
    from train.__main__ import main as train_main

    out = tmp_path / "melody"
    args = ["melody", "--hidden", "16", "--epochs", "1", "--batch-size", "32", "--limit", "96", "--transpose", "2",
            "--quiet", "--out", str(out)]
    assert train_main(args) == 0
    ckpt = load_checkpoint(f"{out}.safetensors")
    assert ckpt.kind == "melody" and ckpt.dataset == "chorales" and ckpt.epochs == 1
    assert {"held_out_pitch_accuracy", "bigram_pitch_accuracy", "held_out_pitch_perplexity"} <= set(ckpt.metrics)
    assert ckpt.config["pitches"][0] == START
    again = train(TrainConfig("melody", TINY, dataset="chorales", epochs=2, batch_size=32, limit=96, transpose=2),
                  out=tmp_path / "again", resume=f"{out}.safetensors")
    assert again.history["epochs"] == 2
    with pytest.raises(ValueError, match="0..3"):
        train(TrainConfig("melody", TINY, dataset="chorales", epochs=1, limit=32, transpose=5))


@pytest.fixture
def melody_folder(tmp_path, monkeypatch):
    folder = tmp_path / "models"
    folder.mkdir()
    shutil.copyfile(MELODY, folder / MELODY.name)
    monkeypatch.setenv("GENLAB_CHECKPOINTS", str(folder))
    return folder


def _chart(at, key: str) -> dict:
    return json.loads(next(c for c in at.get("plotly_chart") if key in c.proto.id).proto.spec)


def _array(value) -> np.ndarray:
    """A plotly figure's array: a list, or plotly's typed-array form {"dtype", "bdata", "shape"}."""
    if isinstance(value, dict) and "bdata" in value:
        shape = [int(n) for n in str(value.get("shape", "-1")).split(",")]
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"]).reshape(shape).astype(float)
    return np.array(value, dtype=float)


def test_the_page_writes_on_from_a_held_out_opening_with_both_heatmaps(melody_folder):
    at = open_app("pages/melody.py")
    assert at.title[0].value == "Melody" and not at.error
    assert "(held out)" in at.selectbox(key="melody.chorale").format_func(at.selectbox(key="melody.chorale").value)
    probabilities = _chart(at, "melody.probabilities")["data"][0]
    attention = _chart(at, "melody.attention")["data"][0]
    assert len(probabilities["x"]) == 32 and len(attention["y"]) == 32
    rows = _array(attention["z"])
    assert np.allclose(np.nansum(rows, 1), 1, atol=1e-3)
    assert len(at.get("audio")) == 2              # the melody, and Bach's own continuation of the same opening
    assert any("What Bach's tune does next" in e.label for e in at.expander)
    assert [b.label for b in at.get("download_button")] == ["Download MIDI (.mid)", "Download MusicXML"]
    assert any("bigram" in c.value for c in at.caption) and any("Tame or wild" in c.value for c in at.caption)
    # watch it write: at step 3 only three columns are filled
    at.slider(key="melody.step").set_value(3).run()
    z = _array(_chart(at, "melody.probabilities")["data"][0]["z"])
    assert not np.isnan(z[:, :3]).all() and np.isnan(z[:, 3:]).all()
    # the step stays where it was when the length changes; "every step" stays every step
    at.slider(key="melody.length_n").set_value(40).run()
    assert at.slider(key="melody.step").value == 3
    at.slider(key="melody.step").set_value(40).run()
    at.slider(key="melody.length_n").set_value(24).run()
    assert at.slider(key="melody.step").value == 24
    at.slider(key="melody.length_n").set_value(32).run()
    assert at.slider(key="melody.step").value == 32
    # Bach's notes are named as his in the continuation's legend
    assert {t["name"] for t in _chart(at, "melody.real_roll")["data"]} == {"opening", "Bach's notes"}
    # "Play the steps" starts from note 1 when at the end, and each timer tick reveals one more
    at.slider(key="melody.step").set_value(32).run()
    at.button(key="melody.play").click().run()
    assert at.session_state["melody.playing"] and at.slider(key="melody.step").value == 2
    assert at.button(key="melody.play").label == "Pause"
    at.button(key="melody.play").click().run()
    assert not at.session_state["melody.playing"] and at.button(key="melody.play").label == "Play the steps"


def test_the_keyboard_temperature_and_link_shape_the_melody(melody_folder):
    at = open_app("pages/melody.py")
    at.button(key="melody.clear").click().run()
    at.pills(key="melody.length").set_value("2").run()
    for key in ("G4", "B4", "D5"):
        at.pills(key="melody.key").set_value(key).run()
    assert at.text_input(key="melody.notes").value == "G4:2 B4:2 D5:2"
    at.slider(key="melody.temperature").set_value(0.0).run()
    cold = _chart(at, "melody.roll")
    at.number_input(key="melody.seed").set_value(7).run()
    assert _chart(at, "melody.roll") == cold                       # temperature 0: no chance involved
    link = dict(at.query_params)
    assert link["notes"] == "G4:2 B4:2 D5:2" and link["t"] == "0"
    # the link restores the view; a bad one gets messages and defaults
    again = open_app("pages/melody.py", **link)
    assert again.text_input(key="melody.notes").value == "G4:2 B4:2 D5:2"
    assert _chart(again, "melody.roll") == cold
    # the step-by-step view's step is in the link while it is part-way, and a link opens there
    again.slider(key="melody.step").set_value(4).run()
    assert again.query_params["step"] == "4"
    at_step = open_app("pages/melody.py", **dict(again.query_params))
    assert at_step.slider(key="melody.step").value == 4
    assert np.isnan(_array(_chart(at_step, "melody.probabilities")["data"][0]["z"])[:, 4:]).all()
    at_step.slider(key="melody.step").set_value(32).run()
    assert "step" not in at_step.query_params                     # every step shown: no step in the link
    assert open_app("pages/melody.py", step="99", n="16").slider(key="melody.step").value == 16
    # a chorale in the link: its opening, and Bach's continuation beside the model's
    chorale = open_app("pages/melody.py", chorale="bwv269", t="0.5")
    assert chorale.text_input(key="melody.notes").value == melody.format_notes(melody.chorale_opening(0))
    assert chorale.query_params["chorale"] == "bwv269" and any("Bach's tune" in e.label for e in chorale.expander)
    bad = open_app("pages/melody.py", notes="Q9:1", t="hot", n="500", chorale="bwv0")
    warnings = " ".join(w.value for w in bad.warning)
    assert "seed notes were refused" in warnings and "not a number" in warnings and "outside 8 to 64" in warnings
    assert "chorale 'bwv0' is not one of" in warnings
    assert bad.slider(key="melody.length_n").value == 64
    bad.text_input(key="melody.notes").set_value("G4:1 X").run()
    assert "refused" in bad.error[0].value
    assert any("No melody: the seed notes were refused" in w.value for w in bad.warning)   # where the melody was
    assert not bad.get("plotly_chart")


def test_home_and_model_card_show_the_melody_model(melody_folder):
    at = open_app("pages/home.py")
    assert any("Melody LSTM with attention" in m.value for m in at.markdown)
    assert any("bigram" in c.value for c in at.caption)
    card = open_app("pages/models.py", model=MELODY.name)
    captions = " ".join(c.value for c in card.caption)
    assert "windows of notes seen" in captions and "each window in one of 7 keys" in captions
    assert "melody_report.py" in captions and "genlab quality" not in captions
    assert _chart(card, "models.melody")["data"]                  # a melody after a held-out opening
    assert not card.get("download_button")                        # no sample PNG for a melody



def test_generated_notes_are_spelled_by_the_key():
    """Issue 32, 23: the corpus' transpositions give tokens such as F-5, C-5, B--4; the page spells them as the
    melody's key does."""
    e_minor, f_major = melody.key_speller(4, "minor"), melody.key_speller(5, "major")
    assert [e_minor(t) for t in ("F-5", "C-5", "B--4", "E#4", "D#5", "rest")] == ["E5", "B4", "A4", "F4", "D♯5", "rest"]
    assert [f_major(t) for t in ("A#4", "B-4", "G#4", "C4.E4.G4")] == ["B♭4", "B♭4", "A♭4", "C4.E4.G4"]
    assert melody.key_speller(6, "major")("F4") == "E♯4"                      # F sharp major spells its 7th E sharp
    assert melody.key_speller(0, "major")("B#3") == "C4"                       # the octave follows the letter
    for tonic in range(12):
        for mode in ("major", "minor"):
            letters = [letter for letter, _ in melody.key_spelling(tonic, mode).values()]
            assert len(melody.key_spelling(tonic, mode)) == 12 and set(letters) <= set("CDEFGAB")
