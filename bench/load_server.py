"""The server under load, seen from outside: its processes' CPU seconds and memory from /proc, and the
process listening on a port."""
from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))




# ---------------------------------------------------------------------------------------------------
# The server


def cpu_seconds(pid: int | tuple) -> float:
    """utime + stime of a process so far (all its threads), from /proc/PID/stat; summed over several."""
    if isinstance(pid, tuple):
        return sum(cpu_seconds(p) for p in pid)
    fields_ = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields_[11]) + int(fields_[12])) / os.sysconf("SC_CLK_TCK")


def with_workers(pid: int | tuple) -> tuple:
    """The server process(es) and their live-route workers (genlab/api.py: children started by
    multiprocessing), whose CPU and memory are the server's too; not a training worker, which is counted
    apart."""
    roots = pid if isinstance(pid, tuple) else (pid,)
    children: dict[int, list[int]] = {}
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                ppid = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(proc.name))
    found, todo = list(roots), list(roots)
    while todo:
        for child in children.get(todo.pop(), []):
            try:
                cmdline = (Path("/proc") / str(child) / "cmdline").read_bytes()
            except OSError:
                continue
            if b"multiprocessing" in cmdline:
                found.append(child)
                todo.append(child)
    return tuple(found)


def rss_mb(pid: int | tuple) -> float:
    if isinstance(pid, tuple):
        return sum(rss_mb(p) for p in pid)
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def listening_pid(port: int) -> int | None:
    """The process listening on a local TCP port (via /proc/net/tcp* and /proc/*/fd), or None."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            cols = row.split()
            if cols[3] == "0A" and int(cols[1].rsplit(":", 1)[1], 16) == port:   # 0A: LISTEN
                inodes.add(cols[9])
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            for fd in (proc / "fd").iterdir():
                target = os.readlink(fd)
                if target.startswith("socket:[") and target[8:-1] in inodes:
                    return int(proc.name)
        except OSError:
            continue
    return None
