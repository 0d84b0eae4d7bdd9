"""Checkpoints: weights in one safetensors file, GenLab's metadata as JSON inside its header.

A checkpoint carries everything needed to rebuild its model (kind + architecture config), so
loading is `build_model(kind, config)` followed by a strict, shape-checked weight copy. Nothing
is ever unpickled. Writes go to a temporary file in the same folder, then `os.replace`, so a
crash never leaves a half-written checkpoint.

Metadata (format_version 1):
  kind        one of genlab.models.MODELS
  config      the model config dataclass as a dict
  dataset     the name of the training dataset
  history     {"epochs": int, "losses": {name: [one value per epoch]}, "seconds": [per epoch]}; a loss that a
              resumed run added (e.g. a new regulariser term) holds values for the last epochs only
  metrics     {name: number, string or list of numbers}
  created     ISO 8601 UTC time of writing
  storage     "float32" or "float16" (float16 weights are restored to float32 on load)
  train       the training config as a dict (optional)
  optimizers  {name: param_groups} when optimiser state is stored (for resuming)

Tensors named "optimizer.<name>.<index>.<slot>" hold optimiser state, and "state.<name>.<key>" the
weights of training-only networks (a GAN's raw generator beside its stored moving average, the
reconstruction regulariser's encoder): both only for resuming, both absent from shipped checkpoints.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save as safetensors_save

from .files import atomic_write
from .models import MODELS, build_model

FORMAT_VERSION = 1
SUFFIX = ".safetensors"
MAX_HEADER_BYTES = 64 * 1024 * 1024
# Bounds on GenLab's metadata (a hostile or damaged file must not hang a page or a visitor's browser).
MAX_DEPTH = 8                 # objects and lists nested inside each other
MAX_STRING = 2000             # characters in any string
MAX_KEY = 200                 # characters in any object key
MAX_ITEMS = 100_000           # entries in any list or object (per-epoch histories are the longest)
MAX_NUMBER = 1e15             # magnitude of any number
STORAGES = ("float32", "float16")
_OPTIMIZER_PREFIX = "optimizer."
_STATE_PREFIX = "state."


class CheckpointError(ValueError):
    """A file is not a valid GenLab checkpoint; the message says why."""


@dataclass
class Checkpoint:
    model: torch.nn.Module               # in eval mode, float32, on the CPU
    kind: str
    config: dict
    dataset: str
    history: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    created: str = ""
    train: dict = field(default_factory=dict)
    optimizers: dict = field(default_factory=dict)   # name -> optimizer state_dict, empty if not stored
    training_state: dict = field(default_factory=dict)  # name -> state_dict of a training-only network
    path: Path | None = None

    @property
    def epochs(self) -> int:
        return int(self.history.get("epochs", 0))


def empty_history() -> dict:
    return {"epochs": 0, "losses": {}, "seconds": []}


def _flatten_optimizer(name: str, state: dict) -> tuple[dict, list]:
    tensors = {}
    for index, values in state["state"].items():
        for key, value in values.items():
            value = torch.as_tensor(value)
            tensors[f"{_OPTIMIZER_PREFIX}{name}.{index}.{key}"] = value.detach().cpu().contiguous()
    return tensors, state["param_groups"]


def _unflatten_optimizers(tensors: dict, param_groups: dict) -> dict:
    states = {name: {"state": {}, "param_groups": groups} for name, groups in param_groups.items()}
    for key, value in tensors.items():
        name, index, slot = key[len(_OPTIMIZER_PREFIX):].split(".", 2)
        if name not in states:
            raise CheckpointError(f"optimizer tensor {key!r} has no optimizer entry in the metadata")
        states[name]["state"].setdefault(int(index), {})[slot] = value
    return states


def save_checkpoint(path: str | os.PathLike, model: torch.nn.Module, dataset: str, history: dict | None = None,
                    metrics: dict | None = None, train: dict | None = None, optimizers: dict | None = None,
                    storage: str = "float32", training_state: dict | None = None) -> Path:
    """Write `model` and its metadata atomically to `path` (".safetensors" is added if missing).

    Args:
        model: a model from genlab.models (its `kind` and `config` are stored).
        optimizers: {name: torch.optim.Optimizer or its state_dict} to store for resuming (omitted when None).
        training_state: {name: nn.Module or its state_dict} of training-only networks, stored (float32) for
            resuming (omitted when None).
        storage: "float16" halves the file; floating weights are restored to float32 on load.
    Returns:
        The path written.
    """
    if storage not in STORAGES:
        raise ValueError(f"storage must be one of {STORAGES}, got {storage!r}")
    path = Path(path)
    if path.suffix != SUFFIX:
        path = path.with_name(path.name + SUFFIX)
    tensors = {}
    for key, value in model.state_dict().items():
        value = value.detach().cpu()
        if storage == "float16" and value.is_floating_point():
            value = value.half()
        tensors[key] = value.contiguous()
    for name, module in (training_state or {}).items():
        state = module.state_dict() if hasattr(module, "state_dict") else module
        for key, value in state.items():
            tensors[f"{_STATE_PREFIX}{name}.{key}"] = value.detach().cpu().contiguous()
    groups = {}
    for name, optimizer in (optimizers or {}).items():
        state = optimizer.state_dict() if hasattr(optimizer, "state_dict") else optimizer
        flat, groups[name] = _flatten_optimizer(name, state)
        tensors.update(flat)
    meta = {
        "format_version": FORMAT_VERSION,
        "kind": model.kind,
        "config": asdict(model.config),
        "dataset": dataset,
        "history": history or empty_history(),
        "metrics": metrics or {},
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "storage": storage,
        "train": train or {},
    }
    if groups:
        meta["optimizers"] = groups
    data = safetensors_save(tensors, metadata={"genlab": json.dumps(meta, allow_nan=False)})
    atomic_write(path, data)
    return path


def _check_location(path: Path) -> None:
    """Refuse a symbolic link that leads out of its folder (a models folder must not open system files)."""
    if path.is_symlink():
        try:
            inside = path.resolve().parent == path.parent.resolve()
        except (OSError, RuntimeError):   # a loop of links
            inside = False
        if not inside:
            raise CheckpointError(f"{path.name} is a link to a file outside its folder; such links are refused")


def _looks_like_pickle(head: bytes, tail: bytes) -> bool:
    """Pickles of every protocol end with the STOP opcode '.'; protocol 2+ start with 0x80, protocols 0 and 1
    with an opcode such as '(' (mark), 'c' (global), ']' / '}' (empty list / dict) or 'K' / 'I' (integers)."""
    return head[:1] == b"\x80" or (tail == b"." and head[:1] in b"(c]}KIJLSVFNXU")


def _check_header(path: Path) -> None:
    """Refuse early what is not a safetensors file: pickles and zip (.pt) files by name, short or truncated files."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        head, first = f.read(8), f.read(1)
        f.seek(max(0, size - 1))
        tail = f.read(1)
    header_len = int.from_bytes(head, "little") if len(head) == 8 else -1
    if 0 < header_len <= MAX_HEADER_BYTES and 8 + header_len <= size and first == b"{":
        return
    if _looks_like_pickle(head, tail) or head[:2] == b"PK":
        raise CheckpointError(f"{path.name} looks like a pickle / PyTorch .pt file; GenLab only loads "
                              "safetensors checkpoints (pickle can run arbitrary code), so it was refused")
    if size < 9:
        raise CheckpointError(f"{path.name} is too short to be a checkpoint ({size} bytes)")
    raise CheckpointError(f"{path.name} is truncated or not a safetensors file (its header does not fit the file)")


