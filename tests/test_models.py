"""Architectures: the thesis' and the book's parameter counts, forward shapes, config checks."""
import pytest
import torch

from genlab.models import MODELS, build_model, make_config, network_parameter_counts

THESIS_GENERATOR = {2: 1_076_160, 3: 1_088_704, 4: 1_101_248}


@pytest.mark.parametrize("d", [2, 3, 4])
def test_gan_parameter_counts_equal_the_thesis_table(d):
    counts = network_parameter_counts(build_model("gan", {"latent_dim": d}))
    assert counts["generator"]["trainable"] == THESIS_GENERATOR[d]
    assert counts["generator"]["non_trainable"] == 25_472
    assert counts["generator"]["total"] == THESIS_GENERATOR[d] + 25_472
    assert counts["discriminator"] == {"trainable": 212_865, "non_trainable": 0, "total": 212_865}


def test_thesis_cgan_counts_with_multiply_conditioning():
    counts = network_parameter_counts(build_model("cgan", {"latent_dim": 3, "conditioning": "multiply"}))
    assert counts["generator"]["trainable"] == 1_088_734
    assert counts["discriminator"]["trainable"] == 220_705


def test_book_autoencoder_counts():
    counts = network_parameter_counts(build_model("ae", {"latent_dim": 2}))
    assert counts["encoder"]["trainable"] == 98_946
    assert counts["decoder"]["trainable"] == 102_017


@pytest.mark.parametrize("kind", [k for k in MODELS if k not in ("musegan", "melody")])  # tests/test_music_model.py, test_melody.py
def test_forward_shapes_and_image_range(kind):
    model = build_model(kind).eval()
    x = torch.rand(3, 1, 28, 28) * 2 - 1
    with torch.no_grad():
        if kind == "classifier":
            assert model(x).shape == (3, 10)
            assert torch.allclose(model.probabilities(x).sum(1), torch.ones(3))
            return
        z = model.sample_z(3, torch.Generator().manual_seed(0))
        labels = torch.tensor([0, 5, 9]) if model.conditional else None
        images = model.generate(z, labels)
        assert z.shape == (3, model.latent_dim)
        assert images.shape == (3, 1, 28, 28)
        assert images.min() >= -1 and images.max() <= 1
        if kind in ("gan", "cgan"):
            assert model.discriminator(x, labels).shape == (3, 1)
        else:
            assert model.encode(x).shape == (3, model.latent_dim)


def test_conditional_labels_change_the_image():
    model = build_model("cgan").eval()
    z = torch.zeros(1, 3).expand(10, 3)
    with torch.no_grad():
        images = model.generate(z, torch.arange(10))
    assert not torch.allclose(images[0], images[1])


def test_same_seed_same_samples():
    torch.manual_seed(0)
    model = build_model("gan").eval()
    a = model.sample(4, torch.Generator().manual_seed(7))
    b = model.sample(4, torch.Generator().manual_seed(7))
    assert torch.equal(a, b)


@pytest.mark.parametrize("activation", ["relu", "prelu", "elu", "leaky_relu"])
def test_activation_choices_build(activation):
    model = build_model("gan", {"latent_dim": 3, "activation": activation}).eval()
    with torch.no_grad():
        assert model.generate(torch.zeros(2, 3)).shape == (2, 1, 28, 28)


@pytest.mark.parametrize("kind, values, message", [
    ("gan", {"latent_dim": 0}, "latent_dim"),
    ("gan", {"activation": "swish"}, "activation"),
    ("gan", {"width": 3}, "unknown gan config keys"),
    ("cgan", {"conditioning": "add"}, "conditioning"),
    ("classifier", {"size": "huge"}, "size"),
    ("nope", {}, "unknown model kind"),
])
def test_invalid_configs_are_refused_with_a_message(kind, values, message):
    with pytest.raises(ValueError, match=message):
        make_config(kind, values)


def test_fast_dropout_is_dropout():
    from genlab.models.layers import FastDropout

    drop = FastDropout(0.3)
    x = torch.ones(200, 500, requires_grad=True)
    torch.manual_seed(0)
    y = drop(x)
    zeros = (y == 0).float().mean()
    assert abs(zeros - 0.3) < 0.01 and torch.allclose(y[y != 0], torch.tensor(1 / 0.7))
    torch.manual_seed(0)
    assert torch.equal(drop(x), y)          # seeded by torch's generator
    y.sum().backward()                      # the gradient flows through the kept elements only
    assert torch.equal(x.grad, y.detach())
    assert torch.equal(drop.eval()(x), x)
