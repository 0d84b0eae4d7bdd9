"""Training jobs (genlab.training.jobs + worker): real worker processes on tiny runs.

Each test starts worker processes that train a few steps on the embedded digits, so they are the
slowest unit tests; the runs are as small as the behaviour allows.
"""
import os
import signal
import time

import numpy as np
import pytest
import torch

from genlab.catalog import list_models
from genlab.checkpoints import load_checkpoint
from genlab.data import load_dataset
from genlab.metrics import frechet_distance
from genlab.training.jobs import JobSpec, JobStore
from genlab.training.monitor import map_change
from genlab.training.presets import compare_rows

TINY_MONITOR = {"map_resolution": 8, "score_samples": 20, "samples": 16, "final_images": 200}


def tiny(name, kind="gan", epochs=2, limit=128, batch_size=64, **train):
    model = {"latent_dim": 2, **train.pop("model", {})}
    return JobSpec(name, {"kind": kind, "model": model, "epochs": epochs, "limit": limit, "batch_size": batch_size,
                          **train}, dict(TINY_MONITOR))


def wait_for(store, job_id, condition, timeout=240):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        store.tick()
        job = store.get(job_id)
        if condition(job):
            return job
        time.sleep(0.2)
    raise AssertionError(f"timed out; last status {store.get(job_id).status}")


def finished(job):
    return job.state in ("done", "stopped", "failed", "interrupted")


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("GENLAB_RUNS", str(tmp_path))
    monkeypatch.setenv("GENLAB_TRAIN_THREADS", "1")
    return JobStore(tmp_path, limit=1)


def test_queue_runs_jobs_one_at_a_time_and_publishes_them(store):
    first = store.submit(tiny("relu_run", model={"activation": "relu"}))
    second = store.submit(tiny("elu_run", model={"activation": "elu"}))
    assert store.get(second.id).state == "queued" and store.queue_position(store.get(second.id)) == 1
    first = wait_for(store, first.id, finished)
    assert first.state == "done", first.status
    second = wait_for(store, second.id, finished)   # started by the first worker when it ended
    assert second.state == "done", second.status
    # every epoch's monitoring is stored, and the history in the checkpoint carries it
    history = second.history()
    assert history["epochs"] == 2 and len(second.samples()) == 2 and len(second.maps()) == 2
    assert history["monitor"]["map_epochs"] == [1, 2] and history["monitor"]["map_change"][0] is None
    assert 0 <= history["monitor"]["map_change"][1] <= 1
    # the finished models appear beside the shipped ones, scored by the strong classifier
    files = {row["file"]: row for row in list_models()[0]}
    assert {"relu_run.safetensors", "elu_run.safetensors"} <= set(files)
    assert files["elu_run.safetensors"]["source"] == "trained" and files["elu_run.safetensors"]["metrics"]["fid"] > 0
    rows = compare_rows(store.jobs())
    assert [(r["run"], r["activation"]) for r in rows] == [("relu_run", "relu"), ("elu_run", "elu")]
    assert all(r["fid"] > 0 and r["seconds_per_epoch"] > 0 and r["parameters"].startswith("generator 1,076,160")
               for r in rows)
    # issue 32, 15: the time per epoch comes with the machine's load while it was measured
    assert len(history["load"]) == 2 and all(r["machine_load"].endswith("%") for r in rows)


def test_pause_resume_and_stop(store):
    job = store.submit(tiny("paused_run", epochs=20, limit=512, batch_size=16))
    job = wait_for(store, job.id, lambda j: j.state == "running" and (j.status.get("step") or 0) > 1)
    store.command(job.id, "pause")
    job = wait_for(store, job.id, lambda j: j.state == "paused")
    step, epoch = job.status.get("step"), job.status.get("epoch")
    time.sleep(1.5)
    job = store.get(job.id)
    assert (job.status.get("step"), job.status.get("epoch")) == (step, epoch), "a paused job must not train"
    store.command(job.id, "run")
    job = wait_for(store, job.id, lambda j: j.state == "running" and j.history()["epochs"] >= 1)
    store.command(job.id, "stop")
    job = wait_for(store, job.id, finished)
    assert job.state == "stopped"
    epochs = job.history()["epochs"]
    assert 1 <= epochs < 20
    assert load_checkpoint(job.status["model"]).epochs == epochs   # the last completed epoch was published


