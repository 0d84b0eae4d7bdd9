"""Every page's first full run in a cold session on a warm server (issue 17: at most 1.5 s each): the seconds
from the page's GET to the end of its first full script run, with bench/load.py's light websocket client
(what a browser tab does on the wire, without a browser's own CPU on this 2-core machine).

    python bench/bench_pages.py [--repeat 3] [--out bench/results/pages.json]

The server is warmed first (each page opened once, in the table's order: models loaded, maps computed and
cached, as on a server that has been up a while; those first opens are reported too, as "fresh server", each
after the pages above it); then each page is opened `--repeat` times, each time as a new session. Prints a
table (median and max per page) and writes JSON.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from load_client import Client  # noqa: E402  (bench/load_client.py)
from timing import cpu_kind, machine_load  # noqa: E402

PAGES = [  # (what, URL path, query string)
    ("Home", "", ""),
    ("Latent Explorer, 2D GAN", "explorer", "model=gan_2d.safetensors"),
    ("Latent Explorer, a 3D link", "explorer", "model=gan_3d.safetensors&z=0.1,-0.4,0.3&axis=z3"),
    ("Latent Explorer, a 4D link", "explorer", "model=gan_4d.safetensors&z=0.2,0.1,-0.3,0.4"),
    ("Conditional GAN", "cgan", ""),
    ("Morph", "morph", ""),
    ("VAE Lab", "vae_lab", ""),
    ("Music", "music", ""),
    ("Distillation", "distill", ""),
    ("Train", "train", ""),
    ("Model card", "models", ""),
]


async def open_once(base: str, path: str, query: str) -> float | None:
    client = Client(base, query, -1, page=path)
    try:
        await asyncio.wait_for(client.open(), 180)
    except asyncio.TimeoutError:
        client.open_seconds = None
    errors = sum(client.errors.values())
    await client.close()
    return None if errors else client.open_seconds


async def measure(base: str, repeat: int) -> list[dict]:
    first = [await open_once(base, path, query) for _, path, query in PAGES]    # warm the server, in page order
    rows = []
    for (what, path, query), cold in zip(PAGES, first):
        seconds = [await open_once(base, path, query) for _ in range(repeat)]
        ok = [s for s in seconds if s is not None]
        rows.append({"page": what, "path": f"/{path}" + (f"?{query}" if query else ""), "opens": len(ok),
                     "median_s": round(statistics.median(ok), 2) if ok else None,
                     "max_s": round(max(ok), 2) if ok else None,
                     "fresh_server_s": None if cold is None else round(cold, 2)})
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "pages.json"))
    args = parser.parse_args()
    from tests.e2e.server import app_server

    load = machine_load()
    with tempfile.TemporaryDirectory() as folder, \
            app_server(Path(folder) / "streamlit.log", env={"GENLAB_CACHE_DIR": folder,
                                                            "GENLAB_RUNS": str(Path(folder) / "runs")}) as url:
        started = time.perf_counter()
        rows = asyncio.run(measure(url, args.repeat))
        elapsed = time.perf_counter() - started
    print(f"{cpu_kind()}; load at start {load['load_average']}; {elapsed:.0f} s in all")
    print(f"{'page (first full run, cold session, warm server)':<52}{'median s':>10}{'max s':>8}"
          f"{'fresh server':>14}  target <= 1.5 s (warm server)")
    for r in rows:
        med = "error" if r["median_s"] is None else f"{r['median_s']:.2f}"
        top = "" if r["max_s"] is None else f"{r['max_s']:.2f}"
        fresh = "" if r["fresh_server_s"] is None else f"{r['fresh_server_s']:.2f}"
        print(f"{r['page']:<52}{med:>10}{top:>8}{fresh:>14}  "
              f"{'met' if r['max_s'] is not None and r['max_s'] <= 1.5 else 'MISSED'}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"cpu": cpu_kind(), "load": load, "repeat": args.repeat, "rows": rows},
                                         indent=1))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
