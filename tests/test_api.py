"""The live drag's route (genlab/api.py): the same image, class and activations as the page's panels for a
point, and a clear 400 for every bad request."""
import asyncio
import json
import re
from concurrent.futures import ThreadPoolExecutor

import numpy as np
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
    ("model=cgan_3d.safetensors&z=0,0,0&label=%C2%B2", "label"),          # a superscript two: a digit, not a number
    ("model=cgan_3d.safetensors&z=0,0,0&label=" + "9" * 5000, "label"),
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
    assert plain.headers["x-genlab-batch"] == "1"                 # alone: a batch of one
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


def test_points_explored_together_are_the_points_explored_alone():
    import torch

    from genlab.latent.point import explore_point, explore_points
    from genlab.ui.loaders import load_model

    judge = load_model("checkpoints/classifier_strong.safetensors").model
    for name, labels in (("gan_2d", None), ("cgan_3d", [7, 0, 3])):
        model = load_model(f"checkpoints/{name}.safetensors").model
        points = [[0.1 * k - 0.2] * model.latent_dim for k in range(3)]
        together = explore_points(model, points, judge, labels)
        for k, view in enumerate(together):
            alone = explore_point(model, points[k], judge, label=None if labels is None else labels[k])
            assert view.z == alone.z and torch.allclose(view.image, alone.image, atol=1e-5)
            assert view.probabilities == pytest.approx(alone.probabilities, abs=1e-5)
            assert view.realness == pytest.approx(alone.realness, abs=1e-5)
            assert view.layer_means == pytest.approx(alone.layer_means, abs=1e-5)
            assert view.activations.keys() == alone.activations.keys()
        if labels is not None:
            assert [v.predicted for v in together] == labels


def _queued_answers(monkeypatch, queries: list[str]) -> tuple[list, list]:
    """Send `queries` at once to a gate with one worker whose first batch waits until the rest are queued:
    returns their (status, JSON) and the sizes of the batches that answered them."""
    import threading

    monkeypatch.delenv("GENLAB_POINT_PROCESSES", raising=False)
    monkeypatch.setattr(api, "MAX_COMPUTING", 1)
    gate = api._Gate()
    release = threading.Event()
    real = api.answer_bodies

    def held(requests):
        if not release.is_set():
            release.wait(10)
        return real(requests)
    monkeypatch.setattr(api, "answer_bodies", held)

    async def main():
        tasks = [asyncio.ensure_future(gate.answer(dict(pair.split("=", 1) for pair in q.split("&")), False))
                 for q in queries]
        while len(gate.waiting) < len(queries) - 1:
            await asyncio.sleep(0.01)
        release.set()
        return await asyncio.gather(*tasks)
    with ThreadPoolExecutor(1) as pool:
        answers = pool.submit(asyncio.run, main()).result()
    gate.pool.shutdown()
    return [(status, json.loads(body)) for status, body, _ in answers], gate.batches


def test_moves_that_wait_together_are_answered_in_one_batch_each_its_own(monkeypatch):
    points = [f"0.{k},-0.{k}" for k in range(7)]
    answers, batches = _queued_answers(monkeypatch, [f"model=gan_2d.safetensors&z={p}" for p in points])
    assert batches == [1, 6]                        # the first alone; the six that waited, together
    for (status, answer), point in zip(answers, points):
        assert status == 200 and answer["z"] == [float(v) for v in point.split(",")]
    assert len({answer["image"] for _, answer in answers}) == len(points)


def test_a_batch_keeps_models_apart_and_refuses_only_its_bad_requests(monkeypatch):
    queries = ["model=gan_2d.safetensors&z=0,0", "model=gan_2d.safetensors&z=0.5,0.5",
               "model=gan_2d.safetensors&z=0,abc", "model=cgan_3d.safetensors&z=0,0,0&label=4",
               "model=gan_2d.safetensors&z=-0.5,0.5&layer=nope", "model=gan_2d.safetensors&z=-0.5,-0.5"]
    queries += [f"model=gan_2d.safetensors&z=0.{k},0" for k in range(9)]
    answers, batches = _queued_answers(monkeypatch, queries)
    assert batches[0] == 1 and max(batches) == api.MAX_BATCH and sum(batches) == len(queries)
    statuses = [status for status, _ in answers]
    assert statuses[:6] == [200, 200, 400, 200, 400, 200] and set(statuses[6:]) == {200}
    assert "not a number" in answers[2][1]["error"] and "no layer" in answers[4][1]["error"]
    assert ">Image class: 4</h4>" in answers[3][1]["class"]


def call_morph(query: str):
    scope = {"type": "http", "method": "GET", "path": api.MORPH_PATH, "query_string": query.encode(), "headers": [],
             "server": ("127.0.0.1", 80), "client": ("127.0.0.1", 1), "scheme": "http", "root_path": ""}
    with ThreadPoolExecutor(1) as pool:
        response = pool.submit(asyncio.run, api.morph_endpoint(Request(scope))).result()
    return response.status_code, json.loads(response.body)


