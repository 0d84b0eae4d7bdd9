"""The quality report of the shipped models (issue 13): every generative checkpoint in checkpoints/, 10,000
seeded samples each, judged by the strong classifier, with the real digits' figures beside them.

    GENLAB_DATA_DIR=../shared/data python bench/quality.py [--write] [extra `python -m genlab quality` options]

Prints the table and writes bench/results/quality.json (docs/quality.md's table comes from it). With
full MNIST present (GENLAB_DATA_DIR) the reference is its 10,000 test digits; otherwise the embedded 1,000.
`--write` also stores each model's figures in its checkpoint's metrics.
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from genlab.__main__ import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(["quality", "--classifier", str(ROOT / "checkpoints" / "classifier_strong.safetensors"),
                   "--json", str(ROOT / "bench" / "results" / "quality.json"),
                   "--before", str(ROOT / "bench" / "results" / "quality_before.json"), *sys.argv[1:]]))
