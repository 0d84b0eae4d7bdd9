"""Dissection speed: a click on a feature map to the new image in Chromium (the Latent Explorer, gan_2d, its
layer act2: each click switches one more channel off or the last one on again), and the unit ranking of one
point per layer of the shipped GANs (server side, on the app's one torch thread and on all cores). Issue 16's
targets: p50 <= 150 ms over 30 clicks; ranking <= 1 s for up to 256 channels.

    python bench/bench_dissect.py [--clicks 30] [--skip-browser] [--out bench/results/dissect.json]

Prints a table and writes JSON.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import genlab  # noqa: E402,F401
import torch  # noqa: E402
from genlab.checkpoints import load_checkpoint  # noqa: E402
from genlab.inspect import named_layers  # noqa: E402
from genlab.latent.point import rank_units  # noqa: E402
from timing import cpu_kind, machine_load, percentile  # noqa: E402  (bench/timing.py)

CKPT = ROOT / "checkpoints"


def ranking_rows() -> list[dict]:
    judge = load_checkpoint(CKPT / "classifier_strong.safetensors").model.eval()
    rows = []
    for name in ("gan_2d", "gan_4d", "cgan_3d"):
        model = load_checkpoint(CKPT / f"{name}.safetensors").model.eval()
        z = [0.3] * model.latent_dim
        label = 3 if name.startswith("cgan") else None
        for layer in named_layers(model, "generator"):
            for threads in (1, os.cpu_count() or 1):
                torch.set_num_threads(threads)
                try:
                    rank_units(model, z, judge, layer, label=label)            # warm-up
                except ValueError:
                    break                                                      # a dense layer: too many units
                start = time.perf_counter()
                _, _, drops = rank_units(model, z, judge, layer, label=label)
                rows.append({"model": name, "layer": layer.split(".")[-1], "channels": len(drops), "threads": threads,
                             "seconds": round(time.perf_counter() - start, 3)})
    return rows


def click_latencies(clicks: int) -> list[float]:
    from playwright.sync_api import expect

    from tests.e2e.server import app_in_chromium, open_page

    with app_in_chromium() as (url, browser):
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        main = open_page(page, f"{url}/explorer?model=gan_2d.safetensors&z=-0.84,0.54", "Latent Explorer")
        main.get_by_text("Switch units off", exact=True).click()
        grid = page.locator(".feature-maps canvas")
        expect(grid).to_be_visible(timeout=120_000)
        grid.scroll_into_view_if_needed()
        time.sleep(2)
        image = page.locator(".st-key-explorer-image img")
        cols = 11                                                     # act2: 64 maps in 11 columns
        seconds = []
        for k in range(clicks + 3):
            grid.scroll_into_view_if_needed()
            box = grid.bounding_box()
            channel = (k * 7) % 64
            cell = box["width"] / cols
            before = image.get_attribute("src")
            start = time.perf_counter()
            page.mouse.click(box["x"] + cell * (channel % cols + 0.5), box["y"] + cell * (channel // cols + 0.5))
            page.wait_for_function("([sel, old]) => { const i = document.querySelector(sel); return i && i.src !== old; }",
                                   arg=[".st-key-explorer-image img", before], timeout=30_000)
            if k >= 3:                                                 # the first clicks warm the caches up
                seconds.append(time.perf_counter() - start)
            time.sleep(0.3)
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clicks", type=int, default=30)
    parser.add_argument("--skip-browser", action="store_true")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "dissect.json"))
    args = parser.parse_args()
    result = {"cpu": cpu_kind(), "load": machine_load()}
    if not args.skip_browser:
        seconds = click_latencies(args.clicks)
        result["click_to_image_ms"] = {"clicks": len(seconds), "p50": round(percentile(seconds, 0.5) * 1e3, 1),
                                       "p95": round(percentile(seconds, 0.95) * 1e3, 1),
                                       "max": round(max(seconds) * 1e3, 1)}
    result["ranking"] = ranking_rows()
    print(f"{cpu_kind()}; load {machine_load()['load_average']}")
    if "click_to_image_ms" in result:
        c = result["click_to_image_ms"]
        print(f"click on a feature map -> new image in Chromium (gan_2d, act2, {c['clicks']} clicks): "
              f"p50 {c['p50']:.0f} ms, p95 {c['p95']:.0f} ms, max {c['max']:.0f} ms (target p50 <= 150 ms)")
    print(f"\n{'model':<10}{'layer':<10}{'channels':>9}{'threads':>8}{'seconds':>9}")
    for r in result["ranking"]:
        print(f"{r['model']:<10}{r['layer']:<10}{r['channels']:>9}{r['threads']:>8}{r['seconds']:>9.3f}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
