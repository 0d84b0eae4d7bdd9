"""The MuseGAN's latent inputs as controls a user holds: one seed and one 2D pad point per input.

An input (chords, style, each voice's melody, each voice's groove) is
    seed's N(0, I) vector + x * direction_1 + y * direction_2
where the two directions are that input's main directions: the top two right singular vectors of
the first layer it feeds (its weights scaled by the BatchNorm that follows, as in eval mode), i.e.
the two directions of the 32 numbers the network reacts to most strongly. "Resample" is a new seed.
Every function is deterministic: the same controls give the same z, the same phrase.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..models.musegan import MuseGAN, input_slices
from .roll import VOICES, decode_generated

PAD_RANGE = 3.0     # a pad spans -3..3 standard deviations along each main direction


@dataclass(frozen=True)
class Control:
    seed: int             # which N(0, I) vector this input starts from
    x: float = 0.0        # along the input's first main direction
    y: float = 0.0        # along its second


def control_names(model: MuseGAN) -> list[str]:
    """"chords", "style", "melody 0".., "groove 0".. in z's order."""
    return list(input_slices(model.config))


def control_title(name: str) -> str:
    """"melody 0" -> "Soprano melody", "chords" -> "Chords"."""
    if " " in name:
        kind, track = name.split()
        return f"{VOICES[int(track)].title()} {kind}"
    return name.title()


def default_controls(model: MuseGAN, seed: int = 0) -> dict[str, Control]:
    """A different seed for every input, all pads at the centre."""
    return {name: Control(seed * 1000 + i) for i, name in enumerate(control_names(model))}


def _scaled_first_layer(weight: torch.Tensor, bn: torch.nn.Module) -> torch.Tensor:
    """(outputs, inputs) weights scaled per output unit as the eval-mode BatchNorm after them does."""
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    return weight * scale[:, None]


@torch.no_grad()
def main_directions(model: MuseGAN) -> dict[str, np.ndarray]:
    """{input name: float32 (2, z_dim) orthonormal main directions} (see the module docstring)."""
    g, d = model.generator, model.config.z_dim

    def temporal(net) -> torch.Tensor:
        w = net.layers.deconv1.weight                     # (z_dim, hidden, 2, 1)
        w = w.permute(1, 2, 3, 0).reshape(w.shape[1], -1, d)   # (hidden, 2, z_dim)
        scale = net.layers.bn1.weight / torch.sqrt(net.layers.bn1.running_var + net.layers.bn1.eps)
        return (w * scale[:, None, None]).reshape(-1, d)

    def bar_inputs(part: int, tracks) -> torch.Tensor:   # part 1 = style, 3 = groove in the bar input
        return torch.cat([_scaled_first_layer(g.bar_generators[t].layers.dense.weight[:, part * d:(part + 1) * d],
                                              g.bar_generators[t].layers.bn0) for t in tracks])

    tracks = range(model.config.n_tracks)
    matrices = {"chords": temporal(g.chords_temporal), "style": bar_inputs(1, tracks)}
    matrices.update({f"melody {t}": temporal(g.melody_temporal[t]) for t in tracks})
    matrices.update({f"groove {t}": bar_inputs(3, [t]) for t in tracks})
    directions = {}
    for name, matrix in matrices.items():
        vh = torch.linalg.svd(matrix.float().cpu(), full_matrices=False).Vh[:2]
        signs = torch.sign(vh.gather(1, vh.abs().argmax(1, keepdim=True)))   # a fixed sign per direction
        directions[name] = (vh * signs).numpy().astype(np.float32)
    return directions


def input_vector(seed: int, z_dim: int) -> torch.Tensor:
    """The N(0, I) vector of a seed, (z_dim,)."""
    return torch.randn(z_dim, generator=torch.Generator().manual_seed(int(seed)))


def compose_z(model: MuseGAN, controls: dict[str, Control], directions: dict[str, np.ndarray]) -> torch.Tensor:
    """Controls -> z (1, latent_dim) on the model's device."""
    z = torch.zeros(model.latent_dim)
    for name, part in input_slices(model.config).items():
        c = controls[name]
        d1, d2 = torch.from_numpy(directions[name])
        z[part] = input_vector(c.seed, model.config.z_dim) + c.x * d1 + c.y * d2
    return z.unsqueeze(0).to(next(model.parameters()).device)


def morph_path(z_a: torch.Tensor, z_b: torch.Tensor, steps: int) -> torch.Tensor:
    """The book's morph: z_A (1 - alpha) + z_B alpha for alpha from 0 to 1 in `steps` steps, (steps, latent_dim)."""
    if not 2 <= steps <= 32:
        raise ValueError(f"a morph has 2..32 steps, got {steps}")
    alpha = torch.linspace(0, 1, steps, device=z_a.device)[:, None]
    return z_a.reshape(1, -1) * (1 - alpha) + z_b.reshape(1, -1) * alpha


@torch.inference_mode()
def generate_pitches(model: MuseGAN, z: torch.Tensor, hold: bool = True) -> np.ndarray:
    """z (N, latent_dim) -> int (N, bars, 16, tracks) MIDI pitches (genlab.music.roll.decode_generated)."""
    return decode_generated(model.generate(z), model.config.lowest_pitch, hold)
