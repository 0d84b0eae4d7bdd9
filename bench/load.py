"""Load on one GenLab server: N light clients that speak Streamlit's own websocket protocol (no browser)
open the Latent Explorer and drag its latent pad; round trips, errors, throughput, and the server's CPU
and memory per session and per move.

    python bench/load.py [--sessions 20] [--rate 5] [--seconds 30] [--url URL [--pid PID]] [--train]
                         [--via-reruns] [--after-finish] [--profile server.speedscope.json]
                         [--json bench/results/load.json]

Each client does what a browser tab does on the wire (ForwardMsg / BackMsg protobufs over
ws://host/_stcore/stream): it opens /explorer?model=gan_2d.safetensors (a rerun_script BackMsg with the
page name and query string), waits for the first full run's script_finished (its cold open time), then
drags the pad: `--rate` pointer moves per second for `--seconds`. Like the pad's JavaScript
(genlab/ui/latent_pad.js) it sends a move only when the page has answered the previous one (the pad's
echoed seq) or 1.5 s have passed, keeping the newest point meanwhile; each move it sends is the
browser's fragment rerun:

    BackMsg.rerun_script (ClientState):
      query_string        the page's current query string (as pageInfoChanged last set it)
      widget_states       every widget value the page holds: the model picker and the layer picker
                          (string_value), the coordinate inputs (double_value), and the pad's
                          json_value '{"point":{"x":..,"y":..,"index":0,"seq":N,"dragging":true}}'
      page_script_hash    the Latent Explorer's (from the navigation message)
      fragment_id         the live view's st.fragment (from the pad delta's fragment_id)
      cached_message_hashes  the hashes of the large messages it keeps (ForwardMsg cache, as the browser)
      context_info        timezone, locale, url, colour scheme

That is how pads without the live route work (--via-reruns). The Explorer's pad has it (data.live): while
the pointer moves it GETs /genlab/api/point (genlab/api.py) for each move, one in flight and the newest
kept, and only the release goes out as the rerun above (dragging false), which commits the point and
redraws the page; the client does the same on a keep-alive HTTP connection of its own, and times the
release separately.

A move's round trip is the time from sending it to the live route's answer, or (reruns) to the
script_finished of the run that answered it (the first run whose pad shows a seq at least as new); the time
to that run's new image is recorded too. The
server's CPU per move is its utime + stime (/proc/PID/stat) over the drag phase divided by the moves the
clients sent, which holds on a busy machine; its RSS per session is (RSS with all sessions open - RSS
before) / N.

A move the pad sends as soon as it is drawn with the previous move's seq (before that run's coordinate inputs
have arrived) carries the previous z0/z1, which the server takes as typed coordinates: their on_change commits
the point and the page reruns whole (st.rerun(scope="app")). A browser does the same; the table counts these
"full page reruns while dragging". --after-finish sends the kept move only after the run has finished, which
shows the capacity without them.

With --train a Train-page job (the app's JobStore, a VAE on the embedded digits) trains meanwhile: its
epoch time idle (before the sessions open) against under load.

Prints a table (with the CPU and the load average at start: other work on the machine shows there) and
writes JSON.
"""
from __future__ import annotations

import argparse
import asyncio
import gzip
import hashlib
import json
import math
import os
import re
import signal
import socket
import statistics
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from streamlit.proto.BackMsg_pb2 import BackMsg  # noqa: E402
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg  # noqa: E402
from websockets.asyncio.client import connect  # noqa: E402  (a Streamlit dependency)
from websockets.exceptions import ConnectionClosed  # noqa: E402

from timing import machine_load, percentile, print_rows  # noqa: E402  (bench/timing.py)

PAGE = "explorer"                        # the Latent Explorer's URL path
PAD = "explorer.pad"                     # the pad's widget key (genlab/ui/point_explorer.py)
ANSWER_LIMIT = 5.0                       # s: a move not answered by then is a timeout
PAD_RETRY = 1.5                          # s: latent_pad.js stops waiting for an answer after this
OPEN_TIMEOUT = 180.0                     # s: a page open that takes longer is an error
_IMAGE = re.compile(r'<img src="([^"]*)"[^>]*alt="generated image at \(([^)]*)\)"')
_FINISHED = {ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY}


# ---------------------------------------------------------------------------------------------------
# One client


@dataclass
class Move:
    seq: int
    x: float
    y: float
    sent: float                           # perf_counter when sent
    image: float | None = None            # when the answering run's image arrived
    finished: float | None = None         # when the answering run's script_finished arrived
    exact: bool = False                   # answered by a run whose pad echoed this very seq
    shown: tuple | None = None            # the image's coordinates as the page printed them
    image_hash: str = ""
    live: bool = False                    # sent to the live route (answered by its HTTP answer, never by a run)
    batch: int | None = None              # the live route's X-GenLab-Batch: answers computed with this one

    @property
    def rtt(self) -> float | None:
        return None if self.finished is None else self.finished - self.sent


@dataclass
class Run:
    """One script run as the client sees it (between new_session and script_finished)."""
    run_id: str
    fragment: bool
    pad_seq: int | None = None
    image_at: float | None = None
    shown: tuple | None = None
    image_hash: str = ""


