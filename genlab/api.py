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
At most `MAX_BUSY` (256) answers compute or wait at once (more get 503); `MAX_COMPUTING` of them compute
on the server's threads, or, with `GENLAB_POINT_PROCESSES=N`, N worker processes compute them, each on
one torch thread, and hand back the finished JSON. Answers are gzipped when the client accepts it. Each takes a few milliseconds, and a pad keeps one
request in flight.
"""
from __future__ import annotations

import asyncio
import gzip
import json
import math
import os
import threading
import time
from concurrent.futures import BrokenExecutor, ProcessPoolExecutor, ThreadPoolExecutor

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

POINT_PATH = "/genlab/api/point"
KINDS = ("gan", "vae", "ae", "cgan")
MAX_BUSY = 256                # answers computing or waiting at once; more are refused (503): a pad keeps one
                              # request in flight, so this is room for 256 visitors dragging at the same moment
MAX_COMPUTING = 2             # with GENLAB_POINT_PROCESSES=0: answers computing at once on the server's threads
COORDINATE_LIMIT = 1e3
GZIP_LEVEL = 1   # an answer is ~28 KB, mostly base64 PNG: level 1 takes it to ~15 KB in ~0.3 ms, where the
                 # server's own gzip (level 9) costs ~1.5 ms of CPU for a few hundred bytes less


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


def point_processes() -> int:
    """$GENLAB_POINT_PROCESSES: worker processes that compute the answers (0, the default: threads of the
    server's own process; at most 64)."""
    try:
        return max(0, min(64, int(os.environ.get("GENLAB_POINT_PROCESSES", "0"))))
    except ValueError:
        return 0


def _process_init() -> None:
    """A point worker: torch on one thread (the workers side by side use the cores); Ctrl+C is the server's;
    it ends when the server ends, however the server ends (its task queue alone would keep it waiting)."""
    import multiprocessing
    import multiprocessing.connection
    import signal

    import torch

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    torch.set_num_threads(1)
    parent = multiprocessing.parent_process()
    if parent is not None:
        def follow_the_server() -> None:
            multiprocessing.connection.wait([parent.sentinel])
            os._exit(0)

        threading.Thread(target=follow_the_server, daemon=True, name="genlab-follow-server").start()


def answer_body(params: dict, gzipped: bool) -> bytes:
    """The response body for one request: `point_answer` as compact JSON, gzipped at GZIP_LEVEL if asked
    (done where the answer is computed, so a worker process hands the server finished bytes)."""
    body = json.dumps(point_answer(params), separators=(",", ":")).encode()
    return gzip.compress(body, GZIP_LEVEL, mtime=0) if gzipped else body


def _warm() -> int:
    """Load what the first answer needs (the listing, the judge) in a worker; returns its process id."""
    from .ui.explorer import strong_classifier

    strong_classifier(_rows(), _load)
    return os.getpid()


class _Gate:
    """At most MAX_BUSY requests in the endpoint; the answers computed by `point_processes()` worker
    processes (or, with 0, MAX_COMPUTING torch-single-threaded threads of the server).

    Why processes: the route's work is Python and small torch calls, and in one process they queue for the
    interpreter lock, so one process uses about one core for them. Workers compute side by side, each on
    one torch thread, and hand back finished bytes: on this 2-core machine, four clients asking without
    pause got 150 answers per second from two workers against 105 from the server's threads, at the same
    CPU per answer. They cost memory (about 775 MB each: torch, the models), and with a training run on the
    second core they gained nothing here (p95 420 against 416 ms), hence off by default; they are for a
    machine with cores to spare (replicas, scripts/serve.sh, are the other way to use them)."""

    def __init__(self):
        self.busy = 0
        self.lock = threading.Lock()
        self.pool = None

    def executor(self):
        with self.lock:
            if self.pool is None:
                n = point_processes()
                if n:
                    import multiprocessing

                    # spawn: the server has threads, which a forked child would inherit half-way
                    self.pool = ProcessPoolExecutor(n, mp_context=multiprocessing.get_context("spawn"),
                                                    initializer=_process_init)
                else:
                    self.pool = ThreadPoolExecutor(MAX_COMPUTING, thread_name_prefix="genlab-point",
                                                   initializer=single_threaded_torch)
            return self.pool

    def discard(self, pool) -> None:
        """Drop a broken pool (a worker died); the next request starts a new one."""
        with self.lock:
            if self.pool is pool:
                self.pool = None
        pool.shutdown(wait=False, cancel_futures=True)


_gate = _Gate()


def start_workers() -> None:
    """Start the worker processes and load the listing and the judge in each, in the background, so the
    first drag does not wait for them (app.py calls this when the server starts)."""
    pool = _gate.executor()
    if isinstance(pool, ProcessPoolExecutor):
        for _ in range(point_processes()):
            pool.submit(_warm)


async def point_endpoint(request: Request) -> Response:
    params = dict(request.query_params)
    gzipped = "gzip" in request.headers.get("accept-encoding", "").lower()
    with _gate.lock:
        if _gate.busy >= MAX_BUSY:
            return JSONResponse({"error": "the server is busy; the page catches up when you release the point"},
                                status_code=503)
        _gate.busy += 1
    pool = _gate.executor()
    try:
        body = await asyncio.get_running_loop().run_in_executor(pool, answer_body, params, gzipped)
    except BadRequest as err:
        return JSONResponse({"error": str(err)}, status_code=400)
    except asyncio.CancelledError:
        raise
    except BrokenExecutor:
        _gate.discard(pool)
        return JSONResponse({"error": "a drawing worker stopped; it restarts with the next move"}, status_code=503)
    except Exception as err:   # a broken checkpoint, say: the pad falls back to reruns, which show the message
        return JSONResponse({"error": f"{type(err).__name__}: {str(err)[:200]}"}, status_code=500)
    finally:
        with _gate.lock:
            _gate.busy -= 1
    headers = {"Cache-Control": "no-store"}
    if gzipped:   # a response that names its encoding passes Streamlit's gzip middleware untouched
        headers.update({"Content-Encoding": "gzip", "Vary": "Accept-Encoding"})
    return Response(body, media_type="application/json", headers=headers)


ROUTES = [Route(POINT_PATH, point_endpoint, methods=["GET"])]
