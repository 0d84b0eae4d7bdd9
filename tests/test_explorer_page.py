"""AppTests of the Latent Explorer: links, the pad's state, typed coordinates, 3D/4D views, bad input.

The pad's JavaScript does not run here; its state is set through session_state, as the browser
would set it (tests/e2e drags it for real)."""
import shutil

import pytest
import torch
from streamlit.testing.v1 import AppTest

from genlab.checkpoints import save_checkpoint
from genlab.models import build_model

from . import conftest
from .conftest import SHIPPED, open_app


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("map-cache")


@pytest.fixture
def shipped(monkeypatch, cache_dir):
    monkeypatch.setenv("GENLAB_CHECKPOINTS", str(SHIPPED))
    monkeypatch.setenv("GENLAB_CACHE_DIR", str(cache_dir))


def open_explorer(**query) -> AppTest:
    return open_app("pages/explorer.py", timeout=120, **query)


def image_class(at: AppTest) -> str:
    return conftest.image_class(at)


def generated_image(at: AppTest) -> str:
    """The data URI of the generated image (shown inline, as HTML)."""
    return next(h.proto.body for h in at.get("html") if "data:image/png" in h.proto.body).split('"')[1]


def coordinates(at: AppTest) -> list[float]:
    return [at.number_input(key=f"explorer.z{i}").value for i in range(2)]


def test_a_link_opens_the_view_it_names(shipped):
    at = open_explorer(model="gan_2d.safetensors", z="0.8,-0.6")
    assert at.selectbox(key="explorer.model").value == "gan_2d.safetensors"
    assert coordinates(at) == pytest.approx([0.8, -0.6])
    assert image_class(at) == "0"
    assert at.query_params["z"] == "0.800,-0.600"
    assert not at.warning


def test_the_nearest_training_digits_say_whether_the_image_is_a_copy(shipped, monkeypatch):
    monkeypatch.delenv("GENLAB_DATA_DIR", raising=False)          # the embedded digits, as on a fresh machine
    at = open_explorer(model="gan_2d.safetensors", z="0.8,-0.6")
    at.toggle(key="explorer-nearest").set_value(True).run()
    assert not at.exception, at.exception
    verdict = " ".join(s.value for s in at.success)
    assert "Not a copy" in verdict and "4,000 training digits (mnist5k)" in verdict
    assert [m.value for m in at.markdown if m.value.startswith("**Nearest in")] == [
        "**Nearest in pixels**", "**Nearest in the classifier's features**"]


def test_units_switched_off_from_a_link_show_both_images_rank_and_reset(shipped):
    at = open_explorer(model="gan_2d.safetensors", z="-0.84,0.54", off="generator.layers.act2|0,1,2")
    assert not at.exception, at.exception
    assert at.toggle(key="explorer-dissect").value
    html = " ".join(h.proto.body for h in at.get("html"))
    assert "Every unit on" in html and "act2: 3 channel(s) off" in html
    assert at.query_params["off"] == "generator.layers.act2|0,1,2"
    at.button(key="explorer-rank").click().run()
    assert not at.exception, at.exception
    assert any("take the 7 away fastest" in m.value for m in at.markdown)
    at.button(key="explorer-top-off").click().run()
    off = at.query_params["off"]
    assert off.startswith("generator.layers.act2|") and len(off.split("|")[1].split(",")) > 3
    at.button(key="explorer-reset").click().run()
    assert "Every unit on" not in " ".join(h.proto.body for h in at.get("html")) and "off" not in at.query_params
    at.toggle(key="explorer-dissect").set_value(False).run()
    assert not at.exception


def test_ranked_units_switched_off_do_what_the_table_says(shipped):
    """Issue 32.8: the ranking's last row is the class' probability with all of them off, and switching them off
    gives exactly that image (a student sees the digit change)."""
    at = open_explorer(model="gan_2d.safetensors", z="-0.84,0.54", off="generator.layers.act2|0")
    at.button(key="explorer-reset").click().run()
    at.toggle(key="explorer-dissect").set_value(True).run()
    at.button(key="explorer-rank").click().run()
    assert not at.exception, at.exception
    table = at.table[0].value
    column = next(c for c in table.columns if c.startswith("p(7)"))
    shown = [float(v) for v in table[column]]
    classes = list(table["class then seen"])
    assert shown == sorted(shown, reverse=True) and classes[-1] != "7"   # the 7 fades until it is another digit
    at.button(key="explorer-top-off").click().run()
    html = " ".join(h.proto.body for h in at.get("html"))
    assert f"7 now {shown[-1]:.2f}" in html or f"class 7 ({shown[-1]:.2f})" in html, html[-400:]


