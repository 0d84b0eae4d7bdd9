"""Training speed. First, images per second of one thesis-GAN training step (the 2D GAN with the
reconstruction regulariser, as the shipped models train) per speed option, measured side by side
(interleaved rounds, median): float32 with torch's dropout (before), the numpy-mask dropout, bfloat16
autocast, channels_last, batch sizes, the moving average, torch.compile. Then, as the Train page runs it: one epoch on the embedded digits (4,000 training images) per
model kind, and the cost of the per-epoch monitoring (fixed-noise samples, the class-area map, the weak
classifier's score) at the page's default settings, as a fraction of the epoch's training time. Then how
responsive the app stays while a run trains: the Latent Explorer's drag latency in Chromium without and
with a Train page worker training the 2D GAN.

    python bench/bench_training.py [--threads 1] [--epochs 1] [--kinds gan vae ...] [--skip-steps] [--skip-epochs]
                                   [--skip-browser] [--out bench/results/training.json]

Prints a table and writes JSON. Monitoring is timed inside the same run as the epoch it follows, so the
ratio holds on a busy machine too; the absolute times do not (see "load" in the JSON).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from genlab.catalog import find_classifier  # noqa: E402
from genlab.checkpoints import load_checkpoint  # noqa: E402
from genlab.data import load_dataset  # noqa: E402
from genlab.training import TrainConfig, train  # noqa: E402
from genlab.training.monitor import Monitor, MonitorConfig  # noqa: E402
from genlab.training.jobs import JobSpec, JobStore  # noqa: E402
from genlab.training.presets import PRESETS  # noqa: E402
from drag import drag_latencies  # noqa: E402  (bench/drag.py)
from timing import cpu_kind  # noqa: E402  (bench/timing.py)

RUNS = {   # the page's settings for each kind (the presets' batch sizes)
    "gan": ("GAN 2D", {"kind": "gan", "model": {"latent_dim": 2}, "batch_size": PRESETS["gan2d"].train["batch_size"]}),
    "cgan": ("Conditional GAN 3D", {"kind": "cgan", "model": {"latent_dim": 3}, "batch_size": 64}),
    "vae": ("VAE 2D (quick demo)", {"kind": "vae", "model": {"latent_dim": 2},
                                    "batch_size": PRESETS["quick"].train["batch_size"]}),
    "ae": ("Autoencoder 2D", {"kind": "ae", "model": {"latent_dim": 2}, "batch_size": 128}),
    "classifier": ("Classifier (weak)", {"kind": "classifier", "model": {"size": "weak"}, "batch_size": 128}),
}


STEP_OPTIONS = [   # (label, TrainConfig fields, torch dropout?, compile?)
    ("float32, torch dropout (before)", {"precision": "float32", "batch_size": 64}, True, False),
    ("float32", {"precision": "float32", "batch_size": 64}, False, False),
    ("bfloat16", {"precision": "bfloat16", "batch_size": 64}, False, False),
    ("bfloat16, batch 128", {"precision": "bfloat16", "batch_size": 128}, False, False),
    ("bfloat16, batch 256", {"precision": "bfloat16", "batch_size": 256}, False, False),
    ("bfloat16, batch 128, channels_last", {"precision": "bfloat16", "batch_size": 128,
                                            "memory_format": "channels_last"}, False, False),
    ("bfloat16, batch 128, moving average", {"precision": "bfloat16", "batch_size": 128, "ema": 0.999}, False, False),
    ("bfloat16, batch 128, torch.compile", {"precision": "bfloat16", "batch_size": 128}, False, True),
]


def step_options(seconds: float, rounds: int) -> list[dict]:
    """Images per second of the thesis GAN's training step per option (see STEP_OPTIONS)."""
    from torch import nn

    from genlab.models import build_model
    from genlab.models.autoencoder import Encoder
    from genlab.training.loop import _ema_decay, _gan_step, _make_optimizers, _update_ema

    real = load_dataset("mnist5k", "train").images

    def make(fields, torch_dropout, compiled):
        torch.manual_seed(0)
        cfg = TrainConfig("gan", {"latent_dim": 2}, regularizer="reconstruction", reg_weight=100, **fields)
        model = build_model("gan", cfg.model).train()
        if torch_dropout:
            for name in ("drop1", "drop2"):
                setattr(model.discriminator.layers, name, nn.Dropout(0.3))
        encoder = Encoder(2, variational=False).train()
        if cfg.memory_format == "channels_last":
            model.to(memory_format=torch.channels_last)
            encoder.to(memory_format=torch.channels_last)
        optimizers = {**_make_optimizers(model, cfg), "E": torch.optim.Adam(encoder.parameters())}
        nets = {"generator": model.generator, "discriminator": model.discriminator, "encoder": encoder}
        if compiled:
            nets = {k: torch.compile(v) for k, v in nets.items()}
        average = build_model("gan", cfg.model).generator if cfg.ema else None
        count = [0]

        def step():
            idx = torch.randint(0, len(real), (cfg.batch_size,))
            x = real[idx]
            if cfg.memory_format == "channels_last":
                x = x.contiguous(memory_format=torch.channels_last)
            _gan_step(nets, optimizers, x, torch.zeros(len(x), dtype=torch.long), cfg, model)
            if average is not None:
                _update_ema(average, model.generator, _ema_decay(cfg, count[0]))
            count[0] += 1
            return len(x)

        for _ in range(3):   # warm-up (and compilation)
            step()
        return step

    steps = [(label, make(fields, td, comp)) for label, fields, td, comp in STEP_OPTIONS]
    rates = {label: [] for label, _ in steps}
    for _ in range(rounds):
        for label, step in steps:
            done, started = 0, time.perf_counter()
            while time.perf_counter() - started < seconds:
                done += step()
            rates[label].append(done / (time.perf_counter() - started))
    base = statistics.median(rates[STEP_OPTIONS[0][0]])
    return [{"option": label, "images_per_second": round(statistics.median(r), 1),
             "speedup": round(statistics.median(r) / base, 2), "rounds": [round(v) for v in r]}
            for label, r in rates.items()]


