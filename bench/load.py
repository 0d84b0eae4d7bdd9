"""Load on one GenLab server: N light clients that speak Streamlit's own websocket protocol (no browser)
open the Latent Explorer and drag its latent pad; round trips, errors, throughput, and the server's CPU
and memory per session and per move.

    python bench/load.py [--sessions 20] [--rate 5] [--seconds 30] [--url URL [--pid PID]]
                         [--train [--train-jobs N] [--backend local|ray]] [--via-reruns] [--after-finish] [--profile server.speedscope.json]
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
epoch time idle (before the sessions open) against under load. --train-jobs N trains N at once, and
--backend ray runs them through Ray (issue 30): a local two-node cluster (a head with 0 CPUs, a worker node
with N CPUs) unless --ray-address names a running one; the same command with --backend local is the
comparison.

Prints a table (with the CPU and the load average at start: other work on the machine shows there) and
writes JSON.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


from timing import machine_load, print_rows  # noqa: E402  (bench/timing.py)
from load_report import _r, summarize  # noqa: E402  (bench/load_report.py: the table)
from load_scenarios import bench  # noqa: E402  (bench/load_scenarios.py: what the visitors do)
from load_server import listening_pid  # noqa: E402  (bench/load_server.py)


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
    parser.add_argument("--train-jobs", type=int, default=1, help="with --train: this many jobs at once")
    parser.add_argument("--backend", default="local", choices=("local", "ray"),
                        help="with --train: where the jobs' workers run: local processes, or Ray (a local two-node "
                             "cluster: a head with 0 CPUs and a worker node with --train-jobs CPUs, unless "
                             "--ray-address names a running one)")
    parser.add_argument("--ray-address", help="with --backend ray: a running cluster's dashboard (http://HEAD:8265)")
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
        backend = None
        if args.train:
            from genlab.training.backends import LocalBackend, RayBackend

            backend = LocalBackend()
            if args.backend == "ray":
                address = args.ray_address
                if not address:
                    from genlab.training.ray_local import local_cluster

                    address = stack.enter_context(local_cluster(worker_cpus=max(1, args.train_jobs))).url
                backend = RayBackend(address, max_jobs=max(1, args.train_jobs), cpus=1)
        raw = asyncio.run(bench(args, base, pid, runs, backend))
    rows, head = summarize(args, raw)
    if not args.quiet:
        print_rows(rows)
    result = {"machine": machine, "measured": time.strftime("%Y-%m-%d %H:%M"), "server_pid": pid,
              "settings": {"sessions": args.sessions, "rate": args.rate, "seconds": args.seconds, "model": args.model,
                           "after_finish": args.after_finish, "server_threads": args.server_threads,
                           "via_reruns": args.via_reruns,
                           "url": args.url or "started by the bench", "train": args.train,
                           "train_jobs": args.train_jobs if args.train else 0,
                           "backend": args.backend if args.train else None},
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