@pytest.mark.parametrize("off, words", [("nonsense|1", "units to switch off were not used: this model has no layer"),
                                        ("generator.layers.act2|box:1,1,0,0", "top < bottom"),
                                        ("generator.layers.act2|999", "were dropped: layer generator.layers.act2 has 64")])
def test_bad_units_in_a_link_get_a_message_and_a_usable_page(shipped, off, words):
    at = open_explorer(model="gan_2d.safetensors", z="0,0", off=off)
    assert not at.exception, at.exception
    assert any(words in w.value for w in at.warning), [w.value for w in at.warning]
    assert image_class(at)


def test_dragging_the_pad_moves_the_point_and_a_release_updates_the_link(shipped):
    at = open_explorer(model="gan_2d.safetensors")
    before_class, before_image = image_class(at), generated_image(at)
    at.session_state["explorer.pad"] = {"point": {"x": 0.8, "y": -0.6, "seq": 1, "dragging": True}}
    at.run()
    assert coordinates(at) == pytest.approx([0.8, -0.6])
    assert image_class(at) != before_class
    assert generated_image(at) != before_image
    at.session_state["explorer.pad"] = {"point": {"x": 0.5, "y": 0.9, "seq": 2, "dragging": False}}
    at.run()
    assert at.query_params["z"] == "0.500,0.900"
    # An old move arriving late (a lower seq) is ignored.
    at.session_state["explorer.pad"] = {"point": {"x": -1, "y": -1, "seq": 1, "dragging": False}}
    at.run()
    assert coordinates(at) == pytest.approx([0.5, 0.9])


def test_a_pad_move_with_the_last_runs_coordinates_is_a_move_not_a_typed_point(monkeypatch):
    """The browser sends every widget's value with a pad move; under load those are still the coordinates of
    an earlier run. Taking them as typed moved the point back and reran the whole page for every move
    (bench/load.py: 446 of 516 moves), so a typed change that comes with a pending pad move is ignored."""
    from types import SimpleNamespace

    from genlab.ui import point_explorer as px

    state = {"e.point": [0.4, 0.4], "e.seq": 1, "e.z0": 0.0, "e.pad": {"point": {"x": 0.8, "y": -0.6, "seq": 2}}}
    monkeypatch.setattr(px, "ss", state)
    space = SimpleNamespace(key=lambda name: "e." + name)
    px._typed(space, 0)()                                  # the echo, with move 2 not yet taken in: ignored
    assert state["e.point"] == [0.4, 0.4] and "e.commit" not in state
    state["e.seq"] = 2                                     # move 2 taken in; now the user types
    px._typed(space, 0)()
    assert state["e.point"] == [0.0, 0.4] and state["e.commit"] is True


def test_typed_coordinates_move_the_point(shipped):
    at = open_explorer(model="gan_2d.safetensors", z="-0.84,0.54")
    first = image_class(at)
    at.number_input(key="explorer.z0").set_value(0.8).run()
    at.number_input(key="explorer.z1").set_value(-0.6).run()
    assert not at.exception
    assert image_class(at) == "0" != first
    assert at.query_params["z"] == "0.800,-0.600"


@pytest.mark.parametrize("query, warning", [
    ({"model": "gan_2d.safetensors", "z": "7,-9"}, "moved to (1, -1)"),
    ({"model": "gan_2d.safetensors", "z": "zero,1"}, "not a number"),
    ({"model": "gan_2d.safetensors", "z": "0.1,0.2,0.3"}, "2 coordinates"),
    ({"model": "../../etc/passwd", "z": "0,0"}, "not in the models folder"),
])
def test_bad_links_give_a_message_and_a_usable_page(shipped, query, warning):
    at = open_explorer(**query)
    assert any(warning in w.value for w in at.warning), [w.value for w in at.warning]
    assert image_class(at) in "0123456789"
    lo, hi = -1.0, 1.0
    assert all(lo <= v <= hi for v in coordinates(at))


def test_3d_model_shows_the_slice_the_cube_and_its_slices(shipped):
    at = open_explorer(model="gan_3d.safetensors", z="0.1,0.2,-0.3", axis="z1")
    assert at.radio(key="explorer.axis").value == 0
    assert [at.number_input(key=f"explorer.z{i}").value for i in range(3)] == pytest.approx([0.1, 0.2, -0.3])
    assert len(at.get("plotly_chart")) == 1  # the cube (the live bars are light HTML)
    assert any("16 slices across z1" in (i.proto.imgs[0].caption or "") for i in at.get("image"))
    at.radio(key="explorer.axis").set_value(2).run()
    assert not at.exception and at.query_params["axis"] == "z3"


