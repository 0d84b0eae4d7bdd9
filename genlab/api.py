"""The live drags' HTTP endpoints: one latent point in, its image, class and activations out (or a morph's
strip), without a Streamlit rerun.

    GET /genlab/api/point?model=gan_3d.safetensors&z=0.1,-0.4,0.2[&label=7][&layer=generator.layers.act2]

A rerun of the Latent Explorer's live view costs the server about 20 ms of CPU per drag step, most of it
Streamlit's own machinery (the run, its ~20 elements, their messages); this answer costs the model's
forward passes and a few HTML strings. While the pointer moves, the latent pad (genlab/ui/latent_pad.js)
asks here and swaps the answer into the image, class and activation panels; the release commits the point
through Streamlit as before, which redraws everything exactly (coordinates, cube, link). A page served
without this route (AppTest, `streamlit run main.py`) falls back to reruns.

    GET /genlab/api/morph?model=gan_2d.safetensors&a=-1,0&b=1,0&steps=16&method=linear[&label=7]

The morph route answers the Morph page's pad the same way: the strip of the steps from A to B (a PNG data URL,
one pixel per pixel), its caption and its path (`morph_answer`).

    GET /genlab/api/class?code=K7QH3M

The class route answers a class' followers (genlab.lessons.classroom.follow_state): the teacher's view counter,
whether the class is paused, and the teacher's live point. A point request with `class=CODE&token=T` (the
teacher's pad) hands its point to the class once answered; with any other token it is refused (403).

The point answer is JSON: {"z": [...], "layer": name, "image": html, "class": html, "layers": html} - the same
HTML the panels render (genlab.panels), so the page looks the same during and after a drag. Bad
input gets 400 with {"error": message}: only models the pickers list (by file name; no paths), the
model's number of finite coordinates within +-1e3, a label for a conditional GAN, a layer of the model.
At most `MAX_BUSY` (256) answers compute or wait at once (more get 503). `MAX_COMPUTING` threads of the
server compute them, or, with `GENLAB_POINT_PROCESSES=N`, N worker processes, each on one torch thread,
which hand back the finished JSON. The requests that wait while those are busy are answered together, up
to `MAX_BATCH` of one model in one forward pass: a lone move waits for nothing, and under load an answer
costs less (a batch-1 answer spends more time in Python and hooks than in arithmetic). Answers are
gzipped when the client accepts it. Each takes a few milliseconds, and a pad keeps one request in flight.
"""
from __future__ import annotations

import asyncio
import base64
import gzip
import json
import math
import os
import threading
import time
from collections import deque
from concurrent.futures import BrokenExecutor, ProcessPoolExecutor, ThreadPoolExecutor

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

POINT_PATH = "/genlab/api/point"
MORPH_PATH = "/genlab/api/morph"
CLASS_PATH = "/genlab/api/class"
KINDS = ("gan", "vae", "ae", "cgan")
MAX_BUSY = 256                # answers computing or waiting at once; more are refused (503): a pad keeps one
                              # request in flight, so this is room for 256 visitors dragging at the same moment
MAX_COMPUTING = 2             # with GENLAB_POINT_PROCESSES=0: batches computing at once on the server's threads
MAX_BATCH = 8                 # requests for one model answered in one forward pass
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
    """The checkpoint at `path` from the process' shared cache (genlab.loading), remembered until the next
    listing."""
    from .loading import load_model

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


def _point(text: str, d: int, name: str = "z") -> list[float]:
    parts = text.split(",") if text else []
    if len(parts) != d:
        raise BadRequest(f"this model's latent space has {d} coordinates; {name} has {len(parts)}")
    values = []
    for part in parts:
        try:
            value = float(part)
        except ValueError:
            raise BadRequest(f"{name}: {part[:20]!r} is not a number") from None
        if not math.isfinite(value) or abs(value) > COORDINATE_LIMIT:
            raise BadRequest(f"{name}: {part[:20]!r} is not a finite number within +-{COORDINATE_LIMIT:g}")
        values.append(value)
    return values


