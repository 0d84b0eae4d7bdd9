"""The Distillation page's target: one comparison (both students, Small 1,000, 20 epochs, tested after every
epoch) from the page's Start to its last epoch, through the job system as the page runs it (a worker process,
GENLAB_TRAIN_THREADS threads, nice 10), per setting and student size.

    python bench/bench_distill.py [--settings noise dilated vae] [--students weak] [--epochs 20]
                                  [--out bench/results/distill.json]

The page uses full MNIST (Test 10,000) and full Fashion-MNIST when GENLAB_DATA_DIR has them, else the embedded
digits and the shipped clothes (Test 1,000); the table says which. Prints a table and writes JSON.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from genlab.training.jobs import JobSpec, JobStore  # noqa: E402
from genlab.data import available_datasets  # noqa: E402
from timing import cpu_kind, machine_load  # noqa: E402  (bench/timing.py)


def one_comparison(store: JobStore, setting: str, student: str, epochs: int, dataset: str) -> dict:
    spec = JobSpec(f"bench_{setting}_{student}", {"kind": "classifier", "epochs": epochs, "dataset": dataset}, {},
                   distill={"setting": setting, "lambda": 0.5, "temperature": 4.0, "student": student, "seed": 0})
    started = time.perf_counter()
    job = store.submit(spec, demo=False)
    first = None
    while True:
        store.tick()
        job = store.get(job.id)
        if first is None and job.distill_result().get("epochs"):
            first = time.perf_counter() - started
        if job.state in ("done", "stopped", "failed", "interrupted"):
            break
        time.sleep(0.2)
    result = job.distill_result()
    if job.state != "done":
        raise RuntimeError(f"{setting}/{student}: {job.state} {job.status.get('error')}")
    return {"setting": setting, "student": student, "epochs": epochs, "data": result["dataset"],
            "small": result["small"], "test": result["test"], "seconds": round(time.perf_counter() - started, 1),
            "first_epoch_s": round(first, 1) if first else None,
            "with_teacher": result["with_teacher"][-1]["accuracy"], "alone": result["alone"][-1]["accuracy"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--settings", nargs="+", default=["noise", "dilated", "vae"])
    parser.add_argument("--students", nargs="+", default=["weak"])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "distill.json"))
    args = parser.parse_args()
    dataset = "mnist" if "mnist" in available_datasets() else "mnist5k"
    load = machine_load()
    rows = []
    with tempfile.TemporaryDirectory() as runs:
        os.environ["GENLAB_RUNS"] = runs
        store = JobStore(runs, limit=1)
        for setting in args.settings:
            for student in args.students:
                rows.append(one_comparison(store, setting, student, args.epochs, dataset))
                r = rows[-1]
                print(f"{setting:8} {student:6} {r['seconds']:7.1f} s (first epoch after {r['first_epoch_s']} s), "
                      f"{r['data']}, Small {r['small']:,} / Test {r['test']:,}; with teacher {r['with_teacher']:.4f}, "
                      f"alone {r['alone']:.4f}", flush=True)
    out = {"measured": time.strftime("%Y-%m-%d %H:%M"), "cpu": cpu_kind(), "load": load,
           "train_threads": os.environ.get("GENLAB_TRAIN_THREADS", str(os.cpu_count())), "rows": rows}
    Path(args.out).write_text(json.dumps(out, indent=1))
    print(f"{cpu_kind()}; load at start {load}; target: at most 120 s per comparison; wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
