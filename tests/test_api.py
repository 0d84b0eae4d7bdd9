"""The live drag's route (genlab/api.py): the same image, class and activations as the page's panels for a
point, and a clear 400 for every bad request."""
import asyncio
import json
import re
from concurrent.futures import ThreadPoolExecutor

import pytest
from starlette.requests import Request

from genlab import api


def call(query: str) -> tuple[int, dict]:
    """The endpoint's status and JSON for a query string, as Starlette would call it."""
    scope = {"type": "http", "method": "GET", "path": api.POINT_PATH, "query_string": query.encode(),
             "headers": [], "server": ("127.0.0.1", 80), "client": ("127.0.0.1", 1), "scheme": "http",
             "root_path": ""}
    # In a thread of its own: the browser tests' Playwright leaves an event loop running in this one.
    with ThreadPoolExecutor(1) as pool:
        response = pool.submit(asyncio.run, api.point_endpoint(Request(scope))).result()
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


def test_answers_compute_on_one_torch_thread_and_leave_the_default_alone():
    import threading

    import torch

    seen = {}
    api._gate.pool.submit(lambda: seen.setdefault("pool", torch.get_num_threads())).result()
    fresh = threading.Thread(target=lambda: seen.setdefault("fresh", torch.get_num_threads()))
    fresh.start()
    fresh.join()
    assert seen["pool"] == 1
    assert seen["fresh"] == torch.get_num_threads()   # threads started later keep the process' default
