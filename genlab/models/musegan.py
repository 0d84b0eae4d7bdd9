"""The book's MuseGAN (SEEDS.md C): four-voice phrases of Bach chorales from four kinds of latent input.

Shapes (PyTorch is channels-first; the comments give the book's channels-last sizes):
  z        (N, 320) = [chords 32 | style 32 | melody 4 x 32 | groove 4 x 32], drawn from N(0, I)
           (one flat vector, so that every latent tool treats the MuseGAN like any other model;
           `split_z` / `join_z` give the four inputs by name).
  output   piano roll (N, bars, steps, pitches, tracks) = (N, 2, 16, 84, 4) in [-1, 1]
           (genlab.music.roll's convention; argmax over pitches gives one note per voice and step).
How the inputs flow: chords -> a temporal network -> one 32-vector per bar, shared by the tracks;
style -> every bar of every track; melody[t] -> track t's temporal network -> per bar; groove[t] ->
every bar of track t. Bar generator t turns each bar's 128 concatenated numbers into 16 x 84.
So a track's melody or groove changes only that track's notes.
The critic is the book's Conv3D stack (LeakyReLU, no BatchNorm) trained with WGAN-GP.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import torch
from torch import nn

from .layers import Reshape, standing_batchnorm

INPUTS = ("chords", "style", "melody", "groove")   # the four latent inputs, in z's order


class PatchConvTranspose2d(nn.ConvTranspose2d):
    """A ConvTranspose2d; when its stride equals its kernel (no overlap, no padding) the forward is one
    matrix product, 10x faster on a CPU than PyTorch's general kernel. Same weights, same result."""

    def forward(self, x: torch.Tensor, output_size=None) -> torch.Tensor:
        kh, kw = self.kernel_size
        if (kh, kw) != tuple(self.stride) or any(self.padding) or any(self.output_padding) or self.groups != 1:
            return super().forward(x, output_size)
        n, c, h, w = x.shape
        o = self.out_channels
        y = x.permute(0, 2, 3, 1).reshape(-1, c) @ self.weight.reshape(c, o * kh * kw)   # (N*H*W, O*kh*kw)
        y = y.view(n, h, w, o, kh, kw).permute(0, 3, 1, 4, 2, 5).reshape(n, o, h * kh, w * kw)
        return y + self.bias.view(1, o, 1, 1) if self.bias is not None else y


