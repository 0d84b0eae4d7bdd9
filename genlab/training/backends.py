"""Where training workers run: one interface, two implementations.

GenLab keeps its own queue, owners, demo limits and states (genlab.training.jobs); a backend only runs the
worker (`python -m genlab.training.worker JOB_FOLDER`) somewhere and answers for it:

    launch(job)      start an attempt; returns the fields to record in the job's status
    alive(job)       is the attempt still running (or about to)?
    terminate(job)   end it now (the worker turns SIGTERM into a clean "stopped")
    logs(job)        the worker's output, as text (its tail)
    free_slots()     how many more attempts the backend takes now (None: GenLab's own limit decides)
    pause_in_place   True: a paused worker waits holding its CPU; False: it saves at the end of the epoch and
                     exits as paused, and resuming launches a new attempt from that epoch

`LocalBackend` (the default, what tests and a fresh install use) starts a process on this machine.
`RayBackend` (`GENLAB_JOB_BACKEND=ray`, `GENLAB_RAY_ADDRESS=http://HEAD:8265`) submits each attempt through
the Ray Jobs API, so it lands on whichever node of the cluster has the CPUs. Ray Jobs has no queue of its own
(a pending job times out), so GenLab submits only while Ray's running and pending jobs are below
`GENLAB_MAX_JOBS`. Every node must see the runs folder at the same path (NFS in docs/hosting.md); a worker
that cannot exits with a message that names the folder, and the job fails with it.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]     # the project folder (the same path on every node)
LOG_TAIL = 20_000                             # characters of a worker's log shown on the page
RAY_ACTIVE = ("PENDING", "RUNNING")


class BackendError(RuntimeError):
    """The backend cannot be used as configured (a missing package, an unreachable cluster)."""


def worker_command(python: str, folder: Path) -> list[str]:
    return [python, "-m", "genlab.training.worker", str(folder)]


def _tail(path: Path, limit: int = LOG_TAIL) -> str:
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - limit))
            return handle.read().decode("utf-8", "replace")
    except OSError:
        return ""


STARTUP_SECONDS = 15                           # a new worker's grace to start its interpreter
REMOTE_STALE_SECONDS = 300                     # a worker on another host is alive while its heartbeat is this fresh
_children: dict[int, subprocess.Popen] = {}    # workers started by this process, reaped when they end


def worker_alive(pid, heartbeat: float | None = None, host: str | None = None) -> bool:
    """Is `pid` a live (not zombie) GenLab training worker? A worker started in the last few seconds
    (`heartbeat`) may still be starting its interpreter. A worker on another `host` (replicas on several
    machines sharing the runs folder) cannot be asked: it is alive while its heartbeat is recent."""
    if host and host != socket.gethostname():
        return isinstance(heartbeat, (int, float)) and time.time() - heartbeat < REMOTE_STALE_SECONDS
    if not isinstance(pid, int) or pid <= 0:
        return False
    child = _children.get(pid)
    if child is not None:   # started by this process: ask it directly (and reap it when it ended)
        if child.poll() is None:
            return True
        _children.pop(pid, None)
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    proc = Path(f"/proc/{pid}")
    if proc.is_dir():   # Linux: not a zombie, and really a worker (a pid can be reused after a reboot)
        try:
            if ") Z" in (proc / "stat").read_text():
                return False
            starting = heartbeat is not None and time.time() - heartbeat < STARTUP_SECONDS
            return starting or b"genlab.training.worker" in (proc / "cmdline").read_bytes()
        except OSError:
            return False
    return True


class LocalBackend:
    """A worker process on this machine per running job (its own session, so a stop reaches its children)."""
    name = "local"
    pause_in_place = True

    def __init__(self, python: str = sys.executable):
        self.python = python

    def launch(self, job, runs_folder: Path) -> dict:
        log = open(job.folder / "worker.log", "ab")
        env = {**os.environ, "GENLAB_RUNS": str(runs_folder)}
        process = subprocess.Popen(worker_command(self.python, job.folder), stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, env=env, cwd=ROOT, start_new_session=True)
        log.close()
        _children[process.pid] = process
        return {"backend": self.name, "pid": process.pid, "host": socket.gethostname()}

    def alive(self, job) -> bool:
        return worker_alive(job.status.get("pid"), job.status.get("heartbeat"), job.status.get("host"))

    def terminate(self, job) -> None:
        pid = job.status.get("pid")
        if isinstance(pid, int) and pid > 0 and job.status.get("host") in (None, socket.gethostname()):
            try:
                os.killpg(pid, signal.SIGTERM)
            except (ProcessLookupError, PermissionError):
                pass

    def logs(self, job) -> str:
        return _tail(job.folder / "worker.log")

    def node(self, job) -> str | None:
        """Where the job's worker runs (this host's name)."""
        return job.status.get("host")

    def free_slots(self) -> int | None:
        return None


class RayBackend:
    """Each attempt a Ray job: the worker as its entrypoint, `GENLAB_RAY_CPUS` CPUs (and `GENLAB_RAY_GPUS`
    GPUs) reserved for it, the job id and owner in its metadata, a fresh submission id per attempt."""
    name = "ray"
    pause_in_place = False

    def __init__(self, address: str | None = None, python: str = sys.executable, max_jobs: int | None = None,
                 cpus: float | None = None, gpus: float | None = None, client=None):
        self.address = address or os.environ.get("GENLAB_RAY_ADDRESS", "http://127.0.0.1:8265")
        self.python = python
        self.max_jobs = max_jobs if max_jobs is not None else int(os.environ.get("GENLAB_MAX_JOBS", "2"))
        self.cpus = float(cpus if cpus is not None else os.environ.get("GENLAB_RAY_CPUS", "1"))
        self.gpus = float(gpus if gpus is not None else os.environ.get("GENLAB_RAY_GPUS", "0"))
        self._client = client

    @property
    def client(self):
        if self._client is None:
            try:
                from ray.job_submission import JobSubmissionClient
            except ImportError:
                raise BackendError("GENLAB_JOB_BACKEND=ray needs Ray: pip install -r requirements-ray.txt") from None
            try:
                self._client = JobSubmissionClient(self.address)
            except Exception as err:   # ConnectionError and Ray's own: the page shows the sentence
                raise BackendError(f"cannot reach the Ray cluster at {self.address} ({type(err).__name__}: "
                                   f"{str(err)[:200]}); start it (docs/hosting.md) or unset GENLAB_JOB_BACKEND") from None
        return self._client

    def launch(self, job, runs_folder: Path) -> dict:
        attempt = int(job.status.get("attempt", 0)) + 1
        submission = f"genlab-{job.id}-{attempt}-{uuid.uuid4().hex[:4]}"
        env = {"GENLAB_RUNS": str(runs_folder), "GENLAB_JOB_BACKEND": "ray", "GENLAB_RAY_ADDRESS": self.address,
               "GENLAB_MAX_JOBS": str(self.max_jobs), "GENLAB_TRAIN_THREADS": str(max(1, int(self.cpus))),
               "PYTHONUNBUFFERED": "1"}
        for name in ("GENLAB_DATA_DIR", "GENLAB_CHECKPOINTS", "GENLAB_RAY_CPUS", "GENLAB_RAY_GPUS"):
            if name in os.environ:
                env[name] = os.environ[name]
        entrypoint = f"cd {ROOT} && " + " ".join(worker_command(self.python, job.folder))
        try:
            self.client.submit_job(entrypoint=entrypoint, submission_id=submission,
                                   entrypoint_num_cpus=self.cpus, entrypoint_num_gpus=self.gpus or None,
                                   metadata={"genlab_job": job.id, "owner": job.owner or "", "name": job.name},
                                   runtime_env={"env_vars": env})
        except BackendError:
            raise
        except Exception as err:   # e.g. "No available agent to submit job" while a node starts
            raise BackendError(f"the Ray cluster at {self.address} did not take the run just now "
                               f"({str(err)[:160]}); it stays queued and is submitted again shortly") from None
        return {"backend": self.name, "submission_id": submission, "attempt": attempt, "pid": None, "host": None}

    def _status(self, job) -> str | None:
        submission = job.status.get("submission_id")
        if not submission:
            return None
        try:
            return str(self.client.get_job_status(submission).value)
        except Exception:   # a job Ray forgot (its head restarted): not alive
            return None

    def alive(self, job) -> bool:
        if job.status.get("backend") != self.name:   # recorded by another backend: its pid, if on this host
            return LocalBackend(self.python).alive(job)
        return self._status(job) in RAY_ACTIVE

    def terminate(self, job) -> None:
        submission = job.status.get("submission_id")
        if submission:
            try:
                self.client.stop_job(submission)
            except Exception:
                pass

    def logs(self, job) -> str:
        submission = job.status.get("submission_id")
        if not submission:
            return _tail(job.folder / "worker.log")
        try:
            return self.client.get_job_logs(submission)[-LOG_TAIL:]
        except Exception as err:
            return f"(Ray has no logs for {submission}: {type(err).__name__})"

    def node(self, job) -> str | None:
        """The id of the Ray node that runs the job's worker (its driver node)."""
        submission = job.status.get("submission_id")
        try:
            return self.client.get_job_info(submission).driver_node_id or None
        except Exception:
            return None

    def failure(self, job) -> str | None:
        """Why Ray ended an attempt that never wrote its own state (e.g. the node could not see the folder)."""
        submission = job.status.get("submission_id")
        try:
            info = self.client.get_job_info(submission)
        except Exception:
            return None
        last = [line for line in self.logs(job).strip().splitlines() if line.strip()][-1:] or [""]
        return f"Ray ended the run's attempt ({info.status}): {info.message or ''} {last[0]}".strip()

    def free_slots(self) -> int | None:
        try:
            active = sum(1 for info in self.client.list_jobs() if str(info.status.value) in RAY_ACTIVE)
        except BackendError:
            raise
        except Exception:
            return 0   # the cluster does not answer: submit nothing now
        return max(0, self.max_jobs - active)


def backend_from_env(python: str = sys.executable):
    """The backend `GENLAB_JOB_BACKEND` names ("local", the default, or "ray")."""
    name = os.environ.get("GENLAB_JOB_BACKEND", "local").strip().lower() or "local"
    if name == "local":
        return LocalBackend(python)
    if name == "ray":
        return RayBackend(python=python)
    raise BackendError(f"GENLAB_JOB_BACKEND must be local or ray, got {name!r}")


STOP_GRACE_SECONDS = float(os.environ.get("GENLAB_STOP_GRACE", "20"))   # control file first, then the backend


def stop_overdue(control: dict, now: float | None = None) -> bool:
    """A stop asked for longer ago than the grace period, which the worker has not honoured."""
    return control.get("command") == "stop" and ((now or time.time()) - float(control.get("at", 0))) > STOP_GRACE_SECONDS
