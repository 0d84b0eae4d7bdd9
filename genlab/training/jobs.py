"""Training jobs for the Train page: a folder per job, a worker process per running job, a bounded queue.

A job never calls Streamlit: the page writes what the user asked for (spec.json, control.json) and
reads what the worker wrote (status.json, the checkpoint, the monitoring pictures). Reloading the
page, or opening it in another browser, finds every job again in the folder.

Layout of $GENLAB_RUNS (default runs/app):
  jobs/<id>/spec.json          what to train: {"name", "train": TrainConfig fields, "monitor": MonitorConfig
                               fields, "group", "owner", "created"}; written once
  jobs/<id>/status.json        the worker's record: state, epoch, step, ETA, heartbeat, error, final scores
  jobs/<id>/control.json       the user's last command: {"command": "run" | "pause" | "stop"}
  jobs/<id>/model.safetensors  the checkpoint of the last completed epoch, history and monitoring included
  jobs/<id>/samples/NNNN.png   the fixed-noise grid after epoch NNNN
  jobs/<id>/maps/NNNN.npz      the class-area map after epoch NNNN (labels, confidence), and NNNN.png
  jobs/<id>/worker.log         the worker's output (a failure's traceback)
  jobs/<id>/distill.json       a distillation job's test figures per epoch, with and without the teacher
  models/<name>.safetensors    finished models, listed by every explorer page beside the shipped ones

States: queued -> running <-> paused -> scoring -> done | stopped | failed. A running or paused job whose worker
died (a killed server, a reboot, a lost node) is "interrupted"; resuming queues it again and it continues from
its last completed epoch.

Where workers run is the backend's business (genlab.training.backends: local processes by default, or Ray with
GENLAB_JOB_BACKEND=ray). On a backend that does not pause in place, a paused job's worker saves at the end of
its epoch and exits ("paused" with "released": true in status.json); resuming queues it for a new attempt.

Owners: a job records the visitor who started it (an opaque id the browser keeps, genlab.ui.visitor). Anyone
may watch a job; only its owner may pause, resume or stop it (a job without an owner, e.g. from the command
line, takes commands from anyone). The queue holds at most max_queue() waiting jobs, and in the hosted demo
a visitor has at most one start (one run, or one experiment's runs) queued or training at a time.
"""
from __future__ import annotations

import fcntl
import os
import sys
import time
import uuid
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path

from ..catalog import runs_folder
from ..checkpoints import CheckpointError, read_metadata
from ..files import read_json, write_json
from .backends import (REMOTE_STALE_SECONDS, STARTUP_SECONDS, BackendError, _children,  # noqa: F401
                       backend_from_env, stop_overdue, worker_alive)
from .config import TrainConfig
from .monitor import MonitorConfig

STATES = ("queued", "running", "paused", "scoring", "done", "stopped", "failed", "interrupted")
ACTIVE = ("running", "paused", "scoring")      # a worker process holds the job
FINISHED = ("done", "stopped", "failed")
COMMANDS = ("run", "pause", "stop")
EMBEDDED_DATASETS = ("mnist5k", "digits")
DEMO_LIMITS = {"epochs": 20, "limit": 5000, "hidden": 256}   # the hosted demo's bound on each job
MAX_EPOCHS = 1000                              # any job's bound (longer runs: the command line)
MAX_NAME = 60                                  # characters in a run's name (its model's file name)
MAX_OWNER = 64                                 # characters in an owner id
WAITING = ("queued", "running", "paused", "scoring")   # a job that holds a place in the queue or a slot


def max_running() -> int:
    """$GENLAB_MAX_JOBS (default 1): how many jobs train at once; the rest wait in the queue."""
    try:
        return max(1, int(os.environ.get("GENLAB_MAX_JOBS", "1")))
    except ValueError:
        return 1


def max_queue() -> int:
    """$GENLAB_MAX_QUEUE (default 20): how many jobs may wait in the queue; a start beyond it is refused."""
    try:
        return max(1, int(os.environ.get("GENLAB_MAX_QUEUE", "20")))
    except ValueError:
        return 20


class NotOwnerError(ValueError):
    """A command on a job that another visitor started."""


def demo_mode() -> bool:
    """$GENLAB_DEMO=1: the hosted demo; every job's epochs and data are bounded (DEMO_LIMITS)."""
    return os.environ.get("GENLAB_DEMO", "") == "1"