def _whole(text: str, high: int) -> int | None:
    """`text` as a whole number 0..high written in ASCII digits (no signs, no other scripts' digits), else None."""
    if text.isascii() and text.isdigit() and len(text) <= len(str(high)) and int(text) <= high:
        return int(text)
    return None


def _model_and_label(params: dict) -> tuple:
    """The request's model (from the listing) and its class label (a conditional GAN's, else None)."""
    row = _model_row(str(params.get("model", "")))
    model = _load(row["path"]).model
    label = None
    if getattr(model, "conditional", False):
        label = _whole(str(params.get("label", "")), model.n_classes - 1)
        if label is None:
            raise BadRequest(f"label must be a class 0..{model.n_classes - 1} for a conditional GAN")
    return model, label


def _request(params: dict) -> tuple:
    """One request's (model, z, label, layer text), each checked (raises BadRequest with the client's message)."""
    model, label = _model_and_label(params)
    return model, _point(str(params.get("z", "")), model.latent_dim), label, str(params.get("layer", ""))


def _answer(view, layer: str, names) -> dict:
    from .panels import activations_html, class_html, default_layer, image_html

    layer = layer or default_layer(view)
    if layer not in view.activations:
        raise BadRequest(f"this model has no layer {layer[:60]!r}")
    return {"z": view.z, "layer": layer, "image": image_html(view), "class": class_html(view, names),
            "layers": activations_html(view, layer)}


def point_answers(requests: list[dict]) -> list:
    """The answers for several requests' query parameters: each an answer dict, or the BadRequest that
    refuses it. Requests for the same model are computed as one batch (`explore_points`)."""
    from .generate import GenerateError
    from .latent.point import explore_points
    from .panels import class_names_of, strong_classifier

    results: list = [None] * len(requests)
    groups: dict = {}
    for i, params in enumerate(requests):
        try:
            model, z, label, layer = _request(params)
        except BadRequest as err:
            results[i] = err
            continue
        except Exception as err:     # a checkpoint that fails to load, say: this request's error, not the batch's
            results[i] = BadRequest(f"{type(err).__name__}: {str(err)[:200]}")
            continue
        groups.setdefault(id(model), (model, []))[1].append((i, z, label, layer))
    if not groups:
        return results
    classifier = strong_classifier(_rows(), _load)
    judge = classifier.model if classifier else None
    names = class_names_of(classifier)
    for model, members in groups.values():
        try:
            views = explore_points(model, [z for _, z, _, _ in members], judge, [label for _, _, label, _ in members])
        except GenerateError as err:
            for i, *_ in members:
                results[i] = BadRequest(str(err))
            continue
        for (i, _, _, layer), view in zip(members, views):
            try:
                results[i] = _answer(view, layer, names)
            except BadRequest as err:
                results[i] = err
    return results


def morph_answer(params: dict) -> dict:
    """The Morph page's strip for A, B, steps and interpolation (and a conditional GAN's label), as the page
    draws it: {"a", "b", "path" (the steps' latent points), "strip" (a data URL of the steps' PNG, one pixel
    per pixel), "caption"}."""
    from .generate import GenerateError
    from .images import image_grid
    from .latent.morph import MAX_STEPS, METHODS, morph, morph_caption, strip_columns
    from .panels import class_names_of, png_bytes, strong_classifier

    model, label = _model_and_label(params)
    a = _point(str(params.get("a", "")), model.latent_dim, "a")
    b = _point(str(params.get("b", "")), model.latent_dim, "b")
    steps = _whole(str(params.get("steps", "")), MAX_STEPS)
    if steps is None or steps < 2:
        raise BadRequest(f"steps must be a whole number from 2 to {MAX_STEPS}")
    method = str(params.get("method", "linear"))
    if method not in METHODS:
        raise BadRequest(f"method must be one of {', '.join(METHODS)}")
    classifier = strong_classifier(_rows(), _load)
    try:
        result = morph(model, a, b, steps, method, classifier.model if classifier else None, label)
    except GenerateError as err:
        raise BadRequest(str(err)) from None
    return {"a": a, "b": b, "path": [[round(float(v), 4) for v in step] for step in result.path],
            "strip": "data:image/png;base64," + base64.b64encode(png_bytes(
                image_grid(result.images, nrow=strip_columns(len(result.images))))).decode(),
            "caption": morph_caption(len(result.images), method, result.classes, class_names_of(classifier))}


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


