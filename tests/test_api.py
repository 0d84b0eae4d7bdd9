"""The live drag's route (genlab/api.py): the same image, class and activations as the page's panels for a
point, and a clear 400 for every bad request."""
import asyncio
import json
import re
from concurrent.futures import ThreadPoolExecutor

import pytest
from starlette.requests import Request

from genlab import api


def call(query: str, headers: list | None = None, raw: bool = False):
    """The endpoint's status and JSON for a query string, as Starlette would call it (`raw`: the response)."""
    scope = {"type": "http", "method": "GET", "path": api.POINT_PATH, "query_string": query.encode(),
             "headers": headers or [], "server": ("127.0.0.1", 80), "client": ("127.0.0.1", 1), "scheme": "http",
             "root_path": ""}
    # In a thread of its own: the browser tests' Playwright leaves an event loop running in this one.
    with ThreadPoolExecutor(1) as pool:
        response = pool.submit(asyncio.run, api.point_endpoint(Request(scope))).result()
    if raw:
        return response
    return response.status_code, json.loads(response.body)


def test_a_point_comes_back_as_the_panels_draw_it():
    status, answer = call("model=gan_2d.safetensors&z=0.1,-0.2")
    assert status == 200
    assert answer["z"] == [0.1, -0.2]
    assert 'alt="generated image at (0.10, -0.20)"' in answer["image"]
    assert re.search(r">Image class: \d</h4>", answer["class"]) and "Discriminator:" in answer["class"]
    assert answer["layer"].endswith(".act2") and "Activations for each layer" in answer["layers"]
    status, other = call("model=gan_2d.safetensors&z=0.9,0.9&layer=generator.layers.deconv1")
    assert status == 200 and other["layer"] == "generator.layers.deconv1" and other["image"] != answer["image"]


def test_a_conditional_gan_needs_its_label_and_draws_it():
    status, answer = call("model=cgan_3d.safetensors&z=0,0,0&label=7")
    assert status == 200 and ">Image class: 7</h4>" in answer["class"]
    status, answer = call("model=cgan_3d.safetensors&z=0,0,0")
    assert status == 400 and "label" in answer["error"]


@pytest.mark.parametrize("query, words", [
    ("model=../checkpoints/gan_2d.safetensors&z=0,0", "file name"),
    ("model=nope.safetensors&z=0,0", "no GAN"),
    ("model=classifier_strong.safetensors&z=0,0", "no GAN"),
    ("model=gan_2d.safetensors&z=0", "2 coordinates; z has 1"),
    ("model=gan_2d.safetensors&z=0,abc", "not a number"),
    ("model=gan_2d.safetensors&z=0,inf", "finite"),
    ("model=gan_2d.safetensors&z=0,1e9", "finite"),
    ("model=gan_2d.safetensors&z=" + ",".join(["0"] * 5000), "2 coordinates"),
    ("model=gan_2d.safetensors&z=0,0&layer=nope", "no layer"),
    ("model=cgan_3d.safetensors&z=0,0,0&label=10", "label"),
    ("model=" + "a" * 5000 + "&z=0,0", "file name"),
])
def test_bad_requests_get_a_message(query, words):
    status, answer = call(query)
    assert status == 400 and words in answer["error"], answer


def test_a_flood_is_refused_beyond_the_bound(monkeypatch):
    monkeypatch.setattr(api._gate, "busy", api.MAX_BUSY)
    status, answer = call("model=gan_2d.safetensors&z=0,0")
    assert status == 503 and "busy" in answer["error"]


def test_answers_are_computed_by_single_threaded_worker_processes(monkeypatch):
    import os

    import torch

    monkeypatch.setenv("GENLAB_POINT_PROCESSES", "2")
    monkeypatch.setattr(api, "_gate", api._Gate())
    assert call("model=gan_2d.safetensors&z=0,0")[0] == 200
    pool = api._gate.executor()
    assert isinstance(pool, api.ProcessPoolExecutor)
    assert pool.submit(torch.get_num_threads).result() == 1
    assert pool.submit(os.getpid).result() != os.getpid()
    pool.shutdown()


def test_a_killed_worker_costs_one_answer_then_a_new_pool_serves(monkeypatch):
    import os
    import signal
    import time

    monkeypatch.setenv("GENLAB_POINT_PROCESSES", "1")
    monkeypatch.setattr(api, "_gate", api._Gate())
    assert call("model=gan_2d.safetensors&z=0,0")[0] == 200
    first = api._gate.pool
    os.kill(first.submit(os.getpid).result(), signal.SIGKILL)
    time.sleep(0.5)
    status, answer = call("model=gan_2d.safetensors&z=0,0")
    assert status == 503 and "worker" in answer["error"]
    assert call("model=gan_2d.safetensors&z=0.5,0")[0] == 200 and api._gate.pool is not first
    api._gate.pool.shutdown()


def test_by_default_threads_compute_on_one_torch_thread(monkeypatch):
    import threading

    import torch

    monkeypatch.delenv("GENLAB_POINT_PROCESSES", raising=False)
    monkeypatch.setattr(api, "_gate", api._Gate())
    assert call("model=gan_2d.safetensors&z=0,0")[0] == 200
    seen = {}
    api._gate.pool.submit(lambda: seen.setdefault("pool", torch.get_num_threads())).result()
    fresh = threading.Thread(target=lambda: seen.setdefault("fresh", torch.get_num_threads()))
    fresh.start()
    fresh.join()
    assert seen["pool"] == 1
    assert seen["fresh"] == torch.get_num_threads()   # threads started later keep the process' default


@pytest.mark.parametrize("mode, shape", [("L", (20, 30)), ("RGB", (20, 30, 3)), ("RGBA", (20, 30, 4))])
def test_png_bytes_keep_every_pixel(mode, shape):
    import io

    import numpy as np
    from PIL import Image

    from genlab.ui.explorer import png_bytes

    pixels = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    back = Image.open(io.BytesIO(png_bytes(Image.fromarray(pixels, mode))))
    assert back.mode == mode and (np.asarray(back) == pixels).all()


def test_an_answer_is_gzipped_for_a_client_that_accepts_it():
    import gzip

    plain = call("model=gan_2d.safetensors&z=0.1,-0.2", raw=True)
    packed = call("model=gan_2d.safetensors&z=0.1,-0.2", [(b"accept-encoding", b"gzip, deflate, br")], raw=True)
    assert "content-encoding" not in plain.headers
    assert packed.headers["content-encoding"] == "gzip" and packed.headers["vary"] == "Accept-Encoding"
    assert gzip.decompress(packed.body) == plain.body
    assert len(packed.body) < 0.7 * len(plain.body)


def _alive(pid: int) -> bool:
    """A process that exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_the_workers_end_with_the_server_however_it_ends():
    import os
    import subprocess
    import sys
    import time

    script = ("import os\n"
              "from genlab import api\n"
              "pool = api._gate.executor()\n"
              "print(*{pool.submit(os.getpid).result() for _ in range(8)}, flush=True)\n"
              "os._exit(0)\n")   # no clean shutdown, as when a server is killed
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "GENLAB_POINT_PROCESSES": "2"})
    workers = [int(p) for p in out.stdout.split()]
    assert workers, out.stderr[-2000:]
    deadline = time.monotonic() + 20
    while any(map(_alive, workers)) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = [p for p in workers if _alive(p)]
    for p in left:
        os.kill(p, 9)
    assert not left, "worker processes outlived the server"
