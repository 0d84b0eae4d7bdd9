"""The heavy-work gate: one turn per visitor, a bounded number at once, first come first served, and a
waiter that gives up its place (a Streamlit rerun) leaves the line intact."""
import threading
import time

import pytest

from genlab.ui.heavy import HeavyGate, heavy_slots


def run_in_thread(gate, visitor, log, hold=0.2, started=None, on_wait=None):
    def work():
        with gate.turn(visitor, on_wait, poll=0.02):
            log.append(("start", visitor, time.monotonic()))
            if started is not None:
                started.set()
            time.sleep(hold)
            log.append(("end", visitor, time.monotonic()))
    thread = threading.Thread(target=work)
    thread.start()
    return thread


def spans(log):
    start = {v: t for kind, v, t in log if kind == "start"}
    end = {v: t for kind, v, t in log if kind == "end"}
    return {v: (start[v], end[v]) for v in start}


def test_one_turn_per_visitor_and_slots_bound_the_others():
    gate, log = HeavyGate(slots=2), []
    first = threading.Event()
    threads = [run_in_thread(gate, "hammer", log, started=first)]
    first.wait(5)
    threads += [run_in_thread(gate, "hammer", log, hold=0.1) for _ in range(3)]   # the same visitor's other tabs
    time.sleep(0.05)
    threads.append(run_in_thread(gate, "other", log, hold=0.05))
    for t in threads:
        t.join(10)
    starts = sorted(t for kind, v, t in log if kind == "start" and v == "hammer")
    ends = sorted(t for kind, v, t in log if kind == "end" and v == "hammer")
    assert len(starts) == 4
    assert all(s >= e - 1e-3 for s, e in zip(starts[1:], ends[:-1])), "a visitor's turns overlapped"
    other_start = next(t for kind, v, t in log if kind == "start" and v == "other")
    assert other_start < ends[0], "the other visitor waited behind the hammering visitor's queue"
    assert gate.running == 0 and gate.waiting() == 0


def test_first_come_first_served_when_every_slot_is_taken():
    gate, log, reasons = HeavyGate(slots=1), [], []
    started = threading.Event()
    threads = [run_in_thread(gate, "a", log, hold=0.3, started=started)]
    started.wait(5)
    for visitor in ("b", "c", "d"):
        threads.append(run_in_thread(gate, visitor, log, hold=0.02,
                                     on_wait=lambda reason, waited: reasons.append(reason)))
        time.sleep(0.05)
    for t in threads:
        t.join(10)
    order = [v for kind, v, _ in sorted(log, key=lambda e: e[2]) if kind == "start"]
    assert order == ["a", "b", "c", "d"]
    assert set(reasons) == {"busy"}


def test_a_waiter_that_gives_up_leaves_the_line():
    gate, log = HeavyGate(slots=1), []
    started = threading.Event()
    holder = run_in_thread(gate, "a", log, hold=0.3, started=started)
    started.wait(5)

    class Rerun(Exception):
        pass

    def give_up(reason, waited):
        if waited > 0.05:
            raise Rerun

    with pytest.raises(Rerun):
        with gate.turn("b", give_up, poll=0.02):
            pass
    assert gate.waiting() == 0
    with gate.turn("b", poll=0.02):   # b's place is free again: it gets a turn once a is done
        assert gate.running == 1
    holder.join(5)
    assert gate.running == 0


def test_heavy_slots_from_the_environment(monkeypatch):
    monkeypatch.setenv("GENLAB_HEAVY_SLOTS", "3")
    assert heavy_slots() == 3
    for bad in ("0", "-1", "x", ""):
        monkeypatch.setenv("GENLAB_HEAVY_SLOTS", bad)
        assert heavy_slots() >= 1
