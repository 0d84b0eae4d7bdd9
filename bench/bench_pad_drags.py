"""One visitor drags a latent pad in a real browser: what the server spends on it, page by page.

The Latent Explorer, the VAE Lab (a 16D VAE: the pad is a plane through the point) and Morph (B dragged)
each get the same drag: 100 pointer moves about 30 ms apart, then the release. Each page is dragged twice,
on a fresh browser page each time:
- "live route": as served; each move asks genlab/api.py (the point or morph route) and Python sees only
  the release;
- "reruns": the same page with the live routes answering 404 in the browser (Playwright's request
  routing), so the pad falls back to sending every move to Python as a fragment rerun (the pads before
  the routes).
It reports the server process' CPU from the button going down to 1.5 s after the release (the release's
rerun included), per pointer move and per second of dragging, and how many requests the pad sent (route
GETs, or websocket messages for reruns). The browser runs on the same machine, so only the server
process' own CPU is counted (from /proc).

    python bench/bench_pad_drags.py [--moves 100] [--out bench/results/pad_drags.json]
"""
from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from tests.e2e.server import app_server, launch_chromium  # noqa: E402
from load_server import cpu_seconds  # noqa: E402  (bench/load_server.py: a process' CPU from /proc)
from timing import machine_load, print_rows  # noqa: E402  (bench/timing.py)

PAGES = [
    # (page, link, the image the drag updates)
    ("Latent Explorer", "/explorer?model=gan_2d.safetensors&z=-0.5,-0.5", ".st-key-explorer-image"),
    ("VAE Lab", "/vae_lab?model=vae_16.safetensors&digit=7", ".st-key-vae-point-image"),
    ("Morph", "/morph?model=gan_2d.safetensors", ".st-key-morph-strip"),
]


def server_pid(url: str) -> int:
    """The process listening on the URL's port (the Streamlit server)."""
    port = url.rsplit(":", 1)[1]
    out = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True, check=True).stdout
    line = next(row for row in out.splitlines() if re.search(rf":{port}\b", row.split()[3]))
    return int(re.search(r"pid=(\d+)", line).group(1))


def drag(browser, url: str, pid: int, link: str, target: str, moves: int, reruns: bool) -> dict:
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    if reruns:
        page.route("**/genlab/api/**", lambda route: route.fulfill(status=404, body="{}"))
    sent = {"route": 0, "websocket": 0}
    page.on("request", lambda r: sent.__setitem__("route", sent["route"] + 1) if "/genlab/api/" in r.url else None)
    page.on("websocket", lambda ws: ws.on("framesent", lambda _: sent.__setitem__("websocket", sent["websocket"] + 1)))
    page.goto(url + link)
    canvas = page.locator(".latent-pad canvas")
    canvas.wait_for(timeout=180_000)
    page.locator(f"{target} img").first.wait_for(timeout=180_000)
    page.locator(".latent-pad canvas[data-preview]").wait_for(timeout=60_000)   # the plane's sprite arrived
    canvas.scroll_into_view_if_needed()
    page.wait_for_timeout(3000)                            # the page's own work done
    box = canvas.bounding_box()
    # Morph: B starts at (1, 0), on the right edge's middle; the others: the pad's middle, near the point.
    x0 = box["x"] + box["width"] * (0.95 if "morph" in link else 0.5)
    y0 = box["y"] + box["height"] * 0.5
    sent.update(route=0, websocket=0)
    before, start = cpu_seconds(pid), time.perf_counter()
    page.mouse.move(x0, y0)
    page.mouse.down()
    for i in range(moves):
        t = (i + 1) / moves
        page.mouse.move(x0 - box["width"] * 0.4 * t, y0 + box["height"] * 0.35 * (t - t * t) * 2)
        page.wait_for_timeout(30)
    dragged = time.perf_counter() - start
    page.mouse.up()
    page.wait_for_timeout(1500)
    used = cpu_seconds(pid) - before
    page.close()
    return {"cpu_s": round(used, 3), "drag_s": round(dragged, 2), "cpu_ms_per_move": round(1e3 * used / moves, 1),
            "cores_while_dragging": round(used / (dragged + 1.5), 3), "route_requests": sent["route"],
            "websocket_messages": sent["websocket"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--moves", type=int, default=100)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "pad_drags.json"))
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    results = []
    log = ROOT / "runs" / "bench_pad_drags.log"
    log.parent.mkdir(exist_ok=True)
    with app_server(log, env={"GENLAB_SERVER_THREADS": "1"}) as url, sync_playwright() as p:
        pid = server_pid(url)
        browser = launch_chromium(p)
        for name, link, target in PAGES:
            drag(browser, url, pid, link, target, 10, reruns=False)           # warm: models, maps, sprites
            for reruns in (True, False):
                row = drag(browser, url, pid, link, target, args.moves, reruns)
                results.append({"page": name, "mode": "reruns" if reruns else "live route", **row})
        browser.close()
    rows = [(f"{r['page']}, {r['mode']}", r["cpu_ms_per_move"], "ms",
             f"server CPU {r['cpu_s']:.2f} s for {args.moves} moves in {r['drag_s']:.1f} s + release "
             f"({r['cores_while_dragging']:.2f} cores); sent {r['route_requests']} route GETs, "
             f"{r['websocket_messages']} websocket messages") for r in results]
    print_rows(rows)
    Path(args.out).write_text(json.dumps({
        "machine": machine_load(), "measured": time.strftime("%Y-%m-%d %H:%M"),
        "settings": {"moves": args.moves, "server_threads": 1}, "results": results,
        "rows": [{"measure": m, "value": v, "unit": u, "note": n} for m, v, u, n in rows]}, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
