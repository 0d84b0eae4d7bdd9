"""AppTest of the Train page: presets fill the form, Start queues a real (tiny) run, the page follows it to
the end and compares finished runs; refused settings and failed runs give messages."""
import time

import pytest
from streamlit.testing.v1 import AppTest

from genlab.training.jobs import JobSpec, JobStore

from .conftest import SHIPPED, open_app


@pytest.fixture
def runs(monkeypatch, tmp_path):
    monkeypatch.setenv("GENLAB_CHECKPOINTS", str(SHIPPED))
    monkeypatch.setenv("GENLAB_RUNS", str(tmp_path))
    monkeypatch.setenv("GENLAB_TRAIN_THREADS", "1")
    return JobStore(tmp_path)


def open_train() -> AppTest:
    return open_app("pages/train.py")


def wait_until_finished(store: JobStore, timeout: float = 240):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        store.tick()
        jobs = store.jobs()
        if jobs and all(j.state in ("done", "stopped", "failed") for j in jobs):
            return jobs
        time.sleep(0.3)
    raise AssertionError([j.status for j in store.jobs()])


def test_presets_fill_the_form(runs):
    at = open_train()
    assert at.title[0].value == "Train"
    assert at.selectbox(key="train.preset").value == "quick"
    assert at.selectbox(key="train.kind").value == "vae" and at.text_input(key="train.epochs").value == "10"
    at.selectbox(key="train.preset").set_value("activations").run()
    assert at.selectbox(key="train.kind").value == "gan"
    shown = [t for t in at.text_input if t.label == "Activation"][0]
    assert shown.value == "ReLU, LeakyReLU (0.3), PReLU, ELU" and shown.disabled
    assert at.selectbox(key="train.loss").value == "bce"


def test_start_a_tiny_run_watch_it_finish_and_compare(runs):
    at = open_train()
    for key, value in (("train.epochs", "2"), ("train.limit", "128"), ("train.map_resolution", "8")):
        at.text_input(key=key).set_value(value)
    at.selectbox(key="train.batch_size").set_value(64)
    at.text_input(key="train.name").set_value("my_vae")
    at.button(key="train.start").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.session_state["train.view"] == "Watch a run"
    [job] = runs.jobs()
    assert job.name == "my_vae" and job.train_config.kind == "vae" and job.train_config.epochs == 2
    wait_until_finished(runs)
    at.run()
    assert not at.exception
    markdown = " ".join(m.value for m in at.markdown)
    assert "my_vae" in markdown and "done" in markdown
    metrics = {m.label for m in at.metric}   # results lead with FID and classes covered, then a verdict in words
    assert {"FID on 1,000 samples (lower is better)", "Classes covered", "Test reconstruction MSE"} <= metrics
    verdicts = [e.value for e in (*at.success, *at.warning, *at.error)]
    assert any(v.startswith(("All 10 classes", "Collapsed", "Drops classes", "Mostly unrecognisable")) for v in verdicts)
    assert len(at.get("plotly_chart")) >= 2          # losses, and map change / weak classifier
    assert {b.label for b in at.get("download_button")} == {"Samples per epoch (GIF)", "Class map per epoch (GIF)"}
    # the same name again is refused, with a message
    at.segmented_control(key="train.view").set_value("New run").run()
    at.text_input(key="train.name").set_value("my_vae")
    at.button(key="train.start").click().run()
    assert any("exists already" in e.value for e in at.error)
    at.text_input(key="train.name").set_value("gan_2d")   # a shipped model's name
    at.button(key="train.start").click().run()
    assert any("'gan_2d' exists already" in e.value for e in at.error)
    assert len(runs.jobs()) == 1
    # compare runs lists it with its scores
    at.segmented_control(key="train.view").set_value("Compare runs").run()
    table = at.dataframe[0].value
    assert list(table["run"]) == ["my_vae"] and table["FID (1,000 samples)"][0] > 0


def test_a_failed_run_shows_its_error(runs):
    runs.submit(JobSpec("broken", {"kind": "gan", "dataset": "mnist", "data_dir": "/nowhere", "epochs": 1}, {}))
    wait_until_finished(runs)
    at = open_train()
    at.segmented_control(key="train.view").set_value("Watch a run").run()
    assert any("failed" in e.value and "not on this machine" in e.value for e in at.error)
    queued_at = runs.jobs()[0].status["queued_at"]
    at.button(key="train.continue").click().run()          # "Try again" queues it once more
    assert runs.jobs()[0].status["queued_at"] > queued_at
    wait_until_finished(runs)


