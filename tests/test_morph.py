"""Morphs and conditional GAN views: interpolation, GIF export, what the models make of a path, one
point as every class, and per-class label agreement on the shipped conditional GAN."""
import io

import numpy as np
import pytest
import torch
from PIL import Image

from genlab.checkpoints import load_checkpoint
from genlab.generate import GenerateError
from genlab.images import animated_gif
from genlab.latent.conditional import every_class, label_agreement
from genlab.latent.maps import compute_class_area_map
from genlab.latent.morph import classes_along, morph, morph_path
from genlab.models import build_model

from .conftest import SHIPPED


@pytest.mark.parametrize("method", ["linear", "spherical"])
@pytest.mark.parametrize("a, b", [([-1, 0], [1, 0]), ([0.9, 0.2, -0.4], [-0.1, 0.7, 0.8]), ([0, 0], [0.5, -0.5])])
def test_paths_start_and_end_exactly_at_the_endpoints(method, a, b):
    path = morph_path(a, b, 16, method)
    assert path.shape == (16, len(a))
    assert path[0].tolist() == a and path[-1].tolist() == b


def test_linear_path_is_evenly_spaced():
    path = morph_path([-1, 0], [1, 0], 5, "linear")
    assert np.allclose(path[:, 0], [-1, -0.5, 0, 0.5, 1]) and np.allclose(path[:, 1], 0)


def test_spherical_path_keeps_the_norm_between_the_endpoints_norms():
    rng = np.random.default_rng(0)
    pairs = [(np.array([-1.0, 0.0]), np.array([1.0, 0.0])), (np.array([0.5, 0.5, 0]), np.array([-1.0, -1.0, 0]))]
    for a, b in pairs + [(rng.normal(size=4), rng.normal(size=4) * 2) for _ in range(20)]:
        path = morph_path(a, b, 12, "spherical")
        assert np.isfinite(path).all()
        norms = np.linalg.norm(path, axis=1)
        low, high = sorted([np.linalg.norm(a), np.linalg.norm(b)])
        assert (norms >= low - 1e-9).all() and (norms <= high + 1e-9).all()
        assert not np.allclose(morph_path(a, b, 12, "spherical"), morph_path(a, b, 12, "linear"))


@pytest.mark.parametrize("args, says", [
    (([0, 0], [1, 1], 1), "from 2 to 64"), (([0, 0], [1, 1], 65), "from 2 to 64"),
    (([0, 0], [1, 1, 1], 8), "same latent space"), (([0, 0], [1, 1], 8, "cubic"), "linear, spherical")])
def test_bad_morph_requests_are_refused_with_a_message(args, says):
    with pytest.raises(GenerateError, match=says):
        morph_path(*args)


def test_gif_export_has_one_frame_per_step():
    images = torch.rand(16, 1, 28, 28) * 2 - 1
    gif = Image.open(io.BytesIO(animated_gif(images, scale=2, bounce=False)))
    assert gif.format == "GIF" and gif.n_frames == 16 and gif.size == (56, 56)
    assert Image.open(io.BytesIO(animated_gif(images, bounce=True))).n_frames == 30   # A -> B -> A


def test_shipped_gan_morph_crosses_class_areas():
    gan = load_checkpoint(SHIPPED / "gan_2d.safetensors").model
    classifier = load_checkpoint(SHIPPED / "classifier_strong.safetensors").model
    result = morph(gan, [-1, 0], [1, 0], 16, "linear", classifier)
    assert result.images.shape == (16, 1, 28, 28)
    assert result.probabilities.shape == (16, 10) and np.allclose(result.probabilities.sum(1), 1, atol=1e-4)
    assert result.realness.shape == (16,) and ((result.realness > 0) & (result.realness < 1)).all()
    assert len(set(result.classes)) >= 3            # the line crosses several class areas
    plane = compute_class_area_map(gan, classifier, (0, 1), [(-1, 1), (-1, 1)], 40)
    assert set(result.classes) <= classes_along(plane, result.path) | {result.classes[0], result.classes[-1]}


def test_conditional_morph_keeps_its_label_and_autoencoder_has_no_discriminator():
    cgan, ae = build_model("cgan", {"latent_dim": 3}).eval(), build_model("ae", {}).eval()
    assert morph(cgan, [0, 0, 0], [1, 1, 1], 4, label=5).images.shape == (4, 1, 28, 28)
    with pytest.raises(GenerateError, match="needs a class label"):
        morph(cgan, [0, 0, 0], [1, 1, 1], 4)
    assert morph(ae, [0, 0], [1, 1], 3).realness is None


def test_one_point_every_class_on_the_shipped_conditional_gan():
    cgan = load_checkpoint(SHIPPED / "cgan_3d.safetensors").model
    classifier = load_checkpoint(SHIPPED / "classifier_strong.safetensors").model
    images, predicted, confidence = every_class(cgan, [0.0, 0.0, 0.0], classifier)
    assert images.shape == (10, 1, 28, 28) and len(predicted) == len(confidence) == 10
    assert sum(p == c for c, p in enumerate(predicted)) >= 7     # the same z drawn as (nearly) every digit
    assert len({tuple(i.flatten()[:50].tolist()) for i in images}) == 10
    with pytest.raises(ValueError, match="only a conditional GAN"):
        every_class(build_model("gan", {"latent_dim": 3}), [0, 0, 0])


def test_label_agreement_of_the_shipped_conditional_gan_over_its_cube():
    cgan = load_checkpoint(SHIPPED / "cgan_3d.safetensors").model
    classifier = load_checkpoint(SHIPPED / "classifier_strong.safetensors").model
    maps = {c: compute_class_area_map(cgan, classifier, (0, 1, 2), [(-1, 1)] * 3, 6, label=c) for c in (1, 3, 7)}
    agreement = label_agreement(maps)
    assert set(agreement) == {1, 3, 7} and all(0 <= v <= 1 for v in agreement.values())
    assert np.mean(list(agreement.values())) > 0.6   # docs, Quality: 80% over random points for this checkpoint


def test_a_diagonal_3d_morph_is_seen_from_the_side_not_end_on():
    """Issue 32.9: plotly's default camera looks along the cube's diagonal, where a diagonal path is one point."""
    import numpy as np

    from genlab.plots import DEFAULT_EYE, class_cube_figure, path_camera

    def angle(eye, path):
        d = path[-1] - path[0]
        return np.degrees(np.arccos(abs(eye @ d) / np.linalg.norm(eye) / np.linalg.norm(d)))
    diagonal = np.linspace([-0.8, -0.8, -0.8], [0.8, 0.8, 0.8], 16)
    assert angle(DEFAULT_EYE, diagonal) < 1                          # end-on by default
    camera = path_camera(diagonal)
    eye = np.array([camera["eye"][k] for k in "xyz"])
    assert abs(angle(eye, diagonal) - 60) < 1e-6 and abs(np.linalg.norm(eye) - np.linalg.norm(DEFAULT_EYE)) < 1e-9
    along_x = np.linspace([-1, 0, 0], [1, 0, 0], 16)
    assert path_camera(along_x) is None                              # the default sees it well (about 55 degrees off)
    labels, conf = np.zeros((4, 4, 4), int), np.ones((4, 4, 4))
    coords = [np.linspace(-1, 1, 4)] * 3
    fig = class_cube_figure(labels, conf, coords, tuple("0123456789"), ("z1", "z2", "z3"), path=diagonal)
    assert fig.layout.scene.camera.eye.x == camera["eye"]["x"]