@dataclass
class Client:
    """A browser tab on the Latent Explorer, reduced to its websocket traffic."""
    base: str                             # http://host:port
    query: str                            # the page's query string on opening
    index: int                            # which session (phase of its drag path)
    after_finish: bool = False            # send the kept move when the run has finished, not when the pad is drawn
    visitor: str = ""                     # a genlab_visitor cookie to send (tabs of one visitor share it)
    via_reruns: bool = False              # send every move as a rerun even where the pad has the live route
    page: str = PAGE                      # the page's URL path ("" for Home; bench/bench_pages.py opens them all)
    live: dict | None = None              # the pad's live drag settings (data.live), when it has them
    http: tuple | None = None             # the keep-alive connection to the live route (reader, writer)
    cookies: dict = field(default_factory=dict)   # what the page's GET set (and genlab_visitor), as a browser keeps
    releases: list = field(default_factory=list)   # the release that ends the drag (a Move, sent as a rerun)
    ws: object = None
    query_string: str = ""
    page_hash: str = ""
    fragment_id: str = ""
    widgets: dict = field(default_factory=dict)   # widget id -> WidgetState (as the browser keeps them)
    pad_id: str = ""
    cache: dict = field(default_factory=dict)     # ForwardMsg hash -> [message, run count when last seen]
    max_age: int = 2
    runs_done: int = 0
    run: Run | None = None
    full_runs: int = 0
    opened: asyncio.Event = field(default_factory=asyncio.Event)
    open_seconds: float | None = None
    seq: int = 0                          # latent_pad.js s.seq
    data_seq: int = 0                     # the seq the page echoed last (data.seq)
    inflight: int | None = None
    pending: tuple | None = None
    timer: object = None
    moves: list = field(default_factory=list)
    pointer_moves: int = 0
    superseded: int = 0                   # pointer moves replaced by a newer one before they were sent
    fragment_runs: int = 0
    full_runs_dragging: int = 0
    errors: dict = field(default_factory=lambda: {"exception": 0, "error_message": 0, "disconnect": 0,
                                                  "timeout": 0, "protocol": 0})
    error_texts: list = field(default_factory=list)
    closed: bool = False
    _send_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    # -- connection ------------------------------------------------------------------------------
    async def open(self) -> None:
        """GET the page (as the browser does first; it sets the XSRF cookie), connect, ask for the page
        run, and wait for the first full run to finish."""
        start = time.perf_counter()
        self.query_string = self.query
        url = f"{self.base}/{self.page}?{self.query}"
        self.cookies = await asyncio.to_thread(_page_cookies, url)
        if self.visitor:
            self.cookies["genlab_visitor"] = self.visitor
        ws_url = "ws" + self.base[4:] + "/_stcore/stream"
        xsrf = self.cookies.get("_streamlit_xsrf")
        protocols = ["streamlit"] + ([xsrf] if xsrf else [])
        cookies = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        self.ws = await connect(ws_url, subprotocols=protocols, origin=self.base, max_size=None,
                                additional_headers={"Cookie": cookies} if cookies else None,
                                open_timeout=60, ping_interval=None)
        self.reader = asyncio.create_task(self._read())
        msg = BackMsg()
        msg.rerun_script.query_string = self.query_string
        msg.rerun_script.widget_states.SetInParent()
        msg.rerun_script.page_name = self.page
        self._context(msg.rerun_script.context_info)
        await self._send(msg)
        try:
            await asyncio.wait_for(self.opened.wait(), OPEN_TIMEOUT)
        except asyncio.TimeoutError:
            self._error("timeout", f"the page did not finish opening within {OPEN_TIMEOUT:.0f} s")
            return
        self.open_seconds = time.perf_counter() - start

    async def close(self) -> None:
        self.closed = True
        if self.http is not None:
            self.http[1].close()
            self.http = None
        if self.timer is not None:
            self.timer.cancel()
        if self.ws is not None:
            await self.ws.close()
        if getattr(self, "reader", None) is not None:
            await asyncio.gather(self.reader, return_exceptions=True)

    def _context(self, info) -> None:
        info.timezone, info.timezone_offset, info.locale = "UTC", 0, "en-US"
        info.url, info.is_embedded, info.color_scheme = f"{self.base}/{self.page}", False, "light"

    async def _send(self, msg: BackMsg) -> None:
        async with self._send_lock:
            await self.ws.send(msg.SerializeToString())

    def _error(self, kind: str, text: str) -> None:
        self.errors[kind] += 1
        if len(self.error_texts) < 5:
            self.error_texts.append(f"{kind}: {text[:300]}")

    # -- what the server sends -------------------------------------------------------------------
    async def _read(self) -> None:
        try:
            async for data in self.ws:
                now = time.perf_counter()
                if isinstance(data, str):
                    continue
                msg = ForwardMsg()
                msg.ParseFromString(data)
                await self._handle(msg, now)
        except ConnectionClosed:
            pass
        except Exception as err:   # a bug here must show, not hang the run
            self._error("protocol", f"{type(err).__name__}: {err}")
        if not self.closed:
            self._error("disconnect", "the server closed the connection")
            self.opened.set()

    async def _handle(self, msg: ForwardMsg, now: float) -> None:
        kind = msg.WhichOneof("type")
        if kind == "ref_hash":   # a large message the client said it keeps: take it from the cache
            entry = self.cache.get(msg.ref_hash)
            if entry is None:
                self._error("protocol", f"the server referred to a message not in the cache ({msg.ref_hash})")
                return
            entry[1] = self.runs_done
            cached = ForwardMsg()
            cached.CopyFrom(entry[0])
            cached.metadata.CopyFrom(msg.metadata)
            msg, kind = cached, cached.WhichOneof("type")
        elif msg.metadata.cacheable:
            self.cache[msg.hash] = [msg, self.runs_done]
        if kind == "new_session":
            self.max_age = msg.new_session.config.max_cached_message_age or self.max_age
            self.page_hash = self.page_hash or msg.new_session.page_script_hash
            self.run = Run(msg.metadata.run.script_run_id, bool(msg.metadata.run.fragment_ids))
        elif kind == "navigation":
            for page in msg.navigation.app_pages:
                if page.url_pathname == self.page:
                    self.page_hash = page.page_script_hash
        elif kind == "page_info_changed":
            self.query_string = msg.page_info_changed.query_string
        elif kind == "page_not_found":
            self._error("error_message", f"page not found: {msg.page_not_found.page_name}")
        elif kind == "session_event" and msg.session_event.WhichOneof("type") == "script_compilation_exception":
            self._error("exception", msg.session_event.script_compilation_exception.message)
        elif kind == "delta":
            await self._delta(msg.delta, now)
        elif kind == "script_finished":
            await self._finished(msg.script_finished, now)

    async def _delta(self, delta, now: float) -> None:
        if delta.WhichOneof("type") != "new_element":
            return
        el = delta.new_element
        kind = el.WhichOneof("type")
        if kind == "exception":
            self._error("exception", f"{el.exception.type}: {el.exception.message}")
        elif kind == "alert" and el.alert.format == el.alert.ERROR:
            self._error("error_message", el.alert.body)
        elif kind == "html" and self.run is not None:
            found = _IMAGE.search(el.html.body)
            if found:
                self.run.image_at = now
                self.run.shown = tuple(float(v) for v in found.group(2).split(","))
                self.run.image_hash = hashlib.md5(found.group(1).encode()).hexdigest()   # the PNG itself
        elif kind == "selectbox":
            # The browser keeps every widget's value and sends them all with each rerun: a new widget starts
            # at its default, a value the server sets (set_value) replaces it, otherwise it keeps its own.
            w = el.selectbox
            if w.set_value and w.HasField("raw_value"):
                self.widgets[w.id] = ("string_value", w.raw_value)
            elif w.id not in self.widgets and w.HasField("default") and w.default < len(w.options):
                self.widgets[w.id] = ("string_value", w.options[w.default])
        elif kind == "number_input":
            w = el.number_input
            value = w.value if w.set_value and w.HasField("value") else (
                w.default if w.id not in self.widgets and w.HasField("default") else None)
            if value is not None:
                self.widgets[w.id] = ("int_value", int(value)) if w.data_type == w.INT else ("double_value", value)
        elif kind == "bidi_component" and el.bidi_component.id.endswith("-" + PAD):
            self.pad_id = el.bidi_component.id
            self.fragment_id = delta.fragment_id or self.fragment_id
            data = json.loads(el.bidi_component.json or "{}")
            self.data_seq = int(data.get("seq") or 0)
            self.live = data.get("live") or None
            if self.run is not None:
                self.run.pad_seq = self.data_seq
            if not self.after_finish:   # latent_pad.js, as soon as the pad is drawn with the new seq
                await self._caught_up()

    async def _caught_up(self) -> None:
        """latent_pad.js: Python has caught up with what we sent -> send the move kept meanwhile."""
        if self.inflight is not None and self.data_seq >= self.inflight:
            self.inflight = None
            if self.timer is not None:
                self.timer.cancel()
            if self.pending is not None:
                x, y = self.pending
                await self._send_move(x, y)

    async def _finished(self, status, now: float) -> None:
        self._run_finished(status, now)
        if self.after_finish and status in _FINISHED:
            await self._caught_up()

    def _run_finished(self, status, now: float) -> None:
        run, self.run = self.run, None
        if status not in _FINISHED:
            if status == ForwardMsg.FINISHED_WITH_COMPILE_ERROR:
                self._error("exception", "the script failed to compile")
            return   # FINISHED_EARLY_FOR_RERUN: another run follows
        self.runs_done += 1
        for key in [k for k, (_, seen) in self.cache.items() if self.runs_done - seen > self.max_age]:
            del self.cache[key]
        if run is None:
            return
        if run.fragment:
            self.fragment_runs += 1
        else:
            self.full_runs += 1
            if self.moves and not self.releases:   # a full page rerun while dragging (see summary)
                self.full_runs_dragging += 1
            self.opened.set()
        if run.pad_seq is None:
            return
        for move in self.moves + self.releases:
            if move.finished is None and not move.live and move.seq <= run.pad_seq:
                move.finished, move.image, move.exact = now, run.image_at, move.seq == run.pad_seq
                move.shown, move.image_hash = run.shown, run.image_hash

    # -- the drag --------------------------------------------------------------------------------
    def pointer_move(self, x: float, y: float):
        """A pointer move on the pad while the button is down (latent_pad.js onMove -> send). Returns a
        coroutine to await when the move goes out now, else None (it waits as the pending move)."""
        self.pointer_moves += 1
        if self.inflight is not None:
            if self.pending is not None:
                self.superseded += 1
            self.pending = (x, y)
            return None
        return self._send_move(x, y)

    @property
    def uses_live_route(self) -> bool:
        return self.live is not None and not self.via_reruns

    async def _send_move(self, x: float, y: float, dragging: bool = True) -> None:
        """One move as the pad sends it: to the live route while dragging when the pad has it, else (and the
        release) as a rerun of the live view."""
        if dragging and self.uses_live_route:
            self.seq += 1
            self.inflight, self.pending = self.seq, None
            move = Move(self.seq, round(x, 4), round(y, 4), time.perf_counter(), live=True)
            self.moves.append(move)
            asyncio.create_task(self._ask_live_route(move))
            return
        self.seq = max(self.seq, self.data_seq) + 1
        self.inflight, self.pending = self.seq, None
        if self.timer is not None:
            self.timer.cancel()
        self.timer = asyncio.get_running_loop().call_later(PAD_RETRY, self._give_up_waiting)
        point = {"x": round(x, 4), "y": round(y, 4), "index": 0, "seq": self.seq, "dragging": dragging}
        msg = BackMsg()
        state = msg.rerun_script
        state.query_string = self.query_string
        for widget_id, (kind, value) in self.widgets.items():
            w = state.widget_states.widgets.add()
            w.id = widget_id
            setattr(w, kind, value)
        pad = state.widget_states.widgets.add()
        pad.id = self.pad_id
        pad.json_value = json.dumps({"point": point}, separators=(",", ":"))
        state.page_script_hash = self.page_hash
        state.fragment_id = self.fragment_id
        state.cached_message_hashes.extend(self.cache)
        self._context(state.context_info)
        (self.moves if dragging else self.releases).append(Move(self.seq, point["x"], point["y"], time.perf_counter()))
        await self._send(msg)

    async def _ask_live_route(self, move: Move) -> None:
        """latent_pad.js liveSend: GET the live route for the moved point (one in flight), then send the move
        kept meanwhile."""
        live = self.live
        z = list(live["point"])
        z[live["axes"][0]], z[live["axes"][1]] = move.x, move.y
        path = f"{live['url']}?{live['query']}&z=" + ",".join(f"{v:.4f}" for v in z)
        try:
            status, headers, body = await self._http_get(path)
            now = time.perf_counter()
            move.batch = int(headers.get("x-genlab-batch", "0")) or None
            if status != 200:
                self._error("error_message", f"the live route answered {status}: {body[:200]!r}")
            else:
                answer = json.loads(body)
                found = _IMAGE.search(answer.get("image", ""))
                move.finished = move.image = now
                move.exact = True
                if found:
                    move.shown = tuple(float(v) for v in found.group(2).split(","))
                    move.image_hash = hashlib.md5(found.group(1).encode()).hexdigest()
        except (OSError, asyncio.IncompleteReadError, ValueError) as err:
            self._error("disconnect", f"the live route: {type(err).__name__}: {err}")
            self.http = None
        self.inflight = None
        if self.pending is not None and not self.closed:
            x, y = self.pending
            await self._send_move(x, y)

    async def _http_get(self, path: str) -> tuple[int, dict, bytes]:
        """A GET on this client's keep-alive connection (opened on first use; once more if it was closed)."""
        url = urllib.parse.urlparse(self.base)
        for attempt in range(2):
            if self.http is None:
                reader, writer = await asyncio.open_connection(url.hostname, url.port or 80)
                sock = writer.get_extra_info("socket")
                if sock is not None:
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                self.http = (reader, writer)
            reader, writer = self.http
            # as a browser's fetch (credentials same-origin): the page's cookies, the replica's among them
            cookie = ("Cookie: " + "; ".join(f"{k}={v}" for k, v in self.cookies.items()) + "\r\n") if self.cookies else ""
            # as a browser's fetch asks: gzip accepted (the route compresses its answers)
            writer.write(f"GET {path} HTTP/1.1\r\nHost: {url.netloc}\r\nAccept-Encoding: gzip, deflate, br, zstd\r\n"
                         f"{cookie}\r\n".encode())
            try:
                await writer.drain()
                head = await reader.readuntil(b"\r\n\r\n")
            except (OSError, asyncio.IncompleteReadError):
                self.http = None
                if attempt:
                    raise
                continue
            lines = head.decode("latin-1").split("\r\n")
            headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:] if ":" in line)}
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            if headers.get("content-encoding") == "gzip":
                body = gzip.decompress(body)
            if headers.get("connection", "").lower() == "close":
                writer.close()
                self.http = None
            return int(lines[0].split()[1]), headers, body
        raise OSError("no connection")

    def _give_up_waiting(self) -> None:
        self.inflight = None                      # latent_pad.js: never wait forever on a lost answer

    async def drag(self, start: float, seconds: float, rate: float) -> None:
        """Pointer moves at `rate` per second from `start` (loop time) for `seconds`, along a closed
        curve over the pad (each session starts at its own phase), then wait for the last answers."""
        loop = asyncio.get_running_loop()
        steps = max(1, int(seconds * rate))
        for k in range(steps):
            if self.closed or self.errors["disconnect"]:
                break
            await asyncio.sleep(max(0.0, start + k / rate - loop.time()))
            x, y = drag_path(self.index, k)
            sending = self.pointer_move(x, y)
            if sending is not None:
                await sending
        # The button stays down: the move kept last still goes out when the page answers (for at most
        # ANSWER_LIMIT more seconds), and every move sent gets ANSWER_LIMIT seconds to be answered.
        flush_until = loop.time() + ANSWER_LIMIT
        while not (self.closed or self.errors["disconnect"]):
            if self.pending and self.inflight is None and loop.time() < flush_until:
                x, y = self.pending
                await self._send_move(x, y)
            now = time.perf_counter()
            waiting = any(m.finished is None and now - m.sent < ANSWER_LIMIT for m in self.moves)
            if not waiting and (not self.pending or loop.time() >= flush_until):
                break
            await asyncio.sleep(0.02)
        if self.timer is not None:
            self.timer.cancel()
        if self.uses_live_route and self.moves and not (self.closed or self.errors["disconnect"]):
            # The release commits the point through Python: a fragment rerun, then the whole page.
            last = self.moves[-1]
            self.inflight = None
            await self._send_move(last.x, last.y, dragging=False)
            until = loop.time() + ANSWER_LIMIT
            while self.releases[-1].finished is None and loop.time() < until and not self.closed:
                await asyncio.sleep(0.02)
            if self.timer is not None:
                self.timer.cancel()

    def summary(self) -> dict:
        answered = [m for m in self.moves if m.rtt is not None and m.rtt <= ANSWER_LIMIT]
        errors = {**self.errors, "timeout": self.errors["timeout"] + len(self.moves) - len(answered)}
        exact = [m for m in self.moves if m.exact]
        shown = [m for m in exact if m.shown and len(m.shown) == 2
                 and abs(m.shown[0] - m.x) <= 0.006 and abs(m.shown[1] - m.y) <= 0.006]
        changed = sum(1 for a, b in zip(exact, exact[1:]) if a.image_hash != b.image_hash)
        return {"session": self.index, "open_s": None if self.open_seconds is None else round(self.open_seconds, 3),
                "pointer_moves": self.pointer_moves, "sent": len(self.moves), "answered": len(answered),
                "superseded_before_sending": self.superseded, "fragment_runs": self.fragment_runs,
                "full_page_reruns_while_dragging": self.full_runs_dragging,
                "exact_answers": len(exact), "answers_showing_the_moved_point": len(shown),
                "image_changed_between_answers": changed,
                "rtt_ms": [round(m.rtt * 1e3, 1) for m in self.moves if m.rtt is not None],
                "image_ms": [round((m.image - m.sent) * 1e3, 1) for m in self.moves if m.image is not None],
                "live_route": self.uses_live_route,
                "release_ms": [round(m.rtt * 1e3, 1) for m in self.releases if m.rtt is not None],
                "batches": [m.batch for m in self.moves if m.batch],
                "releases_sent": len(self.releases),
                "errors": errors, "error_texts": self.error_texts}


