"""The browser drag measurement the benchmarks share: in the Latent Explorer on the 2D GAN, the time from
a pointer move on the latent pad to the new exact image finishing loading, by in-page clocks, and (since the
pad paints a preview from its sprite first, genlab/latent/preview.py) the time from the move to the painted
preview and the previews painted per second of a continuous drag."""
from __future__ import annotations

import time


FRAME_DRAG = """(c, [x, y, w]) => new Promise((done) => {
  const r = c.getBoundingClientRect(), start = performance.now(), before = window.__genlabPreviews.length;
  let moves = 0;
  function step() {
    const t = performance.now() - start;
    if (t > 2000) {
      done({moves, previews: window.__genlabPreviews.length - before, seconds: t / 1000});
      return;
    }
    c.dispatchEvent(new PointerEvent("pointermove", {clientX: r.left + x + w * 0.8 * (moves % 120) / 120,
                                                     clientY: r.top + y - w * 0.4, bubbles: true, pointerId: 1}));
    moves++;
    requestAnimationFrame(step);
  }
  requestAnimationFrame(step);
})"""


def drag_latencies(page, url: str, moves: int = 50, previews: dict | None = None) -> tuple[list[float], float, str]:
    """Drag the explorer's point in `moves` steps, one at a time, then continuously for 2 s.

    Args:
        page: a Playwright page (the app is opened in it).
        previews: a dict that receives "latencies" (sorted move -> painted preview, ms, over both drags) and
            "per_second" (previews painted per second of the continuous drag).
    Returns:
        (the sorted move -> exact image latencies in ms, new exact images per second during the continuous
         drag, a line saying how many images arrived in how long).
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
        "el => { window.__loads = []; el.addEventListener('load', (e) => { if (!e.target.classList.contains("
        "'genlab-preview')) window.__loads.push(performance.now()); }, true); }")
    page.evaluate("window.__genlabPreviews = []")
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
    if previews is not None:
        shown = page.evaluate("window.__genlabPreviews")
        previews["latencies"] = sorted(p["painted"] - p["event"] for p in shown)
        # Playwright cannot send moves faster than its round trips; in the page, one move per animation frame
        # for 2 s (the pointer is still down, so the pad is dragging), counting the previews painted.
        frames = canvas.evaluate(FRAME_DRAG, [x0 - box["x"], y0 - box["y"], box["width"]])
        previews["per_second"] = frames["previews"] / frames["seconds"]
        previews["moves_per_second"] = frames["moves"] / frames["seconds"]
    page.mouse.up()
    return sorted(latencies), updates / elapsed, f"{updates} images during {elapsed:.1f} s of moves every 16 ms"
