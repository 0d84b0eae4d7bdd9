"""Model families and their configs, in one plain registry keyed by checkpoint kind."""
from __future__ import annotations

from dataclasses import asdict, fields

import torch
from torch import nn

from .autoencoder import AEConfig, Autoencoder, VAE
from .cgan import CGAN, CGANConfig
from .classifier import Classifier, ClassifierConfig
from .gan import GAN, GANConfig
from .melody import MelodyConfig, MelodyLSTM
from .musegan import MuseGAN, MuseGANConfig

# kind -> (model class, config dataclass)
MODELS = {
    "gan": (GAN, GANConfig),
    "cgan": (CGAN, CGANConfig),
    "ae": (Autoencoder, AEConfig),
    "vae": (VAE, AEConfig),
    "classifier": (Classifier, ClassifierConfig),
    "musegan": (MuseGAN, MuseGANConfig),
    "melody": (MelodyLSTM, MelodyConfig),
}

# Which sub-networks of each kind are trained with their own optimiser.
NETWORKS = {
    "gan": ("generator", "discriminator"),
    "cgan": ("generator", "discriminator"),
    "ae": ("encoder", "decoder"),
    "vae": ("encoder", "decoder"),
    "classifier": ("layers",),
    "musegan": ("generator", "critic"),
    "melody": ("pitch_embedding", "duration_embedding", "lstm", "attention", "pitch_head", "duration_head"),
}


def make_config(kind: str, values: dict | None = None):
    """Build and validate the config dataclass of `kind` from a plain dict.

    Raises:
        ValueError: unknown kind, unknown keys or invalid values.
    """
    if kind not in MODELS:
        raise ValueError(f"unknown model kind {kind!r}; known kinds: {', '.join(MODELS)}")
    config_cls = MODELS[kind][1]
    values = dict(values or {})
    known = {f.name for f in fields(config_cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(f"unknown {kind} config keys: {', '.join(unknown)}")
    try:
        return config_cls(**values)
    except TypeError as err:
        raise ValueError(f"invalid {kind} config: {err}") from None


def build_model(kind: str, config: dict | object | None = None) -> nn.Module:
    """A fresh model of `kind` from a config dataclass or dict."""
    if config is not None and not isinstance(config, dict):
        config = asdict(config)
    return MODELS[kind][0](make_config(kind, config))


def parameter_counts(module: nn.Module) -> dict:
    """{"trainable", "non_trainable", "total"} as Keras counts them.

    Non-trainable counts BatchNorm running statistics (buffers), not their step counters.
    """
    trainable = sum(p.numel() for p in module.parameters() if p.requires_grad)
    frozen = sum(p.numel() for p in module.parameters() if not p.requires_grad)
    buffers = sum(b.numel() for name, b in module.named_buffers() if not name.endswith("num_batches_tracked"))
    return {"trainable": trainable, "non_trainable": frozen + buffers, "total": trainable + frozen + buffers}


def network_parameter_counts(model: nn.Module) -> dict:
    """Parameter counts per trained network of a model, e.g. {"generator": {...}, "discriminator": {...}}."""
    return {name: parameter_counts(getattr(model, name)) for name in NETWORKS[model.kind]}


def default_device() -> torch.device:
    """CUDA when present, else CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


__all__ = [
    "MODELS", "NETWORKS", "GAN", "GANConfig", "CGAN", "CGANConfig", "Autoencoder", "VAE", "AEConfig",
    "Classifier", "ClassifierConfig", "MuseGAN", "MuseGANConfig", "MelodyLSTM", "MelodyConfig",
    "make_config", "build_model", "parameter_counts",
    "network_parameter_counts", "default_device",
]
