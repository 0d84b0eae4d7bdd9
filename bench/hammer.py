"""One visitor hammers the server with heavy requests; how long does another visitor's page take to open?

    python bench/hammer.py [--tabs 4] [--probes 3] [--json bench/results/hammer.json]

For each setting (the heavy-work gate on, as GenLab runs, and off: GENLAB_HEAVY_GATE=off, every request
computes at once) the bench starts a server (one torch thread, as the hosted demo) and, with the light
websocket clients of bench/load.py:

1. a second visitor opens pages `--probes` times, one after the other (time to the end of the first full
   run): the Latent Explorer on the 3D GAN (its maps on disk: a light page) and on the 4D GAN at a fresh
   z4 (a new class-area map: a heavy page), on a quiet server;
2. the hammering visitor opens `--tabs` tabs (one genlab_visitor cookie), each opening the 4D GAN's
   Explorer at a fresh random z4 again and again: every open needs a new 100 x 100 class-area map of the
   slice under the pad (seconds of CPU) - what rapid z4 changes and link after link do;
3. while it hammers, the second visitor opens the same pages again.

The target (issue 14): the second visitor's page load under the hammer at most 2x the quiet one. Prints a
table and writes JSON.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from load_client import Client  # noqa: E402  (bench/load_client.py)
from load_server import cpu_seconds, listening_pid  # noqa: E402  (bench/load_server.py)
from timing import machine_load, print_rows  # noqa: E402

HAMMER_VISITOR = "a" * 32                    # one visitor's cookie in every hammering tab


async def timed_open(base: str, query: str, visitor: str = "", timeout: float = 120.0) -> float | None:
    """Seconds from the page's GET to its first full run's end, or None (an error or a timeout)."""
    client = Client(base, query, -1, visitor=visitor)
    try:
        await asyncio.wait_for(client.open(), timeout)
    except asyncio.TimeoutError:
        client.open_seconds = None
    errors = sum(client.errors.values())
    await client.close()
    return None if errors else client.open_seconds


async def probes(base: str, args, rng: random.Random) -> dict:
    """The second visitor's opens: a light page (its maps on disk) and a heavy one (a fresh 4D slice map)."""
    light = urllib.parse.urlencode({"model": args.probe_model})
    out = {"light": [], "heavy": []}
    for _ in range(args.probes):
        out["light"].append(await timed_open(base, light))
        heavy = urllib.parse.urlencode({"model": args.hammer_model, "z": f"0,0,0,{rng.uniform(-0.95, 0.95):.4f}"})
        out["heavy"].append(await timed_open(base, heavy))
    return out


async def measure(base: str, args) -> dict:
    rng = random.Random(1000)
    await timed_open(base, urllib.parse.urlencode({"model": args.probe_model}))   # the first open: models loaded
    await timed_open(base, urllib.parse.urlencode({"model": args.hammer_model}))
    quiet = await probes(base, args, rng)
    stop, hammer_opens = asyncio.Event(), []

    async def tab(i: int) -> None:
        rng = random.Random(i)
        while not stop.is_set():
            w = rng.uniform(-0.95, 0.95)
            query = urllib.parse.urlencode({"model": args.hammer_model, "z": f"0,0,0,{w:.4f}"})
            started = time.perf_counter()
            seconds = await timed_open(base, query, HAMMER_VISITOR, timeout=args.seconds_per_open)
            if not stop.is_set():
                hammer_opens.append(seconds if seconds is not None else time.perf_counter() - started)

    tabs = [asyncio.create_task(tab(i)) for i in range(args.tabs)]
    await asyncio.sleep(args.warmup)                       # let the hammer's maps pile up
    loaded = await probes(base, args, rng)
    stop.set()
    await asyncio.gather(*tabs, return_exceptions=True)
    return {"quiet_s": quiet, "hammered_s": loaded, "hammer_opens_s": [round(s, 2) for s in hammer_opens]}


async def run_setting(gate: str, args) -> dict:
    from tests.e2e.server import app_server

    with tempfile.TemporaryDirectory(prefix="genlab-hammer-") as tmp:
        env = {"GENLAB_CACHE_DIR": str(Path(tmp) / "cache"), "GENLAB_RUNS": str(Path(tmp) / "runs"),
               "GENLAB_SERVER_THREADS": "1", "GENLAB_HEAVY_GATE": gate}
        with app_server(Path(tmp) / "streamlit.log", timeout=180, env=env) as base:
            pid = listening_pid(int(base.rsplit(":", 1)[1]))
            cpu0 = cpu_seconds(pid)
            result = await measure(base, args)
            result["server_cpu_s"] = round(cpu_seconds(pid) - cpu0, 2)
            return result


def _median(values) -> float:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else float("nan")


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tabs", type=int, default=4, help="the hammering visitor's tabs")
    parser.add_argument("--probes", type=int, default=3, help="the second visitor's page opens per phase")
    parser.add_argument("--warmup", type=float, default=4.0, help="seconds of hammering before the probes")
    parser.add_argument("--seconds-per-open", type=float, default=60.0, help="a hammering open's timeout")
    parser.add_argument("--probe-model", default="gan_3d.safetensors")
    parser.add_argument("--hammer-model", default="gan_4d.safetensors")
    parser.add_argument("--settings", default="on,off", help="gate settings to measure, in order")
    parser.add_argument("--json", default=str(ROOT / "bench" / "results" / "hammer.json"))
    args = parser.parse_args(argv)
    machine = machine_load()
    print(f"{machine['cpu']}, {machine['cores']} cores, load average {machine['load_average'][0]:.2f} at start"
          + (": the machine is busy with other work" if machine["busy"] else ""))
    results, rows = {}, []
    for gate in args.settings.split(","):
        r = asyncio.run(run_setting(gate, args))
        results[gate] = r
        name = "gate on" if gate == "on" else "gate off"
        for kind, page in (("light", f"{args.probe_model} (maps on disk)"),
                           ("heavy", f"{args.hammer_model} at a fresh z4 (a new map)")):
            quiet, loaded = _median(r["quiet_s"][kind]), _median(r["hammered_s"][kind])
            r[f"{kind}_ratio"] = round(loaded / quiet, 2)
            rows += [(f"{name}: second visitor opens {page}, quiet", quiet, "s", f"p50 of {args.probes}"),
                     (f"{name}: the same while one visitor hammers", loaded, "s",
                      f"p50 of {args.probes}; {loaded / quiet:.2f}x quiet (target <= 2x)")]
        rows.append((f"{name}: the hammering tabs' opens", _median(r["hammer_opens_s"]), "s",
                     f"p50 of {len(r['hammer_opens_s'])} ({args.tabs} tabs, a fresh 4D slice map each)"))
    print_rows(rows)
    out = {"machine": machine, "measured": time.strftime("%Y-%m-%d %H:%M"),
           "settings": {k: v for k, v in vars(args).items() if k != "json"}, "results": results,
           "rows": [{"measure": n, "value": round(v, 3), "unit": u, "note": note} for n, v, u, note in rows]}
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(out, indent=1))
    print(f"wrote {args.json}")
    return out


if __name__ == "__main__":
    main()