@dataclass
class JobSpec:
    name: str                      # what the user calls the run; also the published model's file name
    train: dict                    # TrainConfig fields
    monitor: dict                  # MonitorConfig fields
    group: str = ""                # runs started together (e.g. one activation experiment) share a group
    owner: str = ""                # the visitor who started it ("" = anyone may command it)
    distill: dict = field(default_factory=dict)   # non-empty: a distillation comparison (DISTILL_KEYS), whose
                                                  # epochs and data are train["epochs"] and train["dataset"]

    def validate(self, demo: bool = False) -> "JobSpec":
        """Raise ValueError with a message when the spec cannot run (or breaks the demo's limits)."""
        name = self.name.strip()
        if not name:
            raise ValueError("give the run a name (letters, digits, - and _)")
        if len(name) > MAX_NAME:
            raise ValueError(f"a run's name has at most {MAX_NAME} characters; this one has {len(name)}")
        odd = sorted({c for c in name if not (c.isascii() and (c.isalnum() or c in "-_"))})
        if odd:
            raise ValueError(f"a run's name may hold letters, digits, - and _ only (it becomes a file name); "
                             f"{name[:40]!r} also has {' '.join(repr(c) for c in odd[:5])}")
        self.name = name
        if not isinstance(self.owner, str) or len(self.owner) > MAX_OWNER:
            raise ValueError("a run's owner is an id of at most 64 characters")
        known = {f.name for f in fields(TrainConfig)}
        unknown = set(self.train) - known
        if unknown:
            raise ValueError(f"unknown training settings: {', '.join(sorted(unknown))}")
        cfg = TrainConfig(**self.train)
        MonitorConfig(**self.monitor)
        if self.distill:
            _check_distill(self.distill, cfg)
        if cfg.epochs > MAX_EPOCHS:
            raise ValueError(f"a run here trains at most {MAX_EPOCHS:,} epochs (you asked for {cfg.epochs:,}); "
                             "longer runs belong to the command line (python -m train ...)")
        if demo:
            if cfg.epochs > DEMO_LIMITS["epochs"]:
                raise ValueError(f"the demo trains at most {DEMO_LIMITS['epochs']} epochs per run "
                                 f"(you asked for {cfg.epochs:,})")
            music = cfg.kind in ("musegan", "melody")
            if cfg.dataset not in EMBEDDED_DATASETS and not music:   # the chorales ship with the app too
                raise ValueError("the demo trains on the embedded digits only")
            if music and int(cfg.model.get("hidden", 1024 if cfg.kind == "musegan" else 256)) > DEMO_LIMITS["hidden"]:
                raise ValueError(f"the demo trains music models at most {DEMO_LIMITS['hidden']} units wide (the "
                                 "book's MuseGAN is 1024: the command line trains it)")
            if cfg.limit is not None and cfg.limit > DEMO_LIMITS["limit"]:
                raise ValueError(f"the demo trains on at most {DEMO_LIMITS['limit']:,} images per run "
                                 f"(you asked for {cfg.limit:,}); 0 takes them all")
            if cfg.limit is None:   # "all": the embedded sets hold at most 4,000 training images anyway
                self.train["limit"] = DEMO_LIMITS["limit"]
        return self


DISTILL_KEYS = {"setting": str, "lambda": float, "temperature": float, "student": str, "seed": int}


