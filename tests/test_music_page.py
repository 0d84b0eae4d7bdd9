"""AppTests of the Music page on the shipped MuseGAN: it plays, its controls change only their voices."""
import json
import shutil

import pytest
from streamlit.testing.v1 import AppTest

from .conftest import ROOT, SHIPPED, open_app

MUSEGAN = SHIPPED / "musegan_chorales.safetensors"


@pytest.fixture
def music_folder(tmp_path, monkeypatch):
    folder = tmp_path / "models"
    folder.mkdir()
    shutil.copyfile(MUSEGAN, folder / MUSEGAN.name)   # a copy: links out of a models folder are refused
    monkeypatch.setenv("GENLAB_CHECKPOINTS", str(folder))
    return folder


def _music_page() -> AppTest:
    return open_app("pages/music.py")


def _voices(at: AppTest) -> dict:
    """{voice name: its notes as drawn} from the main piano roll."""
    chart = next(c for c in at.get("plotly_chart") if "music.roll" in c.proto.id)
    spec = json.loads(chart.proto.spec)
    return {trace["name"]: (trace["x"], trace["y"]) for trace in spec["data"]}


def test_the_page_plays_a_phrase_and_its_nearest_chorale(music_folder):
    at = _music_page()
    assert at.title[0].value == "Music"
    assert len(at.get("audio")) == 2                       # the phrase and the nearest real chorale
    assert set(_voices(at)) == {"Soprano", "Alto", "Tenor", "Bass"}
    inputs = ["chords", "style"] + [f"{kind} {t}" for kind in ("melody", "groove") for t in range(4)]
    assert all(f"music.{name}.x" in at.session_state for name in inputs)   # a pad for each of the 10 inputs
    assert any("Nearest real chorale" in m.value for m in at.markdown)
    assert [b.label for b in at.get("download_button")] == ["Download MIDI (.mid)", "Download MusicXML"]
    # issue 32, 15: the model's keys and the key a phrase's notes suggest are told apart, not contradicted
    captions = [c.value for c in at.caption]
    assert not any("writes in those keys" in c for c in captions)
    assert any(c.startswith("Its notes suggest ") and (" minor" in c or " major" in c) for c in captions)


def test_moving_the_sopranos_melody_changes_only_the_soprano(music_folder):
    voice = 0
    at = _music_page()
    before = _voices(at)
    at.session_state[f"music.melody {voice}.pad"] = {"point": {"x": 2.5, "y": -2.5, "index": 0, "seq": 1,
                                                                "dragging": False}}      # as the pad sends a drag
    at.run()
    after = _voices(at)
    changed = {name for name in before if before[name] != after[name]}
    assert changed == {("Soprano", "Alto", "Tenor", "Bass")[voice]}


def test_while_a_pad_is_dragged_the_roll_follows_and_the_sound_waits_for_the_release(music_folder):
    at = _music_page()
    sound = lambda: at.get("audio")[0].proto.url                      # noqa: E731  (the WAV's media file)
    before, first = _voices(at), sound()
    at.session_state["music.melody 0.pad"] = {"point": {"x": 2.5, "y": -2.5, "index": 0, "seq": 1, "dragging": True}}
    at.run()
    assert _voices(at) != before and sound() == first                 # the roll moved; the player kept its sound
    at.session_state["music.melody 0.pad"] = {"point": {"x": 2.5, "y": -2.5, "index": 0, "seq": 2,
                                                        "dragging": False}}                        # the release
    at.run()
    assert sound() != first and not at.exception


def test_resampling_the_chords_changes_the_harmony_and_the_morph_plays(music_folder):
    at = _music_page()
    before = _voices(at)
    at.button(key="music.chords.resample").click().run()
    assert not at.exception
    assert _voices(at) != before
    at.toggle(key="music.morph").set_value(True).run()
    assert not at.exception
    assert len(at.get("audio")) == 3


def test_transpose_moves_every_voice_and_the_nearest_chorale_stays(music_folder):
    at = _music_page()
    before, nearest = _voices(at), [m.value for m in at.markdown if "Nearest real chorale" in m.value]
    at.slider(key="music.transpose").set_value(-3).run()
    assert not at.exception
    after = _voices(at)
    for voice, (x, y) in before.items():
        moved = [b - a for a, b in zip(y, after[voice][1]) if a is not None]     # None: gaps between notes
        assert after[voice][0] == x and moved and set(moved) == {-3}
    assert [m.value for m in at.markdown if "Nearest real chorale" in m.value] == nearest


def test_the_books_plain_argmax_is_one_switch_away(music_folder):
    at = _music_page()
    held = _voices(at)
    at.toggle(key="music.hold").set_value(False).run()
    assert not at.exception
    plain = _voices(at)
    notes = lambda voices: sum(ys.count(None) for _, ys in voices.values())   # noqa: E731  (a None ends a note)
    assert plain != held and notes(plain) > notes(held)     # more, shorter notes: the stray ones


def test_without_a_musegan_the_page_says_how_to_train_one(tmp_path, monkeypatch):
    monkeypatch.setenv("GENLAB_CHECKPOINTS", str(tmp_path))
    at = _music_page()
    assert any("python -m train" in i.value for i in at.info)


def test_home_and_model_card_show_the_musegan_as_piano_rolls(music_folder):
    at = AppTest.from_file(str(ROOT / "main.py"), default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    assert any("MuseGAN, 4 voices x 2 bars" in m.value for m in at.markdown)
    assert len(at.get("image")) == 1                       # three random phrases as one piano roll
    at.switch_page("pages/models.py").run()
    assert not at.exception, at.exception
    assert "6,576,612" in " ".join(str(t.value) for t in at.table)   # the generator's trainable parameters
    first = at.get("image")[0].value
    at.number_input(key="models.seed").set_value(3).run()
    assert at.get("image")[0].value != first
