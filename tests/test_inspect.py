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
    elif kind == "melody":
        ids = torch.ones(2, 32, dtype=torch.long)
        run = lambda: model(ids, ids)[0]  # noqa: E731
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


# --- dissection: switching units off through hooks that replace a layer's output -------------------------------

from genlab.inspect import Ablation, replace_output  # noqa: E402
from genlab.latent.point import explore_point, rank_units  # noqa: E402


@pytest.fixture(scope="module")
def gan_and_judge():
    torch.manual_seed(0)
    return build_model("gan", {"latent_dim": 2}).eval(), build_model("classifier", {"size": "weak"}).eval()


def test_an_ablation_reads_and_writes_its_link_text_and_refuses_nonsense():
    a = Ablation("generator.layers.act2", zeroed=(1, 3), scaled=(4,), box=(0.0, 0.25, 0.5, 1.0))
    assert Ablation.from_text(a.to_text()) == a and a.to_text() == "generator.layers.act2|1,3|x2:4|box:0.000,0.250,0.500,1.000"
    assert Ablation.from_text("generator.layers.act1|7,7,2") == Ablation("generator.layers.act1", zeroed=(2, 7))
    for bad, words in [("x|a,b", "not a list of numbers"), ("x|box:0.5,0,0.2,1", "top < bottom"),
                       ("x|box:1,2", "four numbers"), ("", "empty"), ("x|" + ",".join(map(str, range(600))), "at most 512"),
                       ("x|-1", "unit numbers")]:
        with pytest.raises(ValueError, match=words):
            Ablation.from_text(bad)


def test_zero_scale_and_box_change_exactly_what_they_name():
    out = torch.ones(2, 4, 8, 8)
    changed = Ablation("l", zeroed=(1,), scaled=(2,), box=(0.0, 0.0, 0.5, 0.25)).apply(out)
    assert (changed[:, 1] == 0).all() and (changed[:, 2, 4:, :] == 2).all()
    assert (changed[:, 0, :4, :2] == 0).all() and (changed[:, 0, 4:, :] == 1).all() and (changed[:, 0, :, 2:] == 1).all()
    assert (out == 1).all()                                      # a copy: the layer's own output is not touched
    flat = Ablation("l", zeroed=(0, 5)).apply(torch.ones(1, 6))
    assert flat.tolist() == [[0, 1, 1, 1, 1, 0]]


def test_the_ablated_view_keeps_the_unablated_image_from_the_same_pass(gan_and_judge):
    gan, judge = gan_and_judge
    plain = explore_point(gan, [0.3, -0.2], judge)
    layer = "generator.layers.act2"
    channels = plain.activations[layer].shape[0]
    cut = explore_point(gan, [0.3, -0.2], judge, ablation=Ablation(layer, zeroed=tuple(range(channels))))
    assert torch.allclose(cut.original_image, plain.image, atol=1e-5)
    assert cut.original_probabilities == pytest.approx(plain.probabilities, abs=1e-5)
    assert (cut.activations[layer] == 0).all() and not torch.allclose(cut.image, plain.image)
    assert cut.layer_means[layer] == 0 and cut.layer_means["generator.layers.dense"] == pytest.approx(
        plain.layer_means["generator.layers.dense"], abs=1e-5)                 # layers before it are unchanged
    with pytest.raises(ValueError, match="no channel 999"):
        explore_point(gan, [0.3, -0.2], judge, ablation=Ablation(layer, zeroed=(999,)))
    with pytest.raises(ValueError, match="no layer"):
        explore_point(gan, [0.3, -0.2], judge, ablation=Ablation("discriminator.layers.conv1", zeroed=(0,)))
    assert explore_point(gan, [0.3, -0.2], judge, ablation=Ablation(layer)).ablation is None    # empty: plain


