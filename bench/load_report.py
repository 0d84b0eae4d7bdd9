"""The load benchmark's report: the raw per-session figures summarised into the printed table and the
JSON's summary."""
from __future__ import annotations

import math
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


from timing import percentile  # noqa: E402  (bench/timing.py)


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
        where = f"{len(training.get('jobs', [1]))} x {training['kind']} on {training.get('backend', 'local')}"
        head["training_backend"] = training.get("backend", "local")
        rows.append((f"training epoch ({where}), no sessions", idle, "s",
                     f"median of {len(training['idle_epoch_s'])}"))
        if loaded:
            rows.append((f"training epoch ({where}), during the drag", head["epoch_loaded_s"], "s",
                         f"median of {len(loaded)}; {head['epoch_loaded_s'] / idle:.2f}x idle"))
        ended = training.get("epochs_ended_during_drag") or []
        if ended:
            per_job = sum(ended) / len(ended)
            head["epochs_per_job_during_drag"] = round(per_job, 2)
            rows.append((f"training epochs ended per job during the drag ({where})", per_job, "",
                         f"{raw['drag_wall_s']:.0f} s of dragging; idle pace {raw['drag_wall_s'] / idle:.1f}"
                         if idle == idle else ""))
    return rows, head
