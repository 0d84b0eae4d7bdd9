"""The timing loop the benchmark scripts share: a warm-up call, then wall-clock times of repeated calls."""
from __future__ import annotations

import statistics
import time


def times(fn, repeat: int) -> list[float]:
    """Seconds taken by each of `repeat` calls of fn(), after one warm-up call."""
    fn()
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def median_p95_ms(fn, repeat: int) -> tuple[float, float]:
    """Median and 95th percentile of `repeat` calls, in milliseconds."""
    measured = sorted(times(fn, repeat))
    return statistics.median(measured) * 1e3, measured[int(0.95 * (len(measured) - 1))] * 1e3


def percentile(values, q: float) -> float:
    """The q-th quantile (0..1) of `values` by the benches' convention (sorted[int(q * (n - 1))]); nan if empty."""
    ordered = sorted(values)
    return ordered[int(q * (len(ordered) - 1))] if ordered else float("nan")


def cpu_kind() -> str:
    """The CPU's name (from /proc/cpuinfo) and whether it has native bfloat16 (AVX-512 BF16 / AMX)."""
    import platform
    from pathlib import Path

    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or platform.machine()
    name = next((line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("model name")), "?")
    flags = next((line.split(":", 1)[1].split() for line in info.splitlines() if line.startswith("flags")), [])
    native = [f for f in ("avx512_bf16", "amx_bf16") if f in flags]
    return f"{name} ({', '.join(native) if native else 'no native bfloat16'})"


def machine_load() -> dict:
    """The machine as a result should record it: CPU kind, cores, and the load average (1, 5, 15 min) now,
    which says whether something else was running (a load near or above the core count: busy)."""
    import os

    cores = os.cpu_count() or 1
    load = os.getloadavg()
    return {"cpu": cpu_kind(), "cores": cores, "load_average": [round(v, 2) for v in load],
            "busy": load[0] >= 0.5 * cores}


def print_rows(rows: list[tuple]) -> None:
    """Print (measure, value, unit, note) rows as the benches' table (bench_explorer.py's layout)."""
    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}}  {'value':>9}  unit  note")
    for name, value, unit, note in rows:
        print(f"{name:<{width}}  {value:>9.2f}  {unit:<4}  {note}")
