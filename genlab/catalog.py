"""The catalog of checkpoints in a folder: one plain summary per model, for listings."""
from __future__ import annotations

import os
from pathlib import Path

from .checkpoints import Checkpoint, CheckpointError, find_checkpoints, read_metadata
from .models import network_parameter_counts

KIND_TITLES = {
    "gan": "GAN", "cgan": "Conditional GAN", "ae": "Autoencoder", "vae": "VAE", "classifier": "Classifier",
    "musegan": "MuseGAN",
}
DEFAULT_FOLDER = Path(__file__).resolve().parent.parent / "checkpoints"


def checkpoint_folder() -> Path:
    """$GENLAB_CHECKPOINTS, else the project's checkpoints/ folder."""
    return Path(os.environ.get("GENLAB_CHECKPOINTS", DEFAULT_FOLDER))


def describe(meta: dict) -> str:
    """A short title such as "GAN, 2D latent", "Classifier (strong)" or "MuseGAN, 4 voices x 2 bars"."""
    cfg, title = meta["config"], KIND_TITLES[meta["kind"]]
    if meta["kind"] == "musegan":
        return f"{title}, {cfg.get('n_tracks', 4)} voices x {cfg.get('n_bars', 2)} bars"
    if "latent_dim" in cfg:
        return f"{title}, {cfg['latent_dim']}D latent"
    return f"{title} ({cfg.get('size', '')})" if cfg.get("size") else title


def list_models(folder: str | os.PathLike | None = None) -> tuple[list[dict], list[str]]:
    """Summaries of the valid checkpoints in `folder`, and one message per file that failed validation."""
    rows, problems = [], []
    for path in find_checkpoints(folder or checkpoint_folder()):
        try:
            meta = read_metadata(path)
        except CheckpointError as err:
            problems.append(str(err))
            continue
        rows.append({
            "file": path.name, "path": str(path), "model": describe(meta), "kind": meta["kind"],
            "dataset": meta["dataset"], "epochs": meta["history"]["epochs"], "metrics": meta["metrics"],
            "created": meta["created"],
        })
    return rows, problems


def checkpoint_info(ckpt: Checkpoint) -> dict:
    """Everything `python -m genlab info` shows, as plain JSON-ready values."""
    return {
        "path": str(ckpt.path),
        "kind": ckpt.kind,
        "config": ckpt.config,
        "dataset": ckpt.dataset,
        "epochs": ckpt.epochs,
        "parameters": network_parameter_counts(ckpt.model),
        "metrics": ckpt.metrics,
        "final_losses": {k: v[-1] for k, v in ckpt.history.get("losses", {}).items() if v},
        "created": ckpt.created,
    }
