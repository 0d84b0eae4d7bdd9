"""Latent-space tools: class-area maps (adaptive against brute force, the disk cache), one point's
view for every model kind, latent ranges, and the checks on points typed or linked by users."""
import math

import numpy as np
import pytest
import torch
from torch import nn

from genlab.checkpoints import load_checkpoint, save_checkpoint
from genlab.images import class_map_image, feature_map_grid, slice_strip
from genlab.latent.labels import area_labels
from genlab.latent.maps import agreement, class_area_map, compute_class_area_map
from genlab.latent.point import explore_point
from genlab.latent.space import check_point, default_point, latent_ranges
from genlab.models import build_model

from .conftest import SHIPPED


class ToyGenerator(nn.Module):
    """A "generator" whose image carries its latent point in the first pixels."""

    kind, conditional = "toy", False

    def __init__(self, latent_dim: int):
        super().__init__()
        self.latent_dim = latent_dim
        self.scale = nn.Parameter(torch.ones(()))

    def generate(self, z, labels=None):
        images = torch.zeros(len(z), 1, 28, 28)
        images[:, 0, 0, :self.latent_dim] = z * self.scale
        return images


class ToyClassifier(nn.Module):
    """Five classes: four angular sectors around a disc of class 4 whose radius grows with the
    other coordinates, so the borders are curves (2D), and curved surfaces (3D, 4D)."""

    def __init__(self):
        super().__init__()
        self.sharpness = nn.Parameter(torch.tensor(30.0))

    def forward(self, images):
        z = images[:, 0, 0, :4]
        angle = torch.atan2(z[:, 1], z[:, 0])
        sector = ((angle + math.pi) / (math.pi / 2)).long().clamp(0, 3)
        radius = torch.sqrt(z[:, 0] ** 2 + z[:, 1] ** 2)
        inner = radius < 0.35 + 0.3 * z[:, 2:].sum(dim=1).abs()
        cls = torch.where(inner, torch.full_like(sector, 4), sector)
        return nn.functional.one_hot(cls, 5).float() * self.sharpness


@pytest.mark.parametrize("d, resolution", [(2, 100), (3, 24), (4, 12)])
def test_adaptive_map_agrees_with_brute_force_and_classifies_far_fewer_points(d, resolution):
    model, classifier = ToyGenerator(d), ToyClassifier()
    axes, ranges = tuple(range(d)), [(-1.0, 1.0)] * d
    fast = compute_class_area_map(model, classifier, axes, ranges, resolution, coarse_step=4)
    slow = compute_class_area_map(model, classifier, axes, ranges, resolution, method="brute")
    assert slow.computed_fraction == 1.0 and set(np.unique(slow.labels)) == {0, 1, 2, 3, 4}
    assert agreement(fast, slow) >= 0.99
    assert fast.computed_fraction < (0.35 if d == 2 else 0.75)
    assert fast.labels.shape == (resolution,) * d and (fast.labels >= 0).all()


def test_map_of_a_slice_keeps_the_fixed_coordinates():
    model, classifier = ToyGenerator(3), ToyClassifier()
    flat = compute_class_area_map(model, classifier, (0, 1), [(-1, 1), (-1, 1)], 40, fixed={2: 0.0})
    wide = compute_class_area_map(model, classifier, (0, 1), [(-1, 1), (-1, 1)], 40, fixed={2: 0.9})
    assert flat.fixed == {2: 0.0} and wide.fixed == {2: 0.9}
    assert (wide.labels == 4).sum() > 3 * (flat.labels == 4).sum()  # the disc grows with z3
    cube = compute_class_area_map(model, classifier, (0, 1, 2), [(-1, 1)] * 3, 16)
    plane = cube.slice(2, cube.nearest_index(2, 0.9))
    assert plane.labels.shape == (16, 16) and plane.fixed[2] == pytest.approx(cube.coords[2][-2])


