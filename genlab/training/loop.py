"""The training loop for every model kind, single-process or under torchrun (DistributedDataParallel).

`train(cfg)` is what the CLI calls, and what the Train page will call from a background job:
it never touches a user interface; progress goes to an optional tqdm bar and an `on_epoch`
callback. Under torchrun each process takes an equal share of every epoch's shuffled data,
gradients are averaged by DDP (gloo on CPU, nccl on GPU), and rank 0 writes the checkpoint.
"""
from __future__ import annotations

import copy
import math
import os
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Callable

import torch
import torch.distributed as dist
from torch import nn
from torch.nn import functional as F
from torch.nn.parallel import DistributedDataParallel
from tqdm.auto import tqdm

from ..checkpoints import empty_history, load_checkpoint, save_checkpoint
from ..data import load_dataset
from ..data.augment import make_augmentation
from ..models import build_model
from ..models.autoencoder import Encoder
from .config import TrainConfig
from .losses import (CODE_CLASS_WEIGHT, RECONSTRUCTION_REGULARIZERS, discriminator_loss, generator_loss,
                     gradient_penalty, kl_divergence, reconstruction_loss, sliced_wasserstein)


# The training options a stage of a run is recorded by (history["stages"]: one entry per resumed run that
# changed them, with the epoch it started from), so a checkpoint says how every epoch was trained.
STAGE_KEYS = ("dataset", "limit", "batch_size", "optimizer", "lr", "critic_lr", "beta1", "loss", "regularizer",
              "reg_weight", "ema", "precision", "augment", "lr_schedule")


@dataclass
class TrainResult:
    model: nn.Module          # the trained model (unwrapped, eval mode)
    history: dict
    metrics: dict
    path: str | None          # where the checkpoint was written (rank 0), else None


class StopTraining(Exception):
    """Raised by an `on_epoch` callback to end training after the current epoch (it is saved)."""


def _distributed_setup(cfg: TrainConfig) -> tuple[int, int, torch.device]:
    """(rank, world_size, device); starts the process group when run under torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    use_cuda = cfg.device == "cuda" or (cfg.device == "auto" and torch.cuda.is_available())
    if world > 1:
        if not dist.is_initialized():
            dist.init_process_group("nccl" if use_cuda else "gloo")
        rank, local = dist.get_rank(), int(os.environ.get("LOCAL_RANK", "0"))
        device = torch.device(f"cuda:{local}") if use_cuda else torch.device("cpu")
        if use_cuda:
            torch.cuda.set_device(device)
        return rank, world, device
    return 0, 1, torch.device("cuda" if use_cuda else "cpu")


def _autocast(cfg: TrainConfig, device: torch.device):
    """bfloat16 autocast for forward passes when cfg.precision asks for it (losses stay float32)."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=cfg.precision == "bfloat16")


def _optimizer(params, cfg: TrainConfig, beta2: float = 0.999, lr: float | None = None) -> torch.optim.Optimizer:
    """cfg.optimizer over `params` at rate `lr` (default cfg.learning_rate): Adam(beta1, beta2), SGD with
    momentum 0.9, or RMSprop."""
    lr = lr or cfg.learning_rate
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=0.9)
    if cfg.optimizer == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr)
    return torch.optim.Adam(params, lr=lr, betas=(cfg.adam_beta1, beta2))


def _make_optimizers(model: nn.Module, cfg: TrainConfig) -> dict:
    if model.kind in ("gan", "cgan"):
        return {"G": _optimizer(model.generator.parameters(), cfg),
                "D": _optimizer(model.discriminator.parameters(), cfg, lr=cfg.critic_lr)}
    if model.kind == "musegan":  # the book's WGAN-GP: Adam(beta1 0.5, beta2 0.9)
        return {"G": _optimizer(model.generator.parameters(), cfg, beta2=0.9),
                "D": _optimizer(model.critic.parameters(), cfg, beta2=0.9, lr=cfg.critic_lr)}
    return {"model": _optimizer(model.parameters(), cfg)}


