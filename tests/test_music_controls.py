"""Latent controls of the MuseGAN: deterministic, orthonormal main directions, one voice per melody, morphs."""
from dataclasses import replace

import numpy as np
import pytest
import torch

from genlab.models import build_model
from genlab.music import controls as C
from genlab.music import studio
from genlab.music.plots import piano_roll_figure, piano_roll_image


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    return build_model("musegan", {"hidden": 32}).eval()


@pytest.fixture(scope="module")
def directions(tiny):
    return C.main_directions(tiny)


def test_every_input_has_two_orthonormal_main_directions(tiny, directions):
    assert list(directions) == C.control_names(tiny) and len(directions) == 10
    for d in directions.values():
        assert d.shape == (2, 32)
        assert np.allclose(d @ d.T, np.eye(2), atol=1e-5)
    assert C.control_title("melody 0") == "Soprano melody" and C.control_title("groove 3") == "Bass groove"


def test_the_same_controls_give_the_same_phrase(tiny, directions):
    controls = C.default_controls(tiny)
    a = C.generate_pitches(tiny, C.compose_z(tiny, controls, directions))
    b = C.generate_pitches(tiny, C.compose_z(tiny, dict(controls), directions))
    assert a.shape == (1, 2, 16, 4) and np.array_equal(a, b)


@pytest.mark.parametrize("track", range(4))
def test_resampling_or_moving_one_tracks_melody_changes_only_that_track(tiny, directions, track):
    controls = C.default_controls(tiny)
    base = C.generate_pitches(tiny, C.compose_z(tiny, controls, directions))[0]
    name = f"melody {track}"
    for change in (dict(seed=controls[name].seed + 1), dict(x=2.5, y=-2.0)):
        other = {**controls, name: replace(controls[name], **change)}
        moved = C.generate_pitches(tiny, C.compose_z(tiny, other, directions))[0]
        changed = {t for t in range(4) if not np.array_equal(base[..., t], moved[..., t])}
        assert changed <= {track}
    z_changed = C.compose_z(tiny, other, directions) - C.compose_z(tiny, controls, directions)
    assert set(torch.nonzero(z_changed[0]).flatten().tolist()) <= set(range(64 + 32 * track, 96 + 32 * track))


def test_compose_and_morph_render_audio(tiny, directions):
    a, b = C.default_controls(tiny, 0), C.default_controls(tiny, 1)
    phrase = studio.compose(tiny, a, directions, 90, ("Choir",) * 4, renderer="synth")
    assert phrase.pitches.shape == (2, 16, 4) and phrase.wav[:4] == b"RIFF"
    morph = studio.morph(tiny, a, b, directions, 3, 90, ("Piano",) * 4, renderer="synth")
    assert morph.pitches.shape == (6, 16, 4)
    assert np.array_equal(morph.pitches[:2], phrase.pitches)   # the morph starts at A
    with pytest.raises(ValueError, match="steps"):
        C.morph_path(torch.zeros(320), torch.ones(320), 1)


def test_transpose_moves_every_voice_and_keeps_the_length(tiny, directions):
    a, b = C.default_controls(tiny, 0), C.default_controls(tiny, 1)
    plain = studio.compose(tiny, a, directions, 90, ("Choir",) * 4, renderer="synth")
    up = studio.compose(tiny, a, directions, 90, ("Choir",) * 4, renderer="synth", transpose=3)
    assert np.array_equal(up.pitches, plain.pitches + 3) and len(up.wav) == len(plain.wav) and up.wav != plain.wav
    down = studio.morph(tiny, a, b, directions, 2, 90, ("Piano",) * 4, renderer="synth", transpose=-5)
    assert np.array_equal(down.pitches[:2], plain.pitches - 5)


def test_nearest_chorale_and_pictures(tiny, directions):
    phrase = C.generate_pitches(tiny, C.compose_z(tiny, C.default_controls(tiny), directions))[0]
    nearest = studio.nearest_chorale(phrase)
    assert nearest.label.startswith("bwv") and nearest.pitches.shape == (2, 16, 4) and 0 <= nearest.mismatch <= 1
    fig = piano_roll_figure(phrase)
    assert [t.name for t in fig.data] == ["Soprano", "Alto", "Tenor", "Bass"]
    image = piano_roll_image(np.stack([phrase, nearest.pitches]))
    assert image.size[0] == 4 * 16 * 4


def test_the_nearest_chorale_of_a_same_key_model_is_found_among_the_moved_chorales():
    from genlab.data.chorales import load_chorales

    chorales = load_chorales()
    start = chorales.phrase_starts(2)[100]
    moved = chorales.phrases(2, same_key=True)[100]
    nearest = studio.nearest_chorale(moved, same_key=True)
    assert nearest.mismatch == 0 and np.array_equal(nearest.pitches, moved)
    target = "C major" if chorales.keys[chorales.chorale[start]][1] == "major" else "A minor"
    assert nearest.label == f"{chorales.label(start)} ({chorales.key_name(start)}, here in {target})"
    if chorales.same_key_shifts()[start]:            # in its own key it is not an exact match
        assert studio.nearest_chorale(moved).mismatch > 0