def test_the_morph_route_draws_the_pages_strip():
    import base64
    import io

    from PIL import Image

    from genlab.images import image_grid
    from genlab.latent.morph import morph
    from genlab.ui.loaders import load_model

    status, answer = call_morph("model=gan_2d.safetensors&a=-1,0&b=1,0&steps=12&method=spherical")
    assert status == 200 and answer["a"] == [-1.0, 0.0] and answer["b"] == [1.0, 0.0]
    assert re.fullmatch(r"12 steps from A \(left\) to B, spherical interpolation: (\d ){11}\d", answer["caption"])
    strip = Image.open(io.BytesIO(base64.b64decode(answer["strip"].split(",", 1)[1])))
    gan = load_model("checkpoints/gan_2d.safetensors").model
    expected = image_grid(morph(gan, [-1, 0], [1, 0], 12, "spherical").images, nrow=12)
    assert strip.size == expected.size and (np.asarray(strip, dtype=int) - np.asarray(expected, dtype=int)).max() <= 1
    status, answer = call_morph("model=cgan_3d.safetensors&a=0,0,0&b=0.5,0.5,0.5&steps=4&label=6")
    assert status == 200 and answer["caption"].endswith(": 6 6 6 6")


@pytest.mark.parametrize("query, words", [
    ("model=gan_2d.safetensors&a=0,0&b=1&steps=8", "b has 1"),
    ("model=gan_2d.safetensors&a=0,x&b=1,1&steps=8", "a: 'x' is not a number"),
    ("model=gan_2d.safetensors&a=0,0&b=1,1&steps=65", "2 to 64"),
    ("model=gan_2d.safetensors&a=0,0&b=1,1&steps=1", "2 to 64"),
    ("model=gan_2d.safetensors&a=0,0&b=1,1&steps=%C2%B2", "2 to 64"),
    ("model=gan_2d.safetensors&a=0,0&b=1,1&steps=" + "1" * 5000, "2 to 64"),
    ("model=gan_2d.safetensors&a=0,0&b=1,1&steps=8&method=cubic", "linear, spherical"),
    ("model=cgan_3d.safetensors&a=0,0,0&b=1,1,1&steps=8", "label"),
    ("model=../x&a=0,0&b=1,1&steps=8", "file name"),
])
def test_bad_morph_requests_get_a_message(query, words):
    status, answer = call_morph(query)
    assert status == 400 and words in answer["error"], answer


def test_a_request_whose_client_goes_away_leaves_the_queue(monkeypatch):
    import threading

    monkeypatch.delenv("GENLAB_POINT_PROCESSES", raising=False)
    monkeypatch.setattr(api, "MAX_COMPUTING", 1)
    gate = api._Gate()
    release = threading.Event()
    real = api.answer_bodies
    monkeypatch.setattr(api, "answer_bodies", lambda requests: (release.wait(10), real(requests))[1])

    async def main():
        first = asyncio.ensure_future(gate.answer({"model": "gan_2d.safetensors", "z": "0,0"}, False))
        gone = [asyncio.ensure_future(gate.answer({"model": "gan_2d.safetensors", "z": f"0.{k},0"}, False))
                for k in range(5)]
        while len(gate.waiting) < 5:
            await asyncio.sleep(0.01)
        for task in gone:
            task.cancel()
        await asyncio.sleep(0.05)
        left = len(gate.waiting)
        release.set()
        return left, await first
    with ThreadPoolExecutor(1) as pool:
        left, (status, _, batch) = pool.submit(asyncio.run, main()).result()
    gate.pool.shutdown()
    assert left == 0 and status == 200 and gate.batches == [1]


def test_a_flood_of_morphs_leaves_a_worker_for_points(monkeypatch):
    import threading

    monkeypatch.delenv("GENLAB_POINT_PROCESSES", raising=False)
    gate = api._Gate()                                   # two workers
    release = threading.Event()
    real = api.morph_bodies
    monkeypatch.setattr(api, "morph_bodies", lambda requests: (release.wait(10), real(requests))[1])
    morph = {"model": "gan_2d.safetensors", "a": "-1,0", "b": "1,0", "steps": "8", "method": "linear"}

    async def main():
        morphs = [asyncio.ensure_future(gate.answer(morph, False, "morph")) for _ in range(4)]
        while gate.morphing < 1:
            await asyncio.sleep(0.01)
        point = await asyncio.wait_for(gate.answer({"model": "gan_2d.safetensors", "z": "0,0"}, False), 10)
        still = sum(not m.done() for m in morphs)
        release.set()
        return point, still, await asyncio.gather(*morphs)
    with ThreadPoolExecutor(1) as pool:
        point, still, morphs = pool.submit(asyncio.run, main()).result()
    gate.pool.shutdown()
    assert point[0] == 200 and still == 4                # the point was answered while every morph waited
    assert [status for status, _, _ in morphs] == [200] * 4 and gate.morphing == 0


def test_a_pool_that_cannot_take_a_batch_refuses_it_and_the_next_request_gets_a_new_pool(monkeypatch):
    from concurrent.futures import BrokenExecutor

    monkeypatch.delenv("GENLAB_POINT_PROCESSES", raising=False)

    class Refusing:                                      # e.g. no process can be started: too many open files
        def submit(self, *args, **kwargs):
            raise OSError("too many open files")

        def shutdown(self, **kwargs):
            pass
    gate = api._Gate()
    gate.pool, gate.workers = Refusing(), 2

    async def main():
        try:
            await gate.answer({"model": "gan_2d.safetensors", "z": "0,0"}, False)
        except BrokenExecutor as err:
            refused = str(err)
        return refused, await gate.answer({"model": "gan_2d.safetensors", "z": "0,0"}, False)
    with ThreadPoolExecutor(1) as pool:
        refused, (status, _, _) = pool.submit(asyncio.run, main()).result()
    gate.pool.shutdown()
    assert "too many open files" in refused and status == 200
    assert (gate.running, gate.morphing, len(gate.waiting)) == (0, 0, 0)