def bench_kind(kind: str, epochs: int, monitor_cfg: MonitorConfig, strong, weak, real) -> dict:
    title, settings = RUNS[kind]
    cfg = TrainConfig(**settings, epochs=epochs, dataset="mnist5k", seed=0)
    monitor = Monitor(monitor_cfg, strong, weak, real_images=real)
    monitoring = []

    def on_epoch(epoch, history, model):
        monitoring.append(monitor.observe(epoch, model).seconds)

    started = time.perf_counter()
    result = train(cfg, on_epoch=on_epoch)
    total = time.perf_counter() - started
    epoch_seconds = statistics.median(result.history["seconds"])
    watch = statistics.median(monitoring)
    return {"kind": kind, "model": title, "batch_size": cfg.batch_size, "epochs": epochs,
            "seconds_per_epoch": round(epoch_seconds, 2), "monitoring_seconds": round(watch, 3),
            "monitoring_fraction": round(watch / epoch_seconds, 4), "wall_seconds": round(total, 1)}


def responsiveness(moves: int) -> list[dict]:
    """Drag latency in the Latent Explorer, without and then with a training worker busy (the 2D GAN)."""
    from playwright.sync_api import sync_playwright

    from tests.e2e.server import app_server, launch_chromium

    rows = []
    with tempfile.TemporaryDirectory() as tmp, \
            app_server(Path(tmp) / "streamlit.log", env={"GENLAB_CACHE_DIR": tmp, "GENLAB_RUNS": tmp}) as url, \
            sync_playwright() as p:
        browser = launch_chromium(p)
        store = JobStore(tmp)
        for training in (False, True):
            if training:
                job = store.submit(JobSpec("bench_gan", {**RUNS["gan"][1], "epochs": 50}, {}))
                while (store.get(job.id).status.get("step") or 0) < 3:   # the worker is past start-up
                    time.sleep(0.5)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            previews = {}
            latencies, per_second, _ = drag_latencies(page, url, moves, previews)
            page.close()
            shown = previews.get("latencies") or [float("nan")]
            rows.append({"while_training": training, "median_ms": round(statistics.median(latencies), 1),
                         "p95_ms": round(latencies[int(0.95 * (len(latencies) - 1))], 1),
                         "images_per_second": round(per_second, 1),
                         "preview_median_ms": round(statistics.median(shown), 1),
                         "preview_p95_ms": round(shown[int(0.95 * (len(shown) - 1))], 1),
                         "previews_per_second": round(previews.get("per_second", float("nan")), 1)})
        store.command(job.id, "stop")
        browser.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--kinds", nargs="+", choices=tuple(RUNS), default=list(RUNS))
    parser.add_argument("--skip-browser", action="store_true", help="no drag-latency measurement")
    parser.add_argument("--moves", type=int, default=40, help="drag moves timed in the browser")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "training.json"))
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: all cores)")
    parser.add_argument("--skip-steps", action="store_true", help="no per-option step throughput")
    parser.add_argument("--skip-epochs", action="store_true", help="no per-kind epoch and monitoring times")
    parser.add_argument("--step-seconds", type=float, default=4.0, help="seconds per option and round")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds per option")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    result = {"machine": cpu_kind(), "threads": torch.get_num_threads(), "load_average_at_start": os.getloadavg()[0]}
    print(f"{result['machine']}, {result['threads']} torch thread(s), load average {result['load_average_at_start']:.1f}")
    if not args.skip_steps:
        result["step_options"] = step_options(args.step_seconds, args.rounds)
        print(f"\n{'thesis GAN 2D + regulariser, one training step':48} {'images/s':>9} {'vs before':>9}")
        for r in result["step_options"]:
            print(f"{r['option']:48} {r['images_per_second']:9.0f} {r['speedup']:8.2f}x")
    if not args.skip_epochs:
        result.update(epoch_runs(args))
    if not args.skip_browser:
        result["responsiveness"] = responsiveness(args.moves)
        print(f"\n{'Latent Explorer drag':24} {'median':>8} {'p95':>8} {'images/s':>9} {'preview':>8} {'p95':>8} "
              f"{'previews/s':>11}")
        for r in result["responsiveness"]:
            label = "while a GAN trains" if r["while_training"] else "nothing training"
            print(f"{label:24} {r['median_ms']:6.0f}ms {r['p95_ms']:6.0f}ms {r['images_per_second']:9.1f} "
                  f"{r['preview_median_ms']:6.1f}ms {r['preview_p95_ms']:6.1f}ms {r['previews_per_second']:11.1f}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1))
    print(f"wrote {args.out}")


def epoch_runs(args) -> dict:
    """One epoch per kind with the Train page's settings and monitoring (the second table)."""
    strong = load_checkpoint(find_classifier("strong")).model
    weak = load_checkpoint(find_classifier("weak")).model
    real = load_dataset("mnist5k", "test").images[:500]
    monitor_cfg = MonitorConfig()   # the Train page's defaults: a 48 x 48 map every epoch
    load = os.getloadavg()[0]
    rows = [bench_kind(kind, args.epochs, monitor_cfg, strong, weak, real) for kind in args.kinds]
    print(f"\n{'model':24} {'batch':>5} {'s/epoch':>8} {'monitor s':>9} {'monitor/epoch':>13}")
    for r in rows:
        print(f"{r['model']:24} {r['batch_size']:5d} {r['seconds_per_epoch']:8.2f} {r['monitoring_seconds']:9.3f} "
              f"{r['monitoring_fraction']:12.1%}")
    return {"load_average_at_epochs": round(load, 2), "monitor": vars(monitor_cfg), "runs": rows}


if __name__ == "__main__":
    main()