def test_unit_ranking_matches_switching_each_unit_off_alone(gan_and_judge):
    gan, judge = gan_and_judge
    layer = "generator.layers.act2"
    cls, p, drops = rank_units(gan, [0.5, 0.5], judge, layer, batch_size=20)      # several batches
    assert len(drops) == 64 and sorted(u for u, *_ in drops) == list(range(64))
    assert all(a[1] >= b[1] for a, b in zip(drops, drops[1:]))
    for unit, drop, q in (drops[0], drops[-1]):
        logits = {}

        def zero(out, unit=unit):
            out = out.clone()
            out[:, unit] = 0
            return out
        with torch.no_grad():
            base = judge(gan.generate(torch.tensor([[0.5, 0.5]])))
            with replace_output(gan, layer, zero):
                logits = judge(gan.generate(torch.tensor([[0.5, 0.5]])))
        assert drop == pytest.approx(float(base[0, cls] - logits[0, cls]), abs=1e-4)
        assert q == pytest.approx(float(torch.softmax(logits, 1)[0, cls]), abs=1e-5)
    with pytest.raises(ValueError, match="ranking covers"):
        rank_units(gan, [0.5, 0.5], judge, "generator.layers.dense")            # 12,544 units


@pytest.mark.parametrize("shape", [(64, 14, 14), (128, 7, 7), (1, 28, 28), (12544,), (200, 4, 4)])
def test_the_clickable_grids_geometry_is_the_pictures(shape):
    from genlab.images import feature_map_grid
    from genlab.ui.feature_maps import grid_geometry

    a = torch.rand(shape)
    g, picture = grid_geometry(a), feature_map_grid(a, scale=1, max_maps=128)
    rows = -(-g["n"] // g["cols"])
    assert picture.width == g["cols"] * (g["w"] + g["pad"]) + g["pad"]
    assert picture.height == rows * (g["h"] + g["pad"]) + g["pad"]


def test_grid_edits_toggle_channels_and_start_afresh_on_another_layer():
    from genlab.ui.feature_maps import edited

    a = edited(None, "L1", {"op": "zero", "channel": 3})
    a = edited(a, "L1", {"op": "scale", "channel": 5})
    assert (a.zeroed, a.scaled) == ((3,), (5,))
    a = edited(a, "L1", {"op": "scale", "channel": 3})            # doubled instead of off
    assert (a.zeroed, a.scaled) == ((), (3, 5))
    a = edited(a, "L1", {"op": "box", "channel": 0, "box": [0.5, -1, 2, 0.5]})
    assert a.box == (0.5, 0.0, 1.0, 0.5)
    assert edited(a, "L2", {"op": "zero", "channel": 1}) == Ablation("L2", zeroed=(1,))
    assert edited(Ablation("L1", zeroed=(2,)), "L1", {"op": "zero", "channel": 2}) is None      # all on again
    assert edited(None, "L1", {"op": "box", "channel": 0, "box": [0.5, 0, 0.5, 1]}) is None      # empty box refused


@pytest.mark.parametrize("kind", ["vae", "ae", "cgan"])
def test_every_generative_kind_can_have_units_switched_off(kind):
    from genlab.latent.point import generating_network

    torch.manual_seed(0)
    model = build_model(kind, {"latent_dim": 3} if kind == "cgan" else {"latent_dim": 2}).eval()
    judge = build_model("classifier", {"size": "weak"}).eval()
    network = generating_network(model)
    layer = [n for n in named_layers(model, network) if n.split(".")[-1].startswith(("act", "relu", "leaky"))][-1]
    label = 2 if kind == "cgan" else None
    plain = explore_point(model, [0.1] * model.latent_dim, judge, label=label)
    cut = explore_point(model, [0.1] * model.latent_dim, judge, label=label, ablation=Ablation(layer, zeroed=(0, 1)))
    assert torch.allclose(cut.original_image, plain.image, atol=1e-5) and (cut.activations[layer][:2] == 0).all()
    _, _, drops = rank_units(model, [0.1] * model.latent_dim, judge, layer, label=label)
    assert len(drops) == plain.activations[layer].shape[0]
