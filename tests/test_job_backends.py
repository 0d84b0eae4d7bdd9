"""The job backends (genlab.training.backends, issue 30): one contract, run against local processes and against a
real two-node Ray cluster started on this machine (a head with 0 CPUs and one worker node with 1 CPU, so a run can
only land on the second node); then the Train page's job store on Ray: pause after epoch 1 (the CPU is released),
resume (a new attempt continues at epoch 1), finish, publish, logs from Ray, and a second run stopped."""
from __future__ import annotations

import socket
import time

import pytest

from genlab.checkpoints import load_checkpoint
from genlab.training.backends import BackendError, LocalBackend, RayBackend, backend_from_env
from genlab.training.jobs import JobStore

from .test_jobs import finished, tiny, wait_for


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def gone(backend, job, timeout: float = 60) -> bool:
    """The worker exits after writing its last state (and a last tick): wait for that."""
    deadline = time.monotonic() + timeout
    while backend.alive(job) and time.monotonic() < deadline:
        time.sleep(0.2)
    return not backend.alive(job)


@pytest.fixture(scope="module")
def ray_cluster():
    """A real Ray cluster: the head schedules nothing (0 CPUs), the one worker node has 1 CPU."""
    from ray.cluster_utils import Cluster
    from ray.job_submission import JobSubmissionClient

    cluster = Cluster(initialize_head=True, head_node_args={
        "num_cpus": 0, "include_dashboard": True, "dashboard_host": "127.0.0.1", "dashboard_port": _free_port()})
    try:
        cluster.add_node(num_cpus=1, resources={"genlab_trainer": 1})
        cluster.wait_for_nodes()
        url = "http://" + cluster.head_node.address_info["webui_url"]
        deadline = time.monotonic() + 60
        while True:   # the dashboard's job API answers a moment after the head is up
            try:
                JobSubmissionClient(url).list_jobs()
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        yield url
    finally:
        cluster.shutdown()   # only this cluster


@pytest.fixture(params=["local", pytest.param("ray", marks=pytest.mark.ray)])
def backend(request, tmp_path, monkeypatch):
    monkeypatch.setenv("GENLAB_RUNS", str(tmp_path))
    monkeypatch.setenv("GENLAB_TRAIN_THREADS", "1")
    if request.param == "local":
        monkeypatch.setenv("GENLAB_JOB_BACKEND", "local")
        return LocalBackend()
    url = request.getfixturevalue("ray_cluster")
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
    job = wait_for(store, job.id, lambda j: j.state == "running" and (j.status.get("epoch") or 0) >= 1, timeout=300)
    backend.terminate(job)
    job = wait_for(store, job.id, finished, timeout=120)
    assert job.state == "stopped", (job.status, store.logs(job))
    assert load_checkpoint(job.checkpoint).epochs >= 1


@pytest.mark.ray
def test_train_page_store_on_ray_pause_resume_finish_publish_stop(ray_cluster, tmp_path, monkeypatch):
    monkeypatch.setenv("GENLAB_RUNS", str(tmp_path))
    monkeypatch.setenv("GENLAB_JOB_BACKEND", "ray")
    monkeypatch.setenv("GENLAB_RAY_ADDRESS", ray_cluster)
    monkeypatch.setenv("GENLAB_MAX_JOBS", "2")
    store = JobStore(tmp_path, limit=2)
    assert isinstance(store.backend, RayBackend) and not store.backend.pause_in_place
    job = store.submit(tiny("ray_gan", epochs=2, limit=256))
    first_attempt = store.get(job.id).status["submission_id"]
    store.command(job.id, "pause")            # seen at the first step: the worker saves epoch 1 and exits
    job = wait_for(store, job.id, lambda j: j.state == "paused" and j.status.get("released"), timeout=300)
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