def test_a_killed_worker_leaves_its_last_epoch_and_resumes_from_it(store):
    job = store.submit(tiny("crashed_run", kind="vae", epochs=3, limit=256, batch_size=16))
    job = wait_for(store, job.id, lambda j: j.history()["epochs"] >= 1 and j.state == "running")
    os.kill(job.status["pid"], signal.SIGKILL)
    job = wait_for(store, job.id, lambda j: j.state == "interrupted")
    before = job.history()
    assert 1 <= before["epochs"] < 3
    ckpt = load_checkpoint(job.checkpoint)    # intact, loadable
    assert ckpt.epochs == before["epochs"]
    store.command(job.id, "run")
    job = wait_for(store, job.id, finished)
    assert job.state == "done", job.status
    after = job.history()
    assert after["epochs"] == 3 and len(after["losses"]["reconstruction"]) == 3
    assert after["losses"]["reconstruction"][:before["epochs"]] == before["losses"]["reconstruction"]


def test_a_failing_job_shows_its_error(store):
    job = store.submit(tiny("failing_run", dataset="mnist", data_dir="/nonexistent/folder"))
    job = wait_for(store, job.id, finished)
    assert job.state == "failed"
    assert "mnist" in job.status["error"] and "not on this machine" in job.status["error"]


def test_specs_are_checked_before_anything_runs(store):
    with pytest.raises(ValueError, match="at most 20 epochs"):
        store.submit(tiny("too_long", epochs=50), demo=True)
    with pytest.raises(ValueError, match="embedded"):
        store.submit(tiny("full_set", dataset="mnist"), demo=True)
    with pytest.raises(ValueError, match="unknown training settings"):
        store.submit(JobSpec("bad", {"kind": "gan", "colour": "red"}, {}))
    with pytest.raises(ValueError, match="loss"):
        store.submit(tiny("bad_loss", loss="perceptual"))
    demo = store.submit(tiny("demo_run", limit=None, epochs=1), demo=True)
    assert demo.spec["train"]["limit"] == 5000   # the demo bounds the data too
    with pytest.raises(ValueError, match="exists already"):
        store.submit(tiny("demo_run"))
    store.command(demo.id, "stop")
    assert wait_for(store, demo.id, finished).state == "stopped"


def test_fid_is_zero_for_identical_sets_and_grows_with_the_difference():
    classifier = load_checkpoint("checkpoints/classifier_strong.safetensors").model
    test = load_dataset("mnist5k", "test").images[:400]
    train = load_dataset("mnist5k", "train").images[:400]
    same = frechet_distance(test, test, classifier)
    real = frechet_distance(test, train, classifier)
    blurred = frechet_distance(test, torch.nn.functional.avg_pool2d(train, 3, 1, 1), classifier)
    noise = frechet_distance(test, torch.rand(400, 1, 28, 28) * 2 - 1, classifier)
    assert abs(same) < 1e-3
    assert real < blurred < noise
    assert real < 0.1 * noise


def test_map_change_counts_changed_grid_points():
    a = np.zeros((4, 4), dtype=np.int16)
    b = a.copy()
    b[0, :2] = 3
    assert map_change(a, a) == 0 and map_change(a, b) == 2 / 16
    with pytest.raises(ValueError):
        map_change(a, np.zeros((5, 5)))


def test_a_run_killed_while_scoring_can_be_scored_and_published(store):
    """A worker killed after its last epoch (while it scored the model) leaves the run interrupted with every
    epoch saved; running it again trains nothing, scores it and publishes it."""
    import json

    job = wait_for(store, store.submit(tiny("scored_late", epochs=1)).id, finished)
    assert job.state == "done"
    (store.models_folder / "scored_late.safetensors").unlink()   # as if it had never been published
    status = json.loads((job.folder / "status.json").read_text())
    (job.folder / "status.json").write_text(json.dumps({**status, "state": "interrupted", "scores": None}))
    store.command(job.id, "run")
    job = wait_for(store, job.id, finished)
    assert job.state == "done" and job.status["scores"]["classes_covered"] >= 1, job.status
    assert (store.models_folder / "scored_late.safetensors").is_file()


