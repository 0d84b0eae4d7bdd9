"""AppTests of the Distillation page: phi at work with the shipped teacher, a link's settings, a missing
teacher, and a comparison started from the form that runs through the job system to its curves."""
import time

import pytest

from .conftest import SHIPPED, open_app


@pytest.fixture(autouse=True)
def shipped(monkeypatch, tmp_path):
    monkeypatch.setenv("GENLAB_CHECKPOINTS", str(SHIPPED))
    monkeypatch.setenv("GENLAB_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv("GENLAB_TRAIN_THREADS", "1")
    monkeypatch.setenv("GENLAB_DATA_DIR", str(tmp_path / "no-data"))      # the embedded digits, as on a fresh machine


def test_the_page_shows_phi_at_work_and_the_teachers_soft_labels():
    at = open_app("pages/distill.py", timeout=120)
    assert at.segmented_control(key="distill.setting").value == "noise"          # the talk's Fashion + noise
    assert at.segmented_control(key="distill.setting").options[:5] == [
        "Fashion: plain", "Fashion + noise", "Fashion + dilated conv", "Digits teach clothes (VAE)", "GeneratedMNIST"]
    captions = [i.proto.imgs[0].caption or "" for i in at.get("image")]
    assert any("phi of them" in c and "clothes of the student's domain T" in c for c in captions)
    assert any("The teacher's soft labels" in m.value and "T-shirt/top" in m.value for m in at.markdown)
    assert any("of the test images of its domain S" in c.value for c in at.caption)
    assert at.button(key="distill.start") is not None
    assert not at.warning


@pytest.mark.parametrize("setting", ["plain", "noise", "dilated", "vae", "generated"])
def test_every_setting_opens_with_its_shipped_teacher(setting):
    """Issue 28: every setting of the talk (and the digit extras) is selectable and works on a fresh machine:
    its teacher and phi shipped, the Small 1,000 and the test images shipped or embedded."""
    at = open_app("pages/distill.py", timeout=120, setting=setting)
    assert not at.exception and not at.warning, [w.value for w in at.warning]
    assert at.segmented_control(key="distill.setting").value == setting
    captions = [i.proto.imgs[0].caption or "" for i in at.get("image")]
    domain = "clothes" if setting in ("plain", "noise", "dilated", "vae", "generated") else "digits"
    assert any(f"{domain} of the student's domain T" in c or f"test {domain} of the student's" in c for c in captions)
    if setting in ("vae", "generated"):
        assert any(c.startswith("GeneratedMNIST") for c in captions)
        assert any("through phi" in c.value for c in at.caption)         # what the student hears


def test_a_link_sets_the_comparison_and_bad_values_get_a_message():
    at = open_app("pages/distill.py", timeout=120, setting="noise", temperature="8", epochs="3", student="strong",
                  **{"lambda": "7"})
    assert at.slider(key="distill.temperature").value == 8.0
    assert at.slider(key="distill.lambda").value == 1.0
    assert at.number_input(key="distill.epochs").value == 3
    assert at.selectbox(key="distill.student").value == "strong"
    assert any("lambda 7 is outside 0 to 1" in w.value for w in at.warning)


def test_the_digit_extras_say_how_to_train_their_teachers():
    """The digit settings' teachers are not shipped (the checkpoint budget): the page says how to train them."""
    at = open_app("pages/distill.py", timeout=120, setting="noise-digits")
    assert any("python -m train distill-teacher --map noise-digits" in w.value for w in at.warning)


def test_a_missing_teacher_says_how_to_train_it(monkeypatch, tmp_path):
    monkeypatch.setenv("GENLAB_CHECKPOINTS", str(tmp_path / "empty"))
    (tmp_path / "empty").mkdir()
    at = open_app("pages/distill.py", timeout=120)
    assert any("python -m train distill-teacher --map noise" in w.value for w in at.warning)


def test_a_comparison_started_on_the_page_grows_both_curves():
    at = open_app("pages/distill.py", timeout=120)
    at.number_input(key="distill.epochs").set_value(2)
    at.button(key="distill.start").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    deadline = time.monotonic() + 150
    while time.monotonic() < deadline:
        at.run()
        if len(at.get("plotly_chart")) == 2 and any("After epoch 2" in c.value for c in at.caption):
            break
        time.sleep(1)
    assert len(at.get("plotly_chart")) == 2
    assert any("After epoch 2" in c.value for c in at.caption), [c.value for c in at.caption]
    assert at.selectbox(key="distill.job").value.startswith("20")


def test_a_lambda_sweep_starts_five_comparisons_in_one_group_and_plots_them(monkeypatch):
    monkeypatch.setenv("GENLAB_MAX_JOBS", "5")          # side by side: the test waits for all five
    at = open_app("pages/distill.py", timeout=120)
    at.number_input(key="distill.epochs").set_value(1)
    at.button(key="distill.sweep_start").click().run()
    assert not at.error, [e.value for e in at.error]
    from genlab.training.jobs import JobStore

    jobs = [j for j in JobStore().jobs() if j.task == "distill"]
    assert sorted(j.spec["distill"]["lambda"] for j in jobs) == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert len({j.spec["group"] for j in jobs}) == 1
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        at.run()
        if any("5 of 5 comparisons" in m.value for m in at.markdown):
            break
        time.sleep(1)
    assert any("5 of 5 comparisons" in m.value for m in at.markdown), [m.value for m in at.markdown]
    assert len(at.get("plotly_chart")) == 3


def test_the_vae_setting_turns_clothes_into_digits(monkeypatch, tmp_path):
    """With a dual-decoder VAE (an untrained one here: the views, not its quality) the page shows clothes
    beside phi of them, GeneratedMNIST and the shared latent plane."""
    import shutil

    from genlab.checkpoints import save_checkpoint
    from genlab.models import build_model
    from genlab.models.autoencoder import Decoder

    folder = tmp_path / "checkpoints"
    (folder / "distill").mkdir(parents=True)
    shutil.copy(SHIPPED / "classifier_strong.safetensors", folder)     # the vae setting's teacher
    save_checkpoint(folder / "distill" / "dual_vae", build_model("vae", {"latent_dim": 2}), dataset="mnist",
                    training_state={"fashion_decoder": Decoder(2)})
    monkeypatch.setenv("GENLAB_CHECKPOINTS", str(folder))
    at = open_app("pages/distill.py", timeout=120, setting="vae")
    assert at.segmented_control(key="distill.setting").value == "vae"
    captions = [i.proto.imgs[0].caption or "" for i in at.get("image")]
    assert any("clothes of the student's domain T" in c for c in captions)
    assert any(c.startswith("GeneratedMNIST") for c in captions)
    assert len(at.get("plotly_chart")) == 1                     # the latent plane
    assert any("T-shirt/top (class 0)" in m.value for m in at.markdown)
    (folder / "distill" / "dual_vae.safetensors").unlink()
    at = open_app("pages/distill.py", timeout=120, setting="vae")
    assert any("python -m train distill-vae" in w.value for w in at.warning)
