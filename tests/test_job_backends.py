"""The job backends (genlab.training.backends, issue 30): one contract, run against local processes and against a
real two-node Ray cluster started on this machine (a head with 0 CPUs and one worker node with 1 CPU, so a run can
only land on the second node); then the Train page's job store on Ray: pause after epoch 1 (the CPU is released),
resume (a new attempt continues at epoch 1), finish, publish, logs from Ray, and a second run stopped."""
from __future__ import annotations

import time

import pytest

from genlab.checkpoints import load_checkpoint
from genlab.training.backends import BackendError, LocalBackend, RayBackend, backend_from_env
from genlab.training.jobs import JobStore

from .test_jobs import finished, tiny, wait_for


def _process_lives(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if ") Z" in open(f"/proc/{pid}/stat").read():
                return False
        except OSError:
            return False
        time.sleep(0.2)
    return True


def gone(backend, job, timeout: float = 60) -> bool:
    """The worker exits after writing its last state (and a last tick): wait for that."""
    deadline = time.monotonic() + timeout
    while backend.alive(job) and time.monotonic() < deadline:
        time.sleep(0.2)
    return not backend.alive(job)


@pytest.fixture(scope="module")
def ray_cluster():
    """A real Ray cluster: the head schedules nothing (0 CPUs), the one worker node has 1 CPU."""
    from genlab.training.ray_local import local_cluster

    with local_cluster(worker_cpus=1) as cluster:
        yield cluster


@pytest.fixture(params=["local", pytest.param("ray", marks=pytest.mark.ray)])
def backend(request, tmp_path, monkeypatch):
    monkeypatch.setenv("GENLAB_RUNS", str(tmp_path))
    monkeypatch.setenv("GENLAB_TRAIN_THREADS", "1")
    if request.param == "local":
        monkeypatch.setenv("GENLAB_JOB_BACKEND", "local")
        return LocalBackend()
    url = request.getfixturevalue("ray_cluster").url
    monkeypatch.setenv("GENLAB_JOB_BACKEND", "ray")
    monkeypatch.setenv("GENLAB_RAY_ADDRESS", url)
    return RayBackend(url, max_jobs=2, cpus=1)


def test_contract_a_run_finishes_publishes_and_has_logs(backend, tmp_path):
    store = JobStore(tmp_path, limit=2, backend=backend)
    job = store.submit(tiny("contract_run", epochs=1))
    assert backend.alive(store.get(job.id)) or store.get(job.id).state != "queued"
    job = wait_for(store, job.id, finished, timeout=300)
    assert job.state == "done", (job.status, store.logs(job))
    assert job.status["backend"] == backend.name
    assert (tmp_path / "models" / "contract_run.safetensors").is_file()
    assert gone(backend, job)
    assert "genlab worker: job" in store.logs(job), "the worker's output"


def test_contract_terminate_is_a_clean_stop(backend, tmp_path):
    store = JobStore(tmp_path, limit=2, backend=backend)
    job = store.submit(tiny("terminated_run", epochs=50, limit=512))
    job = wait_for(store, job.id, lambda j: j.state == "running" and (j.status.get("epoch") or 0) >= 1
                   and j.checkpoint.is_file(), timeout=300)   # the epoch's status comes just before its save
    backend.terminate(job)
    job = wait_for(store, job.id, finished, timeout=120)
    assert job.state == "stopped", (job.status, store.logs(job))
    assert load_checkpoint(job.checkpoint).epochs >= 1


@pytest.mark.ray
def test_train_page_store_on_ray_pause_resume_finish_publish_stop(ray_cluster, tmp_path, monkeypatch):
    monkeypatch.setenv("GENLAB_RUNS", str(tmp_path))
    monkeypatch.setenv("GENLAB_JOB_BACKEND", "ray")
    monkeypatch.setenv("GENLAB_RAY_ADDRESS", ray_cluster.url)
    monkeypatch.setenv("GENLAB_MAX_JOBS", "2")
    store = JobStore(tmp_path, limit=2)
    assert isinstance(store.backend, RayBackend) and not store.backend.pause_in_place
    job = store.submit(tiny("ray_gan", epochs=2, limit=256))
    first_attempt = store.get(job.id).status["submission_id"]
    store.command(job.id, "pause")            # seen at the first step: the worker saves epoch 1 and exits
    job = wait_for(store, job.id, lambda j: j.state == "paused" and j.status.get("released"), timeout=300)
    assert store.backend.node(job) == ray_cluster.list_all_nodes()[-1].node_id   # the worker node, not the head
    assert job.status["epoch"] == 1 and load_checkpoint(job.checkpoint).epochs == 1
    assert gone(store.backend, job)           # the CPU is free: no Ray job holds it
    info = store.backend.client.get_job_info(first_attempt)
    assert str(info.status.value) == "SUCCEEDED" and info.metadata["genlab_job"] == job.id
    store.command(job.id, "run")             # resume: a new attempt that continues at epoch 1
    second_attempt = store.get(job.id).status["submission_id"]
    assert second_attempt != first_attempt and store.get(job.id).status["attempt"] == 2
    job = wait_for(store, job.id, finished, timeout=300)
    assert job.state == "done", (job.status, store.logs(job))
    logs = store.logs(job)
    assert "attempt 2, resuming after epoch 1" in logs, logs[-2000:]
    history = job.history()
    assert history["epochs"] == 2 and len(history["seconds"]) == 2
    assert (tmp_path / "models" / "ray_gan.safetensors").is_file()
    # a second run, stopped: the control file first, then (past the grace period) Ray's stop
    other = store.submit(tiny("ray_stopped", epochs=100, limit=512))
    other = wait_for(store, other.id, lambda j: j.state == "running" and j.status.get("pid"), timeout=300)
    store.command(other.id, "stop")
    other = wait_for(store, other.id, finished, timeout=120)
    assert other.state == "stopped", (other.status, store.logs(other))


def test_backend_from_env_names_the_backends(monkeypatch):
    monkeypatch.delenv("GENLAB_JOB_BACKEND", raising=False)
    assert isinstance(backend_from_env(), LocalBackend)
    monkeypatch.setenv("GENLAB_JOB_BACKEND", "ray")
    monkeypatch.setenv("GENLAB_RAY_ADDRESS", "http://127.0.0.1:1")
    ray = backend_from_env()
    assert isinstance(ray, RayBackend) and ray.address == "http://127.0.0.1:1"
    with pytest.raises(BackendError, match="cannot reach the Ray cluster at http://127.0.0.1:1"):
        ray.free_slots()
    monkeypatch.setenv("GENLAB_JOB_BACKEND", "slurm")
    with pytest.raises(BackendError, match="local or ray"):
        backend_from_env()


def test_a_worker_that_cannot_see_the_job_folder_says_so(tmp_path, capsys):
    from genlab.training.worker import main
    assert main([str(tmp_path / "jobs" / "missing")]) == 3
    assert "must mount the runs folder at the same path" in capsys.readouterr().err


def test_ray_submits_only_below_max_jobs(tmp_path, monkeypatch):
    """Ray Jobs has no queue (pending jobs time out): GenLab keeps its own and submits while Ray's running and
    pending jobs are below GENLAB_MAX_JOBS."""
    from types import SimpleNamespace

    class Client:
        def __init__(self):
            self.submitted, self.busy = [], 2

        def list_jobs(self):
            status = SimpleNamespace(value="RUNNING")
            return [SimpleNamespace(status=status)] * self.busy + [SimpleNamespace(status=SimpleNamespace(value="SUCCEEDED"))]

        def submit_job(self, **kwargs):
            self.submitted.append(kwargs)
            return kwargs["submission_id"]

        def get_job_status(self, submission):
            return SimpleNamespace(value="PENDING")

    monkeypatch.setenv("GENLAB_RUNS", str(tmp_path))
    client = Client()
    store = JobStore(tmp_path, limit=4, backend=RayBackend("http://head:8265", max_jobs=2, cpus=2, client=client))
    job = store.submit(tiny("waits_for_ray"))
    assert store.get(job.id).state == "queued" and not client.submitted     # Ray is full: GenLab's queue holds it
    client.busy = 1
    store.tick()
    assert store.get(job.id).state == "running" and len(client.submitted) == 1
    sent = client.submitted[0]
    assert sent["entrypoint_num_cpus"] == 2 and sent["metadata"]["genlab_job"] == job.id
    assert sent["entrypoint"].endswith(f"-m genlab.training.worker {job.folder}")
    assert sent["runtime_env"]["env_vars"]["GENLAB_JOB_BACKEND"] == "ray"
    assert sent["submission_id"].startswith(f"genlab-{job.id}-1-")


@pytest.mark.ray
def test_a_run_whose_ray_node_dies_is_interrupted_and_resumes_on_another_node(ray_cluster, tmp_path, monkeypatch):
    """The run's node is removed mid-run (a new one joins first, as the module's cluster's worker node); GenLab
    marks the run interrupted, and resuming it submits a new attempt that lands on the surviving node and continues
    from its last epoch. (One cluster per module: two clusters at once leave the second without a job agent.)"""
    monkeypatch.setenv("GENLAB_RUNS", str(tmp_path))
    monkeypatch.setenv("GENLAB_TRAIN_THREADS", "1")
    cluster = ray_cluster
    doomed = cluster.list_all_nodes()[-1]
    backend = RayBackend(cluster.url, max_jobs=2, cpus=1)
    store = JobStore(tmp_path, limit=2, backend=backend)
    job = store.submit(tiny("ray_node_dies", epochs=3, limit=512))
    job = wait_for(store, job.id, lambda j: j.state == "running" and (j.status.get("epoch") or 0) >= 1
                   and j.checkpoint.is_file(), timeout=300)
    first_node, first_pid = backend.node(job), job.status["pid"]
    assert first_node == doomed.node_id
    survivor = cluster.add_node(num_cpus=1)
    cluster.remove_node(doomed)
    job = wait_for(store, job.id, lambda j: j.state == "interrupted", timeout=120)
    done_epochs = load_checkpoint(job.checkpoint).epochs
    assert done_epochs >= 1
    assert not _process_lives(first_pid, timeout=30)   # the dead node's worker does not train on
    store.command(job.id, "run")
    job = wait_for(store, job.id, lambda j: j.status.get("attempt") == 2 and j.status.get("pid"), timeout=120)
    assert backend.node(job) == survivor.node_id
    job = wait_for(store, job.id, finished, timeout=300)
    assert job.state == "done", (job.status, store.logs(job))
    assert f"resuming after epoch {done_epochs}" in store.logs(job)
    assert job.history()["epochs"] == 3


@pytest.mark.ray
@pytest.mark.parametrize("kind", ["musegan", "melody"])
def test_music_models_train_as_ray_jobs_too(ray_cluster, tmp_path, monkeypatch, kind):
    """MuseGAN and the melody model are single-process runs: Ray runs them as any job (issue 30.7)."""
    from genlab.training.jobs import JobSpec

    monkeypatch.setenv("GENLAB_RUNS", str(tmp_path))
    monkeypatch.setenv("GENLAB_TRAIN_THREADS", "1")
    backend = RayBackend(ray_cluster.url, max_jobs=2, cpus=1)
    store = JobStore(tmp_path, limit=2, backend=backend)
    job = store.submit(JobSpec(f"ray_{kind}", {"kind": kind, "model": {"hidden": 16}, "dataset": "chorales",
                                               "epochs": 1, "limit": 32, "batch_size": 16}, {}))
    job = wait_for(store, job.id, finished, timeout=300)
    assert job.state == "done", (job.status, store.logs(job))
    assert backend.node(job) == ray_cluster.list_all_nodes()[-1].node_id
    assert job.status["scores"] and (tmp_path / "models" / f"ray_{kind}.safetensors").is_file()