def test_shipped_gan_map_is_close_to_brute_force(tmp_path):
    gan = load_checkpoint(SHIPPED / "gan_2d.safetensors").model
    classifier = load_checkpoint(SHIPPED / "classifier_strong.safetensors").model
    fast = compute_class_area_map(gan, classifier, (0, 1), [(-1, 1), (-1, 1)], 40)
    slow = compute_class_area_map(gan, classifier, (0, 1), [(-1, 1), (-1, 1)], 40, method="brute")
    assert agreement(fast, slow) >= 0.99
    assert fast.computed_fraction < 0.6
    assert len(np.unique(slow.labels)) >= 8  # the shipped GAN spreads (nearly) every digit over its plane


def test_map_cache_is_used_and_invalidated_when_the_checkpoint_changes(tiny_checkpoint, monkeypatch, tmp_path):
    monkeypatch.delenv("GENLAB_CACHE_DIR", raising=False)
    classifier_path = SHIPPED / "classifier_strong.safetensors"
    classifier = load_checkpoint(classifier_path).model
    ckpt = load_checkpoint(tiny_checkpoint)
    args = dict(axes=(0, 1), ranges=[(-1, 1), (-1, 1)], resolution=12)
    first = class_area_map(ckpt.model, classifier, tiny_checkpoint, classifier_path, **args)
    files = list((tiny_checkpoint.parent / ".genlab-cache" / "maps").glob("*.npz"))
    assert not first.from_cache and len(files) == 1
    again = class_area_map(ckpt.model, classifier, tiny_checkpoint, classifier_path, **args)
    assert again.from_cache and again.key == first.key and np.array_equal(again.labels, first.labels)
    # Retrain-like change: other weights at the same path -> a new key, a freshly computed map.
    changed = build_model("gan", ckpt.config)
    changed.generator.layers.dense.weight.data.mul_(-3)
    save_checkpoint(tiny_checkpoint, changed, "mnist5k")
    fresh = class_area_map(load_checkpoint(tiny_checkpoint).model, classifier, tiny_checkpoint, classifier_path, **args)
    assert not fresh.from_cache and fresh.key != first.key
    # A damaged cache file is recomputed, never trusted.
    damaged = next(p for p in (tiny_checkpoint.parent / ".genlab-cache" / "maps").glob("*.npz") if fresh.key in p.name)
    damaged.write_bytes(b"not a map")
    assert not class_area_map(changed.eval(), classifier, tiny_checkpoint, classifier_path, **args).from_cache


def test_map_cache_survives_new_scores_in_the_metadata(tiny_checkpoint, monkeypatch):
    """`genlab quality --write` rewrites a checkpoint with new metrics: its maps stay valid (the key is the
    model's weights and config), while new weights at the same path get a new key."""
    from genlab.checkpoints import model_hash, update_metrics

    monkeypatch.delenv("GENLAB_CACHE_DIR", raising=False)
    classifier_path = SHIPPED / "classifier_strong.safetensors"
    classifier = load_checkpoint(classifier_path).model
    args = dict(axes=(0, 1), ranges=[(-1, 1), (-1, 1)], resolution=12)
    before = model_hash(tiny_checkpoint)
    first = class_area_map(load_checkpoint(tiny_checkpoint).model, classifier, tiny_checkpoint, classifier_path, **args)
    update_metrics(tiny_checkpoint, {"fid": 123.0, "scored_on": "2026-11-30"})
    assert model_hash(tiny_checkpoint) == before
    again = class_area_map(load_checkpoint(tiny_checkpoint).model, classifier, tiny_checkpoint, classifier_path, **args)
    assert again.from_cache and again.key == first.key
    changed = build_model("gan", load_checkpoint(tiny_checkpoint).config)
    save_checkpoint(tiny_checkpoint, changed, "mnist5k")
    assert model_hash(tiny_checkpoint) != before


