"""python -m genlab.training.worker JOB_FOLDER: run one training job (see jobs.py) in its own process.

It trains with `genlab.training.train`, follows the user's commands between steps (pause, resume,
stop), writes its status a few times a second, stores each epoch's monitoring (fixed-noise grid,
class-area map, weak classifier's score) beside the checkpoint, scores the finished model with the
strong classifier (confidence, coverage, FID) and publishes it where every explorer page finds it.
It never imports Streamlit.
"""
from __future__ import annotations

import io
import os
import signal
import socket
import shutil
import sys
import time
import traceback
from pathlib import Path

import numpy as np
import torch

from ..catalog import find_classifier
from ..checkpoints import load_checkpoint, update_metrics
from ..data import load_dataset
from ..files import atomic_write, read_json, write_json
from ..metrics import model_scores
from .backends import backend_from_env
from .config import MUSIC_KINDS
from .jobs import Job, JobStore
from .loop import StopTraining, train
from .monitor import Monitor, MonitorConfig, map_picture

STATUS_EVERY = 0.5        # seconds between status writes while training
MUSIC_MONITOR_PHRASES = 64  # phrases a MuseGAN run measures after each epoch


class JobStopped(Exception):
    """The user pressed Stop during an epoch (or the backend ended the worker with SIGTERM): the last completed
    epoch's checkpoint is the result."""


_TERMINATED = []   # set when SIGTERM arrived: end quickly (no scoring), as "stopped"


def _terminated(signum, frame):
    _TERMINATED.append(time.time())
    raise JobStopped("ended by the job backend (SIGTERM)")


