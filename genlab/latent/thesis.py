"""The thesis' own examples for its 2D GAN (SEEDS.md A), checked against whatever model is loaded.

The thesis' 2D GAN drew a "1" at the centre (0, 0), a "9" at (-0.84, 0.54), and its morph from
[-1, 0] to [1, 0] went seven, one, eight. Another training run (ours included) lays its digits out
differently; the pages say what this model does at the same places instead of repeating the thesis.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .morph import morph_path

THESIS_POINTS = (((0.0, 0.0), "1"), ((-0.84, 0.54), "9"))
THESIS_MORPH = ((-1.0, 0.0), (1.0, 0.0), ("7", "1", "8"))


@dataclass
class ThesisCheck:
    place: str            # e.g. "at (0, 0)" or "along the morph from [-1, 0] to [1, 0]"
    thesis: str           # what the thesis' model drew there, e.g. "1" or "7, 1, 8"
    here: str             # what this model draws, the same way
    holds: bool

    def sentence(self) -> str:
        place = self.place[0].upper() + self.place[1:]
        if self.holds:
            return f"{place} this model draws {self.here}, as the thesis' model did."
        return f"{place} the thesis' model drew {self.thesis}; this one draws {self.here}."


def _classes(model: nn.Module, classifier: nn.Module, points, names) -> list[tuple[str, float]]:
    with torch.inference_mode():
        z = torch.tensor(points, dtype=torch.float32, device=next(model.parameters()).device)
        probs = torch.softmax(classifier(model.generate(z)), dim=1)   # both models on one device, as in the app
    top, predicted = probs.max(dim=1)
    return [(names[int(c)], float(p)) for c, p in zip(predicted, top)]


def thesis_checks(model: nn.Module, classifier: nn.Module, names: tuple[str, ...], steps: int = 16) -> list[ThesisCheck]:
    """The thesis' examples against `model` (a 2D unconditional GAN; others get an empty list)."""
    if getattr(model, "kind", None) != "gan" or model.latent_dim != 2:
        return []
    checks = []
    for (point, digit), (here, p) in zip(THESIS_POINTS, _classes(model, classifier, [p for p, _ in THESIS_POINTS], names)):
        checks.append(ThesisCheck(f"at ({point[0]:g}, {point[1]:g})", f"a {digit}", f"a {here} (p {p:.2f})",
                                  here == digit))
    a, b, sequence = THESIS_MORPH
    path = morph_path(a, b, steps).tolist()
    runs = []
    for here, _ in _classes(model, classifier, path, names):
        if not runs or runs[-1] != here:
            runs.append(here)
    checks.append(ThesisCheck(f"along the morph from [{a[0]:g}, {a[1]:g}] to [{b[0]:g}, {b[1]:g}]",
                              ", ".join(sequence), ", ".join(runs), tuple(runs) == sequence))
    return checks
