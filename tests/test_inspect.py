"""The one activation mechanism works for every model kind, and for any module."""
import pytest
import torch
from torch import nn

from genlab.inspect import capture_activations, layer_activations, mean_activations, named_layers
from genlab.models import MODELS, build_model


@pytest.mark.parametrize("kind", list(MODELS))
def test_activations_of_every_kind(kind):
    model = build_model(kind).eval()
    if kind == "classifier":
        run = lambda: model(torch.zeros(2, 1, 28, 28))  # noqa: E731
    else:
        z = model.sample_z(2, torch.Generator().manual_seed(0))
        run = lambda: model.generate(z, torch.tensor([1, 2]) if model.conditional else None)  # noqa: E731
    output, acts = layer_activations(model, run)
    assert len(acts) >= 5
    assert all(a.shape[0] == 2 for a in acts.values())
    assert list(acts) == [n for n in named_layers(model) if n in acts]
    means = mean_activations(acts)
    assert set(means) == set(acts) and all(isinstance(v, float) for v in means.values())
    if kind == "gan":
        assert acts["generator.layers.dense"].shape == (2, 12544)
        assert acts["generator.layers.deconv2"].shape == (2, 64, 14, 14)
        assert torch.equal(acts["generator.layers.tanh"], output)


def test_works_on_a_users_own_module_and_removes_its_hooks():
    net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Dropout(0.1), nn.Linear(4, 2))
    assert named_layers(net) == ["0", "1", "3"]
    with capture_activations(net) as captured:
        net(torch.ones(1, 3))
    assert set(captured) == {"0", "1", "3"}
    assert all(not m._forward_hooks for m in net.modules())


def test_prefix_restricts_to_one_network():
    model = build_model("gan")
    names = named_layers(model, "generator")
    assert names and all(n.startswith("generator.") for n in names)


def test_activations_record_only_their_own_threads_forward_passes():
    """A cached model is shared by every session's thread: one view must not show another's activations."""
    import threading

    model = build_model("gan", {"latent_dim": 2}).eval()
    others_ran = threading.Event()

    def other_session():
        with torch.inference_mode():
            model.generate(torch.zeros(7, 2))   # another session's batch of 7, inside our capture
        others_ran.set()

    with torch.inference_mode(), capture_activations(model) as captured:
        model.generate(torch.zeros(1, 2))
        worker = threading.Thread(target=other_session)
        worker.start()
        worker.join()
    assert others_ran.is_set()
    assert captured and all(a.shape[0] == 1 for a in captured.values())
