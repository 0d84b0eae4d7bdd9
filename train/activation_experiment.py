"""The thesis' activation-function experiment, as the shipped set of GenLab's "Activations side by side" view:
the Train page's thesis 2D GAN (its preset "gan2d": class-reconstruction, a moving average of G, 20 epochs,
batch 64) with ReLU, LeakyReLU (0.3), PReLU and ELU, same seed and data, run through the Train page's job
system (so each epoch's monitoring is recorded in the model's history), then exported in float16.

    python train/activation_experiment.py [--dataset mnist5k] [--epochs 20] [--runs runs/activations]
                                          [--out checkpoints/activations]

The runs go one after another in RUNS (or `--parallel N` at once; GENLAB_TRAIN_THREADS threads each); rerun
the command to resume after an interruption (finished runs are kept, an interrupted one resumes from its last
epoch). Shipped: 20 epochs on the embedded digits, one thread each, two at once, about 15 minutes a run here.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from genlab.checkpoints import load_checkpoint, save_checkpoint  # noqa: E402
from genlab.training.jobs import JobSpec, JobStore  # noqa: E402
from genlab.training.presets import PRESETS  # noqa: E402

ACTIVATIONS = PRESETS["activations"].activations


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="mnist5k")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--runs", default=str(ROOT / "runs" / "activations"))
    parser.add_argument("--out", default=str(ROOT / "checkpoints" / "activations"))
    parser.add_argument("--parallel", type=int, default=1, help="runs at once (each on GENLAB_TRAIN_THREADS threads)")
    parser.add_argument("--limit", type=int, default=None, help="train on the first N images only (a dry run)")
    parser.add_argument("--poll", type=float, default=30.0, help="seconds between looks at the runs")
    args = parser.parse_args(argv)
    store = JobStore(args.runs, limit=args.parallel)
    base = dict(PRESETS["gan2d"].train, dataset=args.dataset, epochs=args.epochs, seed=0, limit=args.limit)
    jobs = {job.name: job for job in store.jobs()}
    for activation in ACTIVATIONS:
        name = f"gan_2d_{activation}"
        job = jobs.get(name)
        if job is None:
            spec = JobSpec(name, {**base, "model": {**base["model"], "activation": activation}},
                           {"map_every": 5, "map_resolution": 48, **({"final_images": 100, "score_samples": 50}
                                                                      if args.limit else {})}, group="activations")
            jobs[name] = store.submit(spec.validate(), demo=False)
        elif job.state in ("interrupted", "stopped", "failed"):
            store.command(job.id, "resume")
    while True:
        store.tick()
        states = {name: store.get(job.id).state for name, job in jobs.items()}
        print(time.strftime("%H:%M:%S"), states, flush=True)
        if all(s in ("done", "failed", "stopped") for s in states.values()):
            break
        time.sleep(args.poll)
    out = Path(args.out)
    for name, job in jobs.items():
        job = store.get(job.id)
        if job.state != "done":
            print(f"{name}: {job.state} {job.status.get('error', '')}", file=sys.stderr)
            continue
        ckpt = load_checkpoint(job.status["model"])
        path = save_checkpoint(out / name, ckpt.model, ckpt.dataset, ckpt.history, ckpt.metrics, train=ckpt.train,
                               storage="float16")
        print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