def test_a_runs_folder_that_cannot_be_written_says_so(tmp_path):
    from genlab.training.jobs import RunsFolderError

    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    store = JobStore(blocker / "runs")
    store.tick()   # nothing to schedule, no exception
    with pytest.raises(RunsFolderError, match="cannot be written"):
        store.submit(tiny("nowhere"))


@pytest.mark.parametrize("change, message", [
    ({"name": "x" * 61}, "at most 60 characters"),
    ({"name": "a😀b"}, "letters, digits, - and _ only"),
    ({"epochs": 5000}, "at most 1,000 epochs"),
])
def test_refused_specs_say_why(change, message):
    spec = tiny(change.get("name", "fine"), epochs=change.get("epochs", 2))
    with pytest.raises(ValueError, match=message):
        spec.validate()


def test_demo_limits_refuse_what_they_would_change(monkeypatch):
    with pytest.raises(ValueError, match="at most 20 epochs per run \\(you asked for 50\\)"):
        tiny("long", epochs=50, dataset="mnist5k").validate(demo=True)
    with pytest.raises(ValueError, match="at most 5,000 images per run \\(you asked for 999,999\\)"):
        tiny("big", limit=999_999).validate(demo=True)
    spec = tiny("all", limit=None).validate(demo=True)
    assert spec.train["limit"] == 5000


@pytest.fixture
def idle_store(tmp_path, monkeypatch):
    """A store whose "workers" only sleep: jobs start and hold their slot without training."""
    monkeypatch.setenv("GENLAB_RUNS", str(tmp_path))
    fake = tmp_path / "fake-python"
    fake.write_text("#!/bin/sh\nexec sleep 60\n")
    fake.chmod(0o755)
    store = JobStore(tmp_path / "runs", limit=1, python=str(fake))
    yield store
    for job in store.jobs():
        pid = job.status.get("pid")
        if job.state == "running" and isinstance(pid, int):
            os.kill(pid, signal.SIGKILL)


def test_only_the_owner_may_command_a_run(idle_store):
    from genlab.training.jobs import NotOwnerError

    mine = idle_store.submit(JobSpec("mine", {"kind": "vae"}, {}, owner="a" * 32))
    anyone = idle_store.submit(JobSpec("anyones", {"kind": "vae"}, {}))
    for visitor in (None, "b" * 32):
        with pytest.raises(NotOwnerError, match="only they can pause, resume or stop"):
            idle_store.command(mine.id, "stop", visitor)
    assert idle_store.get(mine.id).state == "running"
    idle_store.command(anyone.id, "stop", "b" * 32)          # a run without an owner takes anyone's command
    assert idle_store.get(anyone.id).state == "stopped"
    idle_store.command(mine.id, "pause", "a" * 32)
    assert idle_store.get(mine.id).control == "pause"
    with pytest.raises(ValueError, match="at most 64"):
        JobSpec("x", {"kind": "vae"}, {}, owner="o" * 65).validate()


