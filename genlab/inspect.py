"""The ONE activation mechanism: forward hooks over a model's named layers.

Works for any nn.Module, so every GenLab model (and a user's own) can be looked inside without
model-specific code. A "layer" is a named leaf module (no children) that changes its input:
containers, Dropout, Flatten and reshapes are skipped.
"""
from __future__ import annotations

import threading
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import nn

_SKIPPED = (nn.Dropout, nn.Flatten, nn.Identity)


def named_layers(model: nn.Module, prefix: str = "") -> list[str]:
    """Names of the leaf layers of `model` (under `prefix`, e.g. "generator"), in forward-definition order."""
    root = model.get_submodule(prefix) if prefix else model
    names = []
    for name, module in root.named_modules():
        if not name or any(True for _ in module.children()):
            continue
        if isinstance(module, _SKIPPED) or type(module).__name__ == "Reshape":
            continue
        names.append(f"{prefix}.{name}" if prefix else name)
    return names


@contextmanager
def capture_activations(model: nn.Module, layers: list[str] | None = None):
    """Record the output of each named layer during the forward passes inside the block.

    Yields a dict name -> tensor (detached; the latest forward's output). Hooks are always removed.
    Only this thread's forward passes are recorded: the model may be a cached one that other sessions
    run at the same time in their own threads.
    """
    names = named_layers(model) if layers is None else layers
    captured: dict[str, torch.Tensor] = {}
    handles = []
    owner = threading.get_ident()

    def record(name: str, out) -> None:
        if isinstance(out, (tuple, list)):   # a recurrent layer: (its output at every step, its state)
            out = out[0]
        if threading.get_ident() == owner and isinstance(out, torch.Tensor):
            captured[name] = out.detach()

    try:
        for name in names:
            module = model.get_submodule(name)
            handles.append(module.register_forward_hook(lambda _m, _inp, out, name=name: record(name, out)))
        yield captured
    finally:
        for handle in handles:
            handle.remove()


@torch.inference_mode()
def layer_activations(model: nn.Module, run, layers: list[str] | None = None) -> dict[str, torch.Tensor]:
    """Run `run()` (a forward pass of `model`, e.g. `lambda: model.generate(z)`) and return every
    named layer's output, in layer order.

    Returns:
        (output of run(), {layer name: activation tensor of shape (N, ...)}) as a tuple.
    """
    with capture_activations(model, layers) as captured:
        output = run()
    order = named_layers(model) if layers is None else layers
    return output, {name: captured[name] for name in order if name in captured}


def mean_activations(activations: dict[str, torch.Tensor]) -> dict[str, float]:
    """"Activations for each layer (average values)": the mean of each layer's output over everything."""
    return {name: float(a.float().mean()) for name, a in activations.items()}


# --- Dissection: switch units off (and on) through forward hooks that replace a layer's output ----------------

MAX_EDITS = 512          # channels zeroed or scaled in one ablation
SCALE = 2.0              # what shift-click multiplies a channel by


@dataclass(frozen=True)
class Ablation:
    """What to change in one layer's output: channels zeroed, channels scaled by SCALE, and a box (top, left,
    bottom, right, as fractions of the feature map's height and width) zeroed in every channel. For a flat
    (dense) layer a "channel" is one unit and the box does not apply."""
    layer: str
    zeroed: tuple[int, ...] = ()
    scaled: tuple[int, ...] = ()
    box: tuple[float, float, float, float] | None = None

    def __post_init__(self):
        if not isinstance(self.layer, str) or not self.layer or len(self.layer) > 200:
            raise ValueError("an ablation needs the name of a layer")
        for name in ("zeroed", "scaled"):
            units = getattr(self, name)
            if len(units) > MAX_EDITS or any(not isinstance(u, int) or not 0 <= u < 100_000 for u in units):
                raise ValueError(f"{name}: at most {MAX_EDITS} unit numbers 0..99999")
        if self.box is not None:
            t, left, b, r = self.box
            if not (0 <= t < b <= 1 and 0 <= left < r <= 1):
                raise ValueError("the box must be top < bottom and left < right, within 0..1")

    @property
    def empty(self) -> bool:
        return not (self.zeroed or self.scaled or self.box)

    def check(self, output: torch.Tensor) -> None:
        """Raise ValueError when the ablation does not fit this layer's output (one sample, no batch axis)."""
        channels = output.shape[0]
        bad = [u for u in self.zeroed + self.scaled if u >= channels]
        if bad:
            raise ValueError(f"layer {self.layer} has {channels} channels; there is no channel {bad[0]}")

    def apply(self, out: torch.Tensor) -> torch.Tensor:
        """A changed copy of `out` (batch, C, ...)."""
        out = out.clone()
        if self.scaled:
            out[:, list(self.scaled)] *= SCALE
        if self.zeroed:
            out[:, list(self.zeroed)] = 0
        if self.box is not None and out.dim() == 4:
            h, w = out.shape[2:]
            t, left, b, r = self.box
            rows = slice(int(t * h), max(int(t * h) + 1, round(b * h)))
            cols = slice(int(left * w), max(int(left * w) + 1, round(r * w)))
            out[:, :, rows, cols] = 0
        return out

    def to_text(self) -> str:
        """The ablation as a link value: LAYER|0,5,7|x2:3,4|box:0.2,0.25,0.5,0.75 (empty parts left out)."""
        parts = [self.layer]
        if self.zeroed:
            parts.append(",".join(map(str, self.zeroed)))
        if self.scaled:
            parts.append("x2:" + ",".join(map(str, self.scaled)))
        if self.box is not None:
            parts.append("box:" + ",".join(f"{v:.3f}" for v in self.box))
        return "|".join(parts)

    @classmethod
    def from_text(cls, text: str) -> "Ablation":
        """The inverse of to_text; raises ValueError with a message for anything else."""
        if not isinstance(text, str) or not 0 < len(text) <= 8000:
            raise ValueError("the ablation is empty or too long")
        layer, *parts = text.split("|")
        zeroed, scaled, box = (), (), None

        def numbers(part: str, kind=int) -> tuple:
            try:
                return tuple(kind(v) for v in part.split(",") if v != "")
            except ValueError:
                raise ValueError(f"{part[:30]!r} is not a list of numbers") from None
        for part in parts:
            if part.startswith("x2:"):
                scaled = numbers(part[3:])
            elif part.startswith("box:"):
                box = numbers(part[4:], float)
                if len(box) != 4:
                    raise ValueError("the box needs four numbers: top, left, bottom, right")
            else:
                zeroed = numbers(part)
        return cls(layer, tuple(sorted(set(zeroed))), tuple(sorted(set(scaled))), box)


@contextmanager
def replace_output(model: nn.Module, layer: str, change):
    """Inside the block, `layer`'s output is replaced by change(output) in this thread's forward passes (the
    model may be a cached one that other sessions run at the same time)."""
    owner = threading.get_ident()
    module = model.get_submodule(layer)
    handle = module.register_forward_hook(
        lambda _m, _inp, out: change(out) if threading.get_ident() == owner else None)
    try:
        yield
    finally:
        handle.remove()


def ablate_rows(ablation: Ablation, rows: slice):
    """A change for replace_output that applies `ablation` to the batch rows `rows` only (the others stay as
    they were: the unablated image comes from the same pass)."""
    def change(out: torch.Tensor) -> torch.Tensor:
        out = out.clone()
        out[rows] = ablation.apply(out[rows])
        return out
    return change
