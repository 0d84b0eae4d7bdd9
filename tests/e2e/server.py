"""A real `streamlit run app.py` on a free loopback port, and Debian's Chromium through Playwright:
shared by the end-to-end tests (tests/e2e/conftest.py) and the browser benchmark (bench/)."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("GENLAB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def app_server(log_path: str | os.PathLike, env: dict | None = None, timeout: float = 60):
    """Yield the URL of the app served from the project folder; the server is stopped afterwards.

    Raises:
        RuntimeError: the server did not answer its health check within `timeout` seconds.
    """
    port = free_port()
    log = open(log_path, "wb")  # a file, so the server never blocks on a full pipe
    env = {**os.environ, "GENLAB_CHECKPOINTS": str(ROOT / "checkpoints"), **(env or {})}
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=1).status == 200:
                    break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError(f"the Streamlit server did not start within {timeout:.0f} s; see {log_path}")
                time.sleep(0.5)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


@contextmanager
def fresh_app(tmp_path, **env):
    """A server of the test's own, with a fresh runs folder (GENLAB_RUNS under `tmp_path`, one training thread)
    and `env`; a server that does not start fails the test."""
    import pytest

    env = {"GENLAB_RUNS": str(tmp_path / "runs"), "GENLAB_TRAIN_THREADS": "1", **env}
    try:
        with app_server(tmp_path / "streamlit.log", env=env) as url:
            yield url
    except RuntimeError as err:
        pytest.fail(str(err))


@contextmanager
def app_in_chromium(**env):
    """(url, browser): a server of its own with a fresh map cache (GENLAB_CACHE_DIR in a temporary folder) and
    Debian's Chromium, both stopped afterwards; for the benchmarks that drive the app in a browser."""
    import tempfile

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as folder, \
            app_server(Path(folder) / "streamlit.log", env={"GENLAB_CACHE_DIR": folder, **env}) as url, \
            sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            yield url, browser
        finally:
            browser.close()


def chart_points(main) -> int:
    """Markers drawn in the first Plotly chart of the page's main area (e.g. one per line and epoch)."""
    return main.locator(".js-plotly-plot").first.locator(".scatterlayer .point").count()


def launch_chromium(playwright):
    """Debian's Chromium, headless, with no background network traffic (this machine has none)."""
    if not os.path.exists(CHROMIUM):
        raise RuntimeError(f"no Chromium at {CHROMIUM}: run scripts/test.sh, which installs Debian's chromium")
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


PAD_MARGIN = 12   # px between the latent pad's canvas edge and its map (genlab/ui/latent_pad.js MARGIN)


def pad_pixel(box: dict, x: float, y: float, low: float = -1.0, high: float = 1.0) -> tuple[float, float]:
    """Page pixel of latent point (x, y) on a latent pad over [low, high]^2 whose canvas has `box`."""
    inner = box["width"] - 2 * PAD_MARGIN
    return (box["x"] + PAD_MARGIN + (x - low) / (high - low) * inner,
            box["y"] + PAD_MARGIN + (high - y) / (high - low) * inner)


def open_page(page, url: str, heading: str):
    """Go to `url` and wait for the page's title heading; returns the main area (a Playwright locator)."""
    from playwright.sync_api import expect

    page.goto(url)
    main = page.get_by_test_id("stMain")
    expect(main.get_by_role("heading", name=heading, exact=True)).to_be_visible(timeout=60_000)
    return main
