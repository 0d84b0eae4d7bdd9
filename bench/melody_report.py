"""The melody models' held-out figures per epoch, from a run's snapshots, against the n-gram baselines.

    python bench/melody_report.py runs/melody/melody_additive runs/melody/melody_book \\
        [--out bench/results/melody_quality.json] [--figure docs/melody_accuracy.png]

For each run (the path given to `python -m train melody --out`, trained with --snapshot-every N) it scores
every snapshot in OUT.epochs/ and the final checkpoint on the held-out tunes (genlab.music.melody.evaluate:
next-pitch accuracy and perplexity, next-duration accuracy) and prints a table with the unigram and bigram
baselines (counted on the training tunes in the run's keys). Writes JSON and, with --figure, a PNG of the
next-pitch accuracy per epoch.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from genlab.checkpoints import load_checkpoint  # noqa: E402
from genlab.music.melody import evaluate, ngram_baselines  # noqa: E402


def run_scores(out: str) -> dict:
    """{"name", "attention", "transpose", "epochs": [{"epoch", scores...}]} of one run."""
    base = Path(out[:-len(".safetensors")] if out.endswith(".safetensors") else out)
    paths = sorted((base.parent / (base.name + ".epochs")).glob("epoch_*.safetensors"))
    final = base.with_name(base.name + ".safetensors")
    rows, seen = [], set()
    for path in [*paths, final] if final.is_file() else paths:
        ckpt = load_checkpoint(path)
        if ckpt.epochs in seen:
            continue
        seen.add(ckpt.epochs)
        scores = evaluate(ckpt.model)
        rows.append({"epoch": ckpt.epochs, **{k: round(v, 4) if isinstance(v, float) else v for k, v in scores.items()}})
        config, train = ckpt.config, ckpt.train
    return {"name": base.name, "attention": config.get("attention", "additive"), "transpose": train.get("transpose", 0),
            "epochs": sorted(rows, key=lambda r: r["epoch"])}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "melody_quality.json"))
    parser.add_argument("--figure", default=None)
    args = parser.parse_args(argv)
    runs = [run_scores(r) for r in args.runs]
    baselines = {t: ngram_baselines(t) for t in sorted({r["transpose"] for r in runs})}
    print(f"{'run':<22} {'attention':<9} {'epoch':>5} {'pitch acc':>9} {'perplexity':>10} {'duration acc':>12}")
    for run in runs:
        for row in run["epochs"]:
            print(f"{run['name']:<22} {run['attention']:<9} {row['epoch']:>5} {row['pitch_accuracy']:>9.1%} "
                  f"{row['pitch_perplexity']:>10.2f} {row['duration_accuracy']:>12.1%}")
    for t, b in baselines.items():
        print(f"baselines (training tunes in {2 * t + 1} keys): unigram {b['unigram_pitch_accuracy']:.1%} "
              f"(perplexity {b['unigram_pitch_perplexity']:.2f}), bigram {b['bigram_pitch_accuracy']:.1%} "
              f"({b['bigram_pitch_perplexity']:.2f}); {runs[0]['epochs'][0]['notes']:,} held-out notes")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"runs": runs, "baselines": {str(t): b for t, b in baselines.items()}},
                                         indent=1))
    print(f"wrote {args.out}")
    if args.figure:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(7, 3.6), dpi=120)
        for run in runs:
            ax.plot([r["epoch"] for r in run["epochs"]], [100 * r["pitch_accuracy"] for r in run["epochs"]],
                    marker="o", label=f"{run['name']} ({run['attention']} attention)")
        b = baselines[max(baselines)]
        ax.axhline(100 * b["bigram_pitch_accuracy"], color="grey", ls="--", label="bigram (counted pitch pairs)")
        ax.axhline(100 * b["unigram_pitch_accuracy"], color="grey", ls=":", label="unigram (commonest pitch)")
        ax.set_xlabel("epoch")
        ax.set_ylabel("next-pitch accuracy, held-out tunes (%)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(args.figure)
        print(f"wrote {args.figure}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