def test_a_queued_run_shows_its_place_in_the_queue(runs):
    tiny = {"kind": "vae", "epochs": 50, "limit": 256, "batch_size": 16}
    first = runs.submit(JobSpec("first", tiny, {}))
    second = runs.submit(JobSpec("second", tiny, {}))
    try:
        at = open_train()
        at.segmented_control(key="train.view").set_value("Watch a run").run()
        at.selectbox(key="train.job").set_value(second.id).run()
        assert any("position 1" in i.value for i in at.info)
        assert [b.label for b in at.button if b.key == "train.stop"] == ["Stop"]
        at.button(key="train.stop").click().run()     # cancels the queued run
        assert runs.get(second.id).state == "stopped"
    finally:
        runs.command(first.id, "stop")
        wait_until_finished(runs)


def test_the_hosted_demo_bounds_every_run(runs, monkeypatch):
    monkeypatch.setenv("GENLAB_DEMO", "1")
    at = open_train()
    assert "At most 20" in at.text_input(key="train.epochs").help
    assert all("embedded" in o for o in at.selectbox(key="train.dataset").options)
    assert any("Hosted demo" in c.value for c in at.caption)
    # a value typed beyond the demo's limit is refused with a message, not silently replaced
    at.text_input(key="train.epochs").set_value("50")
    at.button(key="train.start").click().run()
    assert any("at most 20 epochs per run (you asked for 50)" in e.value for e in at.error) and not runs.jobs()


def test_a_classifier_run_starts_without_the_map_settings(runs):
    """The map widgets are not drawn for classifiers; Start must not need their values (issue 14, 7)."""
    at = open_train()
    at.selectbox(key="train.preset").set_value("classifier").run()
    at.text_input(key="train.epochs").set_value("2").run()
    at.button(key="train.start").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    [job] = runs.jobs()
    assert job.train_config.kind == "classifier" and job.train_config.epochs == 2
    runs.command(job.id, "stop", job.owner)


def test_a_name_with_other_characters_is_refused_not_changed(runs):
    at = open_train()
    at.text_input(key="train.name").set_value("a😀b")
    at.button(key="train.start").click().run()
    assert any("letters, digits, - and _ only" in e.value for e in at.error) and not runs.jobs()


def test_in_the_demo_a_run_belongs_to_its_visitor(runs, monkeypatch):
    """Two visitors (two sessions): the second may watch the first one's run but not stop it; the first gets
    one run at a time, with the reason (issue 14)."""
    monkeypatch.setenv("GENLAB_DEMO", "1")
    first = open_train()
    assert any("Hosted demo" in i.value and "one run per visitor" in i.value for i in first.sidebar.info)
    first.text_input(key="train.epochs").set_value("20")
    first.text_input(key="train.name").set_value("firsts")
    first.button(key="train.start").click().run()
    assert not first.exception and not first.error, [e.value for e in first.error]
    [job] = runs.jobs()
    try:
        assert job.owner and "yours" in first.selectbox(key="train.job").format_func(job.id)
        assert [b.label for b in first.button if b.key == "train.stop"] == ["Stop"]
        second = open_train()
        second.segmented_control(key="train.view").set_value("Watch a run").run()
        assert "yours" not in second.selectbox(key="train.job").format_func(job.id)
        assert not [b for b in second.button if b.key in ("train.stop", "train.pause")]
        assert any("Another visitor started this run" in c.value for c in second.caption)
        first.segmented_control(key="train.view").set_value("New run").run()
        first.text_input(key="train.name").set_value("again")
        first.button(key="train.start").click().run()
        assert any("one run per visitor at a time, and yours (firsts)" in e.value for e in first.error)
        assert len(runs.jobs()) == 1
    finally:
        runs.command(job.id, "stop", job.owner)
        wait_until_finished(runs)


@pytest.mark.parametrize("key,typed", [("train.epochs", "0"), ("train.epochs", "-5"), ("train.epochs", "100001"),
                                       ("train.epochs", "1e9"), ("train.lr", "0"), ("train.lr", "-1"),
                                       ("train.lr", "1e9"), ("train.limit", "-1"), ("train.epochs", "two")])
