"""The Train page's presets, and the rows of its "Compare runs" table. Plain values, no interface."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from statistics import mean

from ..catalog import describe
from ..checkpoints import CheckpointError, read_metadata
from ..metrics import generator_verdict
from ..models import build_model, network_parameter_counts
from ..models.layers import ACTIVATIONS
from .jobs import Job


ACTIVATION_LABELS = {"relu": "ReLU", "leaky_relu": "LeakyReLU (0.3)", "prelu": "PReLU", "elu": "ELU"}


@dataclass(frozen=True)
class Preset:
    title: str
    help: str
    train: dict                                   # TrainConfig fields the form starts from
    monitor: dict = field(default_factory=dict)   # MonitorConfig fields
    activations: tuple[str, ...] = ()             # several: one run per activation, same everything else


PRESETS = {
    # a 2D VAE's samples drop the 4 (and often the 5 and 6) at this length: N(0, I) on a plane gives a digit
    # squeezed between others almost no area; 16 dimensions give every digit room (tests/test_training.py)
    "quick": Preset("Quick demo: VAE with a 16D latent (about 1 minute)",
                    "A VAE learns the embedded digits fast: blurry strokes after the first epoch, all ten digits "
                    "(still soft, as a VAE's are) by the end. The map shows the plane z1, z2 of its 16 dimensions.",
                    {"kind": "vae", "model": {"latent_dim": 16}, "epochs": 10, "batch_size": 32}),
    "gan2d": Preset("GAN with a 2D latent, the thesis' model (5 to 8 minutes)",
                    "The thesis' DCGAN (its architecture unchanged) on the embedded digits: noise first, then "
                    "strokes, then all ten digits. Two helpers get it there in 20 epochs instead of the thesis' "
                    "thousands: the class-reconstruction regulariser (every digit keeps a region of the plane) and "
                    "a moving average of the generator. Set the regulariser to none for the thesis' plain GAN, "
                    "which at this length usually drops digits.",
                    {"kind": "gan", "model": {"latent_dim": 2, "activation": "leaky_relu"}, "epochs": 20,
                     "batch_size": 64, "lr": 2e-4, "regularizer": "class-reconstruction", "reg_weight": 100.0,
                     "ema": 0.99}),
    "activations": Preset("Activation-function experiment (4 GANs)",
                          "The thesis' experiment: the same 2D GAN, seed and data with ReLU, LeakyReLU, PReLU and "
                          "ELU, one after the other, scored the same way; compare them under Compare runs.",
                          {"kind": "gan", "model": {"latent_dim": 2}, "epochs": 4, "batch_size": 64},
                          activations=("relu", "leaky_relu", "prelu", "elu")),
    "musegan": Preset("MuseGAN on Bach chorales, demo size (10 to 15 minutes)",
                      "The book's MuseGAN (a WGAN-GP with chords, style, melody and groove inputs) at a quarter of "
                      "its width, on 1,024 two-bar phrases of the chorales moved to C major or A minor. After each "
                      "epoch: two phrases from the same latent points, and the share of steps whose four voices "
                      "form a triad or seventh chord (real chorales: about 88%). The shipped model (1024 wide, 38 "
                      "epochs) trained from the command line. The finished model plays on the Music page.",
                      {"kind": "musegan", "model": {"hidden": 256, "same_key": True}, "dataset": "chorales",
                       "epochs": 10, "batch_size": 32, "lr": 2e-4, "critic_lr": 5e-4, "critic_steps": 3,
                       "ema": 0.995, "limit": 1024}),
    "melody": Preset("Melody LSTM with attention on chorale melodies (a few minutes)",
                     "The book's melody model (two LSTMs and attention over the last 32 notes), half as wide, on "
                     "5,000 windows of the chorales' soprano lines. After each epoch: how often it names the next "
                     "pitch of the held-out tunes. The finished model writes melodies on the Melody page.",
                     {"kind": "melody", "model": {"hidden": 128}, "dataset": "chorales", "epochs": 5,
                      "batch_size": 64, "lr": 1e-3, "limit": 5000}),
    "classifier": Preset("Weak classifier (under a minute)", "The tiny classifier that scores samples during training.",
                         {"kind": "classifier", "model": {"size": "weak"}, "epochs": 3, "batch_size": 128}),
    "custom": Preset("Custom", "Every setting yours.", {"kind": "gan", "model": {"latent_dim": 2}, "epochs": 10}),
}
assert all(a in ACTIVATIONS for p in PRESETS.values() for a in p.activations)


@lru_cache(maxsize=64)
def _parameter_counts(kind: str, config_json: str) -> dict:
    """Parameter counts per network of a model config (built once per config, not per page run)."""
    return network_parameter_counts(build_model(kind, json.loads(config_json)))


def compare_rows(jobs: list[Job]) -> list[dict]:
    """One row per finished run (done, or stopped after at least one epoch) with its settings, time per
    epoch, parameter counts and final scores from the strong classifier."""
    rows = []
    for job in jobs:
        if job.state not in ("done", "stopped"):
            continue
        try:
            meta = read_metadata(job.checkpoint)
        except CheckpointError:
            continue
        cfg, train, history, metrics = meta["config"], meta["train"], meta["history"], meta["metrics"]
        counts = _parameter_counts(meta["kind"], json.dumps(cfg, sort_keys=True))
        changes = [c for c in history.get("monitor", {}).get("map_change", []) if c is not None]
        gan = meta["kind"] in ("gan", "cgan")
        rows.append({
            "run": job.name, "group": job.spec.get("group", ""), "state": job.state, "model": describe(meta),
            "activation": cfg.get("activation", "-"), "loss": train.get("loss", "-") if gan else "-",
            "optimizer": train.get("optimizer", "adam"), "lr": train.get("lr"),
            "discriminator_lr": train.get("critic_lr") if gan else None, "epochs": history["epochs"],
            "seconds_per_epoch": round(mean(history["seconds"]), 1) if history.get("seconds") else None,
            "machine_load": f"{mean(history['load']):.0%}" if history.get("load") else None,
            "parameters": ", ".join(f"{name} {c['trainable']:,}" for name, c in counts.items()),
            "fid": metrics.get("fid"), "classes": metrics.get("classes_covered"),
            "verdict": generator_verdict(metrics)[0] if "commonest_class_fraction" in metrics else None,
            "unsure": metrics.get("unsure_share"), "confidence": metrics.get("mean_top_probability"),
            "reconstruction_mse": metrics.get("test_reconstruction_mse"),
            "test_accuracy": metrics.get("test_accuracy"),
            "last_map_change": round(changes[-1], 4) if changes else None,
        })
    return rows


ALWAYS_SHOWN = ("run", "state", "fid", "classes", "verdict", "unsure", "test_accuracy", "reconstruction_mse",
                "seconds_per_epoch")


def split_shared(rows: list[dict]) -> tuple[list[dict], dict]:
    """(rows with only the columns that differ between runs, plus the scores always shown; {column: value}
    of the settings every run shares): a comparison table that fits a laptop's width says once what all runs
    have in common. Empty columns are dropped."""
    keys = [k for k in (rows[0] if rows else {}) if k != "group"]
    present = [k for k in keys if any(r.get(k) not in (None, "-") for r in rows)]
    shared = {k: rows[0][k] for k in present
              if len(rows) > 1 and k not in ALWAYS_SHOWN and all(r.get(k) == rows[0][k] for r in rows)}
    return [{k: r.get(k) for k in present if k not in shared} for r in rows], shared
