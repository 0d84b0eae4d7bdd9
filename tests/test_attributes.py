"""Attribute vectors and the latent views of autoencoders (genlab.latent.attributes, genlab.latent.encoded):
the measures on synthetic strokes, the book's vector procedure on a toy latent space with a known direction,
saved vectors, and the shipped VAEs: the measured attribute rises along its vector, and the VAE's codes
through the normal CDF fill the plane where the autoencoder's leave gaps."""
import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from genlab.checkpoints import load_checkpoint
from genlab.latent.attributes import (VECTOR_FORMAT, AttributeVector, VectorError, attribute_vector, class_vector, examples_vector,
                                      mean_sweep, measure, measured_vector, sweep, vector_from_json)
from genlab.latent.encoded import axes_plane, encode_images, occupancy, p_values, pca_plane

from .conftest import SHIPPED


def strokes(widths, lean: float = 0.0) -> torch.Tensor:
    """Vertical strokes (N, 1, 28, 28) in [-1, 1], one per width; `lean` pixels to the right at the top."""
    images = []
    for w in widths:
        image = Image.new("L", (28, 28), 0)
        ImageDraw.Draw(image).line([(14 + lean, 4), (14 - lean, 23)], fill=255, width=int(w))
        images.append(np.asarray(image, np.float32) / 127.5 - 1)
    return torch.from_numpy(np.stack(images))[:, None]


def test_a_thicker_stroke_measures_thicker_and_about_its_width():
    values = measure(strokes([1, 2, 3, 4, 5]), "thickness")
    assert np.all(np.diff(values) > 0.4)
    assert values[1] == pytest.approx(2, abs=0.4) and values[3] == pytest.approx(4, abs=0.8)


def test_slant_says_which_way_the_top_leans():
    left, upright, right = measure(torch.cat([strokes([2], -4), strokes([2]), strokes([2], 4)]), "slant")
    assert left < -15 and abs(upright) < 1 and right > 15


def test_width_and_height_are_the_extent_of_the_ink():
    bars = torch.full((2, 1, 28, 28), -1.0)
    bars[0, 0, 4:24, 10:13] = 1                     # 3 wide, 20 high
    bars[1, 0, 12:17, 2:26] = 1                     # 24 wide, 5 high
    assert measure(bars, "width") == pytest.approx([3, 24], abs=0.3)
    assert measure(bars, "height") == pytest.approx([20, 5], abs=0.3)


def test_the_measured_vector_finds_the_direction_that_makes_strokes_thicker():
    """A toy latent space: thickness grows with z3, nothing else matters; two classes differ along z1."""
    rng = np.random.default_rng(0)
    z = rng.standard_normal((400, 6))
    labels = np.arange(400) % 2
    z[:, 0] += 3 * labels
    widths = np.clip(np.round(3 + 1.2 * z[:, 2]), 1, 6)
    vector = measured_vector(z, strokes(widths), labels, "thickness")
    direction = np.asarray(vector.vector) / vector.norm
    assert direction[2] > 0.95                       # along z3, and not along the class direction z1
    assert vector.kind == "measured" and vector.n_with > 0 and vector.n_without > 0


def test_class_and_example_vectors_are_mean_differences():
    z = np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 4.0], [2.0, 4.0]])
    labels = np.array([4, 4, 9, 9])
    v = class_vector(z, labels, 4, 9, tuple(str(c) for c in range(10)))
    assert v.name == "4 to 9" and v.vector == pytest.approx([0, 4])
    assert examples_vector(z, [3], [0], "up right").vector == pytest.approx([2, 4])
    with pytest.raises(VectorError):
        examples_vector(z, [1, 2], [2], "overlap")
    with pytest.raises(VectorError):
        attribute_vector(z[:0], z)


def test_a_saved_vector_loads_back_and_bad_files_are_refused():
    v = AttributeVector("thickness", "measured", [0.5, -1.25, 2.0], "vae_x.safetensors", 10, 12, "thick minus thin")
    assert vector_from_json(v.to_json().encode(), latent_dim=3) == v
    for text, reason in [(b"{not json", "not a JSON"), (b'{"vector": [1, 2, 3]}', "not a GenLab"),
                         (v.to_json().replace("2.0", "NaN").encode(), "finite"),
                         (b"x" * 300_000, "far smaller")]:
        with pytest.raises(VectorError, match=reason):
            vector_from_json(text, latent_dim=3)
    with pytest.raises(VectorError, match="16D"):
        vector_from_json(v.to_json(), latent_dim=16)


