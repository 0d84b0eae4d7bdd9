"""The ONE activation mechanism: forward hooks over a model's named layers.

Works for any nn.Module, so every GenLab model (and a user's own) can be looked inside without
model-specific code. A "layer" is a named leaf module (no children) that changes its input:
containers, Dropout, Flatten and reshapes are skipped.
"""
from __future__ import annotations

import threading
from contextlib import contextmanager

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

    def record(name: str, out: torch.Tensor) -> None:
        if threading.get_ident() == owner:
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
