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