def _check_distill(spec: dict, cfg: TrainConfig) -> None:
    """A distillation job's settings (genlab.distill): the map, lambda in [0, 1], a temperature in [0.5, 20],
    the students' size, a seed; its students are classifiers trained on the digits of `cfg.dataset`."""
    from ..distill import SETTINGS

    if set(spec) != set(DISTILL_KEYS):
        raise ValueError(f"a distillation run needs exactly {', '.join(DISTILL_KEYS)}")
    for key, kind in DISTILL_KEYS.items():
        value = spec[key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = spec[key] = float(value)
        if not isinstance(value, kind) or isinstance(value, bool):
            raise ValueError(f"distillation: {key} must be {dict(str='text', float='a number', int='an integer')[kind.__name__]}")
    if spec["setting"] not in SETTINGS:
        raise ValueError(f"distillation: the map must be one of {', '.join(SETTINGS)}")
    if not 0.0 <= spec["lambda"] <= 1.0:
        raise ValueError("distillation: lambda must be in [0, 1]")
    if not 0.5 <= spec["temperature"] <= 20.0:
        raise ValueError("distillation: the temperature must be in [0.5, 20]")
    if spec["student"] not in ("weak", "strong"):
        raise ValueError("distillation: the student is weak or strong")
    if not 0 <= spec["seed"] <= 1_000_000:
        raise ValueError("distillation: the seed is in 0..1,000,000")
    if cfg.kind != "classifier" or cfg.dataset not in ("mnist5k", "mnist"):
        raise ValueError("distillation: the students are classifiers on MNIST digits")


class Job:
    """A read-only view of one job folder (cheap: it reads small JSON files)."""

    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder)
        self.id = self.folder.name
        self.spec: dict = read_json(self.folder / "spec.json", {})
        self.status: dict = read_json(self.folder / "status.json", {"state": "queued"})

    @property
    def name(self) -> str:
        return self.spec.get("name", self.id)

    @property
    def state(self) -> str:
        return self.status.get("state", "queued")

    @property
    def owner(self) -> str:
        return str(self.spec.get("owner") or "")

    def commandable_by(self, visitor: str | None) -> bool:
        """May `visitor` pause, resume or stop this job? (Its owner, or anyone when it has none.)"""
        return not self.owner or self.owner == visitor

    @property
    def task(self) -> str:
        """"train" (a model, the Train page) or "distill" (a comparison of students, the Distillation page)."""
        return "distill" if self.spec.get("distill") else "train"

    def distill_result(self) -> dict:
        """A distillation job's figures so far (distill.json: per epoch, both students), or {}."""
        return read_json(self.folder / "distill.json", {}) or {}

    @property
    def train_config(self) -> TrainConfig:
        return TrainConfig(**self.spec["train"])

    @property
    def checkpoint(self) -> Path:
        return self.folder / "model.safetensors"

    @property
    def control(self) -> str:
        return self.control_record.get("command", "run")

    @property
    def control_record(self) -> dict:
        """The last command with its time: {"command", "at"}."""
        return read_json(self.folder / "control.json", {}) or {}

    @property
    def holds_worker(self) -> bool:
        """A worker should be running for this job (a released pause holds none)."""
        return self.state in ACTIVE and not (self.state == "paused" and self.status.get("released"))

    def history(self) -> dict:
        """The checkpoint's history (losses, seconds, monitoring) up to the last completed epoch."""
        try:
            return read_metadata(self.checkpoint)["history"]
        except CheckpointError:
            return {"epochs": 0, "losses": {}, "seconds": []}

    def samples(self) -> list[Path]:
        """The fixed-noise grids, one per completed epoch, in order."""
        return sorted((self.folder / "samples").glob("*.png"))

    def maps(self) -> list[Path]:
        """The class-area maps (.npz), one per mapped epoch, in order."""
        return sorted((self.folder / "maps").glob("*.npz"))


class RunsFolderError(ValueError):
    """The runs folder cannot be written (read-only, full, or its permissions); the message says which."""