class PatchConv3d(nn.Conv3d):
    """A Conv3d; when each kernel tiles its input without overlap or padding, the forward is one matrix
    product (PyTorch's CPU Conv3d is slow, and the critic's gradient penalty runs it twice). Same result."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k, n_dims = self.kernel_size, x.shape[2:]
        tiles = all(d % kk == 0 and (s == kk or d == kk) for d, kk, s in zip(n_dims, k, self.stride))
        if not tiles or any(self.padding) or self.groups != 1:
            return super().forward(x)
        n, c, (d, h, w), (kd, kh, kw) = x.shape[0], x.shape[1], n_dims, k
        patches = x.reshape(n, c, d // kd, kd, h // kh, kh, w // kw, kw).permute(0, 2, 4, 6, 1, 3, 5, 7)
        y = patches.reshape(-1, c * kd * kh * kw) @ self.weight.reshape(self.out_channels, -1).t()
        if self.bias is not None:
            y = y + self.bias
        return y.view(n, d // kd, h // kh, w // kw, self.out_channels).permute(0, 4, 1, 2, 3)


@dataclass
class MuseGANConfig:
    n_bars: int = 2                 # Bars per phrase.
    n_steps_per_bar: int = 16       # Sixteenth-note steps per bar (must be 16: the bar generator's 2 -> 16 upsampling).
    n_pitches: int = 84             # Pitches per step (must be 84 = 7 x 12: the last two upsamplings).
    n_tracks: int = 4               # Voices: soprano, alto, tenor, bass.
    z_dim: int = 32                 # Size of each latent input (chords, style, each melody, each groove).
    hidden: int = 1024              # Width of the temporal networks and the bar generators' Dense (book: 1024);
                                    # the bar generators' ConvT channels are hidden/2, hidden/4 x 3.
    lowest_pitch: int = 24          # MIDI pitch of pitch index 0 (C1).
    same_key: bool = False          # Trained on chorales moved to C major or A minor (no sharps or flats),
                                    # so it writes in those keys; False: in the chorales' own keys.

    def __post_init__(self):
        for name, low, high in (("n_bars", 2, 16), ("n_tracks", 1, 8), ("z_dim", 1, 512), ("hidden", 8, 4096),
                                ("lowest_pitch", 0, 127 - 84)):
            value = getattr(self, name)
            if not isinstance(value, int) or not low <= value <= high:
                raise ValueError(f"{name} must be an integer in {low}..{high}, got {value!r}")
        if not isinstance(self.same_key, bool):
            raise ValueError(f"same_key must be true or false, got {self.same_key!r}")
        if self.n_steps_per_bar != 16 or self.n_pitches != 84:
            raise ValueError("the MuseGAN's bar generator makes 16 steps x 84 pitches; "
                             f"got {self.n_steps_per_bar} x {self.n_pitches}")
        if self.hidden % 4:
            raise ValueError(f"hidden must be a multiple of 4, got {self.hidden}")

    @property
    def latent_dim(self) -> int:
        return self.z_dim * (2 + 2 * self.n_tracks)


class TemporalNetwork(nn.Module):
    """(N, z_dim) -> (N, n_bars, z_dim): one vector per bar from one vector per phrase."""

    def __init__(self, cfg: MuseGANConfig):
        super().__init__()
        self.layers = nn.Sequential(OrderedDict([
            ("reshape", Reshape(cfg.z_dim, 1, 1)),
            # state size. z_dim x 1 x 1          (book: [1, 1, 32])
            ("deconv1", PatchConvTranspose2d(cfg.z_dim, cfg.hidden, (2, 1))),
            ("bn1", nn.BatchNorm2d(cfg.hidden)),
            ("act1", nn.ReLU()),
            # state size. hidden x 2 x 1         (book: [2, 1, 1024])
            ("deconv2", PatchConvTranspose2d(cfg.hidden, cfg.z_dim, (cfg.n_bars - 1, 1))),
            ("bn2", nn.BatchNorm2d(cfg.z_dim)),
            ("act2", nn.ReLU()),
            # state size. z_dim x n_bars x 1     (book: [n_bars, 1, 32])
        ]))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.layers(z).squeeze(-1).transpose(1, 2)


class BarGenerator(nn.Module):
    """(N, 4 * z_dim) -> one bar of one track (N, 16 steps, 84 pitches) in [-1, 1]."""

    def __init__(self, cfg: MuseGANConfig):
        super().__init__()
        h = cfg.hidden
        self.layers = nn.Sequential(OrderedDict([
            ("dense", nn.Linear(4 * cfg.z_dim, h)),
            ("bn0", nn.BatchNorm1d(h)),
            ("act0", nn.ReLU()),
            ("reshape", Reshape(h // 2, 2, 1)),
            # state size. h/2 x 2 x 1     (book: [2, 1, 512])
            ("deconv1", PatchConvTranspose2d(h // 2, h // 2, (2, 1), stride=(2, 1))),
            ("bn1", nn.BatchNorm2d(h // 2)),
            ("act1", nn.ReLU()),
            # state size. h/2 x 4 x 1
            ("deconv2", PatchConvTranspose2d(h // 2, h // 4, (2, 1), stride=(2, 1))),
            ("bn2", nn.BatchNorm2d(h // 4)),
            ("act2", nn.ReLU()),
            # state size. h/4 x 8 x 1
            ("deconv3", PatchConvTranspose2d(h // 4, h // 4, (2, 1), stride=(2, 1))),
            ("bn3", nn.BatchNorm2d(h // 4)),
            ("act3", nn.ReLU()),
            # state size. h/4 x 16 x 1
            ("deconv4", PatchConvTranspose2d(h // 4, h // 4, (1, 7), stride=(1, 7))),
            ("bn4", nn.BatchNorm2d(h // 4)),
            ("act4", nn.ReLU()),
            # state size. h/4 x 16 x 7    (octaves)
            ("deconv5", PatchConvTranspose2d(h // 4, 1, (1, 12), stride=(1, 12))),
            ("tanh", nn.Tanh()),
            # state size. 1 x 16 x 84     (steps x pitches)
        ]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x).squeeze(1)


class Generator(nn.Module):
    """z (N, latent_dim) -> piano roll (N, n_bars, 16, 84, n_tracks) in [-1, 1]."""

    def __init__(self, cfg: MuseGANConfig):
        super().__init__()
        self.config = cfg
        self.chords_temporal = TemporalNetwork(cfg)
        self.melody_temporal = nn.ModuleList(TemporalNetwork(cfg) for _ in range(cfg.n_tracks))
        self.bar_generators = nn.ModuleList(BarGenerator(cfg) for _ in range(cfg.n_tracks))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        chords, style, melody, groove = split_z(z, self.config)
        chords_over_time = self.chords_temporal(chords)                       # (N, bars, z_dim)
        melody_over_time = [temporal(melody[:, t]) for t, temporal in enumerate(self.melody_temporal)]
        bars = []
        for bar in range(self.config.n_bars):
            tracks = []
            for t, bar_generator in enumerate(self.bar_generators):
                x = torch.cat([chords_over_time[:, bar], style, melody_over_time[t][:, bar], groove[:, t]], dim=1)
                tracks.append(bar_generator(x))                               # (N, 16, 84)
            bars.append(torch.stack(tracks, dim=-1))                          # (N, 16, 84, tracks)
        return torch.stack(bars, dim=1)                                       # (N, bars, 16, 84, tracks)


class Critic(nn.Module):
    """piano roll (N, bars, 16, 84, tracks) -> score (N, 1): higher means "more like a real chorale"."""

    def __init__(self, cfg: MuseGANConfig):
        super().__init__()

        def conv(name, c_in, c_out, kernel, stride, padding=0):
            return [(name, PatchConv3d(c_in, c_out, kernel, stride, padding)), (f"{name}_act", nn.LeakyReLU(0.3))]

        self.layers = nn.Sequential(OrderedDict([
            # state size. tracks x bars x 16 x 84 (channels = tracks)
            *conv("conv1", cfg.n_tracks, 128, (2, 1, 1), (1, 1, 1)),
            *conv("conv2", 128, 64, (cfg.n_bars - 1, 1, 1), (1, 1, 1)),
            # state size. 64 x 1 x 16 x 84
            *conv("conv3", 64, 64, (1, 1, 12), (1, 1, 12)),
            *conv("conv4", 64, 64, (1, 1, 7), (1, 1, 7)),
            # state size. 64 x 1 x 16 x 1
            *conv("conv5", 64, 64, (1, 2, 1), (1, 2, 1)),
            *conv("conv6", 64, 64, (1, 2, 1), (1, 2, 1)),
            *conv("conv7", 64, 128, (1, 4, 1), (1, 2, 1), (0, 1, 0)),
            *conv("conv8", 128, 256, (1, 3, 1), (1, 2, 1), (0, 1, 0)),
            # state size. 256 x 1 x 1 x 1
            ("flatten", nn.Flatten()),
            ("dense", nn.Linear(256, 1024)),
            ("dense_act", nn.LeakyReLU(0.3)),
            ("out", nn.Linear(1024, 1)),
        ]))

    def forward(self, roll: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.layers(roll.permute(0, 4, 1, 2, 3))


def split_z(z: torch.Tensor, cfg: MuseGANConfig) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """(N, latent_dim) -> chords (N, z), style (N, z), melody (N, tracks, z), groove (N, tracks, z)."""
    d, t = cfg.z_dim, cfg.n_tracks
    if z.shape[-1] != cfg.latent_dim:
        raise ValueError(f"the MuseGAN's z has {cfg.latent_dim} numbers, got {z.shape[-1]}")
    return (z[:, :d], z[:, d:2 * d], z[:, 2 * d:(2 + t) * d].reshape(-1, t, d),
            z[:, (2 + t) * d:].reshape(-1, t, d))


def join_z(chords: torch.Tensor, style: torch.Tensor, melody: torch.Tensor, groove: torch.Tensor) -> torch.Tensor:
    """The inverse of split_z: (N, z), (N, z), (N, tracks, z), (N, tracks, z) -> (N, latent_dim)."""
    return torch.cat([chords, style, melody.flatten(1), groove.flatten(1)], dim=1)


def input_slices(cfg: MuseGANConfig) -> dict[str, slice]:
    """Where each user-facing input lives in z: "chords", "style", "melody 0".."melody 3", "groove 0".."groove 3"."""
    d, t = cfg.z_dim, cfg.n_tracks
    slices = {"chords": slice(0, d), "style": slice(d, 2 * d)}
    slices.update({f"melody {i}": slice((2 + i) * d, (3 + i) * d) for i in range(t)})
    slices.update({f"groove {i}": slice((2 + t + i) * d, (3 + t + i) * d) for i in range(t)})
    return slices


class MuseGAN(nn.Module):
    """Generator and critic as one model; `generate` is what the app calls."""

    kind = "musegan"
    conditional = False

    def __init__(self, cfg: MuseGANConfig):
        super().__init__()
        self.config = cfg
        self.generator = Generator(cfg)
        self.critic = Critic(cfg)

    @property
    def latent_dim(self) -> int:
        return self.config.latent_dim

    def generate(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """z (N, latent_dim) -> piano rolls (N, bars, 16, 84, tracks) in [-1, 1]."""
        return self.generator(z)

    @torch.no_grad()
    def standing_statistics(self, batches: int = 16, batch_size: int = 64, seed: int = 0) -> None:
        """Re-estimate the generator's BatchNorm running statistics as exact averages over random z
        (BigGAN's "standing statistics"). Training moves the generator faster than the running averages
        follow, and the critic only ever sees batch statistics; without this, eval-mode phrases lose
        their chords. Uses its own seeded generator: the global random state is untouched."""
        g, device = torch.Generator().manual_seed(seed), next(self.parameters()).device
        standing_batchnorm(self.generator, lambda i: self.generator(
            torch.randn(batch_size, self.latent_dim, generator=g).to(device)), batches)

    def sample_z(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n latent points from N(0, I) (the book's MuseGAN noise), shape (n, latent_dim)."""
        device = next(self.parameters()).device
        return torch.randn(n, self.latent_dim, generator=generator).to(device)

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n generated piano rolls (n, bars, 16, 84, tracks)."""
        return self.generate(self.sample_z(n, generator))