def test_map_gate_is_taken_only_to_compute_and_the_cache_is_read_again_inside_it(tiny_checkpoint, monkeypatch):
    from contextlib import contextmanager

    monkeypatch.delenv("GENLAB_CACHE_DIR", raising=False)
    classifier_path = SHIPPED / "classifier_strong.safetensors"
    classifier = load_checkpoint(classifier_path).model
    ckpt = load_checkpoint(tiny_checkpoint)
    args = dict(axes=(0, 1), ranges=[(-1, 1), (-1, 1)], resolution=12)
    turns = []

    @contextmanager
    def gate():
        turns.append(1)
        yield

    first = class_area_map(ckpt.model, classifier, tiny_checkpoint, classifier_path, gate=gate, **args)
    assert not first.from_cache and len(turns) == 1
    assert class_area_map(ckpt.model, classifier, tiny_checkpoint, classifier_path, gate=gate, **args).from_cache
    assert len(turns) == 1                                   # a cached map needs no turn

    @contextmanager
    def someone_else_computes_meanwhile():                    # while we waited for our turn
        class_area_map(ckpt.model, classifier, tiny_checkpoint, classifier_path, **args, fixed=None)
        yield

    for path in (tiny_checkpoint.parent / ".genlab-cache" / "maps").glob("*.npz"):
        path.unlink()
    assert class_area_map(ckpt.model, classifier, tiny_checkpoint, classifier_path,
                          gate=someone_else_computes_meanwhile, **args).from_cache


def test_cache_folder_setting_moves_the_cache(tmp_path, monkeypatch):
    from genlab.latent.maps import cache_folder

    monkeypatch.delenv("GENLAB_CACHE_DIR", raising=False)
    assert cache_folder(tmp_path / "gan.safetensors") == tmp_path / ".genlab-cache" / "maps"
    monkeypatch.setenv("GENLAB_CACHE_DIR", str(tmp_path / "cache"))
    assert cache_folder(tmp_path / "gan.safetensors") == tmp_path / "cache" / "maps"


@pytest.mark.parametrize("kind, config, label", [
    ("gan", {"latent_dim": 3}, None), ("cgan", {"latent_dim": 3}, 7), ("ae", {}, None), ("vae", {"latent_dim": 4}, None)])
def test_point_view_for_every_model_kind(kind, config, label):
    model = build_model(kind, config).eval()
    classifier = build_model("classifier", {"size": "weak"}).eval()
    d = model.latent_dim
    view = explore_point(model, [0.1] * d, classifier, label=label)
    assert view.image.shape == (1, 28, 28) and view.image.min() >= -1 and view.image.max() <= 1
    assert math.isclose(sum(view.probabilities), 1, rel_tol=1e-4) and 0 <= view.predicted < 10
    assert (view.realness is not None) == (kind in ("gan", "cgan"))
    assert list(view.layer_means) == list(view.activations) and len(view.activations) >= 8
    network = "decoder" if kind in ("ae", "vae") else "generator"
    assert all(name.startswith(network) for name in view.activations)
    assert view.activations[list(view.activations)[-1]].shape == (1, 28, 28)


def test_point_view_follows_the_point():
    gan = load_checkpoint(SHIPPED / "gan_2d.safetensors").model
    classifier = load_checkpoint(SHIPPED / "classifier_strong.safetensors").model
    here, there = explore_point(gan, [-0.84, 0.54], classifier), explore_point(gan, [0.8, -0.6], classifier)
    assert not torch.equal(here.image, there.image)
    assert here.predicted != there.predicted
    assert here.layer_means != there.layer_means


def test_vae_range_covers_its_encoded_digits(mnist5k_test):
    vae = load_checkpoint(SHIPPED / "vae_2d.safetensors").model
    ranges = latent_ranges(vae, mnist5k_test.images)
    with torch.inference_mode():
        codes = vae.encode(mnist5k_test.images).numpy()
    inside = np.all([(codes[:, i] >= lo) & (codes[:, i] <= hi) for i, (lo, hi) in enumerate(ranges)], axis=0)
    assert inside.mean() > 0.99
    assert all(lo < 0 < hi and (hi - lo) * 2 == round((hi - lo) * 2) for lo, hi in ranges)
    assert latent_ranges(build_model("gan", {"latent_dim": 4})) == [(-1.0, 1.0)] * 4
    assert default_point(build_model("gan", {"latent_dim": 2})) == [-0.84, 0.54]


