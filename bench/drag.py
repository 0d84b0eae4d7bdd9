"""The browser drag measurement the benchmarks share: in the Latent Explorer on the 2D GAN, the time from
a pointer move on the latent pad to the new image finishing loading, by in-page clocks."""
from __future__ import annotations

import time


def drag_latencies(page, url: str, moves: int = 50) -> tuple[list[float], float, str]:
    """Drag the explorer's point in `moves` steps, one at a time, then continuously for 2 s.

    Args:
        page: a Playwright page (the app is opened in it).
    Returns:
        (the sorted move -> image latencies in ms, new images per second during the continuous drag,
         a line saying how many images arrived in how long).
    """
    page.goto(f"{url}/explorer?model=gan_2d.safetensors&z=-0.9,-0.9")
    canvas = page.locator(".latent-pad canvas")
    canvas.wait_for(timeout=120_000)
    page.locator(".st-key-explorer-image img").wait_for(timeout=120_000)
    page.wait_for_timeout(1500)
    # In-page clocks: when the pad saw each pointer move, and when each new image finished loading.
    canvas.evaluate("c => { window.__moves = []; c.addEventListener('pointermove', () => "
                    "window.__moves.push(performance.now())); }")
    page.locator(".st-key-explorer-image").evaluate(
        "el => { window.__loads = []; el.addEventListener('load', () => window.__loads.push(performance.now()), true); }")
    box = canvas.bounding_box()
    x0, y0 = box["x"] + box["width"] * 0.08, box["y"] + box["height"] * 0.9
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.wait_for_timeout(1000)
    latencies = []
    for i in range(moves):
        loads = page.evaluate("window.__loads.length")
        page.mouse.move(x0 + box["width"] * 0.84 * (i + 1) / moves, y0 - box["height"] * 0.8 * (i + 1) / moves)
        page.wait_for_function(f"window.__loads.length > {loads}", timeout=10_000)
        page.wait_for_timeout(30)
        latencies.append(page.evaluate("window.__loads[window.__loads.length - 1] - window.__moves[window.__moves.length - 1]"))
    # A continuous drag: a move every 16 ms for 2 s; how many new images arrive while it lasts.
    loads = page.evaluate("window.__loads.length")
    start = time.perf_counter()
    for i in range(120):
        page.mouse.move(x0 + box["width"] * 0.84 * (1 - i / 120), y0 - box["height"] * 0.4)
        page.wait_for_timeout(16)
    elapsed = time.perf_counter() - start
    updates = page.evaluate("window.__loads.length") - loads
    page.mouse.up()
    return sorted(latencies), updates / elapsed, f"{updates} images during {elapsed:.1f} s of moves every 16 ms"
