"""Follow me under load (issue 29): a teacher drags on a class's point and N students follow it.

Starts `streamlit run app.py` (its own runs folder), starts a class, and runs one teacher and N followers as
plain HTTP clients doing what the pads do (genlab/ui/latent_pad.js): the teacher asks the point route with the
class' code and token for each move (10 moves a second); each follower polls the class route every 200 ms and,
when the teacher's live point is newer than its own, asks the point route for that point's image. The delay of a
follow is from the teacher's move (sent) to the follower's image (received). Also: the server's CPU seconds per
second of the run (its process and its children, from /proc), per follower; and a follower's attempt to drive the
class (a point with a wrong token) must be refused.

    python bench/follow.py [--followers 30] [--seconds 20] [--json bench/results/follow.json]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.timing import cpu_kind, percentile  # noqa: E402
from tests.e2e.server import app_server  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def server_cpu(port: int) -> float:
    """CPU seconds so far of the Streamlit server listening on `port` and its children."""
    total = 0.0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes().split(b"\0")
            if b"streamlit" in b" ".join(cmd) and str(port).encode() in cmd:
                fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
                total += sum(int(v) for v in fields[11:15]) / TICK      # utime, stime, cutime, cstime
        except OSError:
            continue
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--followers", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--json", default=str(ROOT / "bench/results/follow.json"))
    args = parser.parse_args()

    runs = tempfile.mkdtemp(prefix="genlab-follow-")
    os.environ["GENLAB_RUNS"] = runs
    from genlab.lessons import classroom

    with tempfile.TemporaryDirectory() as logs, app_server(Path(logs) / "server.log", env={"GENLAB_RUNS": runs}) as url:
        port = int(url.rsplit(":", 1)[1])
        code, token = classroom.start_class()
        model = "gan_2d.safetensors"
        get(f"{url}/genlab/api/point?model={model}&z=0,0")              # the model loaded
        sent: dict[int, float] = {}                                       # live seq -> when the teacher sent it
        delays: list[float] = []
        errors: list[str] = []
        stop = threading.Event()
        lock = threading.Lock()

        def teacher():
            k = 0
            while not stop.is_set():
                k += 1
                x, y = 0.9 * __import__("math").cos(k / 15), 0.9 * __import__("math").sin(k / 10)
                started = time.time()
                status, _ = get(f"{url}/genlab/api/point?model={model}&z={x:.4f},{y:.4f}&class={code}&token={token}")
                if status != 200:
                    errors.append(f"teacher {status}")
                live = classroom.live(code)
                with lock:
                    sent.setdefault(live["seq"], started)
                time.sleep(max(0.0, 0.1 - (time.time() - started)))

        def follower(i: int):
            seen = 0
            while not stop.is_set():
                polled = time.time()
                status, body = get(f"{url}/genlab/api/class?code={code}")
                if status == 200:
                    state = json.loads(body)
                    live = state.get("live") or {}
                    if live.get("seq", 0) > seen:
                        seen = live["seq"]
                        z = ",".join(f"{v:.4f}" for v in live["z"])
                        status, _ = get(f"{url}/genlab/api/point?model={model}&z={z}")
                        if status == 200:
                            with lock:
                                if seen in sent:
                                    delays.append(time.time() - sent[seen])
                        else:
                            errors.append(f"follower point {status}")
                else:
                    errors.append(f"class {status}")
                time.sleep(max(0.0, 0.2 - (time.time() - polled)))

        threads = [threading.Thread(target=teacher)] + [threading.Thread(target=follower, args=(i,))
                                                         for i in range(args.followers)]
        cpu0, t0 = server_cpu(port), time.time()
        for t in threads:
            t.start()
        time.sleep(args.seconds)
        stop.set()
        for t in threads:
            t.join()
        cpu, wall = server_cpu(port) - cpu0, time.time() - t0
        refused, body = get(f"{url}/genlab/api/point?model={model}&z=0.5,0.5&class={code}&token=not-the-teacher")
        moves = len(sent)

    result = {
        "date": time.strftime("%Y-%m-%d"), "cpu": cpu_kind(), "cores": os.cpu_count(), "followers": args.followers,
        "seconds": round(wall, 1), "teacher_moves": moves, "follows": len(delays),
        "delay_ms": {"median": round(percentile(delays, 0.5) * 1e3), "p95": round(percentile(delays, 0.95) * 1e3),
                     "max": round(max(delays) * 1e3) if delays else None},
        "server_cpu_per_second": round(cpu / wall, 3),
        "server_cpu_per_follower_per_second": round(cpu / wall / max(args.followers, 1), 4),
        "errors": len(errors), "a_follower_driving_is_refused": refused == 403,
        "command": "python bench/follow.py --followers %d --seconds %g" % (args.followers, args.seconds),
    }
    print("| followers | teacher moves | follows | delay median | delay p95 | max | server CPU (cores) | per follower |"
          " errors | follower refused |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    d = result["delay_ms"]
    print(f"| {args.followers} | {moves} | {len(delays)} | {d['median']} ms | {d['p95']} ms | {d['max']} ms | "
          f"{result['server_cpu_per_second']:.2f} | {result['server_cpu_per_follower_per_second']:.3f} | "
          f"{len(errors)} | {'yes (403)' if refused == 403 else f'NO ({refused})'} |")
    Path(args.json).write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