@pytest.mark.parametrize("given, expected, says", [
    ("0.25,-0.5", [0.25, -0.5], None),
    ([3, -0.5], [1.0, -0.5], "outside"),
    ("0.1,abc", [0.0, 0.0], "not a number"),
    ("0.1,nan", [0.0, 0.0], "not a number"),
    ("0.1", [0.0, 0.0], "2 coordinates"),
    ("", [0.0, 0.0], "2 coordinates"),
])
def test_points_from_users_are_clamped_or_refused_with_a_message(given, expected, says):
    checked = check_point(given, [(-1, 1), (-1, 1)], [0.0, 0.0])
    assert checked.point == expected
    assert (says is None and not checked.messages) or says in " ".join(checked.messages)


def test_area_labels_sit_inside_their_areas():
    model, classifier = ToyGenerator(2), ToyClassifier()
    m = compute_class_area_map(model, classifier, (0, 1), [(-1, 1), (-1, 1)], 60)
    found = area_labels(m)
    assert sorted(c for c, _, _ in found) == [0, 1, 2, 3, 4]
    for cls, x, y in found:
        i, j = m.nearest_index(0, x), m.nearest_index(1, y)
        assert m.labels[i, j] == cls


def test_map_pictures_put_y_up_and_frame_the_current_slice():
    labels = np.zeros((10, 10), dtype=np.int16)
    labels[:, 5:] = 2                                  # the upper half (high y) is class 2
    picture = np.asarray(class_map_image(labels, np.ones((10, 10), dtype=np.float32), scale=1))
    assert tuple(picture[0, 0]) == (0xbd, 0x1f, 0x01) and tuple(picture[-1, 0]) == (0x3f, 0x90, 0xda)
    strip = slice_strip([(labels, np.ones((10, 10)))] * 16, highlight=3, scale=2, per_row=8)
    assert strip.size == (8 * 24 + 4, 2 * 24 + 4)
    assert feature_map_grid(torch.randn(64, 14, 14)).size[0] > 14 * 8
    from torchvision.utils import make_grid

    from genlab.images import tile
    for n, h, w, nrow, pad in [(64, 14, 14, 11, 1), (1, 12, 12, 2, 1), (7, 5, 3, 3, 2), (10, 4, 4, 10, 0)]:
        maps = torch.randn(n, h, w)   # the hand-made tiling lays maps out exactly as torchvision does
        assert torch.equal(tile(maps, nrow, pad, -1.0), make_grid(maps.unsqueeze(1), nrow=nrow, padding=pad,
                                                                  pad_value=-1)[0])
    assert feature_map_grid(torch.randn(12544), scale=1).size == (112, 112)


def test_bfloat16_with_float32_rechecks_gives_the_float32_classes():
    from genlab.latent.maps import PointClassifier, fast_precision_available

    if not fast_precision_available(torch.device("cpu")):
        pytest.skip("this CPU has no native bfloat16; maps run in float32 only")
    gan = load_checkpoint(SHIPPED / "gan_2d.safetensors").model
    classifier = load_checkpoint(SHIPPED / "classifier_strong.safetensors").model
    z = np.random.default_rng(0).uniform(-1, 1, (600, 2)).astype(np.float32)
    fast, exact = PointClassifier(gan, classifier, fast=True), PointClassifier(gan, classifier, fast=False)
    (fast_classes, fast_probs), (classes, probs) = fast(z), exact(z)
    assert fast.fast and 0 < fast.rechecked < len(z) / 2
    assert (fast_classes == classes).mean() >= 0.998
    difference = np.abs(fast_probs - probs)   # bfloat16's confidences (only shading) are close, rarely off a little
    assert np.median(difference) < 0.001 and np.percentile(difference, 99) < 0.05 and difference.max() < 0.2


