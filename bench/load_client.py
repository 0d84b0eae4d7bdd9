"""The load benchmarks' protocol client: a light GenLab visitor that speaks Streamlit's own websocket
protocol (ForwardMsg / BackMsg protobufs over ws://host/_stcore/stream) and the live route, as a browser tab
with the Latent Explorer open does (bench/load.py describes the wire in full)."""
from __future__ import annotations

import asyncio
import gzip
import hashlib
import json
import math
import re
import socket
import sys
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from streamlit.proto.BackMsg_pb2 import BackMsg  # noqa: E402
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg  # noqa: E402
from websockets.asyncio.client import connect  # noqa: E402  (a Streamlit dependency)
from websockets.exceptions import ConnectionClosed  # noqa: E402



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