class Worker:
    def __init__(self, folder: Path):
        self.job = Job(folder)
        self.cfg = self.job.train_config
        self.monitor_cfg = MonitorConfig(**self.job.spec.get("monitor", {}))
        self.status = {**self.job.status, "state": "running", "pid": os.getpid(), "epochs": self.cfg.epochs,
                       "host": socket.gethostname(),
                       "started_at": time.time(), "error": None}
        self.last_write = 0.0
        self.step_times: list[float] = []          # wall time of recent steps (for the ETA)
        self.last_step_at = None
        self.monitor_seconds = 0.0
        self.train_started: float | None = None    # the first step of this attempt (monotonic)
        self.first_epoch = 0
        self.epochs_finished = 0                    # epochs this attempt finished (for the ETA's whole-run rate)
        self.scoring_seconds = scoring_guess(self.job.folder.parent, self.cfg.kind)   # the last scoring of the kind
        self.pause_exits = not backend_from_env().pause_in_place   # Ray: a pause releases the CPU
        self.released = False                       # this attempt ended at a pause (a new attempt resumes it)
        self.status.pop("pausing", None)
        self.status.pop("released", None)

    # 1. status and commands
    def write_status(self, **values) -> None:
        self.status.update(values, heartbeat=time.time())
        write_json(self.job.folder / "status.json", self.status)
        self.last_write = time.monotonic()

    def follow_commands(self) -> None:
        """Block while paused (or, where the backend releases a paused job's CPU, note it: the epoch's end
        saves and exits); raise JobStopped on stop."""
        command = self.job.control
        if command == "pause" and self.pause_exits:
            if not self.status.get("pausing"):
                self.write_status(pausing=True)   # the page: "pausing at the end of this epoch"
            return
        if command == "pause":
            self.write_status(state="paused", eta_seconds=None)
            while command == "pause":
                time.sleep(0.3)
                command = self.job.control
                if time.monotonic() - self.last_write > 2:
                    self.write_status()   # the heartbeat of a paused job
            self.last_step_at = None
            self.write_status(state="running")
        if command == "stop":
            raise JobStopped

    def eta(self, epoch: int, step: int, steps: int) -> float | None:
        return estimate_eta(self.cfg.epochs, epoch, step, steps, self.step_times, self.monitor_seconds,
                            time.monotonic() - self.train_started if self.train_started else 0.0,
                            self.epochs_finished, self.scoring_seconds)

    def on_step(self, epoch: int, step: int, steps: int) -> None:
        now = time.monotonic()
        if self.train_started is None:
            self.train_started, self.first_epoch = now, epoch
        if self.last_step_at is not None:
            self.step_times = (self.step_times + [now - self.last_step_at])[-50:]
        self.last_step_at = now
        if now - self.last_write >= STATUS_EVERY or step == steps:
            self.write_status(epoch=epoch, step=step, steps=steps, eta_seconds=self.eta(epoch, step, steps))
            self.follow_commands()

    # 2. per-epoch monitoring, stored beside the checkpoint and in its history
    def on_epoch(self, epoch: int, history: dict, model) -> None:
        record = self.monitor.observe(epoch, model)
        self.monitor_seconds = record.seconds
        self.epochs_finished = epoch - self.first_epoch
        name = f"{epoch:04d}"
        if record.samples is not None:
            buffer = io.BytesIO()
            record.samples.save(buffer, format="PNG")
            atomic_write(self.job.folder / "samples" / f"{name}.png", buffer.getvalue(), sync=False)
        series = history.setdefault("monitor", {})
        if record.class_map is not None:
            buffer = io.BytesIO()
            np.savez_compressed(buffer, labels=record.class_map.labels,
                                confidence=record.class_map.confidence.astype(np.float16),
                                coords=np.stack(record.class_map.coords))
            atomic_write(self.job.folder / "maps" / f"{name}.npz", buffer.getvalue(), sync=False)
            picture = io.BytesIO()
            map_picture(record.class_map).save(picture, format="PNG")
            atomic_write(self.job.folder / "maps" / f"{name}.png", picture.getvalue(), sync=False)
            series.setdefault("map_epochs", []).append(epoch)
            series.setdefault("map_change", []).append(record.map_change)
        if record.scores:
            series.setdefault("score_epochs", []).append(epoch)
            series.setdefault("weak_top_probability", []).append(record.scores["mean_top_probability"])
            series.setdefault("weak_classes_covered", []).append(record.scores["classes_covered"])
        series.setdefault("seconds", []).append(record.seconds)
        self.after_epoch(epoch)

    def after_epoch(self, epoch: int) -> None:
        self.write_status(epoch=epoch, step=0)
        if self.job.control == "stop":
            raise StopTraining   # train() saves this epoch, then ends
        if self.job.control == "pause" and self.pause_exits and epoch < self.cfg.epochs:
            self.released = True
            raise StopTraining   # saved; the worker exits as paused and a resume starts a new attempt here

    def on_music_epoch(self, epoch: int, history: dict, model) -> None:
        """A MuseGAN's epoch: a piano roll of the same latent point every epoch (samples/NNNN.png) and the
        chord and in-key shares of 64 phrases; a melody model's: its next-pitch accuracy on the held-out tunes."""
        started = time.monotonic()
        series = history.setdefault("monitor", {})
        was_training = model.training
        model.eval()
        try:
            with torch.no_grad():
                if model.kind == "musegan":
                    from ..music.metrics import generated_phrases, phrase_metrics
                    from ..music.plots import piano_roll_image

                    phrases = generated_phrases(model, MUSIC_MONITOR_PHRASES, seed=0)
                    measures = phrase_metrics(phrases)
                    buffer = io.BytesIO()
                    piano_roll_image(phrases[:2], step_width=5, pitch_height=4).save(buffer, format="PNG")
                    atomic_write(self.job.folder / "samples" / f"{epoch:04d}.png", buffer.getvalue(), sync=False)
                    for key in ("chord_fraction", "in_key_fraction"):
                        series.setdefault(key, []).append(measures[key])
                else:
                    from ..music.melody import evaluate

                    series.setdefault("held_out_pitch_accuracy", []).append(round(evaluate(model)["pitch_accuracy"], 4))
        finally:
            model.train(was_training)
        series.setdefault("music_epochs", []).append(epoch)
        seconds = time.monotonic() - started
        series.setdefault("seconds", []).append(seconds)
        self.monitor_seconds = seconds
        self.epochs_finished = epoch - self.first_epoch
        self.after_epoch(epoch)

    # 3. the whole job
    def run(self) -> None:
        torch.set_num_threads(int(os.environ.get("GENLAB_TRAIN_THREADS", os.cpu_count() or 1)))
        try:
            os.nice(10)   # the app's pages come first
        except OSError:
            pass
        self.write_status(state="running")
        signal.signal(signal.SIGTERM, _terminated)   # a backend's stop: a clean "stopped", never "failed"
        if self.job.task == "distill":
            self.pause_exits = False                 # a comparison cannot resume: it pauses in place
            self.run_distill()
            return
        music = self.cfg.kind in MUSIC_KINDS
        if music:   # the Music and Melody pages' models: scored by their own measures, no classifier
            on_epoch, score = self.on_music_epoch, music_scores
        else:
            strong, weak = (find_classifier(size) for size in ("strong", "weak"))
            strong_model = load_checkpoint(strong).model if strong else None
            test = load_dataset(self.cfg.dataset, "test", self.cfg.data_dir)
            self.monitor = Monitor(self.monitor_cfg, strong_model, load_checkpoint(weak).model if weak else None,
                                   real_images=test.images[:500])
            on_epoch = self.on_epoch

            def score(ckpt) -> dict:
                return model_scores(ckpt.model, test, strong_model, fid_images=self.monitor_cfg.final_images) \
                    if strong_model else {}
        resume = self.job.checkpoint if self.job.checkpoint.is_file() else None
        print(f"genlab worker: job {self.job.id} ({self.job.name}) on {socket.gethostname()}, attempt "
              f"{self.status.get('attempt', 1)}, " + (f"resuming after epoch {load_checkpoint(resume).epochs}"
                                                      if resume else "from the start"), flush=True)
        maps = [] if music else self.job.maps()
        if resume and maps:   # the next map's change is measured against the last one stored
            with np.load(maps[-1]) as stored:
                self.monitor.last_labels = stored["labels"]
        stopped = False
        try:
            train(self.cfg, out=self.job.checkpoint, resume=resume, on_epoch=on_epoch, on_step=self.on_step)
        except JobStopped:
            stopped = True
        if not self.job.checkpoint.is_file():
            self.write_status(state="stopped", ended_at=time.time(), eta_seconds=None)
            return
        ckpt = load_checkpoint(self.job.checkpoint)
        if _TERMINATED:   # the backend will not wait for the scoring: the last epoch, published unscored
            published = publish(self.job, self.job.folder.parent.parent / "models")
            self.write_status(state="stopped", ended_at=time.time(), eta_seconds=None, model=str(published),
                              epoch=ckpt.epochs)
            return
        if self.released:
            self.write_status(state="paused", released=True, pausing=False, eta_seconds=None, epoch=ckpt.epochs,
                              paused_at=time.time())
            return
        stopped = stopped or ckpt.epochs < self.cfg.epochs
        self.write_status(state="scoring", eta_seconds=self.scoring_seconds or None)
        scoring_started = time.monotonic()
        scores = score(ckpt)
        if scores:
            remember_scoring(self.job.folder.parent, self.cfg.kind, time.monotonic() - scoring_started)
        update_metrics(self.job.checkpoint, scores)
        published = publish(self.job, self.job.folder.parent.parent / "models")
        self.write_status(state="stopped" if stopped else "done", ended_at=time.time(), scores=scores,
                          model=str(published), epoch=ckpt.epochs)


    def run_distill(self) -> None:
        """A distillation comparison (genlab.distill): the shipped teacher of the setting, two students on the
        Small 1,000 of the job's digits, tested after every epoch; the figures go to distill.json."""
        from ..distill import comparison_data, compare_students, setting_of, teacher_map, teacher_path

        spec = self.job.spec["distill"]
        teacher = load_checkpoint(teacher_path(spec["setting"]))
        phi = teacher_map(teacher, setting=spec["setting"])
        others = {}
        for name in setting_of(spec["setting"]).also:       # the noise plot's plain teacher, when it is shipped
            if teacher_path(name).is_file():
                other = load_checkpoint(teacher_path(name))
                others[f"{name} teacher"] = (other.model, teacher_map(other))
        small_x, small_y, test_set, source = comparison_data(spec["setting"], self.cfg.dataset, self.cfg.data_dir,
                                                          spec["seed"])
        about = {"setting": spec["setting"], "teacher": teacher.path.name if teacher.path else "",
                 "dataset": source, "small": len(small_y), "test": len(test_set),
                 "teacher_metrics": teacher.metrics}

        def on_epoch(comparison) -> None:
            write_json(self.job.folder / "distill.json", {**about, **comparison.as_dict()})
            self.write_status(epoch=comparison.epochs[-1], step=0)
            self.follow_commands()

        def on_step(epoch: int, step: int, steps: int) -> None:
            self.on_step(epoch - 1, step, steps)

        stopped = False
        try:
            result = compare_students(teacher.model, phi, small_x, small_y, test_set.images, test_set.labels,
                                      lam=spec["lambda"],
                                      temperature=spec["temperature"], epochs=self.cfg.epochs, seed=spec["seed"],
                                      student_size=spec["student"], on_epoch=on_epoch, on_step=on_step,
                                      others=others)
            scores = {"with_teacher": result.teacher[-1]["accuracy"], "alone": result.alone[-1]["accuracy"]}
        except JobStopped:
            stopped, scores = True, {}
        self.write_status(state="stopped" if stopped else "done", ended_at=time.time(), eta_seconds=None,
                          scores=scores)