def _require(cond: bool, message: str) -> None:
    if not cond:
        raise CheckpointError(message)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _is_metric(value) -> bool:
    if isinstance(value, list):
        return all(_is_number(v) for v in value)
    return _is_number(value) or isinstance(value, str)


def _bounded(value, where: str, depth: int = 0) -> None:
    """Every string, list, object and number in the metadata within the bounds above (finite numbers only)."""
    _require(depth <= MAX_DEPTH, f"{where}: metadata nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, str):
        _require(len(value) <= MAX_STRING, f"{where}: a metadata string is longer than {MAX_STRING:,} characters")
    elif isinstance(value, bool) or value is None:
        pass
    elif isinstance(value, (int, float)):
        _require(math.isfinite(value) and abs(value) <= MAX_NUMBER,
                 f"{where}: metadata holds a number that is not finite or beyond {MAX_NUMBER:g}")
    elif isinstance(value, list):
        _require(len(value) <= MAX_ITEMS, f"{where}: a metadata list has more than {MAX_ITEMS:,} entries")
        for item in value:
            _bounded(item, where, depth + 1)
    elif isinstance(value, dict):
        _require(len(value) <= MAX_ITEMS, f"{where}: a metadata object has more than {MAX_ITEMS:,} keys")
        for key, item in value.items():
            _require(len(key) <= MAX_KEY, f"{where}: a metadata key is longer than {MAX_KEY} characters")
            _bounded(item, where, depth + 1)
    else:
        raise CheckpointError(f"{where}: metadata holds a value of an unknown type")


def _validate_meta(meta: dict, name: str) -> None:
    _require(isinstance(meta, dict), f"{name}: metadata is not an object")
    _bounded(meta, name)
    version = meta.get("format_version")
    _require(version == FORMAT_VERSION, f"{name}: unsupported format_version {version!r} (this GenLab reads {FORMAT_VERSION})")
    _require(meta.get("kind") in MODELS, f"{name}: unknown model kind {meta.get('kind')!r}; known: {', '.join(MODELS)}")
    _require(isinstance(meta.get("config"), dict), f"{name}: config must be an object")
    _require(isinstance(meta.get("dataset"), str) and meta["dataset"], f"{name}: dataset must be a non-empty string")
    _require(meta.get("storage") in STORAGES, f"{name}: storage must be one of {STORAGES}")
    history = meta.get("history")
    _require(isinstance(history, dict), f"{name}: history must be an object")
    epochs = history.get("epochs")
    _require(isinstance(epochs, int) and epochs >= 0, f"{name}: history.epochs must be a non-negative integer")
    losses = history.get("losses", {})
    _require(isinstance(losses, dict), f"{name}: history.losses must be an object")
    for loss, values in losses.items():
        _require(isinstance(values, list) and len(values) <= epochs
                 and all(isinstance(v, (int, float)) and math.isfinite(v) for v in values),
                 f"{name}: history.losses[{loss!r}] must hold one finite number per epoch ({epochs}) at most")
    metrics = meta.get("metrics")
    _require(isinstance(metrics, dict) and all(_is_metric(v) for v in metrics.values()),
             f"{name}: metrics must map names to finite numbers, strings or lists of finite numbers")
    _require(isinstance(meta.get("created"), str), f"{name}: created must be a time string")
    _require(isinstance(meta.get("train", {}), dict), f"{name}: train must be an object")
    _require(isinstance(meta.get("optimizers", {}), dict), f"{name}: optimizers must be an object")


def read_metadata(path: str | os.PathLike) -> dict:
    """The validated metadata of a checkpoint, without building its model."""
    path = Path(path)
    _check_location(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}")
    _check_header(path)
    try:
        with safe_open(str(path), framework="pt") as f:
            raw = (f.metadata() or {}).get("genlab")
    except (SafetensorError, OSError, ValueError) as err:
        raise CheckpointError(f"{path.name} is not a readable safetensors file: {err}") from None
    _require(raw is not None, f"{path.name} is a safetensors file without GenLab metadata")
    try:
        meta = json.loads(raw)
    except json.JSONDecodeError as err:
        raise CheckpointError(f"{path.name}: metadata is not valid JSON ({err.msg} at character {err.pos})") from None
    except (RecursionError, ValueError):   # nested thousands deep, or an integer of thousands of digits
        raise CheckpointError(f"{path.name}: metadata is not GenLab's (nested too deep or numbers too long)") from None
    _validate_meta(meta, path.name)
    return meta


def load_checkpoint(path: str | os.PathLike, device: str | torch.device = "cpu") -> Checkpoint:
    """Load and validate a checkpoint; the model comes back float32, in eval mode, on `device`.

    Raises:
        CheckpointError: the file is missing, not safetensors (e.g. a pickle), truncated, lacks or
            has invalid metadata, or its weights do not match the architecture its config describes.
    """
    path = Path(path)
    meta = read_metadata(path)
    try:
        model = build_model(meta["kind"], meta["config"])
    except ValueError as err:
        raise CheckpointError(f"{path.name}: {err}") from None
    expected = model.state_dict()
    weights, optimizer_tensors, training_state = {}, {}, {}
    try:
        with safe_open(str(path), framework="pt") as f:
            for key in f.keys():
                if key.startswith(_STATE_PREFIX):
                    name, _, inner = key[len(_STATE_PREFIX):].partition(".")
                    training_state.setdefault(name, {})[inner] = f.get_tensor(key)
                    continue
                target = optimizer_tensors if key.startswith(_OPTIMIZER_PREFIX) else weights
                target[key] = f.get_tensor(key)
    except (SafetensorError, OSError, ValueError, RuntimeError) as err:
        raise CheckpointError(f"{path.name}: its tensors cannot be read (truncated?): {err}") from None
    missing = sorted(set(expected) - set(weights))
    unexpected = sorted(set(weights) - set(expected))
    _require(not missing and not unexpected,
             f"{path.name}: weights do not match its {meta['kind']} config {meta['config']} "
             f"(missing {missing[:3]}{'...' if len(missing) > 3 else ''}, "
             f"unexpected {unexpected[:3]}{'...' if len(unexpected) > 3 else ''})")
    for key, value in expected.items():
        _require(weights[key].shape == value.shape,
                 f"{path.name}: {key} has shape {tuple(weights[key].shape)}, its config needs {tuple(value.shape)}")
        if value.is_floating_point():
            _require(bool(torch.isfinite(weights[key]).all()), f"{path.name}: {key} holds NaN or infinite values")
        weights[key] = weights[key].to(value.dtype)
    model.load_state_dict(weights)
    model.eval().to(device)
    optimizers = _unflatten_optimizers(optimizer_tensors, meta.get("optimizers", {})) if optimizer_tensors else {}
    return Checkpoint(model=model, kind=meta["kind"], config=meta["config"], dataset=meta["dataset"],
                      history=meta["history"], metrics=meta["metrics"], created=meta["created"],
                      train=meta.get("train", {}), optimizers=optimizers, training_state=training_state, path=path)


def content_hash(path: str | os.PathLike) -> str:
    """sha256 of the file's bytes: a key for caches derived from a checkpoint."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def model_hash(path: str | os.PathLike) -> str:
    """sha256 of what a checkpoint's model computes: its kind, config and tensors (names, dtypes, shapes and
    bytes), not its history, metrics or dates. A key for caches derived from the model (class-area maps),
    which stay valid when only the metadata is rewritten (e.g. `python -m genlab quality --write` storing
    new scores). Files that are not safetensors hash whole (`content_hash`)."""
    path = Path(path)
    try:
        _check_header(path)
    except CheckpointError:
        return content_hash(path)
    with open(path, "rb") as f:
        header_len = int.from_bytes(f.read(8), "little")
        try:
            header = json.loads(f.read(header_len))
        except ValueError:
            return content_hash(path)
        meta = header.pop("__metadata__", None) or {}
        try:
            genlab = json.loads(meta.get("genlab", "{}"))
        except ValueError:
            genlab = {}
        digest = hashlib.sha256(json.dumps({"kind": genlab.get("kind"), "config": genlab.get("config"),
                                            "tensors": header}, sort_keys=True).encode())
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def find_checkpoints(folder: str | os.PathLike) -> list[Path]:
    """The .safetensors files in `folder` (not recursive), sorted by name."""
    folder = Path(folder)
    return sorted(p for p in folder.glob(f"*{SUFFIX}") if p.is_file()) if folder.is_dir() else []


def update_metrics(path: str | os.PathLike, metrics: dict) -> Path:
    """Add `metrics` to a checkpoint's metrics (weights, history and optimiser state kept), atomically."""
    path = Path(path)
    meta = read_metadata(path)
    ckpt = load_checkpoint(path)
    return save_checkpoint(path, ckpt.model, ckpt.dataset, ckpt.history, {**ckpt.metrics, **metrics},
                           train=ckpt.train, optimizers=ckpt.optimizers or None, storage=meta["storage"],
                           training_state=ckpt.training_state or None)
