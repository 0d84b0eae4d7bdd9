"""AppTests of the VAE Lab (and of applying a saved vector on the Morph page).

The canvas's and the pad's JavaScript do not run here; their state is set through session_state, as the
browser would set it (tests/e2e draws on the canvas for real)."""
import base64
import io
import json
import re

import pytest
from PIL import Image, ImageDraw
from streamlit.testing.v1 import AppTest

from genlab.latent.attributes import AttributeVector

from . import conftest
from .conftest import ROOT, SHIPPED


@pytest.fixture(autouse=True)
def shipped(monkeypatch, tmp_path_factory):
    monkeypatch.setenv("GENLAB_CHECKPOINTS", str(SHIPPED))
    monkeypatch.setenv("GENLAB_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "vae-map-cache"))


def open_lab(tab: str | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "main.py"), default_timeout=180)
    at.run()
    at.switch_page("pages/vae_lab.py").run()
    if tab:
        at.session_state["vae.tab"] = tab
        at.run()
    assert not at.exception, at.exception
    return at


def drawing(points, width: int = 18, background="black") -> str:
    """A canvas picture as the browser sends it: a PNG data URL of white strokes on black."""
    image = Image.new("RGB", (280, 280), background)
    if points:
        ImageDraw.Draw(image).line(points, fill="white", width=width, joint="curve")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


ONE = [(140, 40), (140, 240)]                                   # a "1": one vertical stroke


def draw(at: AppTest, png: str | None, seq: int) -> AppTest:
    at.session_state["vae.canvas"] = {"drawing": {"png": png, "seq": seq}}
    return at.run()


def shown_image(at: AppTest, alt: str) -> str | None:
    """The data URI of the inline image whose alt text starts with `alt` (None when not shown)."""
    for h in at.get("html"):
        if f'alt="{alt}' in h.proto.body:
            return h.proto.body.split('src="')[1].split('"')[0]
    return None


def image_class(at: AppTest) -> str:
    return conftest.image_class(at)


def test_a_drawn_stroke_lands_on_the_map_with_its_reconstruction():
    at = open_lab()
    assert at.selectbox(key="vae.model").value == "vae_16.safetensors"
    assert any("Draw a digit on the black square" in i.value for i in at.info)
    assert shown_image(at, "generated image") is None
    draw(at, drawing(ONE), 1)
    assert not at.exception
    assert len(at.session_state["vae.point"]) == 16
    assert shown_image(at, "generated image") is not None
    assert image_class(at) == "1"
    assert any("your drawing, as MNIST" in (i.proto.imgs[0].caption or "") for i in at.get("image"))
    scatter = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert "your digit" in [t.get("name") for t in scatter["data"]]


def test_dragging_the_point_changes_the_decoded_image_and_an_old_move_is_ignored():
    at = open_lab()
    at.selectbox(key="vae.model").set_value("vae_2d.safetensors").run()
    draw(at, drawing(ONE), 1)
    before = shown_image(at, "generated image")
    at.session_state["vae.pad"] = {"point": {"x": -2.0, "y": -1.0, "seq": 5, "dragging": False}}
    at.run()
    assert at.session_state["vae.point"] == pytest.approx([-2.0, -1.0])
    assert shown_image(at, "generated image") != before
    assert image_class(at) == "0"                                  # the 0s sit at the left of the 2D VAE's map
    at.session_state["vae.pad"] = {"point": {"x": 1.0, "y": 1.0, "seq": 4, "dragging": False}}
    at.run()
    assert at.session_state["vae.point"] == pytest.approx([-2.0, -1.0])


def test_an_empty_canvas_gives_a_message_not_an_error():
    at = draw(open_lab(), drawing(ONE), 1)
    draw(at, None, 2)                                              # the Clear button
    assert not at.exception
    assert any("canvas is empty" in w.value for w in at.warning)
    assert shown_image(at, "generated image") is None
    draw(at, drawing([]), 3)                                       # a stroke-less picture
    assert any("no digit to read" in w.value for w in at.warning)


def test_uploads_are_checked_and_a_good_one_is_encoded():
    at = open_lab()
    at.file_uploader(key="vae.upload").set_value(("digit.png", b"this is not an image", "image/png")).run()
    assert not at.exception
    assert any("digit.png was refused" in w.value and "not a PNG or JPEG" in w.value for w in at.warning)
    photo = io.BytesIO()
    image = Image.new("L", (300, 400), 255)                        # dark ink on white paper, like a photo
    ImageDraw.Draw(image).line([(150, 50), (150, 350)], fill=0, width=30)
    image.save(photo, format="JPEG")
    at.file_uploader(key="vae.upload").set_value(("one.jpg", photo.getvalue(), "image/jpeg")).run()
    assert any("your upload one.jpg" in (i.proto.imgs[0].caption or "") for i in at.get("image"))
    assert image_class(at) == "1"


