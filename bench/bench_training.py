"""Training speed as the Train page runs it: one epoch on the embedded digits (4,000 training images) per
model kind, and the cost of the per-epoch monitoring (fixed-noise samples, the class-area map, the weak
classifier's score) at the page's default settings, as a fraction of the epoch's training time.

    python bench/bench_training.py [--epochs 1] [--kinds gan vae ...] [--out bench/results/training.json]

Prints a table and writes JSON. Monitoring is timed inside the same run as the epoch it follows, so the
ratio holds on a busy machine too; the absolute times do not (see "load" in the JSON).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
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
from genlab.training.presets import PRESETS  # noqa: E402

RUNS = {   # the page's settings for each kind (the presets' batch sizes)
    "gan": ("GAN 2D", {"kind": "gan", "model": {"latent_dim": 2}, "batch_size": PRESETS["gan2d"].train["batch_size"]}),
    "cgan": ("Conditional GAN 3D", {"kind": "cgan", "model": {"latent_dim": 3}, "batch_size": 64}),
    "vae": ("VAE 2D (quick demo)", {"kind": "vae", "model": {"latent_dim": 2},
                                    "batch_size": PRESETS["quick"].train["batch_size"]}),
    "ae": ("Autoencoder 2D", {"kind": "ae", "model": {"latent_dim": 2}, "batch_size": 128}),
    "classifier": ("Classifier (weak)", {"kind": "classifier", "model": {"size": "weak"}, "batch_size": 128}),
}


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--kinds", nargs="+", choices=tuple(RUNS), default=list(RUNS))
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "training.json"))
    args = parser.parse_args()
    strong = load_checkpoint(find_classifier("strong")).model
    weak = load_checkpoint(find_classifier("weak")).model
    real = load_dataset("mnist5k", "test").images[:500]
    monitor_cfg = MonitorConfig()   # the Train page's defaults: a 48 x 48 map every epoch
    load = os.getloadavg()[0]
    rows = [bench_kind(kind, args.epochs, monitor_cfg, strong, weak, real) for kind in args.kinds]
    print(f"{'model':24} {'batch':>5} {'s/epoch':>8} {'monitor s':>9} {'monitor/epoch':>13}")
    for r in rows:
        print(f"{r['model']:24} {r['batch_size']:5d} {r['seconds_per_epoch']:8.2f} {r['monitoring_seconds']:9.3f} "
              f"{r['monitoring_fraction']:12.1%}")
    result = {"machine": platform.processor() or platform.machine(), "threads": torch.get_num_threads(),
              "load_average_at_start": round(load, 2), "monitor": vars(monitor_cfg), "runs": rows}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
