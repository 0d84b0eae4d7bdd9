"""The load benchmark's scenario: a first visitor, a Train-page job timed idle and under load (--train),
N sessions opening the page at once and dragging together, the server's CPU and memory around it."""
from __future__ import annotations

import asyncio
import math
import os
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


from load_client import Client  # noqa: E402
from load_server import cpu_seconds, rss_mb, with_workers  # noqa: E402


# ---------------------------------------------------------------------------------------------------
# Training under load (--train)


class TrainingRun:
    """`count` Train-page jobs (genlab.training.jobs, on the given backend) and the wall time of each of their
    epochs, from when each epoch's monitoring picture (jobs/<id>/samples/NNNN.png) appears."""

    def __init__(self, runs: Path, kind: str, limit: int | None, count: int = 1, backend=None):
        from genlab.training.jobs import JobSpec, JobStore

        self.store = JobStore(runs, limit=max(1, count), backend=backend)
        train = {"kind": kind, "model": {"latent_dim": 2}, "dataset": "mnist5k", "epochs": 1000, "batch_size": 128}
        if limit:
            train["limit"] = limit
        self.jobs = [self.store.submit(JobSpec(f"load_bench_{kind}_{os.getpid()}_{k}", train, {}))
                     for k in range(max(1, count))]
        self.done: dict[str, dict[int, float]] = {job.id: {} for job in self.jobs}   # epoch -> monotonic time
        self.task = asyncio.create_task(self._watch())

    @property
    def backend(self) -> str:
        return self.store.backend.name

    async def _watch(self) -> None:
        while True:
            for job in self.jobs:
                folder = job.folder / "samples"
                if folder.is_dir():
                    for png in folder.glob("*.png"):
                        epoch = int(png.stem)
                        self.done[job.id].setdefault(epoch, time.monotonic())
            await asyncio.sleep(0.1)

    async def wait_epochs(self, count: int, timeout: float = 900) -> None:
        """Until every job has finished `count` epochs."""
        deadline = time.monotonic() + timeout
        while min(len(d) for d in self.done.values()) < count:
            for job in self.jobs:
                state = self.store.get(job.id).state
                if state in ("failed", "stopped", "interrupted"):
                    raise RuntimeError(f"the training job {state}; see {self.store.logs(self.store.get(job.id))}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the training jobs finished {[len(d) for d in self.done.values()]} epochs in "
                                   f"{timeout:.0f} s; see {self.jobs[0].folder / 'worker.log'}")
            await asyncio.sleep(0.2)

    def first_epoch_end(self) -> float:
        return max(min(d.values()) for d in self.done.values())

    def epochs_between(self, start: float, end: float) -> list[float]:
        """Wall seconds of each epoch (of any job) that began and ended within [start, end] (monotonic)."""
        out = []
        for done in self.done.values():
            ends = sorted(done.items())
            out += [t1 - t0 for (_, t0), (_, t1) in zip(ends, ends[1:]) if t0 >= start and t1 <= end]
        return out

    def epochs_ended(self, start: float, end: float) -> list[int]:
        """How many epochs of each job ended within [start, end] (an epoch longer than a short drag still
        counts where it ends)."""
        return [sum(start <= t <= end for t in done.values()) for done in self.done.values()]

    def hosts(self) -> list[str]:
        """Where each job's worker runs (its Ray node's id, or the host name locally)."""
        return [str(self.store.backend.node(self.store.get(job.id))) for job in self.jobs]

    def stop(self) -> None:
        """Stop every job without scoring or publishing (a bench run): the control file, then the backend's
        terminate (SIGTERM locally, Ray's stop), which the worker turns into a clean stop."""
        self.task.cancel()
        for job in self.jobs:
            self.store.command(job.id, "stop")
            self.store.backend.terminate(self.store.get(job.id))


# ---------------------------------------------------------------------------------------------------
# The benchmark


async def bench(args, base: str, pid: int, runs: Path, backend=None) -> dict:
    query = urllib.parse.urlencode({"model": args.model})
    result: dict = {}
    # 1. A first visitor on this server (models loaded, maps computed or read): not one of the N.
    for k in range(max(1, args.warm)):   # --warm: one per replica behind a round-robin proxy
        first = Client(base, query, -1)
        await first.open()
        result.setdefault("first_open_s", first.open_seconds)
        first_errors = {k: v for k, v in first.errors.items() if v}
        await first.close()
        if first.open_seconds is None or first_errors:
            raise RuntimeError(f"the first page open failed: {first_errors} {first.error_texts}")
    await asyncio.sleep(1.0)
    # 2. Training, idle: its epochs before any session opens.
    training = None
    if args.train:
        training = TrainingRun(runs, args.train_kind, args.train_limit, args.train_jobs, backend)
        await training.wait_epochs(1 + args.idle_epochs)          # the first epoch includes start-up
        idle = training.epochs_between(training.first_epoch_end(), time.monotonic())
        result["training"] = {"jobs": [job.id for job in training.jobs], "kind": args.train_kind,
                              "limit": args.train_limit, "backend": training.backend, "hosts": training.hosts(),
                              "idle_epoch_s": [round(s, 2) for s in idle]}
    # 3. N sessions open the page at once.
    pid = with_workers(pid)
    result["server_processes"] = len(pid)
    rss_before = rss_mb(pid)
    clients = [Client(base, query, i, after_finish=args.after_finish, via_reruns=args.via_reruns)
               for i in range(args.sessions)]
    await asyncio.gather(*(c.open() for c in clients))
    rss_after = rss_mb(pid)
    # 4. All drag together.
    live = [c for c in clients if c.open_seconds is not None]
    cpu0, client0, wall0, mono0 = cpu_seconds(pid), time.process_time(), time.perf_counter(), time.monotonic()
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.2
    profiler = None
    if args.profile and live:   # py-spy on the server for the drag phase (it also costs the server a little)
        profiler = await asyncio.create_subprocess_exec(
            "py-spy", "record", "-p", str(pid), "-o", args.profile, "--format", "speedscope", "--rate", "100",
            "-d", str(math.ceil(args.seconds)), stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    await asyncio.gather(*(c.drag(start, args.seconds, args.rate) for c in live))
    if profiler is not None:
        _, err = await profiler.communicate()
        result["profile"] = args.profile if profiler.returncode == 0 else f"py-spy failed: {err.decode()[-300:]}"
    cpu1, client1, wall1, mono1 = cpu_seconds(pid), time.process_time(), time.perf_counter(), time.monotonic()
    if training is not None:
        loaded = training.epochs_between(mono0, mono1)
        result["training"]["loaded_epoch_s"] = [round(s, 2) for s in loaded]
        result["training"]["epochs_ended_during_drag"] = training.epochs_ended(mono0, mono1)
        training.stop()
    await asyncio.gather(*(c.close() for c in clients))
    sessions = [c.summary() for c in clients]
    result.update({"rss_before_mb": round(rss_before, 1), "rss_after_open_mb": round(rss_after, 1),
                   "server_cpu_s": round(cpu1 - cpu0, 3), "client_cpu_s": round(client1 - client0, 3),
                   "drag_wall_s": round(wall1 - wall0, 3), "sessions": sessions})
    return result