def test_thesis_checks_say_what_this_model_draws():
    from genlab.latent.thesis import thesis_checks
    from genlab.models import build_model

    class Fixed(torch.nn.Module):   # a "classifier" that calls everything a 1
        def forward(self, x):
            return torch.nn.functional.one_hot(torch.ones(len(x), dtype=torch.long), 10).float() * 10

    gan = build_model("gan", {"latent_dim": 2}).eval()
    checks = thesis_checks(gan, Fixed(), tuple("0123456789"))
    assert [c.holds for c in checks] == [True, False, False]
    assert checks[0].sentence() == "At (0, 0) this model draws a 1 (p 1.00), as the thesis' model did."
    assert checks[2].sentence() == ("Along the morph from [-1, 0] to [1, 0] the thesis' model drew 7, 1, 8; "
                                    "this one draws 1.")
    assert thesis_checks(build_model("gan", {"latent_dim": 3}).eval(), Fixed(), tuple("0123456789")) == []


def test_a_linked_point_that_is_not_a_number_says_so():
    from genlab.latent.space import check_point

    checked = check_point("abc", [(-1, 1), (-1, 1)], [0.0, 0.0])
    assert checked.point == [0.0, 0.0] and "'abc' is not a number" in checked.messages[0]
    checked = check_point("0.1,0.2,0.3", [(-1, 1), (-1, 1)], [0.0, 0.0])
    assert "has 2 coordinates, not 3" in checked.messages[0]


def blend(sprite: np.ndarray, k: int, x_range, y_range, x: float, y: float) -> np.ndarray:
    """The preview at (x, y) as the pad's JavaScript paints it (latent_pad.js blendInto): the bilinear blend of
    the four nearest grid images of the sprite."""
    fx = np.clip((x - x_range[0]) / (x_range[1] - x_range[0]), 0, 1) * (k - 1)
    fy = np.clip((y - y_range[0]) / (y_range[1] - y_range[0]), 0, 1) * (k - 1)
    ix, iy = min(int(fx), k - 2), min(int(fy), k - 2)
    tx, ty = fx - ix, fy - iy

    def cell(i, j):
        return sprite[j * 28:(j + 1) * 28, i * 28:(i + 1) * 28].astype(np.float32)
    out = ((1 - tx) * (1 - ty) * cell(ix, iy) + tx * (1 - ty) * cell(ix + 1, iy)
           + (1 - tx) * ty * cell(ix, iy + 1) + tx * ty * cell(ix + 1, iy + 1))
    return np.round(out).astype(np.uint8)


def test_the_drag_previews_sprite_holds_the_plane_and_blends_between_its_images():
    from genlab.images import to_uint8
    from genlab.latent.preview import preview_sprite

    torch.manual_seed(0)
    gan = build_model("gan", {"latent_dim": 3}).eval()
    sprite = preview_sprite(gan, (0, 2), (-1.0, 1.0), (-0.5, 0.5), [0.0, 0.3, 0.0], k=5)
    assert sprite.shape == (140, 140) and sprite.dtype == np.uint8
    with torch.no_grad():
        corner = to_uint8(gan.generate(torch.tensor([[0.5, 0.3, 0.25]]))[0])     # ix 3 (x = 0.5), iy 3 (y = 0.25)
    assert np.abs(sprite[84:112, 84:112].astype(int) - corner.astype(int)).max() <= 1
    assert np.array_equal(blend(sprite, 5, (-1, 1), (-0.5, 0.5), 0.5, 0.25), sprite[84:112, 84:112])
    half = blend(sprite, 5, (-1, 1), (-0.5, 0.5), 0.75, 0.25)                     # halfway to ix 4
    expected = (sprite[84:112, 84:112].astype(float) + sprite[84:112, 112:140]) / 2
    assert np.abs(half - expected).max() <= 1
    other = preview_sprite(gan, (0, 2), (-1.0, 1.0), (-0.5, 0.5), [0.0, -0.8, 0.0], k=5)
    assert not np.array_equal(other, sprite)                                       # another slice, another sprite
    cgan = build_model("cgan", {"latent_dim": 3}).eval()
    assert not np.array_equal(preview_sprite(cgan, (0, 1), (-1, 1), (-1, 1), [0, 0, 0], label=1, k=3),
                              preview_sprite(cgan, (0, 1), (-1, 1), (-1, 1), [0, 0, 0], label=7, k=3))
