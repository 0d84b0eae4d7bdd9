"""The load benchmark (bench/load.py) against a server it starts: two protocol-level clients open the
Latent Explorer and drag its pad for 5 s; every move is answered, by a run that computed the moved point."""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import load  # noqa: E402  (bench/load.py)


def run_bench(args: list[str]) -> dict:
    """load.main in a thread of its own: its asyncio.run needs a thread without a running event loop (the
    browser tests' Playwright leaves one in the main thread)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(load.main, args).result()


def test_two_sessions_drag_through_the_live_route_and_release_through_streamlit(tmp_path):
    """As the Explorer's pad does: each move a GET of the live route, answered with the moved point's image;
    the release a rerun that commits the point."""
    result = run_bench(["--sessions", "2", "--rate", "5", "--seconds", "4", "--json", str(tmp_path / "load.json"),
                        "--quiet"])
    summary = result["summary"]
    assert summary["errors"] == 0, [s["error_texts"] for s in result["sessions"]]
    assert summary["live_route"]
    for session in result["sessions"]:
        assert session["live_route"] and session["sent"] >= 10
        assert session["answered"] == session["sent"] == session["exact_answers"]
        assert session["answers_showing_the_moved_point"] == session["sent"]    # the answer is the moved point
        assert session["image_changed_between_answers"] == session["sent"] - 1
        assert session["fragment_runs"] <= 1 and session["full_page_reruns_while_dragging"] == 0   # no reruns
        assert session["releases_sent"] == 1 and len(session["release_ms"]) == 1   # the release was answered
    assert summary["server_cpu_ms_per_move"] > 0


def test_two_sessions_drag_and_every_move_is_answered_with_the_moved_point(tmp_path):
    result = run_bench(["--sessions", "2", "--rate", "5", "--seconds", "5", "--json", str(tmp_path / "load.json"),
                        "--quiet", "--via-reruns"])
    assert (tmp_path / "load.json").is_file()
    summary = result["summary"]
    assert summary["errors"] == 0, [s["error_texts"] for s in result["sessions"]]
    assert len(result["sessions"]) == 2
    for session in result["sessions"]:
        assert session["open_s"] is not None                       # the page opened (first full run finished)
        assert session["sent"] >= 10                               # about 25 at 5 moves/s for 5 s
        assert session["answered"] == session["sent"]              # every move answered within 5 s
        assert len(session["rtt_ms"]) == session["sent"]
        # The runs that answered a move exactly (their pad echoed the move's seq; a run that answers two
        # moves at once answers only the newer exactly) show an image captioned with the moved point's
        # coordinates, a new image each time: the server took the pad's state in and computed that point.
        exact = session["exact_answers"]
        assert exact >= 0.8 * session["sent"]
        assert session["answers_showing_the_moved_point"] == exact
        assert session["image_changed_between_answers"] == exact - 1
        assert session["fragment_runs"] >= 0.8 * session["sent"]   # mostly fragment reruns, not full page runs
    assert summary["answered_within_5s_pct"] == 100
    assert summary["server_cpu_ms_per_move"] > 0 and summary["rtt_p50_ms"] > 0


def test_hammer_bench_measures_both_pages_while_one_visitor_hammers(tmp_path):
    """bench/hammer.py, shortened: one tab hammers fresh 4D slice maps while a second visitor opens pages;
    every open succeeds (the gate lets the second visitor in) and the figures land in the JSON."""
    import hammer  # noqa: E402  (bench/hammer.py)
    from concurrent.futures import ThreadPoolExecutor

    args = ["--tabs", "2", "--probes", "1", "--warmup", "1", "--settings", "on", "--json", str(tmp_path / "h.json")]
    with ThreadPoolExecutor(1) as pool:
        result = pool.submit(hammer.main, args).result()
    on = result["results"]["on"]
    for phase in ("quiet_s", "hammered_s"):
        assert all(v is not None and v > 0 for kind in ("light", "heavy") for v in on[phase][kind]), on
    assert on["hammer_opens_s"], "the hammering tabs opened no page"
    assert (tmp_path / "h.json").is_file()
