"""The distillation results of docs/guide/distillation.md from the experiment's result.json files
(python -m train distill ...):
the table (final test accuracy and cross-entropy, mean +- spread over seeds, with and without the teacher, the
gain, the command) and the figure of test accuracy per epoch (mean over seeds and their range; one panel per
setting; the noise panel has the talk's three curves when its result has the plain teacher's student).

    python bench/distill_report.py runs/distill/*/result.json [--copy bench/results] [--figure docs/distill_accuracy.png]

--copy keeps each result as bench/results/distill_<map>[_<student>][_lambda<L>][_t<T>][_validation].json (the
figures the docs show); the figure shows the results tested on Test at lambda 0.5 and T 4 (the page's defaults).
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from genlab.distill import SETTINGS  # noqa: E402


def final(result: dict, key: str, metric: str) -> list[float]:
    """The last epoch's `metric` of every seed's student `key` ("with_teacher", "alone" or an other's name)."""
    runs = result["runs"]
    return [(run[key] if key in ("with_teacher", "alone") else run["others"][key])[-1][metric] for run in runs]


def spread(values: list[float]) -> float:
    return statistics.stdev(values) if len(values) > 1 else 0.0


def row(result: dict) -> str:
    s = result["summary"]
    t, a = s["with_teacher"], s["alone"]
    ce_t, ce_a = final(result, "with_teacher", "cross_entropy"), final(result, "alone", "cross_entropy")
    verdict = "more than the spread" if s["gain_beats_spread"] else "**not** more than the spread"
    via = result.get("teacher_via_phi", {}).get("accuracy")
    others = "; ".join(f"with the {name}: {v['mean']:.2%} +- {v['spread']:.2%}" for name, v in s.get("others", {}).items())
    return (f"| {result.get('label', result['map'])} | {result['student']} | {result['lambda']:g} | "
            f"{result['temperature']:g} | {result['epochs']} | {result.get('tested_on', 'test')} {result['test']:,} | "
            f"{'' if via is None else f'{via:.1%}'} | "
            f"{t['mean']:.2%} +- {t['spread']:.2%} (CE {statistics.mean(ce_t):.3f}) | "
            f"{a['mean']:.2%} +- {a['spread']:.2%} (CE {statistics.mean(ce_a):.3f}) | {s['gain']:+.2%} ({verdict})"
            f"{'; ' + others if others else ''} | `{result.get('command', '')}` |")


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
        curves = [("with_teacher", "with the teacher", "#1f77b4"), ("alone", "alone", "#ff7f0e")]
        curves += [(name, f"with the {name}", "#2ca02c") for name in result["runs"][0].get("others") or {}]
        for key, label, color in curves:
            rows_ = [run[key] if key in ("with_teacher", "alone") else run["others"][key] for run in result["runs"]]
            per_epoch = list(zip(*[[e["accuracy"] for e in r] for r in rows_]))
            mean = [statistics.mean(v) for v in per_epoch]
            low, high = [min(v) for v in per_epoch], [max(v) for v in per_epoch]
            ax.plot(epochs, mean, color=color, label=label, marker="o", markersize=2)
            ax.fill_between(epochs, low, high, color=color, alpha=0.2)
        ax.set_title(f"{result.get('label', result['map'])}, {result['student']}, lambda {result['lambda']:g}",
                     fontsize=10)
        ax.set_xlabel("epoch")
        ax.set_ylim(max(0.0, min(min(e["accuracy"] for e in r["alone"][2:]) for r in result["runs"]) - 0.05), None)
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right", fontsize=7)
    axes[0][0].set_ylabel("test accuracy")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", nargs="+")
    parser.add_argument("--copy", help="folder to keep each result in as distill_<map>[...].json")
    parser.add_argument("--figure", help="PNG of test accuracy per epoch")
    args = parser.parse_args()
    results = [json.loads(Path(p).read_text()) for p in args.results]
    rank = {name: i for i, name in enumerate(SETTINGS)}
    order = sorted(range(len(results)), key=lambda i: (rank.get(results[i]["map"], 99), results[i]["student"] != "weak",
                                                       results[i].get("tested_on", "test") != "test",
                                                       -results[i]["lambda"], results[i]["temperature"]))
    args.results, results = [args.results[i] for i in order], [results[i] for i in order]
    print("| setting | students | lambda | T | epochs | tested on | teacher through phi | with the teacher | alone | "
          "gain | command |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for result in results:
        print(row(result))
    if args.copy:
        for path, result in zip(args.results, results):
            suffix = ("" if result["student"] == "weak" else f"_{result['student']}") + \
                ("" if result["lambda"] == 0.5 else f"_lambda{result['lambda']:g}") + \
                ("" if result["temperature"] == 4 else f"_t{result['temperature']:g}") + \
                ("" if result.get("tested_on", "test") == "test" else "_validation")
            target = Path(args.copy) / f"distill_{result['map']}{suffix}.json"
            if Path(path).resolve() != target.resolve():
                shutil.copyfile(path, target)
    if args.figure:
        shown = [r for r in results if r["lambda"] == 0.5 and r["temperature"] == 4 and r["student"] == "weak"
                 and r.get("tested_on", "test") == "test"]
        figure(shown, Path(args.figure))
        print(f"wrote {args.figure}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
