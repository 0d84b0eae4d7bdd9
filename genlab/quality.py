"""The quality report: how good a generative checkpoint is, judged by the strong classifier, with the
real digits' own figures (the floor) beside every number.

For each model, `n` seeded samples drawn the way the app draws them (uniform in the latent cube for
GANs, N(0, I) for VAEs and autoencoders, `n / classes` per label for conditional GANs) are classified:
classes covered, the rarest and commonest class' share, the mean top probability, the share the
classifier is unsure of (top probability < 0.9) and cannot place (< 0.5), the FID in the classifier's
128 penultimate features against the test digits (10,000 with full MNIST here, else the embedded
1,000), per-label agreement for conditional GANs, the test reconstruction error of autoencoders, and
the thesis' own measure: the test error of a fresh CNN trained to tell generated from real digits
(`real_vs_generated`), and the copy rate of 1,000 samples (genlab.nearest: the share closer to a training
digit than 99% of training digits are to their own nearest neighbour; 1,000 real test digits give the floor). The judge itself is reported too: its accuracy on clean and on 5x5
box-blurred test digits, and the real test digits' unsure and cannot-place shares.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from .data import DatasetUnavailable, ImageDataset, load_dataset
from .data.augment import box_blur
from .metrics import ClassifierFeatures, class_figures, classify, reconstruction_error
from .models import build_model

GENERATIVE_KINDS = ("gan", "cgan", "vae", "ae")

# The thesis' table 3.3: its independent classifier's validation error telling real from generated digits.
THESIS_DETECTOR_ERROR = {"gan_2d": "0.55% (epoch 1,000), 1.54% (epoch 5,000)",
                         "gan_3d": "2.69% (epoch 1,000), 3.2% (epoch 2,000)",
                         "gan_4d": "8.29% (epoch 1,000)"}

# Issue 13's targets per shipped model: upper bounds on shares, lower bounds on the rarest class and on
# the worst label's agreement, and the FID as a fraction of the pre-release model's (same judge).
TARGETS = {
    "gan_2d": {"unsure": 0.10, "unplaced": 0.015, "rarest": 0.06, "fid_ratio": 1 / 5},
    "gan_3d": {"unsure": 0.12, "unplaced": 0.015, "rarest": 0.06, "fid_ratio": 1 / 5},
    "gan_4d": {"unsure": 0.15, "unplaced": 0.015, "rarest": 0.06, "fid_ratio": 1 / 5},
    "cgan_3d": {"unsure": 0.10, "worst_label_agreement": 0.97},
    "cgan_3d_multiply": {"unsure": 0.10, "worst_label_agreement": 0.97},
    "vae_16": {"unsure": 0.20, "rarest": 0.06, "fid_ratio": 1 / 3},
}


@dataclass
class References:
    """The real digits every model is compared with."""
    test: ImageDataset           # FID reference and the judge's test (10,000 with full MNIST)
    train: torch.Tensor          # as many training digits: the FID floor and the detector's real digits
    source: str                  # "mnist" or "mnist5k"


def load_references(data_dir: str | None = None) -> References:
    """Full MNIST's 10,000 test digits and its first 10,000 training digits when the full set is on this
    machine; otherwise the embedded 1,000 test and 1,000 training digits (figures then less precise)."""
    try:
        test, train = load_dataset("mnist", "test", data_dir), load_dataset("mnist", "train", data_dir)
        source = "mnist"
    except DatasetUnavailable:
        test, train = load_dataset("mnist5k", "test"), load_dataset("mnist5k", "train")
        source = "mnist5k"
    n = len(test)
    return References(test=test, train=train.images[:n], source=source)


class FidReference:
    """FID against one fixed set of real images, its features computed once (torchmetrics' FID with the
    classifier's penultimate layer as the extractor)."""

    def __init__(self, classifier: nn.Module, real: torch.Tensor, batch_size: int = 1000):
        from torchmetrics.image.fid import FrechetInceptionDistance

        self.batch_size = batch_size
        self.fid = FrechetInceptionDistance(feature=ClassifierFeatures(classifier), reset_real_features=False)
        with torch.inference_mode():
            for i in range(0, len(real), batch_size):
                self.fid.update(real[i:i + batch_size], real=True)

    @torch.inference_mode()
    def __call__(self, images: torch.Tensor) -> float:
        self.fid.reset()
        for i in range(0, len(images), self.batch_size):
            self.fid.update(images[i:i + self.batch_size], real=False)
        return float(self.fid.compute())


def quality_samples(model: nn.Module, n: int = 10_000, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor | None]:
    """`n` images (CPU) drawn the way the app draws them, and for a conditional GAN the requested labels
    (n // classes of each label, in order). Seeded: the same (model, n, seed) gives the same images."""
    g = torch.Generator().manual_seed(seed)
    z = model.sample_z(n, g)
    labels = None
    if model.conditional:
        labels = torch.arange(model.n_classes).repeat_interleave(math.ceil(n / model.n_classes))[:n]
    chunks = []
    with torch.inference_mode():
        for i in range(0, n, 1000):
            part = None if labels is None else labels[i:i + 1000].to(z.device)
            chunks.append((model.decode(z[i:i + 1000]) if model.kind in ("ae", "vae")
                           else model.generate(z[i:i + 1000], part)).float().cpu())
    return torch.cat(chunks), labels


def precise_batch_norm(net: nn.Module, images: torch.Tensor, batch_size: int = 500) -> None:
    """Recompute every batch-norm layer's statistics as the plain average over `images` at the net's current
    weights (no gradient; the weights are untouched)."""
    norms = [m for m in net.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return
    was_training = net.training
    for m in norms:
        m.reset_running_stats()
        m.momentum = None                   # None: a cumulative average over the batches below
    net.train()
    with torch.no_grad():
        for i in range(0, len(images), batch_size):
            net(images[i:i + batch_size])
    for m in norms:
        m.momentum = 0.1
    net.train(was_training)


def real_vs_generated(real: torch.Tensor, fake: torch.Tensor, seed: int = 0, steps: int = 160,
                      batch_size: int = 128) -> dict:
    """The thesis' measure: a fresh CNN (the strong classifier's architecture with two outputs) trained for
    `steps` steps (Adam 1e-3, batch 128: two epochs at 5,000 + 5,000 images) on the first half of `real`
    against the first half of `fake`, tested on the other halves. The higher its test error, the harder the
    generated digits are to tell from real ones (0.5 = indistinguishable). Before the test its batch-norm
    statistics are recomputed at the final weights (`precise_batch_norm`): the running averages kept during
    so short a training lag the weights, and a detector judged with them called every image "real".

    Returns: {"detector_error": test error, "detector_bce": test cross-entropy in nats}
    """
    n = min(len(real), len(fake)) // 2
    torch.manual_seed(seed)
    net = build_model("classifier", {"size": "strong", "n_classes": 2}).train()
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    x_train = torch.cat([real[:n], fake[:n]])
    y_train = torch.cat([torch.ones(n, dtype=torch.long), torch.zeros(n, dtype=torch.long)])
    g = torch.Generator().manual_seed(seed)
    done = 0
    while done < steps:
        order = torch.randperm(len(x_train), generator=g)
        for i in range(0, len(order), batch_size):
            if done == steps:
                break
            idx = order[i:i + batch_size]
            loss = F.cross_entropy(net(x_train[idx]), y_train[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            done += 1
    precise_batch_norm(net, x_train)
    net.eval()
    x_test = torch.cat([real[n:2 * n], fake[n:2 * n]])
    y_test = torch.cat([torch.ones(n, dtype=torch.long), torch.zeros(n, dtype=torch.long)])
    with torch.inference_mode():
        logits = torch.cat([net(x_test[i:i + 1000]) for i in range(0, len(x_test), 1000)])
    return {"detector_error": round(float((logits.argmax(1) != y_test).float().mean()), 4),
            "detector_bce": round(float(F.cross_entropy(logits, y_test)), 4)}


def judge_figures(classifier: nn.Module, refs: References, fid: FidReference) -> dict:
    """The judge's own figures: accuracy on the clean and the 5x5 box-blurred test digits, the real test
    digits' unsure and cannot-place shares, and the FID floor (training against test digits)."""
    probs = classify(classifier, refs.test.images)
    blurred = classify(classifier, box_blur(refs.test.images, 5))
    figures = class_figures(probs)
    return {
        "test_digits": len(refs.test), "reference": refs.source,
        "accuracy": round(float((probs.argmax(1) == refs.test.labels).float().mean()), 4),
        "blurred_accuracy": round(float((blurred.argmax(1) == refs.test.labels).float().mean()), 4),
        "unsure_share": figures["unsure_share"], "unplaced_share": figures["unplaced_share"],
        "mean_top_probability": figures["mean_top_probability"],
        "fid_floor": round(fid(refs.train), 2),
    }


COPY_SAMPLES = 1000


def copy_subset(images: torch.Tensor, seed: int = 0, n: int = COPY_SAMPLES) -> torch.Tensor:
    """A seeded random `n` of `images` (the samples of a conditional GAN come ordered by label)."""
    return images[torch.randperm(len(images), generator=torch.Generator().manual_seed(seed))[:n]]


def model_quality(model: nn.Module, classifier: nn.Module, refs: References, fid: FidReference,
                  n: int = 10_000, seed: int = 0, detector: bool = True, copies=None) -> dict:
    """Every figure of the report for one generative model (see the module docstring); `copies`, a
    genlab.nearest.NearestIndex of the training digits, adds the copy rate of 1,000 of the samples."""
    images, labels = quality_samples(model, n, seed)
    probs = classify(classifier, images)
    figures = {"samples": n, **class_figures(probs), "fid": round(fid(images), 2)}
    if copies is not None:
        figures.update(copies.copy_figures(copy_subset(images, seed)))
    if labels is not None:
        agree = probs.argmax(1) == labels
        per_label = [round(float(agree[labels == c].float().mean()), 4) for c in range(model.n_classes)]
        figures.update(label_agreement=round(float(agree.float().mean()), 4),
                       label_agreement_per_label=per_label, worst_label_agreement=min(per_label))
        if getattr(model.config, "conditioning", None) == "multiply":
            ceiling = label_ceiling(model.generator.label_embedding.weight.detach(), seed=seed)
            figures.update(label_ceiling_per_label=ceiling, worst_label_ceiling=min(ceiling))
    if model.kind in ("ae", "vae"):
        figures["test_reconstruction_mse"] = round(reconstruction_error(model, refs.test), 5)
    if detector:
        figures.update(real_vs_generated(refs.train, images, seed=seed))
    return figures


@torch.no_grad()
def label_ceiling(widths: torch.Tensor, n: int = 200_000, seed: int = 0) -> list[float]:
    """The best per-label agreement ANY generator could reach with multiply conditioning (the thesis' CGAN).

    Its generator sees u = z * e_label with z uniform in [-1, 1]^d, so the label enters only through the
    per-axis half-widths |e_label|: u is uniform in an origin-centred box, and all the boxes overlap around
    the origin. A generator is a function of u, so at each u at most one label can be honoured; the best
    rule gives u to the label with the highest density there. Returns, per label, the share of its samples
    that rule gives it (a Monte Carlo estimate over `n` samples). `widths`: (labels, d), e.g. the
    embedding's weights."""
    a = widths.abs().double()
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, len(a), (n,), generator=g)
    u = (torch.rand(n, a.shape[1], generator=g, dtype=torch.float64) * 2 - 1) * a[labels]
    inside = (u.abs()[:, None, :] <= a[None]).all(-1)
    log_volume = torch.log(2 * a.clamp_min(1e-300)).sum(-1)
    density = torch.where(inside, -log_volume[None], torch.tensor(-math.inf, dtype=torch.float64))
    best = density.argmax(1)
    return [round(float((best[labels == c] == c).double().mean()), 4) for c in range(len(a))]


def target_checks(name: str, figures: dict, before_fid: float | None = None) -> dict[str, bool]:
    """Issue 13's targets for a shipped model's name (e.g. "gan_2d"): {what: met}; empty when it has none.
    The FID target needs the pre-release model's FID under the same judge (`before_fid`)."""
    targets, checks = TARGETS.get(name, {}), {}
    if "unsure" in targets:
        checks[f"unsure <= {targets['unsure']:.0%}"] = figures["unsure_share"] <= targets["unsure"]
    if "unplaced" in targets:
        checks[f"cannot place <= {targets['unplaced']:.1%}"] = figures["unplaced_share"] <= targets["unplaced"]
    if "rarest" in targets:
        checks[f"rarest class >= {targets['rarest']:.0%}"] = figures["rarest_class_fraction"] >= targets["rarest"]
    if "worst_label_agreement" in targets and "worst_label_agreement" in figures:
        checks[f"every label >= {targets['worst_label_agreement']:.0%}"] = \
            figures["worst_label_agreement"] >= targets["worst_label_agreement"]
    if "fid_ratio" in targets and before_fid:
        ratio = targets["fid_ratio"]
        checks[f"FID <= 1/{round(1 / ratio)} of before ({before_fid:.0f})"] = figures["fid"] <= before_fid * ratio
    return checks


def model_name(path: str | Path) -> str:
    """gan_2d for checkpoints/gan_2d.safetensors; gan_2d@7 for a training snapshot gan_2d.epochs/epoch_0007."""
    path = Path(path)
    name = path.name[:-len(".safetensors")] if path.name.endswith(".safetensors") else path.name
    if path.parent.name.endswith(".epochs") and name.startswith("epoch_") and name[6:].isdigit():
        return f"{path.parent.name[:-len('.epochs')]}@{int(name[6:])}"
    return name
