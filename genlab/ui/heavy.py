"""Heavy work shared fairly: one visitor cannot take the server's cores from the others.

A class-area map that is neither in memory nor on disk costs seconds of CPU (a 4D map 16^4 images). In a
hosted demo one visitor who hammers (rapid z4 changes, many tabs, link after link to fresh slices) would
otherwise start one such computation per tab at once, and every other visitor's page would wait behind them.
So every such computation first takes a turn at one `HeavyGate`, shared by all sessions of the process:

- **one turn per visitor**: a visitor's second heavy request (another tab, another slice) waits until their
  first is done; "visitor" is the id of genlab.ui.visitor (the browser's cookie);
- **a bounded number of turns at once** (`GENLAB_HEAVY_SLOTS`, default: the CPU count; the demo's torch runs
  one thread per request), handed out first come, first served: one visitor's computations take at most one
  core, and a visitor's request waits behind at most one turn of each other visitor. (With one slot on two
  cores, a second visitor's fresh map waited for the hammering visitor's current one: 3.0x its quiet time
  in bench/hammer.py.)

`GENLAB_HEAVY_GATE=off` lets every request compute at once (as before the gate; bench/hammer.py measures the
difference). A waiting page says what it waits for, and stays interruptible (a newer rerun of the same session drops its
place in line). A visitor without cookies gets a new id per session; the reverse proxy's per-address
connection limit (scripts/serve.sh) bounds how many sessions one address can hold.
"""
from __future__ import annotations

import os
import threading
import time
from collections import deque
from contextlib import contextmanager
from typing import Callable, Iterator

import streamlit as st

from .visitor import visitor_id


def heavy_slots() -> int:
    """$GENLAB_HEAVY_SLOTS, else the CPU count."""
    value = os.environ.get("GENLAB_HEAVY_SLOTS", "").strip()
    if value.isdigit() and int(value) >= 1:
        return min(int(value), 64)
    return max(1, os.cpu_count() or 1)


class HeavyGate:
    """First-come-first-served turns, at most `slots` at once and one per visitor (queued or running)."""

    def __init__(self, slots: int):
        self.slots = max(1, int(slots))
        self._cond = threading.Condition()
        self._queue: deque = deque()          # tickets waiting for a slot, oldest first
        self._holders: set[str] = set()       # visitors with a ticket queued or running
        self.running = 0

    def waiting(self) -> int:
        with self._cond:
            return len(self._queue)

    @contextmanager
    def turn(self, visitor: str, on_wait: Callable[[str, float], None] | None = None,
             poll: float = 0.25) -> Iterator[None]:
        """Hold a turn for the `with` block. While waiting, `on_wait(reason, seconds waited)` is called
        every `poll` seconds outside the lock (it may raise, e.g. Streamlit's rerun: the place is given up);
        reason is "own" (the visitor's other request runs or waits) or "busy" (others hold every slot)."""
        ticket, queued, running, start = object(), False, False, time.monotonic()
        try:
            while True:
                with self._cond:
                    if not queued and visitor not in self._holders:
                        self._holders.add(visitor)
                        self._queue.append(ticket)
                        queued = True
                    if queued and self.running < self.slots and self._queue[0] is ticket:
                        self._queue.popleft()
                        self.running += 1
                        running = True
                        break
                    reason = "busy" if queued else "own"
                    self._cond.wait(poll)
                if on_wait is not None:
                    on_wait(reason, time.monotonic() - start)
            yield
        finally:
            with self._cond:
                if running:
                    self.running -= 1
                elif queued:
                    self._queue.remove(ticket)
                if queued:
                    self._holders.discard(visitor)
                self._cond.notify_all()


@st.cache_resource
def _gate() -> HeavyGate:
    return HeavyGate(heavy_slots())


@contextmanager
def heavy_turn(what: str) -> Iterator[None]:
    """Wait for this visitor's turn at the server's heavy work, showing why while waiting (see the module)."""
    note = st.empty()
    shown = [False]

    def on_wait(reason: str, waited: float) -> None:
        if reason == "own":
            text = (f"Waiting for your other computation to finish before the {what} ({waited:.0f} s): "
                    "the server computes one heavy request per visitor at a time.")
        else:
            text = (f"The server is computing for other visitors; the {what} starts next ({waited:.0f} s).")
        note.info(text, icon=":material/hourglass_top:")
        shown[0] = True

    if os.environ.get("GENLAB_HEAVY_GATE", "").strip().lower() in ("off", "0", "no"):
        yield
        return
    with _gate().turn(visitor_id(), on_wait):
        if shown[0]:
            note.empty()
        yield