def _encoded(result, gzipped: bool) -> tuple[int, bytes]:
    """An answer dict as (200, compact JSON, gzipped at GZIP_LEVEL if asked), or a BadRequest as (400,
    {"error": message}): done where the answers are computed, so a worker process hands back finished bytes."""
    if isinstance(result, BadRequest):
        return 400, json.dumps({"error": str(result)}).encode()
    body = json.dumps(result, separators=(",", ":")).encode()
    return 200, gzip.compress(body, GZIP_LEVEL, mtime=0) if gzipped else body


def answer_bodies(requests: list[tuple[dict, bool]]) -> list[tuple[int, bytes]]:
    """The response (status, body) for each (query parameters, gzipped) of a batch of points
    (`point_answers`, one forward pass per model)."""
    answers = point_answers([params for params, _ in requests])
    return [_encoded(answer, gzipped) for (_, gzipped), answer in zip(requests, answers)]


def morph_bodies(requests: list[tuple[dict, bool]]) -> list[tuple[int, bytes]]:
    """`answer_bodies` for the morph route: each request on its own (a strip is already a batch of steps)."""
    out = []
    for params, gzipped in requests:
        try:
            answer = morph_answer(params)
        except BadRequest as err:
            answer = err
        out.append(_encoded(answer, gzipped))
    return out


def _warm() -> int:
    """Load what the first answer needs (the listing, the judge) in a worker; returns its process id."""
    from .panels import strong_classifier

    strong_classifier(_rows(), _load)
    return os.getpid()


class _Waiting:
    """A request waiting for its turn: its kind ("point" or "morph"), its query, whether it takes gzip, and
    the future its endpoint awaits."""
    __slots__ = ("kind", "params", "gzipped", "future")

    def __init__(self, kind: str, params: dict, gzipped: bool, future: asyncio.Future):
        self.kind, self.params, self.gzipped, self.future = kind, params, gzipped, future

    def joins(self, first: "_Waiting") -> bool:
        """Whether this request can be computed in `first`'s batch: points of the same model (a morph is a
        batch of its own)."""
        return (self.kind == first.kind == "point" and self.params.get("model") == first.params.get("model")
                and not self.future.done())