def drag_path(session: int, k: int) -> tuple[float, float]:
    """The k-th pointer position of a session: a Lissajous curve inside [-0.85, 0.85]^2, 0.1 or so
    between steps, so every move asks for a visibly different image."""
    t = 2 * math.pi * (k / 48 + session / 7.3)
    return round(0.85 * math.sin(t), 4), round(0.85 * math.sin(2 * t + 0.5), 4)


def _page_cookies(url: str) -> dict[str, str]:
    """The page's HTTP GET, as the browser does before connecting; returns the cookies it sets (name -> value):
    Streamlit's XSRF cookie and, behind scripts/serve.sh's nginx, the replica's `genlab_route`, which a
    browser then sends with the websocket and the page's later requests (so they reach the same replica)."""
    with urllib.request.urlopen(url, timeout=60) as response:
        response.read()
        pairs = [header.split(";", 1)[0] for header in response.headers.get_all("Set-Cookie") or []]
    return dict(pair.split("=", 1) for pair in pairs if "=" in pair)


# ---------------------------------------------------------------------------------------------------
# The server


def cpu_seconds(pid: int | tuple) -> float:
    """utime + stime of a process so far (all its threads), from /proc/PID/stat; summed over several."""
    if isinstance(pid, tuple):
        return sum(cpu_seconds(p) for p in pid)
    fields_ = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields_[11]) + int(fields_[12])) / os.sysconf("SC_CLK_TCK")