def test_planes_project_lift_and_move_within_themselves():
    rng = np.random.default_rng(1)
    z = rng.standard_normal((500, 5)) * [5, 0.1, 2, 0.1, 0.1]
    plane = pca_plane(z)
    assert abs(plane.directions[0][0]) > 0.99 and abs(plane.directions[1][2]) > 0.99
    point = z[7]
    moved = plane.move(point, [1.0, -2.0])
    assert plane.project(moved) == pytest.approx([1.0, -2.0])
    step = moved - point
    assert step - (step @ plane.directions.T) @ plane.directions == pytest.approx(np.zeros(5), abs=1e-9)  # within it
    assert axes_plane(2).lift([0.3, 0.4]) == pytest.approx([0.3, 0.4])


@pytest.fixture(scope="module")
def vae_16_codes():
    """The shipped 16D VAE and the codes of 2,000 embedded training digits."""
    from genlab.data import load_dataset

    model = load_checkpoint(SHIPPED / "vae_16.safetensors").model
    train = load_dataset("mnist5k", "train")
    return model, train.images[:2000], encode_images(model, train.images[:2000], train.labels[:2000])


@pytest.mark.parametrize("name", ["thickness", "slant"])
def test_the_attribute_rises_along_its_vector_in_the_shipped_16d_vae(vae_16_codes, name, mnist5k_test):
    model, images, codes = vae_16_codes
    vector = measured_vector(codes.mu, images, codes.labels, name)
    start = encode_images(model, mnist5k_test.images[:64]).mu
    alphas = np.linspace(-2, 2, 5)
    means = mean_sweep(model, start, vector.vector, alphas, name)
    assert np.all(np.diff(means) > 0), means
    assert means[-1] - means[0] > {"thickness": 1.5, "slant": 30}[name], means
    one = sweep(model, start[0], vector.vector, alphas)
    assert one.images.shape == (5, 1, 28, 28) and one.measures[name][-1] > one.measures[name][0]


def test_the_vae_fills_the_plane_evenly_where_the_autoencoder_leaves_gaps(mnist5k_test):
    found = {}
    for name in ("ae_2d", "vae_2d"):
        model = load_checkpoint(SHIPPED / f"{name}.safetensors").model
        found[name] = encode_images(model, mnist5k_test.images, mnist5k_test.labels)
    ae, vae = found["ae_2d"], found["vae_2d"]
    from genlab.latent.space import code_box
    gappy = occupancy(ae.mu, ae.labels, code_box(ae.mu))
    compact = occupancy(p_values(vae.mu), vae.labels, ((0, 1), (0, 1)))
    assert gappy.empty > 0.5 and compact.empty < 0.3
    assert gappy.class_areas.max() > 0.25 and compact.class_areas.max() < 0.15
    assert vae.log_var is not None and not np.allclose(vae.z, vae.mu) and ae.log_var is None


def test_a_class_area_map_over_a_plane_matches_the_map_over_the_axes_it_spans():
    from genlab.latent.encoded import PlaneDecoder
    from genlab.latent.maps import agreement, compute_class_area_map

    vae = load_checkpoint(SHIPPED / "vae_2d.safetensors").model
    classifier = load_checkpoint(SHIPPED / "classifier_strong.safetensors").model
    ranges = [(-3.0, 3.0), (-3.0, 3.0)]
    direct = compute_class_area_map(vae, classifier, (0, 1), ranges, 24, method="brute")
    plane = axes_plane(2).through([0.5, -0.25])                    # the same plane: the axes, through a point
    over_plane = compute_class_area_map(PlaneDecoder(vae, plane), classifier, (0, 1), ranges, 24, method="brute")
    assert agreement(direct, over_plane) > 0.99 and len(np.unique(direct.labels)) >= 5


@pytest.mark.parametrize("text", [
    '{"format": "%s", "vector": [1%s, 1]}' % (VECTOR_FORMAT, "0" * 400),   # an integer no float holds
    '{"format": "%s", "vector": [1%s]}' % (VECTOR_FORMAT, "0" * 5000),     # beyond Python's int-parsing limit
    "[" * 100_000,                                                         # nested deeper than the parser goes
])
def test_hostile_vector_files_are_refused_with_a_message(text):
    with pytest.raises(VectorError):
        vector_from_json(text.encode())


def test_a_vector_with_huge_numbers_is_refused():
    import json

    from genlab.latent.attributes import VECTOR_FORMAT, VectorError, vector_from_json

    with pytest.raises(VectorError, match="beyond"):
        vector_from_json(json.dumps({"format": VECTOR_FORMAT, "vector": [1e308, 1e308]}), 2)