class _Gate:
    """At most MAX_BUSY requests in the endpoint; their answers computed in batches by `point_processes()`
    worker processes (or, with 0, MAX_COMPUTING torch-single-threaded threads of the server).

    Batches: the requests that wait while the workers are busy are answered together, up to MAX_BATCH of
    one model in one forward pass (`point_answers`); a morph is a batch of its own, and only one computes
    at a time, so that points (a drag's every move) always have a worker of their own. A lone request is a batch of one and waits for
    nothing; under load the batches grow, and each answer costs less (20 sessions dragging: see docs/hosting.md).

    Why processes: the route's work is Python and small torch calls, and in one process they queue for the
    interpreter lock, so one process uses about one core for them. Workers compute side by side, each on
    one torch thread, and hand back finished bytes: on this 2-core machine, four clients asking without
    pause got 150 answers per second from two workers against 105 from the server's threads, at the same
    CPU per answer (before the batches; with them, 16 clients: 264 against 247). They cost memory (about
    775 MB each: torch, the models), and with a training run on the second core they gained nothing here
    (p95 420 against 416 ms), hence off by default; they are for a machine with cores to spare (replicas,
    scripts/serve.sh, are the other way to use them)."""

    def __init__(self):
        self.busy = 0                # requests in the endpoint (waiting or computing)
        self.running = 0             # batches computing
        self.morphing = 0            # of which morphs (at most one)
        self.waiting: deque[_Waiting] = deque()
        self.batches: list[int] = []  # the sizes of the last batches (tests, the bench's curiosity)
        self.lock = threading.Lock()
        self.pool = None
        self.workers = 0

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
                self.workers = n or MAX_COMPUTING
            return self.pool

    def discard(self, pool) -> None:
        """Drop a broken pool (a worker died); the next request starts a new one."""
        with self.lock:
            if self.pool is pool:
                self.pool = None
        # not in this thread: a done-callback of a broken pool can run while the pool holds its own lock
        threading.Thread(target=pool.shutdown, kwargs={"wait": False, "cancel_futures": True}, daemon=True).start()

    def enter(self) -> bool:
        with self.lock:
            if self.busy >= MAX_BUSY:
                return False
            self.busy += 1
            return True

    def leave(self) -> None:
        with self.lock:
            self.busy -= 1

    async def answer(self, params: dict, gzipped: bool, kind: str = "point") -> tuple[int, bytes, int]:
        """This request's (status, body, size of its batch), computed in a batch with the others waiting for
        the same model (points; a morph alone)."""
        loop = asyncio.get_running_loop()
        waiting = _Waiting(kind, params, gzipped, loop.create_future())
        with self.lock:
            self.waiting.append(waiting)
        self._start_batches()
        try:
            return await waiting.future
        except asyncio.CancelledError:     # the client went away: not computed if not yet begun (the queue
            with self.lock:                # stays within MAX_BUSY however fast clients come and go)
                if waiting in self.waiting:
                    self.waiting.remove(waiting)
            raise

    def _start_batches(self) -> None:
        """Hand batches of waiting requests to free workers (called on arrival and when a batch ends)."""
        while True:
            pool = self.executor()       # the current one (a callback may have dropped a broken one)
            with self.lock:
                while self.waiting and self.waiting[0].future.done():     # a client that went away
                    self.waiting.popleft()
                if self.running >= self.workers or not self.waiting:
                    return
                # a morph (up to 64 images) takes one worker at most, so a flood of them delays only morphs
                first = next((w for w in self.waiting if w.kind == "point" or not self.morphing), None)
                if first is None:
                    return
                self.waiting.remove(first)
                self.morphing += first.kind == "morph"
                batch = [first]
                for other in list(self.waiting):
                    if len(batch) >= MAX_BATCH:
                        break
                    if other.joins(first):
                        batch.append(other)
                        self.waiting.remove(other)
                self.running += 1
                self.batches = (self.batches + [len(batch)])[-1000:]
            try:
                work = answer_bodies if first.kind == "point" else morph_bodies
                done = pool.submit(work, [(w.params, w.gzipped) for w in batch])
            except Exception as err:   # a broken or shut pool, no process to start: refuse, go on with a new one
                self._finish(pool, batch, None, BrokenExecutor(f"the pool could not take the batch: {err}"))
                continue
            done.add_done_callback(lambda f, pool=pool, batch=batch: self._finished(pool, batch, f))

    def _finished(self, pool, batch: list[_Waiting], done) -> None:
        """A batch ended (in a worker's thread): hand each waiting endpoint its answer, on its own loop."""
        err = BrokenExecutor("the batch was cancelled") if done.cancelled() else done.exception()
        self._finish(pool, batch, None if err else done.result(), err)
        self._start_batches()

    def _finish(self, pool, batch: list[_Waiting], results, err) -> None:
        with self.lock:
            self.running -= 1
            self.morphing -= batch[0].kind == "morph"
        if isinstance(err, BrokenExecutor):
            self.discard(pool)
        for i, waiting in enumerate(batch):
            if err is None:
                _settle(waiting.future, result=(*results[i], len(batch)))
            else:
                _settle(waiting.future, error=err)


def _settle(future: asyncio.Future, result=None, error=None) -> None:
    """Set an endpoint's future from any thread (unless its client went away)."""
    def settle():
        if not future.done():
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(result)
    try:
        future.get_loop().call_soon_threadsafe(settle)
    except RuntimeError:          # its event loop has closed: nobody waits for it
        pass


_gate = _Gate()


def start_workers() -> None:
    """Start the worker processes and load the listing and the judge in each, in the background, so the
    first drag does not wait for them (app.py calls this when the server starts)."""
    pool = _gate.executor()
    if isinstance(pool, ProcessPoolExecutor):
        for _ in range(point_processes()):
            pool.submit(_warm)