def _code_head(latent_dim: int, n_classes: int) -> nn.Module:
    """The class-reconstruction regulariser's classifier on the encoder's codes (training only)."""
    return nn.Sequential(nn.Linear(latent_dim, 128), nn.LeakyReLU(0.2), nn.Linear(128, n_classes))


def _latent_spread(encoded: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
    """The regulariser's sliced Wasserstein distance from the encoded real images to uniform points in the cube.
    For a conditional GAN it is taken per class (each class' codes must fill the whole cube), so the codes
    carry no class and the generator has to take the class from its label."""
    uniform = torch.rand_like(encoded) * 2 - 1
    if labels is None:
        return sliced_wasserstein(encoded, uniform)
    classes = labels.unique()
    return sum(sliced_wasserstein(encoded[labels == c], uniform[labels == c]) for c in classes) / len(classes)


def _gan_step(nets: dict, optimizers: dict, x: torch.Tensor, y: torch.Tensor, cfg: TrainConfig, model) -> dict:
    G, D, E = nets["generator"], nets["discriminator"], nets.get("encoder")
    n = x.shape[0]
    low = _autocast(cfg, x.device)
    z = torch.rand(n, model.latent_dim, device=x.device) * 2 - 1
    fake_labels = torch.randint(0, model.n_classes, (n,), device=x.device) if model.conditional else None
    # 0. with the reconstruction regulariser, half the real batch is encoded into the cube and
    #    generated in the same forward pass as the random points
    m = n // 2 if E is not None else 0
    with low:
        encoded = torch.tanh(E(x[:m]).float()) if m else None
        z_all = torch.cat([z, encoded]) if m else z
        if model.conditional:
            out = G(z_all, torch.cat([fake_labels, y[:m]]))
            all_labels = torch.cat([y, fake_labels])
        else:
            out = G(z_all)
            all_labels = None
    fake, recon = out[:n], out[n:]
    # 1. discriminator: real and generated in one forward (one DDP forward per backward)
    with low:
        logits = D(torch.cat([x.to(fake.dtype), fake.detach()]), all_labels).float()
    loss_d = discriminator_loss(cfg.loss, logits[:n], logits[n:])
    if cfg.loss == "wgan-gp":  # the penalty on random real/generated interpolates (same labels as the real)
        alpha = torch.rand(n, 1, 1, 1, device=x.device)
        between = (alpha * x + (1 - alpha) * fake.detach().float()).requires_grad_(True)
        with low:
            scores = D(between, y if model.conditional else None).float()
        loss_d = loss_d + cfg.gp_weight * gradient_penalty(scores, between)
    optimizers["D"].zero_grad(set_to_none=True)
    loss_d.backward()
    optimizers["D"].step()
    # 2. generator: fool the updated discriminator (and reconstruct the encoded real images)
    with low:
        fake_logits = D(fake, fake_labels).float()
    loss_g = generator_loss(cfg.loss, fake_logits)
    losses = {"G": loss_g.detach(), "D": loss_d.detach()}
    if m:
        loss_r = reconstruction_loss(recon.float(), x[:m])
        loss_sw = _latent_spread(encoded, y[:m] if model.conditional else None)
        loss_reg = loss_r + loss_sw
        losses["reconstruction"], losses["latent_sw"] = loss_r.detach(), loss_sw.detach()
        if "code_head" in nets:   # the codes must tell the classes apart (class-reconstruction)
            loss_c = F.cross_entropy(nets["code_head"](encoded), y[:m])
            loss_reg = loss_reg + CODE_CLASS_WEIGHT * loss_c
            losses["code_classes"] = loss_c.detach()
            optimizers["H"].zero_grad(set_to_none=True)
        loss_g = loss_g + cfg.reg_weight * loss_reg
        optimizers["E"].zero_grad(set_to_none=True)
    optimizers["G"].zero_grad(set_to_none=True)
    loss_g.backward()
    optimizers["G"].step()
    if m:
        optimizers["E"].step()
        if "code_head" in nets:
            optimizers["H"].step()
    return losses


def _autoencoder_step(nets: dict, optimizers: dict, x: torch.Tensor, y, cfg: TrainConfig, model) -> dict:
    net = nets["model"]
    with _autocast(cfg, x.device):
        out = net(x)
    if model.variational:
        recon, mu, log_var = (t.float() for t in out)
        r_loss, kl = reconstruction_loss(recon, x), kl_divergence(mu, log_var)
        loss = model.config.r_loss_factor * r_loss + kl
        losses = {"total": loss.detach(), "reconstruction": r_loss.detach(), "kl": kl.detach()}
    else:
        loss = reconstruction_loss(out.float(), x)
        losses = {"reconstruction": loss.detach()}
    optimizers["model"].zero_grad(set_to_none=True)
    loss.backward()
    optimizers["model"].step()
    return losses


def _classifier_step(nets: dict, optimizers: dict, x: torch.Tensor, y: torch.Tensor, cfg: TrainConfig, model) -> dict:
    if "augment" in nets:
        x = nets["augment"](x)
    with _autocast(cfg, x.device):
        logits = nets["model"](x).float()
    loss = nn.functional.cross_entropy(logits, y)
    optimizers["model"].zero_grad(set_to_none=True)
    loss.backward()
    optimizers["model"].step()
    return {"loss": loss.detach(), "accuracy": (logits.argmax(1) == y).float().mean()}


def _wgan_gp_step(nets: dict, optimizers: dict, x: torch.Tensor, y, cfg: TrainConfig, model) -> dict:
    """One generator update after `cfg.critic_steps` critic updates, each on its own `batch_size` slice of x.

    x: int (critic_steps * batch_size, bars, 16, tracks) MIDI pitches of real phrases (REST = -1).
    """
    from ..data.chorales import transpose_phrases
    from ..music.roll import pitches_to_roll

    G, C, mc = nets["generator"], nets["critic"], model.config
    real_all = pitches_to_roll(transpose_phrases(x, cfg.transpose), mc.n_pitches, mc.lowest_pitch).to(x.device)
    sums = {"critic": 0.0, "gp": 0.0, "wasserstein": 0.0}
    low = _autocast(cfg, x.device)
    for real in real_all.split(cfg.batch_size):
        # 1. critic: real, generated and interpolated phrases in one forward; the penalty on the interpolates
        n = real.shape[0]
        with torch.no_grad(), low:
            fake = G(torch.randn(n, model.latent_dim, device=x.device)).float()
        alpha = torch.rand(n, 1, 1, 1, 1, device=x.device)
        between = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
        with low:
            scores = C(torch.cat([real, fake, between])).float()
        wasserstein = scores[:n].mean() - scores[n:2 * n].mean()
        gp = gradient_penalty(scores[2 * n:], between)
        loss_c = -wasserstein + cfg.gp_weight * gp
        optimizers["D"].zero_grad(set_to_none=True)
        loss_c.backward()
        optimizers["D"].step()
        for k, v in (("critic", loss_c), ("gp", gp), ("wasserstein", wasserstein)):
            sums[k] += v.detach() / cfg.critic_steps
    # 2. generator: raise the critic's score of new phrases
    with low:
        loss_g = -C(G(torch.randn(cfg.batch_size, model.latent_dim, device=x.device))).float().mean()
    optimizers["G"].zero_grad(set_to_none=True)
    loss_g.backward()
    optimizers["G"].step()
    return {"G": loss_g.detach(), **sums}


def _melody_step(nets: dict, optimizers: dict, x: torch.Tensor, y, cfg: TrainConfig, model) -> dict:
    """Cross-entropy of the next note's pitch and duration after every prefix of a window of notes (the
    window's last step is the book's prediction; START targets are skipped), each window in one of its stored
    keys, drawn at random (x: int (N, keys, SEQ_LEN + 1, 2) pitch and duration ids)."""
    key = torch.randint(0, x.shape[1], (x.shape[0],), device=x.device)
    window = x[torch.arange(x.shape[0], device=x.device), key]          # (N, SEQ_LEN + 1, 2)
    with _autocast(cfg, x.device):   # (melody trains in one process: nets["model"] is the model itself)
        pitch_logits, duration_logits = nets["model"].forward_every_step(window[:, :-1, 0], window[:, :-1, 1])
    target_p, target_d = window[:, 1:, 0], window[:, 1:, 1]
    loss_p = F.cross_entropy(pitch_logits.float().flatten(0, 1), target_p.flatten(), ignore_index=0)
    loss_d = F.cross_entropy(duration_logits.float().flatten(0, 1), target_d.flatten(), ignore_index=0)
    loss = loss_p + loss_d
    optimizers["model"].zero_grad(set_to_none=True)
    loss.backward()
    optimizers["model"].step()
    last = pitch_logits[:, -1].argmax(1) == target_p[:, -1]
    return {"pitch": loss_p.detach(), "duration": loss_d.detach(), "pitch_accuracy": last.float().mean()}


STEPS = {"gan": _gan_step, "cgan": _gan_step, "ae": _autoencoder_step, "vae": _autoencoder_step,
         "classifier": _classifier_step, "musegan": _wgan_gp_step, "melody": _melody_step}


def _wrap(model: nn.Module, world: int, device: torch.device, encoder: nn.Module | None) -> dict:
    """The modules the step functions call, wrapped in DDP when distributed."""
    wrap = (lambda m: DistributedDataParallel(m, device_ids=[device] if device.type == "cuda" else None)) \
        if world > 1 else (lambda m: m)
    if model.kind in ("gan", "cgan"):
        nets = {"generator": wrap(model.generator), "discriminator": wrap(model.discriminator)}
        if encoder is not None:
            nets["encoder"] = wrap(encoder)
        return nets
    if model.kind == "musegan":
        return {"generator": wrap(model.generator), "critic": wrap(model.critic)}
    return {"model": wrap(model)}


def _final_metrics(model: nn.Module, cfg: TrainConfig, score_classifier: nn.Module | None) -> dict:
    from .. import metrics

    if model.kind == "musegan":
        from ..music.metrics import generator_music_metrics

        return generator_music_metrics(model)
    if model.kind == "melody":
        from ..music.melody import melody_metrics

        return melody_metrics(model, cfg.transpose)
    if model.kind == "classifier":
        test = load_dataset(cfg.dataset, "test", cfg.data_dir)
        return {"test_accuracy": round(metrics.classifier_accuracy(model, test), 4)}
    if model.kind in ("ae", "vae"):
        test = load_dataset(cfg.dataset, "test", cfg.data_dir)
        return {"test_reconstruction_mse": round(metrics.reconstruction_error(model, test), 5)}
    if score_classifier is not None:
        if not isinstance(score_classifier, nn.Module):  # a checkpoint path, loaded only now
            score_classifier = load_checkpoint(score_classifier).model
        return metrics.generator_scores(model, score_classifier.to(next(model.parameters()).device))
    return {}


def _training_data(cfg: TrainConfig, model: nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
    """(inputs, labels) of the training set, cut to cfg.limit: images, chorale phrases for musegan, or windows
    of notes for melody."""
    if cfg.kind == "musegan":
        from ..data.chorales import training_phrases
        from ..music.roll import fill_rests

        inputs = fill_rests(training_phrases(model.config.n_bars, same_key=model.config.same_key))
        labels = torch.zeros(len(inputs), dtype=torch.long)
    elif cfg.kind == "melody":   # every window of the training tunes, in each key -k..k (held-out tunes never)
        from ..data.melodies import check_vocabulary, load_melodies

        check_vocabulary(model.config)
        melodies = load_melodies()
        inputs = torch.from_numpy(melodies.windows(~melodies.held_out(), cfg.transpose))
        labels = torch.zeros(len(inputs), dtype=torch.long)
    else:
        data = load_dataset(cfg.dataset, "train", cfg.data_dir, cfg.download)
        inputs, labels = data.images, data.labels
    if cfg.limit:
        inputs, labels = inputs[:cfg.limit], labels[:cfg.limit]
    return inputs, labels


def _ema_decay(cfg: TrainConfig, step: int) -> float:
    """The moving average's decay after `step` generator updates: ramped up from 0, so the average does
    not carry the first random weights for thousands of steps (NOTES: a constant 0.999 from step 0 was
    useless for the first 1,400 steps)."""
    return min(cfg.ema, (1 + step) / (10 + step))


@torch.no_grad()
def _update_ema(average: nn.Module, current: nn.Module, decay: float) -> None:
    for a, c in zip(average.parameters(), current.parameters()):
        a.lerp_(c, 1 - decay)


def _model_to_save(model: nn.Module, nets: dict, cfg: TrainConfig) -> nn.Module:
    """The model a checkpoint stores and the monitoring sees: with a moving average, a copy whose generator
    is the average, with BatchNorm statistics re-estimated for the averaged weights (a MuseGAN always
    gets standing statistics); training goes on undisturbed on the raw networks."""
    if "generator_ema" not in nets and model.kind != "musegan":
        return model
    if "generator_ema" in nets:
        model = copy.deepcopy(model)
        model.generator.load_state_dict(nets["generator_ema"].state_dict())
    if model.kind == "musegan":
        model.standing_statistics(seed=cfg.seed)   # eval-ready BatchNorm statistics in every checkpoint
    else:
        model.standing_statistics(batches=4, seed=cfg.seed)
    return model


def _snapshot_path(out: str | os.PathLike, epoch: int) -> Path:
    """OUT.epochs/epoch_0007.safetensors for `out` = OUT or OUT.safetensors."""
    out = Path(out)
    stem = out.name[:-len(".safetensors")] if out.name.endswith(".safetensors") else out.name
    return out.with_name(stem + ".epochs") / f"epoch_{epoch:04d}.safetensors"


def train(cfg: TrainConfig, out: str | os.PathLike | None = None, resume: str | os.PathLike | None = None,
          progress: bool = False, on_epoch: Callable[[int, dict, nn.Module], None] | None = None,
          score_classifier: nn.Module | str | None = None,
          on_step: Callable[[int, int, int], None] | None = None) -> TrainResult:
    """Train a model of `cfg.kind` up to `cfg.epochs` epochs.

    Args:
        out: checkpoint path, rewritten atomically after every epoch (rank 0 only).
        resume: a checkpoint to continue from (weights, optimiser state, training-only networks, history).
        progress: show a tqdm bar per epoch (rank 0 only).
        on_epoch: called after each epoch with (epoch, history, model), the model as the checkpoint stores
            it (with cfg.ema, the moving average); may raise StopTraining.
            Values it adds to `history` (e.g. monitoring series) are saved in the checkpoint.
        on_step: called after each optimisation step with (epoch index, steps done, steps per epoch);
            an exception it raises propagates, leaving the last completed epoch's checkpoint as it was.
        score_classifier: a classifier (or its checkpoint path) to score a GAN's samples with at the end.
    Returns:
        TrainResult with the model (as the checkpoint stores it), its per-epoch loss history and final metrics.
    """
    if cfg.kind == "musegan" and int(os.environ.get("WORLD_SIZE", "1")) > 1:
        raise ValueError("musegan trains in one process: its gradient penalty (a double backward) is not DDP-safe")
    if cfg.kind == "melody" and int(os.environ.get("WORLD_SIZE", "1")) > 1:
        raise ValueError("melody trains in one process (a small model on 17,000 windows; it trains every step of a "
                         "window through its own method, which DDP would not synchronise)")
    rank, world, device = _distributed_setup(cfg)
    torch.manual_seed(cfg.seed)
    optimizer_state, history, training_state = {}, empty_history(), {}
    if resume:
        ckpt = load_checkpoint(resume)
        if ckpt.kind != cfg.kind:
            raise ValueError(f"cannot resume a {cfg.kind} run from a {ckpt.kind} checkpoint ({resume})")
        if ckpt.epochs >= cfg.epochs:   # nothing left to train (e.g. its worker died while scoring it)
            return TrainResult(model=ckpt.model.eval(), history=ckpt.history, metrics=ckpt.metrics, path=str(resume))
        model, history, optimizer_state = ckpt.model, ckpt.history, ckpt.optimizers
        training_state = ckpt.training_state
        cfg = replace(cfg, model=ckpt.config)  # the checkpoint's architecture wins; the caller's cfg is untouched
    else:
        model = build_model(cfg.kind, cfg.model)
    ema = None
    if cfg.ema > 0:
        # the checkpoint's generator is the average; the raw generator, when stored, is what trains on
        ema = copy.deepcopy(model.generator).requires_grad_(False)
    if "generator" in training_state:
        model.generator.load_state_dict(training_state["generator"])
    model.to(device).train()
    if cfg.memory_format == "channels_last":
        model.to(memory_format=torch.channels_last)
    images, labels = _training_data(cfg, model)
    if device.type == "cuda":   # digits and chorales fit on any GPU: no copy per step
        images, labels = images.to(device), labels.to(device)
    optimizers = _make_optimizers(model, cfg)
    encoder = code_head = None
    if cfg.regularizer in RECONSTRUCTION_REGULARIZERS and model.kind in ("gan", "cgan"):
        # a training-only encoder (the book's AE encoder), stored only as training state for resuming
        encoder = Encoder(model.latent_dim, variational=False)
        if "encoder" in training_state:
            encoder.load_state_dict(training_state["encoder"])
        encoder.to(device).train()
        if cfg.memory_format == "channels_last":
            encoder.to(memory_format=torch.channels_last)
        optimizers["E"] = torch.optim.Adam(encoder.parameters(), lr=cfg.learning_rate, betas=(cfg.adam_beta1, 0.999))
    if cfg.regularizer == "class-reconstruction":
        code_head = _code_head(model.latent_dim, 10)
        if "code_head" in training_state:
            code_head.load_state_dict(training_state["code_head"])
        code_head.to(device).train()
        optimizers["H"] = torch.optim.Adam(code_head.parameters(), lr=cfg.learning_rate, betas=(cfg.adam_beta1, 0.999))
    for name, state in optimizer_state.items():
        if name in optimizers:   # Adam's moments carry on; the learning rates are this run's (e.g. lowered)
            rates = [group["lr"] for group in optimizers[name].param_groups]
            optimizers[name].load_state_dict(state)
            for group, lr in zip(optimizers[name].param_groups, rates):
                group["lr"] = lr
    nets = _wrap(model, world, device, encoder)
    if code_head is not None:
        nets["code_head"] = code_head
    if ema is not None:
        nets["generator_ema"] = ema.to(device)
    augment = make_augmentation(cfg.augment)
    if augment is not None:
        nets["augment"] = augment.to(device)
    base_rates = {name: [group["lr"] for group in opt.param_groups] for name, opt in optimizers.items()}
    step = STEPS[cfg.kind]
    # a musegan step updates the critic critic_steps times, each on its own batch
    step_size = cfg.batch_size * (cfg.critic_steps if cfg.kind == "musegan" else 1)
    per_rank = len(images) // world
    batches = max(1, per_rank // step_size) if per_rank >= step_size else 1
    stage = {k: v for k, v in asdict(cfg).items() if k in STAGE_KEYS}
    if not history.get("stages") or {k: v for k, v in history["stages"][-1].items() if k != "epoch"} != stage:
        history.setdefault("stages", []).append({"epoch": history["epochs"], **stage})   # how each stage trained
    path, metrics_ = None, {}
    run_started = time.perf_counter()
    for epoch in range(history["epochs"], cfg.epochs):
        started = time.perf_counter()
        # 1. the same shuffled order on every rank, seeded by epoch (a resumed run continues it)
        order = torch.randperm(len(images), generator=torch.Generator().manual_seed(cfg.seed * 100_003 + epoch))
        order = order[rank * per_rank:(rank + 1) * per_rank]
        torch.manual_seed(cfg.seed * 1_000_003 + epoch * 7919 + rank)
        sums: dict[str, torch.Tensor] = {}
        bar = tqdm(range(batches), desc=f"{cfg.kind} epoch {epoch + 1}/{cfg.epochs}", leave=False,
                   disable=not progress or rank != 0)
        for b in bar:
            # 2. one optimisation step on a batch (and the moving average of the generator)
            idx = order[b * step_size:(b + 1) * step_size].to(images.device)
            if cfg.lr_schedule == "cosine":
                factor = 0.5 * (1 + math.cos(math.pi * min(1.0, (epoch * batches + b) / (cfg.epochs * batches))))
                for name, opt in optimizers.items():
                    for group, rate in zip(opt.param_groups, base_rates[name]):
                        group["lr"] = rate * factor
            x = images[idx].to(device)
            if cfg.memory_format == "channels_last" and x.dim() == 4:
                x = x.contiguous(memory_format=torch.channels_last)
            losses = step(nets, optimizers, x, labels[idx].to(device), cfg, model)
            history["steps"] = history.get("steps", 0) + 1
            history["images_seen"] = history.get("images_seen", 0) + len(idx) * world
            if ema is not None:
                _update_ema(ema, model.generator, _ema_decay(cfg, history["steps"] - 1))
            for k, v in losses.items():
                sums[k] = sums.get(k, 0) + v
            if on_step is not None:
                on_step(epoch, b + 1, batches)
            if b % 10 == 0:
                bar.set_postfix({k: f"{float(v):.3f}" for k, v in losses.items()})
        # 3. epoch means, averaged over ranks
        means = torch.stack([sums[k] for k in sorted(sums)]).float() / batches
        if world > 1:
            dist.all_reduce(means)
            means /= world
        for k, v in zip(sorted(sums), means.tolist()):
            history["losses"].setdefault(k, []).append(round(v, 6))
        history["epochs"] = epoch + 1
        history.setdefault("seconds", []).append(round(time.perf_counter() - started, 2))
        # the machine's busy cores per core (1-minute load average) as the epoch ends: the time per epoch is
        # wall-clock time, and it grows when other runs or visitors share the cores
        history.setdefault("load", []).append(round(os.getloadavg()[0] / (os.cpu_count() or 1), 2))
        if progress and rank == 0:
            tqdm.write(f"epoch {epoch + 1}/{cfg.epochs}: " + ", ".join(
                f"{k} {history['losses'][k][-1]:.4f}" for k in sorted(sums)) + f" ({history['seconds'][-1]:.1f} s)")
        # 4. the model as stored (the moving average, when kept), monitored, saved
        saved = _model_to_save(model, nets, cfg) if rank == 0 else model
        saved.eval()
        stop = bool(cfg.time_limit) and time.perf_counter() - run_started >= cfg.time_limit
        if on_epoch is not None:
            try:
                on_epoch(epoch + 1, history, saved)
            except StopTraining:
                stop = True
        is_last = stop or epoch + 1 == cfg.epochs
        if is_last:
            metrics_ = _final_metrics(saved, cfg, score_classifier) if rank == 0 else {}
        if out is not None and rank == 0:
            extra = {}
            if cfg.save_optimizer and ema is not None:
                extra["generator"] = model.generator
            if cfg.save_optimizer and encoder is not None:
                extra["encoder"] = encoder
            if cfg.save_optimizer and code_head is not None:
                extra["code_head"] = code_head
            path = str(save_checkpoint(out, saved, cfg.dataset, history, metrics_, train=asdict(cfg),
                                       optimizers=optimizers if cfg.save_optimizer else None,
                                       storage=cfg.storage, training_state=extra or None))
            if cfg.snapshot_every and (epoch + 1) % cfg.snapshot_every == 0:
                snapshot = _snapshot_path(out, epoch + 1)
                snapshot.parent.mkdir(parents=True, exist_ok=True)
                save_checkpoint(snapshot, saved, cfg.dataset, history, {}, train=asdict(cfg), storage="float16")
        model.train()
        if stop:
            break
    model.eval()
    if world > 1:
        dist.barrier()
        dist.destroy_process_group()
    if model.kind == "musegan" or ema is not None:
        model = saved.eval()   # what the checkpoint holds
    return TrainResult(model=model, history=history, metrics=metrics_, path=path)
