"""Everything the explorer shows about one latent point, from one call (stylegan3's
`Renderer.render(**args)` pattern): the generated image, its class, the discriminator's verdict,
and every layer's activations through the one hook mechanism (genlab.inspect)."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..generate import label_tensor, labels_tensor, latent_tensor
from ..inspect import Ablation, ablate_rows, layer_activations, mean_activations, named_layers, replace_output


@dataclass
class PointView:
    z: list[float]
    image: torch.Tensor                       # (1, 28, 28) in [-1, 1], on the CPU
    probabilities: list[float] | None         # the classifier's, per class (None without a classifier)
    realness: float | None                    # the discriminator's sigmoid(logit) (GANs only)
    layer_means: dict[str, float]             # "Activations for each layer (average values)"
    activations: dict[str, torch.Tensor]      # layer -> its output for this point, without the batch axis
    ablation: Ablation | None = None          # units switched off (the image, class and activations are the ablated ones)
    original_image: torch.Tensor | None = None            # with an ablation: the image with every unit on
    original_probabilities: list[float] | None = None

    @staticmethod
    def _top(probabilities: list[float] | None) -> int | None:
        if probabilities is None:
            return None
        return max(range(len(probabilities)), key=probabilities.__getitem__)

    @property
    def original_predicted(self) -> int | None:
        return self._top(self.original_probabilities)

    @property
    def predicted(self) -> int | None:
        return self._top(self.probabilities)


def generating_network(model: nn.Module) -> str:
    """The sub-network whose layers make the image: "generator" or "decoder"."""
    return "decoder" if hasattr(model, "decoder") else "generator"


def _judged(model: nn.Module, classifier: nn.Module | None, images: torch.Tensor,
            labels: torch.Tensor | None) -> tuple[list | None, list | None]:
    """Each image's class probabilities (classifier) and the discriminator's sigmoid(logit) (GANs), per row."""
    probabilities = realness = None
    if classifier is not None:
        probabilities = torch.softmax(classifier(images.to(next(classifier.parameters()).device)), dim=1).cpu().tolist()
    if hasattr(model, "discriminator"):
        logit = model.discriminator(images, labels) if model.conditional else model.discriminator(images)
        realness = torch.sigmoid(logit).flatten().tolist()
    return probabilities, realness


@torch.inference_mode()
def explore_points(model: nn.Module, points: list, classifier: nn.Module | None = None,
                   labels: list | None = None) -> list[PointView]:
    """`explore_point` for several points in one forward pass: the same views, at a fraction of the cost per
    point (the live drag's route answers the moves that wait together as one batch: a batch of 8 costs
    about half as much per point as 8 batches of one, whose time goes to Python and hooks, not arithmetic).

    Args:
        points: N latent points (validated; raises genlab.generate.GenerateError).
        labels: N class labels for a conditional GAN (None for the others).
    """
    labels = [None] * len(points) if labels is None else list(labels)
    if len(labels) != len(points):
        raise ValueError(f"{len(points)} points but {len(labels)} labels")
    zt = latent_tensor(model, points)
    lt = labels_tensor(model, labels)
    layers = named_layers(model, generating_network(model))
    images, activations = layer_activations(model, lambda: model.generate(zt, lt), layers)
    probabilities, realness = _judged(model, classifier, images, lt)
    means = {name: a.flatten(1).float().mean(1).tolist() for name, a in activations.items()}
    return [PointView(z=[float(v) for v in point], image=images[i].cpu(),
                      probabilities=None if probabilities is None else probabilities[i],
                      realness=None if realness is None else realness[i],
                      layer_means={name: m[i] for name, m in means.items()},
                      activations={name: a[i].cpu() for name, a in activations.items()})
            for i, point in enumerate(points)]


@torch.inference_mode()
def explore_point(model: nn.Module, z: list[float], classifier: nn.Module | None = None,
                  label: int | None = None, ablation: Ablation | None = None) -> PointView:
    """Generate the image of latent point `z` and look at it from every side.

    Args:
        model: any generative GenLab model (GAN, conditional GAN, AE, VAE) or one of the same shape.
        z: the latent point, d numbers (validated; raises genlab.generate.GenerateError).
        classifier: optional; gives the class probabilities.
        label: the class label for a conditional GAN.
        ablation: units of one of the generating network's layers to switch off or scale (genlab.inspect);
            the point then runs as a batch of two, the second one ablated, so the view has both images
            from one pass. Raises ValueError when it does not fit the model.
    """
    if ablation is not None and ablation.empty:
        ablation = None
    if ablation is None:
        return explore_points(model, [z], classifier, [label])[0]
    layers = named_layers(model, generating_network(model))
    if ablation.layer not in layers:
        raise ValueError(f"this model has no layer {ablation.layer[:60]!r}")
    zt = latent_tensor(model, [z] * 2)
    labels = label_tensor(model, label, 2)

    def change(out: torch.Tensor) -> torch.Tensor:
        ablation.check(out[0])
        return ablate_rows(ablation, slice(1, 2))(out)
    with replace_output(model, ablation.layer, change):
        images, activations = layer_activations(model, lambda: model.generate(zt, labels), layers)
    probabilities, realness = _judged(model, classifier, images, labels)
    return PointView(z=[float(v) for v in z], image=images[1].cpu(),
                     probabilities=None if probabilities is None else probabilities[1],
                     realness=None if realness is None else realness[1],
                     layer_means=mean_activations({name: a[1:] for name, a in activations.items()}),
                     activations={name: a[1].cpu() for name, a in activations.items()}, ablation=ablation,
                     original_image=images[0].cpu(),
                     original_probabilities=None if probabilities is None else probabilities[0])


@torch.inference_mode()
def rank_units(model: nn.Module, z: list[float], classifier: nn.Module, layer: str, label: int | None = None,
               target: int | None = None, max_units: int = 1024, batch_size: int = 257) -> tuple[int, float, list]:
    """Which of `layer`'s units matter for the class of the image at `z`: each channel (or unit of a dense
    layer) zeroed on its own, in batches of copies of z (each copy with another channel off, the first with
    none). A sure classifier's probability barely moves when one unit goes (1.00 stays 1.00), so units are
    ranked by how much the class' score (its logit) drops. Returns (the class, its probability with every
    unit on, [(unit, score drop, probability with the unit off), ...] largest drop first). `target`: the
    class to rank for (default: the one the classifier sees)."""
    network = generating_network(model)
    if layer not in named_layers(model, network):
        raise ValueError(f"this model has no layer {layer[:60]!r}")
    _, activations = layer_activations(model, lambda: model.generate(latent_tensor(model, [z]), label_tensor(model, label, 1)),
                                       [layer])
    units = activations[layer].shape[1]
    if units > max_units:
        raise ValueError(f"layer {layer} has {units:,} units; ranking covers layers of up to {max_units:,}")
    device = next(classifier.parameters()).device
    drops, base_p, base_logit, cls = [], None, None, target
    for start in range(-1, units, batch_size):      # -1: the copy with every unit on
        chunk = list(range(max(start, 0), min(start + batch_size, units)))
        rows = len(chunk) + (start < 0)
        offset = 1 if start < 0 else 0

        def change(out: torch.Tensor, chunk=chunk, offset=offset) -> torch.Tensor:
            out = out.clone()
            for row, unit in enumerate(chunk):
                out[row + offset, unit] = 0
            return out
        with replace_output(model, layer, change):
            images = model.generate(latent_tensor(model, [z] * rows), label_tensor(model, label, rows))
        logits = classifier(images.to(device)).float().cpu()
        p = torch.softmax(logits, dim=1)
        if start < 0:
            cls = int(p[0].argmax()) if target is None else int(target)
            base_p, base_logit = float(p[0, cls]), float(logits[0, cls])
        drops += [(unit, base_logit - float(logits[row + offset, cls]), float(p[row + offset, cls]))
                  for row, unit in enumerate(chunk)]
    drops.sort(key=lambda d: -d[1])
    return cls, base_p, drops


@torch.inference_mode()
def units_that_change_the_class(model: nn.Module, z: list[float], classifier: nn.Module, layer: str,
                                label: int | None = None, count: int = 24, max_units: int = 1024) -> tuple[int, float, list]:
    """The units of `layer` to switch off, one after another, so that the class of the image at `z` fades as
    fast as possible: each step zeroes the chosen units together with every remaining candidate (one batch)
    and keeps the candidate after which the class' probability is lowest (ties, e.g. a sure classifier at
    1.00: the lowest log-probability), until the class changes or `count` units are off. So the probability in each row is what a student sees when those
    units are off together, not one unit's effect alone.

    Returns:
        (the class, its probability with every unit on, [(unit, probability of the class with this unit and
        those above it off, the class then seen, mean pixel change of the image in [0, 1]), ...]).
    """
    network = generating_network(model)
    if layer not in named_layers(model, network):
        raise ValueError(f"this model has no layer {layer[:60]!r}")
    zt = latent_tensor(model, [z])
    _, activations = layer_activations(model, lambda: model.generate(zt, label_tensor(model, label, 1)), [layer])
    units = activations[layer].shape[1]
    if units > max_units:
        raise ValueError(f"layer {layer} has {units:,} units; ranking covers layers of up to {max_units:,}")
    device = next(classifier.parameters()).device
    base = model.generate(zt, label_tensor(model, label, 1))
    base_log_p = torch.log_softmax(classifier(base.to(device)).float().cpu(), dim=1)[0]
    cls = int(base_log_p.argmax())
    chosen, rows = [], []
    for _ in range(min(count, units)):
        candidates = [u for u in range(units) if u not in chosen]

        def change(out: torch.Tensor, candidates=candidates) -> torch.Tensor:
            out = out.clone()
            out[:, chosen] = 0
            out[torch.arange(len(candidates)), candidates] = 0
            return out
        with replace_output(model, layer, change):
            images = model.generate(latent_tensor(model, [z] * len(candidates)), label_tensor(model, label, len(candidates)))
        log_p = torch.log_softmax(classifier(images.to(device)).float().cpu(), dim=1)
        p = log_p.exp()
        best = int(torch.argmin(p[:, cls] + 1e-6 * log_p[:, cls]))   # the probability first, then its log
        chosen.append(candidates[best])
        change_px = float((images[best].cpu() - base[0].cpu()).abs().mean() / 2)
        rows.append((candidates[best], float(p[best, cls]), int(p[best].argmax()), change_px))
        if rows[-1][2] != cls:   # the class has changed: the student sees it
            break
    return cls, float(base_log_p[cls].exp()), rows