def _lead(code: str, token: str, params: dict) -> Response | None:
    """A teacher's drag (a point request with `class` and `token`): refused (403) unless the token is the class'
    teacher's; the point is handed to the class' followers once it is answered (`_broadcast`)."""
    from .lessons import classroom

    try:
        if not classroom.is_teacher(classroom.normal_code(code), token):
            return JSONResponse({"error": "only the teacher's session can lead this class"}, status_code=403)
    except classroom.ClassError as err:
        return JSONResponse({"error": str(err)}, status_code=404)
    return None


def _broadcast(code: str, token: str, params: dict) -> None:
    from .lessons import classroom

    try:
        z = [float(v) for v in str(params.get("z", "")).split(",")][:classroom.MAX_DIM]
        label = params.get("label")
        classroom.set_live(classroom.normal_code(code), token, str(params.get("model", "")), z,
                           int(label) if isinstance(label, str) and label.isdigit() and len(label) < 4 else None)
    except (ValueError, OSError):
        pass          # the class ended meanwhile, or a full disk: the teacher's own drag goes on


async def _serve(request: Request, kind: str) -> Response:
    params = dict(request.query_params)
    gzipped = "gzip" in request.headers.get("accept-encoding", "").lower()
    code, token = params.pop("class", None), params.pop("token", None)
    if code is not None and kind == "point":
        refused = await asyncio.to_thread(_lead, code, token or "", params)
        if refused is not None:
            return refused
    if not _gate.enter():
        return JSONResponse({"error": "the server is busy; the page catches up when you release the point"},
                            status_code=503)
    try:
        status, body, batch = await _gate.answer(params, gzipped, kind)
    except asyncio.CancelledError:
        raise
    except BrokenExecutor:
        return JSONResponse({"error": "a drawing worker stopped; it restarts with the next move"}, status_code=503)
    except Exception as err:   # a broken checkpoint, say: the pad falls back to reruns, which show the message
        return JSONResponse({"error": f"{type(err).__name__}: {str(err)[:200]}"}, status_code=500)
    finally:
        _gate.leave()
    if status != 200:
        return Response(body, status_code=status, media_type="application/json")
    if code is not None and kind == "point":
        await asyncio.to_thread(_broadcast, code, token or "", params)
    headers = {"Cache-Control": "no-store", "X-GenLab-Batch": str(batch)}   # how many answers it came with
    if gzipped:   # a response that names its encoding passes Streamlit's gzip middleware untouched
        headers.update({"Content-Encoding": "gzip", "Vary": "Accept-Encoding"})
    return Response(body, media_type="application/json", headers=headers)


async def point_endpoint(request: Request) -> Response:
    """GET /genlab/api/point: one latent point's image, class and activations (`point_answers`)."""
    return await _serve(request, "point")


async def morph_endpoint(request: Request) -> Response:
    """GET /genlab/api/morph?model=FILE&a=...&b=...&steps=N&method=linear|spherical[&label=K]: the Morph
    page's strip (`morph_answer`)."""
    return await _serve(request, "morph")


def _class_state(code: str) -> tuple[int, dict]:
    from .lessons import classroom

    try:
        return 200, classroom.follow_state(classroom.normal_code(code))
    except classroom.ClassError as err:
        return (400 if "is not a class code" in str(err) else 404), {"error": str(err)}


async def class_endpoint(request: Request) -> Response:
    """GET /genlab/api/class?code=K7QH3M: what a class' followers poll (genlab.lessons.classroom.follow_state):
    {"seq": the teacher's view counter, "paused", "page", "live": {"seq", "model", "z", "label", "t"} or null}."""
    status, body = await asyncio.to_thread(_class_state, str(request.query_params.get("code", "")))
    return JSONResponse(body, status_code=status, headers={"Cache-Control": "no-store"})


ROUTES = [Route(POINT_PATH, point_endpoint, methods=["GET"]), Route(MORPH_PATH, morph_endpoint, methods=["GET"]),
          Route(CLASS_PATH, class_endpoint, methods=["GET"])]
