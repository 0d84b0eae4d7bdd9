"""The README's distillation results from the experiment's result.json files (python -m train distill ...):
the table (final test accuracy, mean +- spread over seeds, with and without the teacher, the gain) and the
figure of test accuracy per epoch (mean over seeds, both students, one panel per setting).

    python bench/distill_report.py runs/distill/noise/result.json runs/distill/dilated/result.json ... \\
        [--copy bench/results] [--figure docs/distill_accuracy.png]

--copy keeps each result as bench/results/distill_<map>[_<student>][_lambda<L>][_t<T>].json (the figures README
shows); the figure shows the comparisons at lambda 0.5 and T 4 (the page's defaults).
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
from pathlib import Path


def row(result: dict) -> str:
    s = result["summary"]
    t, a = s["with_teacher"], s["alone"]
    verdict = "more than the spread" if s["gain_beats_spread"] else "**not** more than the spread"
    return (f"| {result['map']} | {result['student']} | {result['lambda']:g} | {result['temperature']:g} | "
            f"{result['epochs']} | {result['data']} | "
            f"{t['mean']:.2%} +- {t['spread']:.2%} | "
            f"{a['mean']:.2%} +- {a['spread']:.2%} | {s['gain']:+.2%} ({verdict}) |")


def figure(results: list[dict], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = min(3, len(results))
    rows = -(-len(results) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.4 * rows), squeeze=False)
    for ax in axes.flat[len(results):]:
        ax.set_visible(False)
    for ax, result in zip(axes.flat, results):
        epochs = result["runs"][0]["epochs"]
        for key, label, color in (("with_teacher", "with the teacher", "#1f77b4"), ("alone", "alone", "#ff7f0e")):
            per_epoch = list(zip(*[[e["accuracy"] for e in run[key]] for run in result["runs"]]))
            mean = [statistics.mean(v) for v in per_epoch]
            low, high = [min(v) for v in per_epoch], [max(v) for v in per_epoch]
            ax.plot(epochs, mean, color=color, label=label, marker="o", markersize=2)
            ax.fill_between(epochs, low, high, color=color, alpha=0.2)
        ax.set_title(f"{result['map']}, {result['student']} students, lambda {result['lambda']:g}")
        ax.set_xlabel("epoch")
        ax.set_ylim(max(0.0, min(min(e["accuracy"] for e in r["alone"][2:]) for r in result["runs"]) - 0.05), None)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("test accuracy")
    axes[0][0].legend(loc="lower right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", nargs="+")
    parser.add_argument("--copy", help="folder to keep each result in as distill_<map>[_<student>].json")
    parser.add_argument("--figure", help="PNG of test accuracy per epoch")
    args = parser.parse_args()
    results = [json.loads(Path(p).read_text()) for p in args.results]
    order = sorted(range(len(results)), key=lambda i: (results[i]["map"] != "noise", results[i]["map"],
                                                       results[i]["student"] != "weak", -results[i]["lambda"],
                                                       results[i]["temperature"]))
    args.results, results = [args.results[i] for i in order], [results[i] for i in order]
    print("| setting | students | lambda | T | epochs | data | with the teacher | alone | gain |")
    print("|---|---|---|---|---|---|---|---|---|")
    for result in results:
        print(row(result))
    if args.copy:
        for path, result in zip(args.results, results):
            suffix = ("" if result["student"] == "weak" else f"_{result['student']}") + \
                ("" if result["lambda"] == 0.5 else f"_lambda{result['lambda']:g}") + \
                ("" if result["temperature"] == 4 else f"_t{result['temperature']:g}")
            shutil.copyfile(path, Path(args.copy) / f"distill_{result['map']}{suffix}.json")
    if args.figure:
        figure([r for r in results if r["lambda"] == 0.5 and r["temperature"] == 4], Path(args.figure))
        print(f"wrote {args.figure}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
