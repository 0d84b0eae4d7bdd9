"""The live drag's HTTP endpoint: one latent point in, its image, class and activations out, without a
Streamlit rerun.

    GET /genlab/api/point?model=gan_3d.safetensors&z=0.1,-0.4,0.2[&label=7][&layer=generator.layers.act2]

A rerun of the Latent Explorer's live view costs the server about 20 ms of CPU per drag step, most of it
Streamlit's own machinery (the run, its ~20 elements, their messages); this answer costs the model's
forward passes and a few HTML strings. While the pointer moves, the latent pad (genlab/ui/latent_pad.js)
asks here and swaps the answer into the image, class and activation panels; the release commits the point
through Streamlit as before, which redraws everything exactly (coordinates, cube, link). A page served
without this route (AppTest, `streamlit run main.py`) falls back to reruns.

The answer is JSON: {"z": [...], "layer": name, "image": html, "class": html, "layers": html} - the same
HTML the panels render (genlab.ui.explorer), so the page looks the same during and after a drag. Bad
input gets 400 with {"error": message}: only models the pickers list (by file name; no paths), the
model's number of finite coordinates within +-1e3, a label for a conditional GAN, a layer of the model.
At most `MAX_BUSY` (256) answers compute or wait at once (more get 503), `MAX_COMPUTING` of them computing:
each takes a few milliseconds, and a pad keeps one request in flight.
"""
from __future__ import annotations

import asyncio
import math
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

POINT_PATH = "/genlab/api/point"
KINDS = ("gan", "vae", "ae", "cgan")
MAX_BUSY = 256                # answers computing or waiting at once; more are refused (503): a pad keeps one
                              # request in flight, so this is room for 256 visitors dragging at the same moment
MAX_COMPUTING = 2             # answers computing at once (the rest wait their turn)
COORDINATE_LIMIT = 1e3


class BadRequest(ValueError):
    """A request the endpoint refuses, with the message for the client."""


_listing = {"at": -1e9, "rows": []}
LISTING_SECONDS = 2.0         # the models folder is listed at most this often (a drag asks 5-30 times a second)


_loaded: dict = {}             # path -> Checkpoint, for the current listing (the models Streamlit's cache holds)


def _rows() -> list[dict]:
    from .catalog import list_models

    now = time.monotonic()
    if now - _listing["at"] > LISTING_SECONDS:
        _listing["rows"], _listing["at"] = list_models()[0], now
        _loaded.clear()           # a checkpoint rewritten meanwhile is loaded afresh (its stamp changed)
    return _listing["rows"]


def _load(path: str):
    """The checkpoint at `path` from genlab.ui.loaders' shared cache, remembered until the next listing."""
    from .ui.loaders import load_model

    found = _loaded.get(path)
    if found is None:
        found = _loaded[path] = load_model(path)
    return found


def _model_row(name: str) -> dict:
    if not name or len(name) > 200 or "/" in name or "\\" in name:
        raise BadRequest("model must be the file name of a checkpoint in the models folder")
    row = next((r for r in _rows() if r["file"] == name and r["kind"] in KINDS), None)
    if row is None:
        raise BadRequest(f"no GAN, conditional GAN, VAE or autoencoder named {name[:60]!r} in the models folder")
    return row


def _point(text: str, d: int) -> list[float]:
    parts = text.split(",") if text else []
    if len(parts) != d:
        raise BadRequest(f"this model's latent space has {d} coordinates; z has {len(parts)}")
    values = []
    for part in parts:
        try:
            value = float(part)
        except ValueError:
            raise BadRequest(f"z: {part[:20]!r} is not a number") from None
        if not math.isfinite(value) or abs(value) > COORDINATE_LIMIT:
            raise BadRequest(f"z: {part[:20]!r} is not a finite number within +-{COORDINATE_LIMIT:g}")
        values.append(value)
    return values


def point_answer(params: dict) -> dict:
    """The answer for one request's query parameters (raises BadRequest with the client's message)."""
    from .generate import GenerateError
    from .latent.point import explore_point
    from .ui.explorer import (activations_html, class_html, class_names_of, default_layer, image_html,
                              strong_classifier)

    row = _model_row(str(params.get("model", "")))
    model = _load(row["path"]).model
    z = _point(str(params.get("z", "")), model.latent_dim)
    label = None
    if getattr(model, "conditional", False):
        text = str(params.get("label", ""))
        if not text.isdigit() or int(text) >= model.n_classes:
            raise BadRequest(f"label must be a class 0..{model.n_classes - 1} for a conditional GAN")
        label = int(text)
    classifier = strong_classifier(_rows(), _load)
    try:
        view = explore_point(model, z, classifier.model if classifier else None, label=label)
    except GenerateError as err:
        raise BadRequest(str(err)) from None
    layer = str(params.get("layer", "")) or default_layer(view)
    if layer not in view.activations:
        raise BadRequest(f"this model has no layer {layer[:60]!r}")
    names = class_names_of(classifier)
    return {"z": view.z, "layer": layer, "image": image_html(view), "class": class_html(view, names),
            "layers": activations_html(view, layer)}


def single_threaded_torch() -> None:
    """Make the calling thread's torch operations run on one thread, leaving the process' setting as it was.

    One latent point is a batch of one: splitting its small convolutions over the cores saves no time, and
    the idle OpenMP threads spin while they wait (measured in-process with two training processes
    beside it: 18.8 ms of CPU per answer on two threads, 11.0 on one; the hosted demo runs its whole
    process on one thread anyway, GENLAB_SERVER_THREADS). torch's thread count is per thread once a thread has
    used it, but setting it also changes the default that threads started later inherit; a throwaway thread
    restores that default, so the Streamlit script threads keep theirs (the maps use every core)."""
    import torch

    default = torch.get_num_threads()          # a fresh thread reads the process' default here
    torch.set_num_threads(1)
    restore = threading.Thread(target=torch.set_num_threads, args=(default,))
    restore.start()
    restore.join()


class _Gate:
    """At most MAX_BUSY requests in the endpoint, MAX_COMPUTING of them computing (on the pool's threads,
    each torch-single-threaded; the others wait in its queue)."""

    def __init__(self):
        self.busy = 0
        self.lock = threading.Lock()
        self.pool = ThreadPoolExecutor(MAX_COMPUTING, thread_name_prefix="genlab-point",
                                       initializer=single_threaded_torch)


_gate = _Gate()


async def point_endpoint(request: Request) -> JSONResponse:
    params = dict(request.query_params)
    with _gate.lock:
        if _gate.busy >= MAX_BUSY:
            return JSONResponse({"error": "the server is busy; the page catches up when you release the point"},
                                status_code=503)
        _gate.busy += 1
    try:
        answer = await asyncio.get_running_loop().run_in_executor(_gate.pool, point_answer, params)
    except BadRequest as err:
        return JSONResponse({"error": str(err)}, status_code=400)
    except asyncio.CancelledError:
        raise
    except Exception as err:   # a broken checkpoint, say: the pad falls back to reruns, which show the message
        return JSONResponse({"error": f"{type(err).__name__}: {str(err)[:200]}"}, status_code=500)
    finally:
        with _gate.lock:
            _gate.busy -= 1
    return JSONResponse(answer, headers={"Cache-Control": "no-store"})


ROUTES = [Route(POINT_PATH, point_endpoint, methods=["GET"])]
