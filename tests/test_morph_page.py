"""AppTests of the Morph and Conditional GAN pages (the pad's state set through session_state)."""
import pytest
from streamlit.testing.v1 import AppTest

from . import conftest
from .conftest import SHIPPED, open_app


@pytest.fixture(autouse=True)
def shipped(monkeypatch, tmp_path_factory):
    monkeypatch.setenv("GENLAB_CHECKPOINTS", str(SHIPPED))
    monkeypatch.setenv("GENLAB_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "morph-map-cache"))


def open_page(page: str) -> AppTest:
    return open_app(page, timeout=120)


def strip_caption(at: AppTest) -> str:
    return next(i.proto.imgs[0].caption for i in at.get("image") if "steps from A" in (i.proto.imgs[0].caption or ""))


def test_morph_opens_with_the_thesis_line_across_the_2d_map():
    at = open_page("pages/morph.py")
    assert at.selectbox(key="morph.model").value == "gan_2d.safetensors"
    assert [at.number_input(key=k).value for k in ("morph.a0", "morph.a1", "morph.b0", "morph.b1")] == [-1, 0, 1, 0]
    caption = strip_caption(at)
    assert caption.startswith("16 steps") and len(set(caption.split(": ")[1].split())) >= 3
    labels = [b.label for b in at.get("download_button")]
    assert "Download the morph as an animated GIF" in labels and "Download the strip (PNG)" in labels
    assert len(at.get("plotly_chart")) == 1          # the class chart (no cube for a 2D space)


def test_a_morph_step_is_checked_against_the_training_digits(monkeypatch):
    monkeypatch.delenv("GENLAB_DATA_DIR", raising=False)          # the embedded digits, as on a fresh machine
    at = open_page("pages/morph.py")
    at.toggle(key="morph-nearest").set_value(True).run()
    assert not at.exception, at.exception
    assert any("the nearest of the 4,000 training digits" in s.value for s in [*at.success, *at.warning])


def test_moving_b_on_the_pad_and_the_step_count_change_the_strip():
    at = open_page("pages/morph.py")
    first = strip_caption(at)
    at.session_state["morph.pad"] = {"point": {"x": 0.8, "y": -0.8, "index": 1, "seq": 1, "dragging": True}}
    at.run()
    assert at.number_input(key="morph.b1").value == pytest.approx(-0.8)
    assert at.number_input(key="morph.a0").value == -1               # A did not move
    assert strip_caption(at) != first
    at.number_input(key="morph.steps").set_value(8).run()
    assert strip_caption(at).startswith("8 steps")
    at.radio(key="morph.method").set_value("spherical").run()
    assert not at.exception and "spherical" in strip_caption(at)


def test_morph_of_a_3d_gan_draws_the_path_through_the_cube_and_can_hide_other_regions():
    at = open_page("pages/morph.py")
    at.selectbox(key="morph.model").set_value("gan_3d.safetensors").run()
    assert not at.exception
    assert len(at.get("plotly_chart")) == 2          # the class chart and the cube
    traces = lambda: [t["name"] for t in __import__("json").loads(at.get("plotly_chart")[1].proto.spec)["data"]]
    everything = traces()
    at.toggle(key="morph.only").set_value(True).run()
    assert "morph path" in traces() and len(traces()) < len(everything)


def test_morph_between_two_encoded_test_digits():
    at = open_page("pages/morph.py")
    at.selectbox(key="morph.model").set_value("vae_2d.safetensors").run()
    at.number_input(key="morph.ia").set_value(3).run()
    at.button(key="morph.encode").click().run()
    assert not at.exception
    a = [at.number_input(key=k).value for k in ("morph.a0", "morph.a1")]
    assert a != [at.number_input(key="morph.a0").min / 2, 0.0]
    assert strip_caption(at).startswith("16 steps")


def test_conditional_gan_page_changes_number_and_map():
    at = open_page("pages/cgan.py")
    assert at.selectbox(key="cgan.model").value == "cgan_3d.safetensors"
    at.selectbox(key="cgan.label").set_value(8).run()
    assert conftest.image_class(at) == "8"
    at.selectbox(key="cgan.label").set_value(3).run()
    assert conftest.image_class(at) == "3"
    assert any("One point, every class" == h.value for h in at.subheader)
    assert any("recognises" in m.value and "of 10" in m.value for m in at.markdown)
    at.selectbox(key="cgan.map_label").set_value(4).run()
    assert any(h.value == "The class-area cube of class 4" for h in at.subheader)
    table = at.dataframe[0].value
    assert list(table["class asked for"]) == [str(c) for c in range(10)]


def test_a_label_for_a_model_without_labels_says_so():
    """Issue 32.18: not "'5' is not one of ; using the default"."""
    at = open_app("pages/morph.py", model="gan_2d.safetensors", label="5")
    assert not at.exception, at.exception
    warnings = " ".join(w.value for w in at.warning)
    assert "label '5' does not apply to this model (it has no label)" in warnings
    assert "is not one of ;" not in warnings
