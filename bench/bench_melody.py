"""The Melody page's work for one setting: generate 32 notes after a chorale's opening (the model run once per
note) and build the three figures (the roll, the next-pitch heatmap, the attention heatmap), p50 / p95 over
different sampling seeds, on 2 torch threads and on 1 (as the hosted demo's server runs). Issue 18's target:
at most 300 ms for 32 notes with both heatmaps on 2 cores. The audio and the figures' JSON are timed apart.

    python bench/bench_melody.py [--repeat 20] [--out bench/results/melody.json]

Prints a table and writes JSON.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from genlab.checkpoints import load_checkpoint  # noqa: E402
from genlab.music import melody  # noqa: E402
from genlab.music.plots import attention_heatmap, melody_roll_figure, probability_heatmap  # noqa: E402
from timing import cpu_kind, machine_load, percentile, print_rows  # noqa: E402  (bench/timing.py)

CHECKPOINT = ROOT / "checkpoints" / "melody_chorales.safetensors"


def page_work(model, opening, seed: int, n_notes: int = 32) -> dict:
    """Seconds of each part of what the page computes for one melody."""
    started = time.perf_counter()
    result = melody.generate(model, opening, n_notes, 1.0, seed)
    generated = time.perf_counter()
    chosen = [p for p, _ in result.notes[result.n_seed:]]
    figures = [melody_roll_figure(result.notes, result.n_seed),
               probability_heatmap(result.probabilities, result.pitches, chosen, result.n_seed),
               attention_heatmap(result.attention, result.notes, result.n_seed)]
    drawn = time.perf_counter()
    for figure in figures:
        figure.to_json()
    serialised = time.perf_counter()
    melody.audio(result.notes, 80.0, renderer="synth")
    return {"generate": generated - started, "figures": drawn - generated, "total": drawn - started,
            "json": serialised - drawn, "audio": time.perf_counter() - serialised}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--checkpoint", default=str(CHECKPOINT))
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "melody.json"))
    args = parser.parse_args(argv)
    model = load_checkpoint(args.checkpoint).model
    opening = melody.chorale_opening(0)
    results, rows = {}, []
    for threads in (2, 1):
        torch.set_num_threads(threads)
        page_work(model, opening, seed=-1 % 7919)                      # warm-up: imports, plotly's validators
        runs = [page_work(model, opening, seed) for seed in range(args.repeat)]
        results[threads] = {part: {"p50_ms": round(percentile([r[part] for r in runs], 0.5) * 1e3, 1),
                                   "p95_ms": round(percentile([r[part] for r in runs], 0.95) * 1e3, 1)}
                            for part in runs[0]}
        for part, note in (("total", "32 notes generated + the three figures (target <= 300 ms on 2 cores)"),
                           ("generate", "the model once per note, probabilities and attention kept"),
                           ("figures", "the roll and both heatmaps (plotly)"),
                           ("json", "the figures' JSON for the browser"),
                           ("audio", "the melody's audio (numpy synthesiser)")):
            for q in ("p50", "p95"):
                rows.append((f"{part} {q}, {threads} thread{'s' if threads > 1 else ''}",
                             results[threads][part][f"{q}_ms"], "ms", note if q == "p50" else ""))
    print(f"{args.repeat} melodies per setting; {cpu_kind()}; load {machine_load()['load_average']}")
    print_rows(rows)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"repeat": args.repeat, "cpu": cpu_kind(), "load": machine_load(),
                                          "threads": results}, indent=1))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
