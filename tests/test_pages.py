"""AppTests: each page runs, shows the models of the checkpoint folder, and copes with bad files."""
import shutil

import pytest
from streamlit.testing.v1 import AppTest

from .conftest import ROOT


@pytest.fixture
def model_folder(tmp_path, tiny_checkpoint, monkeypatch):
    folder = tmp_path / "models"
    folder.mkdir()
    shutil.copy(tiny_checkpoint, folder / "my_gan.safetensors")
    (folder / "broken.safetensors").write_bytes(b"\x80\x04not a checkpoint")
    monkeypatch.setenv("GENLAB_CHECKPOINTS", str(folder))
    return folder


def _run(page: str) -> AppTest:
    """Run the app through its router (pages need st.navigation), then open `page`."""
    at = AppTest.from_file(str(ROOT / "main.py"), default_timeout=60)
    at.run()
    if page != "main.py":
        at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def test_app_router_opens_the_home_page(model_folder):
    at = _run("main.py")
    assert at.title[0].value == "GenLab"


def test_home_lists_models_pages_and_refuses_a_bad_file(model_folder):
    at = _run("pages/home.py")
    text = " ".join(m.value for m in at.markdown)
    assert "GAN, 2D latent" in text and "my_gan.safetensors" in text
    assert any("broken.safetensors" in w.value and "pickle" in w.value for w in at.warning)
    assert len(at.get("image")) == 1  # the GAN's row of samples


def test_home_with_no_models_says_how_to_train(tmp_path, monkeypatch):
    monkeypatch.setenv("GENLAB_CHECKPOINTS", str(tmp_path))
    at = _run("pages/home.py")
    assert any("python -m train" in i.value for i in at.info)


def test_model_card_shows_thesis_counts_and_reseeds_samples(model_folder):
    at = _run("pages/models.py")
    assert at.selectbox(key="models.file").value == "my_gan.safetensors"
    tables = " ".join(str(t.value) for t in at.table)
    assert "1,076,160" in tables and "212,865" in tables
    first = at.get("image")[0].value
    at.number_input(key="models.seed").set_value(5).run()
    assert not at.exception
    assert at.get("image")[0].value != first


def test_model_card_checks_for_copies_of_training_digits(model_folder, monkeypatch, tmp_path):
    """The memorisation check: 1,000 samples against the embedded 4,000 training digits, beside real test digits'."""
    from .conftest import SHIPPED

    monkeypatch.setenv("GENLAB_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("GENLAB_DATA_DIR", raising=False)          # the embedded digits, as on a fresh machine
    shutil.copy(SHIPPED / "classifier_strong.safetensors", model_folder)     # its features index the digits
    at = _run("pages/models.py")
    at.selectbox(key="models.file").set_value("my_gan.safetensors").run()
    at.toggle(key="models.copies").set_value(True).run()
    assert not at.exception, at.exception
    text = " ".join(m.value for m in at.markdown)
    assert "Copies:" in text and "of 1,000 samples (real test digits, never trained on:" in text
    assert "4,000 training digits (mnist5k)" in text
    captions = " ".join(c.value for c in at.caption)
    assert "Searched: the 4,000 embedded training digits" in captions      # issue 32.7: the set is named


def test_the_model_card_speaks_plain_words_before_terms(monkeypatch):
    """Issue 32, 14: the figures as a table in words (the term after), the raw JSON folded away; the loss
    legend names what each loss asks; the toggle's label fits its column."""
    import json

    from .conftest import SHIPPED

    monkeypatch.setenv("GENLAB_CHECKPOINTS", str(SHIPPED))
    at = _run("pages/models.py")
    at.selectbox(key="models.file").set_value("gan_2d.safetensors").run()
    assert not at.exception
    figures = [f for t in at.table if list(t.value.columns) == ["value"] for f in t.value.index]
    assert "samples the judge is unsure of (top probability under 0.9: 'unsure share')" in figures
    assert any(f.startswith("distance from real digits") and "(FID" in f for f in figures)
    assert not at.json or at.expander
    chart = json.loads(at.get("plotly_chart")[0].proto.spec)
    names = {trace["name"] for trace in chart["data"]}
    assert "can the classes be read from the codes? (code_classes)" in names and "generator (G)" in names
    assert len(at.toggle(key="models.copies").label) <= 40


def test_distillation_names_the_temperature_apart_from_the_domain(monkeypatch, tmp_path):
    from .conftest import SHIPPED

    monkeypatch.setenv("GENLAB_CHECKPOINTS", str(SHIPPED))
    monkeypatch.setenv("GENLAB_RUNS", str(tmp_path / "runs"))
    from .conftest import open_app

    at = open_app("pages/distill.py", timeout=120, setting="plain")
    assert at.slider(key="distill.temperature").label.startswith("Temperature τ")
    assert "τ (tau), the temperature" in at.markdown[0].value or any("τ (tau)" in m.value for m in at.markdown)


def test_a_link_value_too_long_for_a_link_is_refused_and_the_page_writes_short_links(monkeypatch, tmp_path):
    """Issue 32, 20: a value over MAX_VALUE characters is refused with a message (it was cut silently), and the
    values a page writes are capped (LINK_LIMIT) with a line saying what the link leaves out."""
    from genlab.ui.links import LINK_LIMIT, MAX_VALUE, link_values

    from .conftest import SHIPPED, open_app

    monkeypatch.setenv("GENLAB_CHECKPOINTS", str(SHIPPED))
    monkeypatch.setenv("GENLAB_RUNS", str(tmp_path / "runs"))
    at = open_app("pages/distill.py", timeout=120, setting="noise-digits", temperature="4" * 2000)
    assert any("The link's temperature is 2,000 characters long" in w.value for w in at.warning)
    values, dropped = link_values({"a": "x" * (MAX_VALUE + 1), "b": "y" * 900, **{f"k{i}": "z" * 990 for i in range(9)}})
    assert "a" in dropped and sum(len(k) + len(v) + 2 for k, v in values.items()) <= LINK_LIMIT
    assert values["b"] == "y" * 900 and len(dropped) >= 2
