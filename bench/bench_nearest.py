"""Nearest training digit: one image against the training digits (the full 60,000 of MNIST with
GENLAB_DATA_DIR, else the embedded 4,000), per method, p50 / p95 over generated images, one torch thread
(as the app's server runs it in the demo) and all cores. Issue 16's target: p50 <= 50 ms against 60,000.

    GENLAB_DATA_DIR=../shared/data python bench/bench_nearest.py [--queries 50] [--out bench/results/nearest.json]

Methods: genlab.nearest (plain torch: a matrix product with precomputed norms, exact; what the app uses),
the same in bfloat16 (approximate), faiss' exact flat index (when faiss-cpu is installed; not a dependency),
scikit-learn's brute force and ball tree. Every method's nearest digit is checked against genlab.nearest's.
Prints a table and writes JSON.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from genlab.checkpoints import load_checkpoint  # noqa: E402
from genlab.nearest import build_index  # noqa: E402
from timing import cpu_kind, machine_load, percentile  # noqa: E402  (bench/timing.py)


def timed(fn, queries) -> tuple[list[float], list[int]]:
    fn(queries[0])
    seconds, found = [], []
    for q in queries:
        start = time.perf_counter()
        found.append(int(fn(q)))
        seconds.append(time.perf_counter() - start)
    return seconds, found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "nearest.json"))
    args = parser.parse_args()
    clf = ROOT / "checkpoints" / "classifier_strong.safetensors"
    start = time.perf_counter()
    index = build_index(load_checkpoint(clf).model, clf)
    built = time.perf_counter() - start
    gan = load_checkpoint(ROOT / "checkpoints" / "gan_2d.safetensors").model.eval()
    with torch.no_grad():
        queries = gan.generate(torch.rand(args.queries, 2, generator=torch.Generator().manual_seed(0)) * 2 - 1)
    queries = list(queries.unsqueeze(1))
    bank = index.pixels.numpy()

    methods = {"genlab.nearest (torch, float32, exact)": lambda q: index.search(q, k=5).indices[0, 0],
               "genlab.nearest, classifier features": lambda q: index.search(q, k=5, space="features").indices[0, 0]}
    half = index.pixels.to(torch.bfloat16)

    def bf16(q):
        flat = ((q.reshape(1, -1) + 1) / 2).to(torch.bfloat16)
        return torch.topk(index.pixel_norms - 2 * (half @ flat[0]).float(), 5, largest=False).indices[0]
    methods["torch bfloat16 (approximate)"] = bf16
    try:
        import faiss

        flat_index = faiss.IndexFlatL2(bank.shape[1])
        flat_index.add(bank)
        methods["faiss IndexFlatL2 (exact)"] = lambda q: flat_index.search(((q.reshape(1, -1) + 1) / 2).numpy(), 5)[1][0, 0]
    except ImportError:
        pass
    from sklearn.neighbors import NearestNeighbors

    for algorithm in ("brute", "ball_tree"):
        nn = NearestNeighbors(n_neighbors=5, algorithm=algorithm).fit(bank)
        methods[f"scikit-learn {algorithm}"] = lambda q, nn=nn: nn.kneighbors(((q.reshape(1, -1) + 1) / 2).numpy())[1][0, 0]

    rows = []
    truth = [int(index.search(q, k=1).indices[0, 0]) for q in queries]
    for threads in (1, os.cpu_count() or 1):
        torch.set_num_threads(threads)
        try:
            import faiss
            faiss.omp_set_num_threads(threads)
        except ImportError:
            pass
        for name, fn in methods.items():
            n = len(queries) if "ball_tree" not in name else min(10, len(queries))
            seconds, found = timed(fn, queries[:n])
            same = None if "features" in name else sum(f == t for f, t in zip(found, truth[:n])) / n
            rows.append({"method": name, "threads": threads, "queries": n,
                         "p50_ms": round(percentile(seconds, 0.5) * 1e3, 2),
                         "p95_ms": round(percentile(seconds, 0.95) * 1e3, 2), "same_nearest": same})
    print(f"{len(index):,} training digits ({index.dataset.name}); index built in {built:.1f} s "
          f"(features from the disk cache when present); {cpu_kind()}; load {machine_load()}")
    print(f"{'method':<42}{'threads':>8}{'p50 ms':>9}{'p95 ms':>9}{'same nearest':>14}")
    for r in rows:
        same = "" if r["same_nearest"] is None else f"{r['same_nearest']:.0%}"
        print(f"{r['method']:<42}{r['threads']:>8}{r['p50_ms']:>9.1f}{r['p95_ms']:>9.1f}{same:>14}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"digits": len(index), "dataset": index.dataset.name, "cpu": cpu_kind(),
                                          "load": machine_load(), "index_seconds": round(built, 1), "rows": rows},
                                         indent=1))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