class JobStore:
    """The jobs in a folder: submit, command, and the scheduler tick that keeps the queue moving.

    Args:
        folder: default $GENLAB_RUNS or runs/app.
        limit: jobs running at once (default max_running()).
        python: the interpreter that runs workers.
        backend: where workers run (default: the one GENLAB_JOB_BACKEND names, local processes unless "ray").
    """

    def __init__(self, folder: str | os.PathLike | None = None, limit: int | None = None,
                 python: str = sys.executable, backend=None):
        self.folder = Path(folder) if folder is not None else runs_folder()
        self.limit = limit or max_running()
        self.python = python
        self.backend = backend if backend is not None else backend_from_env(python)

    def logs(self, job: Job) -> str:
        """The worker's output (its tail), from wherever it ran."""
        return self.backend.logs(job)

    @property
    def models_folder(self) -> Path:
        return self.folder / "models"

    def jobs(self) -> list[Job]:
        """Every job, oldest first."""
        folders = [p for p in (self.folder / "jobs").glob("*") if (p / "spec.json").is_file()]
        return sorted((Job(p) for p in folders), key=lambda j: (j.spec.get("created", ""), j.id))

    def get(self, job_id: str) -> Job | None:
        folder = self.folder / "jobs" / job_id
        return Job(folder) if (folder / "spec.json").is_file() else None

    def submit(self, spec: JobSpec, demo: bool | None = None) -> Job:
        """Queue a run (it starts at once when a slot is free). Raises ValueError when the spec is invalid,
        the queue is full, or (in the demo) its owner has a run queued or training already."""
        return self.submit_many([spec], demo)[0]

    def submit_many(self, specs: list[JobSpec], demo: bool | None = None) -> list[Job]:
        """Queue runs started together (one experiment): all of them or, with a ValueError, none."""
        demo = demo_mode() if demo is None else demo
        for spec in specs:
            spec.validate(demo)
        created = []
        with self._lock():   # two sessions (or a double click) cannot both take a name or the last place
            jobs = self.jobs()
            taken = {job.name for job in jobs}
            for spec in specs:
                if spec.name in taken or (self.models_folder / f"{spec.name}.safetensors").exists():
                    raise ValueError(f"a run named {spec.name!r} exists already; pick another name")
                taken.add(spec.name)
            waiting = [job for job in jobs if job.state == "queued"]
            if len(waiting) >= max_queue():   # one experiment's runs count as one start
                raise ValueError(f"the queue is full ({len(waiting)} runs waiting, at most {max_queue()}); "
                                 "start again when a run has ended")
            owners = {spec.owner for spec in specs}
            if demo and owners != {""}:
                mine = [job for job in jobs if job.owner in owners and job.state in WAITING]
                if mine:
                    raise ValueError(f"the demo trains one run per visitor at a time, and yours ({mine[0].name}) is "
                                     f"{mine[0].state}; stop it or wait until it ends")
            for spec in specs:
                stamp = datetime.now(timezone.utc)
                job_id = f"{stamp:%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}"
                folder = self.folder / "jobs" / job_id
                folder.mkdir(parents=True)
                write_json(folder / "status.json", {"state": "queued", "queued_at": time.time()})
                write_json(folder / "spec.json", {**asdict(spec), "created": stamp.isoformat(timespec="microseconds")})
                created.append(Job(folder))
        self.tick()
        return created

    def queue_position(self, job: Job) -> int | None:
        """1 for the next job to start, 2 for the one after, ...; None when the job is not queued."""
        queued = [j.id for j in self.jobs() if j.state == "queued"]
        return queued.index(job.id) + 1 if job.id in queued else None

    def command(self, job_id: str, command: str, visitor: str | None = None) -> None:
        """Pause, resume ("run") or stop a job. Stopping a queued job cancels it; running an interrupted
        (or stopped, or failed) job with a checkpoint queues it again to continue from its last epoch.

        Args:
            visitor: who asks (the page's visitor id); a job with an owner takes commands from its owner only.
        Raises:
            NotOwnerError: the job belongs to another visitor.
        """
        if command not in COMMANDS:
            raise ValueError(f"command must be one of {COMMANDS}, got {command!r}")
        job = self.get(job_id)
        if job is None:
            raise ValueError(f"no job {job_id!r}")
        if not job.commandable_by(visitor):
            raise NotOwnerError("another visitor started this run: you can watch it, but only they can pause, "
                                "resume or stop it")
        with self._lock():
            job = Job(job.folder)
            write_json(job.folder / "control.json", {"command": command, "at": time.time()})
            if job.state == "queued" and command == "stop":
                write_json(job.folder / "status.json", {**job.status, "state": "stopped", "ended_at": time.time()})
            elif (job.state in ("interrupted", "stopped", "failed")
                  or (job.state == "paused" and job.status.get("released"))) and command == "run":
                write_json(job.folder / "status.json", {**job.status, "state": "queued", "queued_at": time.time(),
                                                        "error": None})
        self.tick()

    def tick(self) -> None:
        """Mark jobs whose worker died as interrupted, then start queued jobs while slots are free."""
        for pid, child in list(_children.items()):   # reap the workers of this process that ended
            if child.poll() is not None:
                _children.pop(pid, None)
        try:
            lock = self._lock()
            lock.__enter__()
        except RunsFolderError:
            return   # a read-only runs folder: nothing can be scheduled (submit and command say why)
        try:
            jobs = self.jobs()
            running = 0
            for job in jobs:
                if not job.holds_worker:
                    continue
                if self.backend.alive(job):
                    running += 1
                    if stop_overdue(job.control_record):   # the control file was not enough: end it now
                        self.backend.terminate(job)
                    continue
                job = Job(job.folder)                      # it may have written its last state meanwhile
                if not job.holds_worker:
                    continue
                state, error = "interrupted", job.status.get("error")
                if job.status.get("backend") == "ray" and not job.status.get("pid"):
                    state, error = "failed", self.backend.failure(job) or "the worker never started"
                write_json(job.folder / "status.json", {**job.status, "state": state, "error": error,
                                                        "ended_at": time.time()})
            queued = [job for job in jobs if job.state == "queued"]
            free = self.backend.free_slots() if queued and running < self.limit else 0
            for job in queued:
                if running >= self.limit or (free is not None and free <= 0):
                    break
                try:
                    self._start(job)
                except BackendError as err:   # the cluster did not take it now: it stays queued, tried next tick
                    write_json(job.folder / "status.json", {**job.status, "state": "queued", "waiting": str(err)})
                    break
                running += 1
                free = None if free is None else free - 1
        finally:
            lock.__exit__(None, None, None)

    def _start(self, job: Job) -> None:
        write_json(job.folder / "control.json", {"command": "run", "at": time.time()})
        status = {key: value for key, value in job.status.items() if key not in ("released", "pid", "host")}
        launched = self.backend.launch(job, self.folder)
        status.pop("waiting", None)
        write_json(job.folder / "status.json", {**status, "state": "running", **launched,
                                                "heartbeat": time.time(), "error": None})

    @contextmanager
    def _lock(self):
        """One scheduler at a time across sessions and processes (an flock on the folder's lock file).

        Raises:
            RunsFolderError: the folder cannot be created or written.
        """
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            handle = open(self.folder / ".lock", "a")
        except OSError as err:
            raise RunsFolderError(f"the runs folder {self.folder} cannot be written ({err.strerror or err}); "
                                  "training needs a writable folder (set GENLAB_RUNS)") from None
        with handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
