"""Latent Explorer and Morph speed on this machine: server-side point views, a 16-step morph,
class-area maps (adaptive against brute force, with their agreement), and drag-to-image latency in
a real browser.

    python bench/bench_explorer.py [--moves 50] [--skip-browser] [--skip-4d-brute] [--cpu-kinds]
                                   [--out bench/results/explorer.json]

Prints a table and writes JSON. Uses the shipped checkpoints. Maps are computed cold (no cache).
`--cpu-kinds` runs the map rows a second time in a fresh process limited to AVX2
(ONEDNN_MAX_CPU_ISA=AVX2 ATEN_CPU_CAPABILITY=avx2: what a CPU without AVX-512 and its native bfloat16
offers) and prints both kinds' rows; `--maps-only` measures only the maps.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import genlab  # noqa: E402,F401  (first: it sets the OpenMP wait policy the app runs with)
import torch  # noqa: E402
from genlab.checkpoints import load_checkpoint  # noqa: E402
from drag import drag_latencies  # noqa: E402  (bench/drag.py)
from timing import median_p95_ms  # noqa: E402  (bench/timing.py)
from genlab.latent.maps import agreement, compute_class_area_map, fast_precision_available  # noqa: E402
from genlab.images import animated_gif, image_grid  # noqa: E402
from genlab.latent.morph import morph  # noqa: E402
from genlab.latent.point import explore_point  # noqa: E402

CKPT = ROOT / "checkpoints"
AVX2 = {"ONEDNN_MAX_CPU_ISA": "AVX2", "ATEN_CPU_CAPABILITY": "avx2"}


def cpu_kind() -> str:
    """The CPU kind the maps ran on, in words."""
    isa = os.environ.get("ONEDNN_MAX_CPU_ISA")
    native = fast_precision_available(torch.device("cpu"))
    return f"{'limited to ' + isa if isa else 'full ISA'}, bfloat16 {'native' if native else 'not native'}"


def _avx2_rows(skip_4d_brute: bool) -> list[tuple]:
    """The map rows measured again in a fresh process under the AVX2 limit (the variables act at start-up)."""
    command = [sys.executable, __file__, "--maps-only", "--rows-json", "-"] + (["--skip-4d-brute"] if skip_4d_brute else [])
    done = subprocess.run(command, env={**os.environ, **AVX2}, capture_output=True, text=True, check=True)
    rows = json.loads(done.stdout.strip().splitlines()[-1])
    return [(f"AVX2: {name}", value, unit, note) for name, value, unit, note in rows]


def _map_rows(name: str, model, classifier, axes, resolution: int, brute: bool) -> list[tuple]:
    ranges = [(-1.0, 1.0)] * len(axes)
    fast = compute_class_area_map(model, classifier, axes, ranges, resolution)
    label = f"{name}: class-area map {'x'.join([str(resolution)] * len(axes))}"
    rows = [(f"{label}, adaptive (cold)", fast.seconds, "s",
             f"{fast.computed_fraction:.1%} of points run through G and the classifier")]
    if brute:
        slow = compute_class_area_map(model, classifier, axes, ranges, resolution, method="brute")
        rows.append((f"{label}, brute force", slow.seconds, "s", f"adaptive is {slow.seconds / fast.seconds:.1f}x faster"))
        rows.append((f"{label}, agreement with brute force", agreement(fast, slow) * 100, "%", ""))
    return rows


def _browser_rows(moves: int) -> list[tuple]:
    from tests.e2e.server import app_in_chromium

    with app_in_chromium() as (url, browser):
        previews = {}
        latencies, per_second, detail = drag_latencies(browser.new_page(viewport={"width": 1400, "height": 1000}),
                                                       url, moves, previews)
    shown = previews.get("latencies") or [float("nan")]
    return [
        (f"browser: drag move -> preview painted, median of {len(shown)}", statistics.median(shown), "ms",
         "blended from the plane's sprite"),
        (f"browser: drag move -> preview painted, p95 of {len(shown)}", shown[int(0.95 * (len(shown) - 1))], "ms", ""),
        ("browser: previews painted per second during a continuous drag", previews.get("per_second", float("nan")),
         "1/s", "one per pointer move; the moves come every 16 ms"),
        (f"browser: drag move -> new image shown, median of {moves}", statistics.median(latencies), "ms", ""),
        (f"browser: drag move -> new image shown, p95 of {moves}", latencies[int(0.95 * (len(latencies) - 1))], "ms", ""),
        ("browser: new images per second during a continuous drag", per_second, "1/s", detail),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--moves", type=int, default=50, help="drag moves to time in the browser")
    parser.add_argument("--skip-browser", action="store_true", help="no browser measurements")
    parser.add_argument("--skip-4d-brute", action="store_true", help="skip the 4D brute-force map (about a minute)")
    parser.add_argument("--cpu-kinds", action="store_true",
                        help="also run the map rows limited to AVX2 (the CPU kind without AVX-512) and print both")
    parser.add_argument("--maps-only", action="store_true", help="only the class-area map rows")
    parser.add_argument("--rows-json", help=argparse.SUPPRESS)   # '-': print the rows as JSON (for --cpu-kinds)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "explorer.json"))
    args = parser.parse_args()
    classifier = load_checkpoint(CKPT / "classifier_strong.safetensors").model
    gans = {d: load_checkpoint(CKPT / f"gan_{d}d.safetensors").model for d in (2, 3, 4)}
    if args.maps_only:
        rows = _all_map_rows(gans, classifier, args.skip_4d_brute)
        if args.rows_json == "-":
            print(json.dumps(rows))
            return
        if args.cpu_kinds:
            rows += _avx2_rows(args.skip_4d_brute)
        _report(rows, args.out)
        return
    rows = []
    with torch.inference_mode():
        median, p95 = median_p95_ms(lambda: explore_point(gans[2], [0.3, -0.2], classifier), 200)
    rows.append(("GAN 2D: one point -> image, class, every layer's activations (server)", median, "ms",
                 f"median of 200; p95 {p95:.1f} ms"))
    gif_and_strip = lambda m: (animated_gif(m.images, bounce=False), image_grid(m.images, nrow=16, scale=3))  # noqa: E731
    median, p95 = median_p95_ms(lambda: gif_and_strip(morph(gans[2], [-1, 0], [1, 0], 16, "linear", classifier)), 50)
    rows.append(("GAN 2D: 16-step morph -> images, classes, discriminator, GIF and strip", median, "ms",
                 f"median of 50; p95 {p95:.1f} ms"))
    rows += _all_map_rows(gans, classifier, args.skip_4d_brute)
    if args.cpu_kinds:
        rows += _avx2_rows(args.skip_4d_brute)
    if not args.skip_browser:
        rows += _browser_rows(args.moves)
    _report(rows, args.out)


def _all_map_rows(gans, classifier, skip_4d_brute: bool) -> list[tuple]:
    rows = [("maps on this CPU kind: " + cpu_kind(), float("nan"), "", "")]
    rows += _map_rows("GAN 2D", gans[2], classifier, (0, 1), 100, brute=True)
    rows += _map_rows("GAN 3D", gans[3], classifier, (0, 1, 2), 16, brute=True)
    rows += _map_rows("GAN 4D", gans[4], classifier, (0, 1, 2, 3), 16, brute=not skip_4d_brute)
    return rows


def _report(rows: list[tuple], out: str) -> None:
    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}}  {'value':>9}  unit  note")
    for name, value, unit, note in rows:
        print(f"{name:<{width}}  {value:>9.2f}  {unit:<4}  {note}")
    result = {"machine": {"cpu_threads": torch.get_num_threads(), "cuda": torch.cuda.is_available(),
                          "python": platform.python_version(), "torch": torch.__version__},
              "measured": time.strftime("%Y-%m-%d"),
              "rows": [{"measure": n, "value": (round(v, 4) if v == v else None), "unit": u, "note": note} for n, v, u, note in rows]}
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(json.dumps(result, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
