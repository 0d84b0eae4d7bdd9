"""Core speed figures on this machine: one latent point to image (+ activations), batched
generation, checkpoint loading, and training throughput per model kind.

    python bench/bench_core.py [--out bench/results/core.json]

Prints a table and writes JSON. Uses the shipped checkpoints (or fresh models when missing).
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from timing import times  # noqa: E402  (bench/timing.py)
from genlab.checkpoints import load_checkpoint  # noqa: E402
from genlab.inspect import layer_activations  # noqa: E402
from genlab.models import build_model  # noqa: E402
from genlab.training.config import TrainConfig  # noqa: E402
from genlab.training.loop import STEPS, _make_optimizers, _wrap  # noqa: E402


def _model(name: str, kind: str, config: dict):
    path = ROOT / "checkpoints" / f"{name}.safetensors"
    return load_checkpoint(path).model if path.exists() else build_model(kind, config).eval()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "core.json"))
    args = parser.parse_args()
    rows = []
    gan = _model("gan_2d", "gan", {"latent_dim": 2})
    z = torch.tensor([[-0.84, 0.54]])
    with torch.inference_mode():
        t = times(lambda: gan.generate(z), 200)
        rows.append(("GAN 2D: one point -> image", statistics.median(t) * 1e3, "ms (median of 200)"))
        t = times(lambda: layer_activations(gan, lambda: gan.generate(z)), 200)
        rows.append(("GAN 2D: one point -> image + every layer's activations", statistics.median(t) * 1e3,
                     "ms (median of 200)"))
        big = torch.rand(10_000, 2) * 2 - 1
        t = times(lambda: torch.cat([gan.generate(big[i:i + 1000]) for i in range(0, 10_000, 1000)]), 3)
        rows.append(("GAN 2D: 10,000 images (a 100x100 grid)", min(t), "s (best of 3)"))
    path = ROOT / "checkpoints" / "gan_2d.safetensors"
    if path.exists():
        t = times(lambda: load_checkpoint(path), 5)
        rows.append(("load + validate the GAN 2D checkpoint", statistics.median(t) * 1e3, "ms (median of 5)"))
    for kind, config in (("gan", {"latent_dim": 2}), ("vae", {}), ("classifier", {"size": "strong"})):
        cfg = TrainConfig(kind, config, batch_size=64)
        model = build_model(kind, config).train()
        optimizers, nets = _make_optimizers(model, cfg), _wrap(model, 1, torch.device("cpu"), None)
        x, y = torch.rand(64, 1, 28, 28) * 2 - 1, torch.randint(0, 10, (64,))
        t = times(lambda: STEPS[kind](nets, optimizers, x, y, cfg, model), 10)
        rows.append((f"train {kind}: images per second (batch 64)", 64 / statistics.median(t), "images/s"))
    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}}  {'value':>10}  unit")
    for name, value, unit in rows:
        print(f"{name:<{width}}  {value:>10.2f}  {unit}")
    result = {"machine": {"cpu_threads": torch.get_num_threads(), "cuda": torch.cuda.is_available(),
                          "python": platform.python_version(), "torch": torch.__version__},
              "rows": [{"measure": n, "value": round(v, 3), "unit": u} for n, v, u in rows]}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