def test_a_value_beyond_the_limits_is_refused_not_swapped(runs, key, typed):
    """Issue 32.1: the run never starts with a value other than the one shown."""
    at = open_train()
    at.text_input(key=key).set_value(typed).run()
    assert at.text_input(key=key).value == typed           # the field keeps what was typed ...
    assert any(typed.lstrip("-") in c.value or "limit" in c.value or "number" in c.value for c in at.caption)
    at.button(key="train.start").click().run()
    assert not at.exception
    assert runs.jobs() == []                                # ... and nothing starts
    assert at.error and at.error[0].value.startswith("Not started:")
    label = {"train.epochs": "Epochs", "train.lr": "Learning rate", "train.limit": "Training images"}[key]
    assert label in at.error[0].value


def test_the_run_gets_exactly_the_values_shown(runs):
    at = open_train()
    at.text_input(key="train.epochs").set_value("3")
    at.text_input(key="train.lr").set_value("2e-4")
    at.text_input(key="train.limit").set_value("128")
    at.button(key="train.start").click().run()
    [job] = runs.jobs()
    assert job.train_config.epochs == 3 and job.train_config.lr == 2e-4 and job.train_config.limit == 128
    runs.command(job.id, "stop", job.owner)


@pytest.mark.parametrize("preset, kind, page", [("musegan", "musegan", "pages/music.py"),
                                                ("melody", "melody", "pages/melody.py")])
def test_a_music_run_trains_scores_and_publishes_for_its_page(runs, preset, kind, page):
    """MuseGAN and the melody model as Train-page runs (issue 27.4, 30.7): the preset fills the form with the
    chorales and a width, the run measures each epoch (a MuseGAN: a piano roll and its chord share), the
    finished model carries its music measures and links to the page that plays it."""
    at = open_train()
    at.selectbox(key="train.preset").set_value(preset).run()
    assert at.selectbox(key="train.kind").value == kind and at.selectbox(key="train.dataset").value == "chorales"
    assert at.text_input(key="train.hidden").value == {"musegan": "256", "melody": "128"}[kind]
    assert not [t for t in at.text_input if t.key == "train.map_every"]        # no class-area map for music
    for key, value in (("train.epochs", "2"), ("train.limit", "64"), ("train.hidden", "16")):
        at.text_input(key=key).set_value(value)
    at.text_input(key="train.name").set_value(f"tiny_{kind}")
    at.button(key="train.start").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    [job] = runs.jobs()
    cfg = job.train_config
    assert (cfg.kind, cfg.dataset, cfg.epochs, cfg.limit, cfg.model["hidden"]) == (kind, "chorales", 2, 64, 16)
    if kind == "musegan":
        assert cfg.critic_steps == 3 and cfg.ema == 0.995 and cfg.model["same_key"]
    [job] = wait_until_finished(runs, timeout=300)
    assert job.state == "done", (job.status, runs.logs(job))
    monitor = job.history()["monitor"]
    assert monitor["music_epochs"] == [1, 2]
    if kind == "musegan":
        assert len(job.samples()) == 2 and all(0 <= v <= 1 for v in monitor["chord_fraction"])
        assert {"chord_fraction", "in_key_fraction", "nearest_real_mismatch"} <= set(job.status["scores"])
    else:
        assert all(0 <= v <= 1 for v in monitor["held_out_pitch_accuracy"])
        assert "held_out_pitch_accuracy" in job.status["scores"]
    assert (runs.models_folder / f"tiny_{kind}.safetensors").is_file()
    at.run()
    assert not at.exception
    links = [link.proto.page for link in at.get("page_link")]
    assert page.split("/")[-1].removesuffix(".py") in links, links
    # the published model is in the page's picker
    from genlab.catalog import list_models
    assert any(row["file"] == f"tiny_{kind}.safetensors" and row["kind"] == kind for row in list_models()[0])


def test_the_demo_bounds_a_music_run_s_width(runs, monkeypatch):
    monkeypatch.setenv("GENLAB_DEMO", "1")
    spec = JobSpec("wide_musegan", {"kind": "musegan", "model": {"hidden": 1024}, "dataset": "chorales", "epochs": 2}, {})
    with pytest.raises(ValueError, match="at most 256 units wide"):
        spec.validate(demo=True)
    JobSpec("narrow_musegan", {"kind": "musegan", "model": {"hidden": 256}, "dataset": "chorales",
                               "epochs": 2}, {}).validate(demo=True)