def music_scores(ckpt) -> dict:
    """A finished music model's figures, as training stored them in the checkpoint (genlab.training.loop): a
    MuseGAN's phrase measures and how far its phrases are from the nearest real ones, a melody model's held-out
    accuracy beside the n-gram baselines."""
    return dict(ckpt.metrics or {})


def estimate_eta(epochs: int, epoch: int, step: int, steps: int, step_times: list[float], monitor_seconds: float,
                 elapsed: float, epochs_finished: int, scoring: float = 0.0) -> float | None:
    """Seconds left of a run at (epoch, step of steps), epochs counted from 0. Before an epoch has finished:
    the median recent step time over the steps left, plus the last monitoring per epoch left. After: the
    larger of that and this attempt's whole rate so far (its elapsed time over the share of the run it did:
    what the step times miss, such as saving the checkpoint and the moving average, is in it). Plus the final
    scoring as the last run of this kind took it."""
    if not step_times:
        return None
    per_step = sorted(step_times)[len(step_times) // 2]
    remaining_steps = (epochs - epoch - 1) * steps + (steps - step)
    by_steps = remaining_steps * per_step + (epochs - epoch) * monitor_seconds
    if epochs_finished >= 1 and elapsed > 0:
        done = epochs_finished + step / max(1, steps)          # epochs of this attempt so far
        left = remaining_steps / max(1, steps)
        by_rate = elapsed / max(done, 1e-9) * left
        by_steps = max(by_steps, by_rate)
    return round(by_steps + scoring, 1)


def _scoring_file(root: Path) -> Path:
    return root / "scoring_seconds.json"


def scoring_guess(root: Path, kind: str) -> float:
    """How long the last run of `kind` under this jobs folder took to be scored (0 when none was)."""
    value = (read_json(_scoring_file(root), {}) or {}).get(kind)
    return float(value) if isinstance(value, (int, float)) and 0 <= value < 3600 else 0.0


def remember_scoring(root: Path, kind: str, seconds: float) -> None:
    seen = read_json(_scoring_file(root), {}) or {}
    if isinstance(seen, dict) and len(seen) < 32:
        write_json(_scoring_file(root), {**seen, kind: round(seconds, 1)})


def publish(job: Job, folder: Path) -> Path:
    """Copy the job's checkpoint (atomically) to `folder` as <name>.safetensors, for the explorer pages."""
    target = folder / f"{job.name}.safetensors"
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{target.name}.{os.getpid()}.tmp"
    shutil.copyfile(job.checkpoint, tmp)
    os.replace(tmp, target)
    return target


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m genlab.training.worker JOB_FOLDER", file=sys.stderr)
        return 2
    folder = Path(argv[0])
    if not (folder / "spec.json").is_file():   # e.g. a node that does not mount the runs folder at this path
        print(f"genlab worker on {socket.gethostname()}: the job folder {folder} is not visible here; every node "
              "must mount the runs folder at the same path (docs/hosting.md, Training on several machines)",
              file=sys.stderr)
        return 3
    worker = None
    try:
        worker = Worker(folder)
        worker.run()
        return 0
    except JobStopped:   # SIGTERM outside an epoch (scoring, start-up): stopped, with what was saved
        status = worker.status if worker else {}
        write_json(folder / "status.json", {**status, "state": "stopped", "ended_at": time.time(),
                                            "heartbeat": time.time(), "eta_seconds": None})
        return 0
    except BaseException as err:   # any failure is shown on the page; the traceback goes to worker.log
        traceback.print_exc()
        status = worker.status if worker else {}
        write_json(folder / "status.json", {**status, "state": "failed", "error": f"{type(err).__name__}: {err}",
                                            "ended_at": time.time(), "heartbeat": time.time()})
        return 1
    finally:
        JobStore(folder.parent.parent).tick()   # start the next queued job


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
