"""The shipped checkpoints: all there, valid, faithful, and their digits recognisable."""
import json

import pytest

from genlab.__main__ import main as genlab_main
from genlab.checkpoints import load_checkpoint
from genlab.metrics import classifier_accuracy, generator_scores

from .conftest import SHIPPED

SHIPPED_FILES = {
    "classifier_strong": ("classifier", {"size": "strong"}),
    "gan_2d": ("gan", {"latent_dim": 2}),
    "gan_3d": ("gan", {"latent_dim": 3}),
    "gan_4d": ("gan", {"latent_dim": 4}),
    "cgan_3d": ("cgan", {"latent_dim": 3}),
    "vae_2d": ("vae", {"latent_dim": 2}),
    "vae_16": ("vae", {"latent_dim": 16}),
    "ae_2d": ("ae", {"latent_dim": 2}),
}


@pytest.fixture(scope="module")
def strong_classifier():
    return load_checkpoint(SHIPPED / "classifier_strong.safetensors").model


@pytest.mark.parametrize("name", list(SHIPPED_FILES))
def test_shipped_checkpoint_loads_with_its_config(name):
    kind, config = SHIPPED_FILES[name]
    ckpt = load_checkpoint(SHIPPED / f"{name}.safetensors")
    assert ckpt.kind == kind and ckpt.dataset == "mnist" and ckpt.epochs >= 1
    assert all(ckpt.config[k] == v for k, v in config.items())
    assert all(p.dtype.is_floating_point and p.dtype == p.new_zeros(()).float().dtype for p in ckpt.model.parameters())


def test_checkpoints_folder_stays_small():
    assert sum(p.stat().st_size for p in SHIPPED.iterdir()) < 30 * 1024 * 1024


def test_strong_classifier_on_embedded_test_digits(strong_classifier, mnist5k_test):
    assert classifier_accuracy(strong_classifier, mnist5k_test) >= 0.98
    assert load_checkpoint(SHIPPED / "classifier_strong.safetensors").metrics["test_accuracy"] >= 0.99


def test_gan_2d_digits_are_recognisable_and_all_ten_occur(strong_classifier):
    gan = load_checkpoint(SHIPPED / "gan_2d.safetensors").model
    scores = generator_scores(gan, strong_classifier, n=1000, seed=0)
    assert scores["mean_top_probability"] >= 0.85, scores
    assert scores["classes_covered"] == 10, scores


def test_conditional_gan_draws_the_requested_digit_mostly(strong_classifier):
    cgan = load_checkpoint(SHIPPED / "cgan_3d.safetensors").model
    assert generator_scores(cgan, strong_classifier, n=500, seed=1)["label_agreement"] >= 0.75


def test_info_json_of_the_2d_gan_shows_the_thesis_counts(capsys):
    assert genlab_main(["info", str(SHIPPED / "gan_2d.safetensors"), "--json"]) == 0
    params = json.loads(capsys.readouterr().out)["parameters"]
    assert params["generator"] == {"trainable": 1_076_160, "non_trainable": 25_472, "total": 1_101_632}
    assert params["discriminator"]["total"] == 212_865