def with_workers(pid: int | tuple) -> tuple:
    """The server process(es) and their live-route workers (genlab/api.py: children started by
    multiprocessing), whose CPU and memory are the server's too; not a training worker, which is counted
    apart."""
    roots = pid if isinstance(pid, tuple) else (pid,)
    children: dict[int, list[int]] = {}
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                ppid = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(proc.name))
    found, todo = list(roots), list(roots)
    while todo:
        for child in children.get(todo.pop(), []):
            try:
                cmdline = (Path("/proc") / str(child) / "cmdline").read_bytes()
            except OSError:
                continue
            if b"multiprocessing" in cmdline:
                found.append(child)
                todo.append(child)
    return tuple(found)


def rss_mb(pid: int | tuple) -> float:
    if isinstance(pid, tuple):
        return sum(rss_mb(p) for p in pid)
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def listening_pid(port: int) -> int | None:
    """The process listening on a local TCP port (via /proc/net/tcp* and /proc/*/fd), or None."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            cols = row.split()
            if cols[3] == "0A" and int(cols[1].rsplit(":", 1)[1], 16) == port:   # 0A: LISTEN
                inodes.add(cols[9])
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            for fd in (proc / "fd").iterdir():
                target = os.readlink(fd)
                if target.startswith("socket:[") and target[8:-1] in inodes:
                    return int(proc.name)
        except OSError:
            continue
    return None


# ---------------------------------------------------------------------------------------------------
# Training under load (--train)


class TrainingRun:
    """A Train-page job (genlab.training.jobs) and the wall time of each of its epochs, from when each
    epoch's monitoring picture (jobs/<id>/samples/NNNN.png) appears."""

    def __init__(self, runs: Path, kind: str, limit: int | None):
        from genlab.training.jobs import JobSpec, JobStore

        self.store = JobStore(runs)
        train = {"kind": kind, "model": {"latent_dim": 2}, "dataset": "mnist5k", "epochs": 1000, "batch_size": 128}
        if limit:
            train["limit"] = limit
        self.job = self.store.submit(JobSpec(f"load_bench_{kind}_{os.getpid()}", train, {}))
        self.done: dict[int, float] = {}     # epoch -> time.monotonic() its picture appeared
        self.task = asyncio.create_task(self._watch())

    async def _watch(self) -> None:
        folder = self.job.folder / "samples"
        while True:
            if folder.is_dir():
                for png in folder.glob("*.png"):
                    epoch = int(png.stem)
                    if epoch not in self.done:
                        self.done[epoch] = time.monotonic()
            await asyncio.sleep(0.1)

    async def wait_epochs(self, count: int, timeout: float = 900) -> None:
        deadline = time.monotonic() + timeout
        while len(self.done) < count:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the training job finished {len(self.done)} epochs in {timeout:.0f} s; "
                                   f"see {self.job.folder / 'worker.log'}")
            state = self.store.get(self.job.id).state
            if state in ("failed", "stopped", "interrupted"):
                raise RuntimeError(f"the training job {state}; see {self.job.folder / 'worker.log'}")
            await asyncio.sleep(0.2)

    def epochs_between(self, start: float, end: float) -> list[float]:
        """Wall seconds of each epoch that began and ended within [start, end] (monotonic times)."""
        ends = sorted(self.done.items())
        return [t1 - t0 for (_, t0), (_, t1) in zip(ends, ends[1:]) if t0 >= start and t1 <= end]

    def stop(self) -> None:
        self.task.cancel()
        self.store.command(self.job.id, "stop")
        pid = self.store.get(self.job.id).status.get("pid")
        if isinstance(pid, int):   # our own worker: no final scoring and publishing for a bench run
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass


# ---------------------------------------------------------------------------------------------------
# The benchmark


async def bench(args, base: str, pid: int, runs: Path) -> dict:
    query = urllib.parse.urlencode({"model": args.model})
    result: dict = {}
    # 1. A first visitor on this server (models loaded, maps computed or read): not one of the N.
    for k in range(max(1, args.warm)):   # --warm: one per replica behind a round-robin proxy
        first = Client(base, query, -1)
        await first.open()
        result.setdefault("first_open_s", first.open_seconds)
        first_errors = {k: v for k, v in first.errors.items() if v}
        await first.close()
        if first.open_seconds is None or first_errors:
            raise RuntimeError(f"the first page open failed: {first_errors} {first.error_texts}")
    await asyncio.sleep(1.0)
    # 2. Training, idle: its epochs before any session opens.
    training = None
    if args.train:
        training = TrainingRun(runs, args.train_kind, args.train_limit)
        await training.wait_epochs(1 + args.idle_epochs)          # the first epoch includes start-up
        idle = training.epochs_between(training.done[min(training.done)], time.monotonic())
        result["training"] = {"job": training.job.id, "kind": args.train_kind, "limit": args.train_limit,
                              "idle_epoch_s": [round(s, 2) for s in idle]}
    # 3. N sessions open the page at once.
    pid = with_workers(pid)
    result["server_processes"] = len(pid)
    rss_before = rss_mb(pid)
    clients = [Client(base, query, i, after_finish=args.after_finish, via_reruns=args.via_reruns)
               for i in range(args.sessions)]
    await asyncio.gather(*(c.open() for c in clients))
    rss_after = rss_mb(pid)
    # 4. All drag together.
    live = [c for c in clients if c.open_seconds is not None]
    cpu0, client0, wall0, mono0 = cpu_seconds(pid), time.process_time(), time.perf_counter(), time.monotonic()
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.2
    profiler = None
    if args.profile and live:   # py-spy on the server for the drag phase (it also costs the server a little)
        profiler = await asyncio.create_subprocess_exec(
            "py-spy", "record", "-p", str(pid), "-o", args.profile, "--format", "speedscope", "--rate", "100",
            "-d", str(math.ceil(args.seconds)), stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    await asyncio.gather(*(c.drag(start, args.seconds, args.rate) for c in live))
    if profiler is not None:
        _, err = await profiler.communicate()
        result["profile"] = args.profile if profiler.returncode == 0 else f"py-spy failed: {err.decode()[-300:]}"
    cpu1, client1, wall1, mono1 = cpu_seconds(pid), time.process_time(), time.perf_counter(), time.monotonic()
    if training is not None:
        loaded = training.epochs_between(mono0, mono1)
        result["training"]["loaded_epoch_s"] = [round(s, 2) for s in loaded]
        training.stop()
    await asyncio.gather(*(c.close() for c in clients))
    sessions = [c.summary() for c in clients]
    result.update({"rss_before_mb": round(rss_before, 1), "rss_after_open_mb": round(rss_after, 1),
                   "server_cpu_s": round(cpu1 - cpu0, 3), "client_cpu_s": round(client1 - client0, 3),
                   "drag_wall_s": round(wall1 - wall0, 3), "sessions": sessions})
    return result


def _r(value, digits: int):
    """A number for the JSON: rounded, or None when there is none (nan)."""
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else round(value, digits)


def _v(value) -> float:
    """A number for the table: nan when there is none."""
    return float("nan") if value is None else value


def summarize(args, raw: dict) -> tuple[list[tuple], dict]:
    """The table rows and the headline numbers (both go into the JSON)."""
    sessions = raw["sessions"]
    n = len(sessions)
    rtts = [v for s in sessions for v in s["rtt_ms"]]
    releases = [v for s in sessions for v in s.get("release_ms", [])]
    batches = [v for s in sessions for v in s.get("batches", [])]
    live = any(s.get("live_route") for s in sessions)
    images = [v for s in sessions for v in s["image_ms"]]
    opens = [s["open_s"] for s in sessions if s["open_s"] is not None]
    sent = sum(s["sent"] for s in sessions)
    answered = sum(s["answered"] for s in sessions)
    runs = sum(s["fragment_runs"] + s["full_page_reruns_while_dragging"] for s in sessions)
    full = sum(s["full_page_reruns_while_dragging"] for s in sessions)
    errors = {k: sum(s["errors"][k] for s in sessions) for k in sessions[0]["errors"]} if sessions else {}
    wall = raw["drag_wall_s"]
    head = {
        "sessions": n, "rate_per_session": args.rate, "seconds": args.seconds,
        "first_open_s": round(raw["first_open_s"], 3),
        "open_p50_s": round(statistics.median(opens), 3) if opens else None,
        "open_max_s": round(max(opens), 3) if opens else None,
        "moves_sent": sent, "moves_answered_within_5s": answered,
        "answered_within_5s_pct": round(100 * answered / sent, 2) if sent else None,
        "rtt_p50_ms": _r(percentile(rtts, 0.5), 1), "rtt_p95_ms": _r(percentile(rtts, 0.95), 1),
        "rtt_max_ms": _r(max(rtts), 1) if rtts else None, "image_p50_ms": _r(percentile(images, 0.5), 1),
        "moves_per_s_served": round(answered / wall, 2) if wall else None,
        "errors": sum(errors.values()), "errors_by_kind": errors,
        "server_cpu_ms_per_move": round(1e3 * raw["server_cpu_s"] / sent, 2) if sent else None,
        "runs_finished": runs,
        "server_cores_busy": round(raw["server_cpu_s"] / wall, 2) if wall else None,
        "rss_per_session_mb": round((raw["rss_after_open_mb"] - raw["rss_before_mb"]) / n, 2) if n else None,
        "full_page_reruns_while_dragging": full,
        "superseded_pointer_moves": sum(s["superseded_before_sending"] for s in sessions),
        "answers_showing_the_moved_point": sum(s["answers_showing_the_moved_point"] for s in sessions),
        "exact_answers": sum(s["exact_answers"] for s in sessions),
        "live_route": live,
        "release_p50_ms": _r(percentile(releases, 0.5), 1), "release_max_ms": _r(max(releases), 1) if releases else None,
        "batch_mean": round(statistics.mean(batches), 2) if batches else None,
        "batch_max": max(batches) if batches else None,
    }
    offered = n * args.rate
    live_path = "/genlab/api/point"
    rows = [
        ("first open on this server (not one of the N)", head["first_open_s"], "s", "models loaded, maps computed"),
    ]
    if n:
        rows += [
            (f"cold page open, p50 of {n} opening at once", _v(head["open_p50_s"]), "s",
             f"GET + websocket + first full run ({len(opens)} of {n} opened)"),
            ("cold page open, max", _v(head["open_max_s"]), "s", ""),
            ("drag move round trip, p50", _v(head["rtt_p50_ms"]), "ms",
             (f"GET {live_path} -> its answer" if live else "send -> script_finished") + f", {sent} moves sent"),
            ("drag move round trip, p95", _v(head["rtt_p95_ms"]), "ms", ""),
            ("drag move round trip, max", _v(head["rtt_max_ms"]), "ms", ""),
            ("drag move -> new image, p50", _v(head["image_p50_ms"]), "ms",
             "the answer holds the image" if live else "send -> the run's image delta"),
            ("moves answered within 5 s", _v(head["answered_within_5s_pct"]), "%", f"{answered} of {sent}"),
            ("moves served per second (all sessions)", _v(head["moves_per_s_served"]), "1/s",
             f"offered {offered:g}/s of pointer moves; {head['superseded_pointer_moves']} superseded while "
             "waiting (the pad sends the newest when answered)"),
            ("full page reruns while dragging", full, "", "a move sent before the last run's coordinate inputs "
             "arrived carries stale z values: their on_change commits the point (st.rerun(scope='app'))"),
            ("errors", head["errors"], "", ", ".join(f"{k} {v}" for k, v in errors.items() if v) or "none"),
        ]
        if live:
            rows += [("release (commit) round trip, p50", _v(head["release_p50_ms"]), "ms",
                      f"the release as a rerun -> script_finished (the page redrawn whole), {len(releases)} releases"),
                     ("release round trip, max", _v(head["release_max_ms"]), "ms", ""),
                     ("answers computed together, mean", _v(head["batch_mean"]), "",
                      f"the route's batch each move's answer came in (X-GenLab-Batch), max {head['batch_max']}")]
        rows += [
            ("server CPU per move", _v(head["server_cpu_ms_per_move"]), "ms",
             f"{raw['server_cpu_s']:.1f} s / {sent} moves ("
             + (f"{len(releases)} releases as reruns" if live else f"{runs} runs finished") + "); "
             f"{head['server_cores_busy']} cores busy; {raw.get('server_processes', 1)} processes (server, "
             "route workers)"),
            ("server RSS per session", _v(head["rss_per_session_mb"]), "MB",
             f"{raw['rss_before_mb']:.0f} MB before, {raw['rss_after_open_mb']:.0f} MB with {n} open"),
            ("bench client CPU during the drag", raw["client_cpu_s"], "s", "this process (it shares the machine)"),
        ]
    training = raw.get("training")
    if training:
        idle = statistics.median(training["idle_epoch_s"]) if training["idle_epoch_s"] else float("nan")
        loaded = training.get("loaded_epoch_s") or []
        head["epoch_idle_s"] = _r(idle, 2)
        head["epoch_loaded_s"] = round(statistics.median(loaded), 2) if loaded else None
        rows.append((f"training epoch ({training['kind']}), idle server", idle, "s",
                     f"median of {len(training['idle_epoch_s'])}"))
        if loaded:
            rows.append((f"training epoch ({training['kind']}), during the drag", head["epoch_loaded_s"], "s",
                         f"median of {len(loaded)}; {head['epoch_loaded_s'] / idle:.2f}x idle"))
    return rows, head


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=20, help="light clients (0: only --train's idle epochs)")
    parser.add_argument("--rate", type=float, default=5.0, help="pointer moves per second per session")
    parser.add_argument("--seconds", type=float, default=30.0, help="seconds of dragging")
    parser.add_argument("--model", default="gan_2d.safetensors", help="the explorer's model (query string)")
    parser.add_argument("--after-finish", action="store_true",
                        help="unlike latent_pad.js, send the move kept while waiting only when the answering run has "
                             "finished (its coordinate inputs have arrived): no stale inputs, no full page reruns")
    parser.add_argument("--warm", type=int, default=1,
                        help="page opens before the N (models loaded); with --url to N replicas behind a "
                             "round-robin proxy, N")
    parser.add_argument("--via-reruns", action="store_true",
                        help="send every move as a rerun of the live view, as pads without the live route do "
                             "(the Morph and VAE Lab pads; the Explorer before genlab/api.py)")
    parser.add_argument("--url", help="attach to a running server (http://host:port) instead of starting one")
    parser.add_argument("--pid", help="with --url: the server's process id, or several comma-separated (the "
                        "replicas behind a proxy: their CPU and memory are summed; default: found by the port)")
    parser.add_argument("--runs", help="with --url --train: the server's GENLAB_RUNS folder")
    parser.add_argument("--train", action="store_true", help="also train a Train-page job; its epoch times")
    parser.add_argument("--train-kind", default="vae", choices=("vae", "ae", "gan"))
    parser.add_argument("--train-limit", type=int, default=0, help="training images (0: all 4,000)")
    parser.add_argument("--idle-epochs", type=int, default=2, help="epochs timed before the sessions open")
    parser.add_argument("--profile", help="py-spy the server during the drag phase into this speedscope file "
                        "(pip install py-spy; the profiler costs the server some CPU, so time without it)")
    parser.add_argument("--json", default=str(ROOT / "bench" / "results" / "load.json"))
    parser.add_argument("--server-threads", type=int, default=1,
                        help="torch threads of the server the bench starts (GENLAB_SERVER_THREADS; 1 as in the "
                             "hosted demo: one image per move costs the least CPU on one thread)")
    parser.add_argument("--quiet", action="store_true", help="no table")
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    """Run the benchmark (argv as on the command line); returns what it writes as JSON."""
    args = parse_args(argv)
    machine = machine_load()
    if not args.quiet:
        print(f"{machine['cpu']}, {machine['cores']} cores, load average {machine['load_average'][0]:.2f} "
              f"(5 min {machine['load_average'][1]:.2f}) at start"
              + (": the machine is busy with other work" if machine["busy"] else ""))
    with ExitStack() as stack:
        if args.url:
            base = args.url.rstrip("/")
            pids = tuple(int(p) for p in args.pid.split(",")) if args.pid else ()
            pid = (pids[0] if len(pids) == 1 else pids) or listening_pid(urllib.parse.urlparse(base).port or 80)
            runs = Path(args.runs) if args.runs else Path(os.environ.get("GENLAB_RUNS", ROOT / "runs" / "app"))
        else:
            from tests.e2e.server import app_server

            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="genlab-load-")))
            runs = tmp / "runs"
            base = stack.enter_context(app_server(tmp / "streamlit.log", timeout=180,
                                                  env={"GENLAB_CACHE_DIR": str(tmp / "cache"),
                                                       "GENLAB_RUNS": str(runs),
                                                       "GENLAB_SERVER_THREADS": str(args.server_threads)}))
            pid = listening_pid(int(base.rsplit(":", 1)[1]))
        if pid is None:
            raise SystemExit("cannot find the server's process id; pass --pid")
        raw = asyncio.run(bench(args, base, pid, runs))
    rows, head = summarize(args, raw)
    if not args.quiet:
        print_rows(rows)
    result = {"machine": machine, "measured": time.strftime("%Y-%m-%d %H:%M"), "server_pid": pid,
              "settings": {"sessions": args.sessions, "rate": args.rate, "seconds": args.seconds, "model": args.model,
                           "after_finish": args.after_finish, "server_threads": args.server_threads,
                           "via_reruns": args.via_reruns,
                           "url": args.url or "started by the bench", "train": args.train},
              "summary": head,
              "rows": [{"measure": n, "value": _r(v, 4), "unit": u, "note": note} for n, v, u, note in rows],
              **raw}
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(result, indent=1))
    if not args.quiet:
        print(f"wrote {args.json}")
    return result


if __name__ == "__main__":
    main()