def test_4d_model_has_a_slider_for_the_4th_coordinate(shipped):
    at = open_explorer(model="gan_4d.safetensors", z="0,0,0,0.5")
    assert at.slider(key="explorer.w").value == pytest.approx(0.5)
    at.slider(key="explorer.w").set_value(-1.0).run()
    assert not at.exception
    assert at.query_params["z"] == "0.000,0.000,0.000,-1.000"
    assert any("z4 = -1.00" in str(c.proto.spec) for c in at.get("plotly_chart"))


def test_vae_pad_covers_its_encoded_range(shipped):
    at = open_explorer(model="vae_2d.safetensors", z="0,0")
    inputs = at.number_input(key="explorer.z0")
    assert inputs.min < -1.5 and inputs.max > 1.5  # the encoded digits' box, not the GAN cube
    assert image_class(at) in "0123456789"


def test_a_checkpoint_that_fails_to_load_says_why(tmp_path, monkeypatch, cache_dir):
    folder = tmp_path / "models"
    folder.mkdir()
    broken = build_model("gan", {"latent_dim": 2})
    with torch.no_grad():
        broken.generator.layers.dense.weight[0, 0] = float("nan")
    save_checkpoint(folder / "nan_gan", broken, "mnist5k")
    shutil.copy(SHIPPED / "classifier_strong.safetensors", folder)
    monkeypatch.setenv("GENLAB_CHECKPOINTS", str(folder))
    monkeypatch.setenv("GENLAB_CACHE_DIR", str(cache_dir))
    at = open_explorer()
    assert any("cannot be loaded" in e.value and "NaN" in e.value for e in at.error)


def test_no_models_says_how_to_train_one(tmp_path, monkeypatch):
    monkeypatch.setenv("GENLAB_CHECKPOINTS", str(tmp_path))
    at = open_explorer()
    assert any("python -m train gan" in i.value for i in at.info)


def test_activation_functions_side_by_side(tmp_path, monkeypatch, cache_dir):
    """Two GANs that differ only in their activation (as the Train page's experiment publishes them) are one set:
    the same point through both, and the experiment's table."""
    folder = tmp_path / "models"
    folder.mkdir()
    for name in ("gan_2d.safetensors", "classifier_strong.safetensors"):
        shutil.copy(SHIPPED / name, folder / name)
    for activation in ("relu", "elu"):
        torch.manual_seed(0)
        gan = build_model("gan", {"latent_dim": 2, "activation": activation})
        history = {"epochs": 2, "losses": {}, "seconds": [3.0, 3.0],
                   "monitor": {"score_epochs": [1, 2], "weak_top_probability": [0.5, 0.6]}}
        save_checkpoint(folder / f"exp_{activation}", gan, "mnist5k", history, {"fid": 300.0, "classes_covered": 9})
    monkeypatch.setenv("GENLAB_CHECKPOINTS", str(folder))
    monkeypatch.setenv("GENLAB_CACHE_DIR", str(cache_dir))
    monkeypatch.setenv("GENLAB_RUNS", str(tmp_path / "runs"))
    at = open_explorer(model="gan_2d.safetensors", z="0.5,-0.5")
    at.toggle(key="explorer-activations").set_value(True).run()
    assert not at.exception, at.exception
    assert at.selectbox(key="explorer-activation-set").value == "GAN, 2D latent, plain BCE, mnist5k, 2 epochs: ReLU, ELU"
    text = " ".join(m.value for m in at.markdown)
    assert "**ReLU**" in text and "**ELU**" in text and "`exp_relu.safetensors`" in text
    assert "(0.50, -0.50) through each model" in " ".join(c.value for c in at.caption)
    table = at.table[-1].value
    assert list(table["activation"]) == ["ReLU", "ELU"] and list(table["FID (strong classifier)"]) == ["300", "300"]
    assert len(at.get("plotly_chart")) >= 1


def test_the_explorer_switches_to_the_thesis_plain_bce_gan(shipped):
    """Issue 27.2: the plain-BCE 2D GAN is a choice beside the regularised one, and the page says where the
    thesis' examples hold for it."""
    at = open_explorer(model="gan_2d_bce.safetensors", z="0,0")
    assert not at.exception, at.exception
    assert at.selectbox(key="explorer.model").value == "gan_2d_bce.safetensors"
    options = at.selectbox(key="explorer.model").options
    assert "gan_2d_bce — GAN, 2D latent, plain BCE" in options
    assert "gan_2d — GAN, 2D latent, regularised" in options
    text = " ".join(m.value for part in (at.markdown, at.caption, at.info) for m in part)
    assert "thesis" in text and "(0, 0)" in text