def measured_table(at: AppTest) -> dict[str, tuple[float, float]]:
    """The attribute table of the sliders' result: name -> (start, now)."""
    body = next(h.proto.body for h in at.get("html") if "<th>start</th>" in h.proto.body)
    rows = re.findall(r"<tr><td>(\w+)</td><td>([-\d.]+)</td><td><b>([-\d.]+)</b>", body)
    return {name: (float(a), float(b)) for name, a, b in rows}


def test_attribute_sliders_make_the_digit_more_slanted_and_a_class_vector_can_be_made():
    at = open_lab("Attribute vectors")
    assert any("Starting from" in m.value and "test digit" in m.value for m in at.markdown)
    assert [s.label for s in at.slider] == ["thickness", "slant", "width", "height"]
    at.slider(key="vae.alpha.slant").set_value(2.5).run()
    start, now = measured_table(at)["slant"]
    assert now > start + 5
    at.button(key="vae.make_class").click().run()                 # "4 to 9", the defaults
    assert not at.exception
    assert at.slider(key="vae.alpha.4 to 9") is not None
    assert at.selectbox(key="vae.along").value == "4 to 9"
    assert at.selectbox(key="vae.measure.4 to 9").value == "class probabilities"
    assert "Save this vector (JSON)" in [b.label for b in at.get("download_button")]


def test_a_vector_from_picked_examples_and_a_loaded_one_get_sliders():
    at = open_lab("Attribute vectors")
    at.multiselect(key="vae.with").set_value([1, 5]).run()
    at.multiselect(key="vae.without").set_value([0, 2]).run()
    at.text_input(key="vae.name").set_value("my pick").run()
    at.button(key="vae.make_examples").click().run()
    assert not at.exception
    assert any("my pick" in s.value for s in at.success)
    assert at.slider(key="vae.alpha.my pick").value == 0
    saved = AttributeVector("closed top", "examples", [0.1] * 16, "vae_16.safetensors")
    at.file_uploader(key="vae.load").set_value(("closed.json", saved.to_json().encode(), "application/json")).run()
    at.button(key="vae.add_loaded").click().run()
    assert at.selectbox(key="vae.along").value == "closed top"
    assert at.slider(key="vae.alpha.closed top").value == 0


def test_a_digit_drawn_on_the_first_tab_is_where_the_vectors_start():
    at = draw(open_lab(), drawing(ONE), 1)
    at.session_state["vae.tab"] = "Attribute vectors"
    at.run()
    assert any("Starting from **your drawing**" in m.value for m in at.markdown)


def test_maps_contrast_the_autoencoders_gaps_with_the_vaes_even_areas():
    at = open_lab("AE vs VAE maps")
    empty = [float(m.value.rstrip("%")) for m in at.metric if m.label == "Empty cells"]
    assert len(empty) == 2 and empty[0] > 50 > 30 > empty[1]       # AE codes, VAE through the normal CDF
    at.toggle(key="vae.cdf").set_value(False).run()
    assert [float(m.value.rstrip("%")) for m in at.metric if m.label == "Empty cells"][1] > 40
    assert any(c.startswith("Rows: originals; ae_2d") for c in (i.proto.imgs[0].caption or "" for i in at.get("image")))


def test_the_16d_vae_is_shown_through_pca_with_16_histograms():
    at = open_lab("AE vs VAE maps")
    at.selectbox(key="vae.maps_vae").set_value("vae_16.safetensors").run()
    assert not at.exception
    assert at.toggle(key="vae.cdf").proto.disabled
    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    assert any(s["layout"].get("xaxis", {}).get("title", {}).get("text") == "PC1" for s in specs)
    histograms = [s for s in specs if sum(t["type"] == "histogram" for t in s["data"]) == 16]
    assert len(histograms) == 1


def test_a_saved_vector_moves_a_morph_endpoint():
    at = AppTest.from_file(str(ROOT / "main.py"), default_timeout=180)
    at.run()
    at.switch_page("pages/morph.py").run()
    at.selectbox(key="morph.model").set_value("vae_2d.safetensors").run()
    b = [at.number_input(key=k).value for k in ("morph.b0", "morph.b1")]
    vector = AttributeVector("slant", "measured", [0.5, -0.25], "vae_2d.safetensors")
    at.file_uploader(key="morph.vector").set_value(("slant.json", vector.to_json().encode(), "application/json")).run()
    at.number_input(key="morph.alpha").set_value(2.0).run()
    at.button(key="morph.add_b").click().run()
    assert not at.exception
    assert [at.number_input(key=k).value for k in ("morph.b0", "morph.b1")] == pytest.approx([b[0] + 1.0, b[1] - 0.5])
    wrong = AttributeVector("x", "measured", [1.0] * 16)
    at.file_uploader(key="morph.vector").set_value(("x.json", wrong.to_json().encode(), "application/json")).run()
    assert any("16D" in e.value for e in at.error)
