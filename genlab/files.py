"""Atomic file writes: a temporary file in the same folder, then `os.replace`, so a crash or a
killed process never leaves a half-written checkpoint, map or job record behind."""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path


def atomic_write(path: str | os.PathLike, data: bytes, sync: bool = True) -> Path:
    """Write `data` to `path` (folders created) so that readers see the old file or the new one, never a part.

    Args:
        sync: fsync before the rename (checkpoints); small, often rewritten records may skip it.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; these files are readable like any other
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            if sync:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def cache_root() -> Path:
    """Where GenLab keeps what it computes for itself: $GENLAB_CACHE_DIR, else ~/.cache/genlab."""
    return Path(os.environ.get("GENLAB_CACHE_DIR") or Path.home() / ".cache" / "genlab")


def write_json(path: str | os.PathLike, value, sync: bool = False) -> Path:
    """`value` as JSON, atomically."""
    return atomic_write(path, json.dumps(value, indent=1, allow_nan=False).encode(), sync=sync)


def read_json(path: str | os.PathLike, default=None):
    """The JSON value in `path`, or `default` when the file is missing or not valid JSON."""
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return default


def file_stamp(path: str | os.PathLike) -> tuple[int, int]:
    """(size, modification time in ns): a cache key part that changes when the file is rewritten."""
    stat = os.stat(path)
    return stat.st_size, stat.st_mtime_ns


def save_arrays(path: str | os.PathLike, record) -> Path:
    """A dataclass of numpy arrays as a compressed .npz (no pickled objects: strings as unicode arrays),
    written atomically."""
    import dataclasses
    import io

    import numpy as np

    buffer = io.BytesIO()
    arrays = {f.name: getattr(record, f.name) for f in dataclasses.fields(record)}
    np.savez_compressed(buffer, **{k: v.astype("U") if v.dtype.kind in "OSU" else v for k, v in arrays.items()})
    return atomic_write(path, buffer.getvalue())


def load_arrays(path: str | os.PathLike, cls, rebuild: str):
    """The dataclass `cls` read back from `save_arrays`' file, its arrays read-only (never unpickled);
    `rebuild`: the command that makes a missing file."""
    import dataclasses

    import numpy as np

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no cache at {path}; build it with {rebuild}")
    with np.load(path, allow_pickle=False) as npz:
        arrays = {f.name: npz[f.name] for f in dataclasses.fields(cls)}
    for value in arrays.values():
        value.setflags(write=False)
    return cls(**arrays)