def test_the_queue_is_bounded_and_the_demo_takes_one_start_per_visitor(idle_store, monkeypatch):
    monkeypatch.setenv("GENLAB_MAX_QUEUE", "2")
    a, b, c = "a" * 32, "b" * 32, "c" * 32
    idle_store.submit(JobSpec("a1", {"kind": "vae", "dataset": "mnist5k"}, {}, owner=a), demo=True)
    with pytest.raises(ValueError, match=r"one run per visitor at a time, and yours \(a1\) is running"):
        idle_store.submit(JobSpec("a2", {"kind": "vae", "dataset": "mnist5k"}, {}, owner=a), demo=True)
    # an experiment's runs are one start, all queued together
    group = [JobSpec(f"b_{i}", {"kind": "vae", "dataset": "mnist5k"}, {}, "b's experiment", b) for i in range(3)]
    assert len(idle_store.submit_many(group, demo=True)) == 3
    with pytest.raises(ValueError, match=r"the queue is full \(3 runs waiting, at most 2\)"):
        idle_store.submit(JobSpec("c1", {"kind": "vae", "dataset": "mnist5k"}, {}, owner=c), demo=True)
    assert [j.name for j in idle_store.jobs()] == ["a1", "b_0", "b_1", "b_2"]
    # a refused experiment leaves nothing behind; outside the demo a visitor may queue several runs
    with pytest.raises(ValueError, match="exists already"):
        idle_store.submit_many([JobSpec("c2", {"kind": "vae"}, {}), JobSpec("a1", {"kind": "vae"}, {})])
    assert "c2" not in [j.name for j in idle_store.jobs()]
    for job in idle_store.jobs()[1:]:
        idle_store.command(job.id, "stop", b)
    idle_store.submit(JobSpec("a3", {"kind": "vae"}, {}, owner=a), demo=False)
    assert idle_store.get(idle_store.jobs()[-1].id).state == "queued"


def test_a_worker_on_another_host_is_judged_by_its_heartbeat(tmp_path):
    """Replicas on several machines share a runs folder: a job running elsewhere is not 'interrupted' while its
    heartbeat is fresh, and is once it stops beating."""
    from genlab.files import write_json
    from genlab.training.jobs import REMOTE_STALE_SECONDS

    store = JobStore(tmp_path, python="/bin/true")
    job = store.submit(JobSpec("elsewhere", {"kind": "vae"}, {}))
    beat = {**store.get(job.id).status, "state": "running", "pid": 1, "host": "another-host"}
    write_json(job.folder / "status.json", {**beat, "heartbeat": time.time()})
    store.tick()
    assert store.get(job.id).state == "running"
    write_json(job.folder / "status.json", {**beat, "heartbeat": time.time() - REMOTE_STALE_SECONDS - 1})
    store.tick()
    assert store.get(job.id).state == "interrupted"


def test_the_eta_counts_what_step_times_miss():
    """Issue 32, 13: 20 epochs of 100 steps at 0.1 s, each epoch also spending 6 s on saving and monitoring
    that its steps do not show (of which the monitor's own 1 s is known), then 30 s of scoring. Asked after
    4 epochs and a half, the ETA is the time really left, within 5%; the steps alone said a third less."""
    from genlab.training.worker import estimate_eta

    per_epoch = 100 * 0.1 + 6.0
    elapsed = 4 * per_epoch + 50 * 0.1
    truth = 100 * 0.1 / 2 + 6.0 + 15 * per_epoch + 30.0
    eta = estimate_eta(20, 4, 50, 100, [0.1] * 50, 1.0, elapsed, 4, scoring=30.0)
    assert abs(eta - truth) / truth < 0.05, (eta, truth)
    steps_only = estimate_eta(20, 4, 50, 100, [0.1] * 50, 1.0, elapsed, 0)
    assert steps_only < 0.7 * truth                                  # the old estimate, before an epoch's rate
    assert estimate_eta(20, 0, 0, 100, [], 0.0, 0.0, 0) is None


def test_the_comparison_table_says_once_what_every_run_shares():
    """Issue 32, 12: the Compare table fits a laptop: settings common to all runs leave the table for one line."""
    from genlab.training.presets import split_shared

    rows = [{"run": "a", "group": "g", "activation": "relu", "optimizer": "adam", "lr": 2e-4, "fid": 300.0,
             "loss": "-", "seconds_per_epoch": 9.0},
            {"run": "b", "group": "g", "activation": "elu", "optimizer": "adam", "lr": 2e-4, "fid": 280.0,
             "loss": "-", "seconds_per_epoch": 9.0}]
    varying, shared = split_shared(rows)
    assert shared == {"optimizer": "adam", "lr": 2e-4}
    assert [list(r) for r in varying] == [["run", "activation", "fid", "seconds_per_epoch"]] * 2
    one, nothing = split_shared(rows[:1])
    assert nothing == {} and "optimizer" in one[0]                  # one run: its whole row
    from genlab.data import DATASETS

    assert all(len(info.title) <= 22 for info in DATASETS.values())     # the dataset picker's names fit its column
