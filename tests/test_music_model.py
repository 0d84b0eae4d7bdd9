"""The MuseGAN: output shapes, inputs that change only their own voices, and a tiny WGAN-GP training run."""
import numpy as np
import pytest
import torch

from genlab.checkpoints import load_checkpoint
from genlab.models import build_model, network_parameter_counts
from genlab.models.musegan import input_slices, join_z, split_z
from genlab.music.roll import roll_to_pitches

TINY = {"hidden": 32}


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    return build_model("musegan", TINY).eval()


def test_generator_and_critic_shapes(tiny):
    z = tiny.sample_z(3, torch.Generator().manual_seed(0))
    assert z.shape == (3, 320)
    with torch.no_grad():
        roll = tiny.generate(z)
        assert roll.shape == (3, 2, 16, 84, 4)
        assert roll.min() >= -1 and roll.max() <= 1
        assert tiny.critic(roll).shape == (3, 1)
    pitches = roll_to_pitches(roll)
    assert pitches.shape == (3, 2, 16, 4) and pitches.min() >= 24 and pitches.max() < 108


def test_the_book_sized_model_fits_a_15_mb_float16_file():
    counts = network_parameter_counts(build_model("musegan"))
    assert 6_000_000 < counts["generator"]["total"] and counts["critic"]["total"] < 600_000
    total = counts["generator"]["total"] + counts["critic"]["total"]
    assert 2 * total < 15 * 1024 * 1024


def test_split_and_join_are_inverse(tiny):
    z = tiny.sample_z(2)
    chords, style, melody, groove = split_z(z, tiny.config)
    assert melody.shape == groove.shape == (2, 4, 32)
    assert torch.equal(join_z(chords, style, melody, groove), z)
    slices = input_slices(tiny.config)
    assert torch.equal(z[:, slices["melody 2"]], melody[:, 2]) and torch.equal(z[:, slices["groove 1"]], groove[:, 1])


@pytest.mark.parametrize("name, changed", [("melody 0", {0}), ("groove 3", {3}), ("chords", {0, 1, 2, 3}),
                                           ("style", {0, 1, 2, 3})])
def test_an_input_changes_only_its_own_voices(tiny, name, changed):
    z = tiny.sample_z(1, torch.Generator().manual_seed(1))
    other = z.clone()
    other[:, input_slices(tiny.config)[name]] = torch.randn(1, 32, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        a, b = tiny.generate(z), tiny.generate(other)
    moved = {t for t in range(4) if not torch.equal(a[..., t], b[..., t])}
    assert moved == changed


def test_a_tiny_wgan_gp_run_trains_saves_and_resumes(tmp_path, capsys):
    from genlab.training import TrainConfig, train
    from train.__main__ import main as train_main

    assert train_main(["musegan", "--hidden", "32", "--epochs", "1", "--batch-size", "8", "--critic-steps", "2",
                       "--limit", "32", "--transpose", "2", "--ema", "0.9", "--quiet", "--out", str(tmp_path / "m")]) == 0
    assert f"wrote {tmp_path / 'm'}.safetensors (1 epochs)" in capsys.readouterr().out
    ckpt = load_checkpoint(tmp_path / "m.safetensors")
    losses = ckpt.history["losses"]
    assert set(losses) == {"G", "critic", "gp", "wasserstein"} and all(np.isfinite(v[0]) for v in losses.values())
    assert {"in_key_fraction", "in_range_fraction", "nearest_real_mismatch"} <= set(ckpt.metrics)
    assert ckpt.kind == "musegan" and ckpt.dataset == "chorales" and ckpt.config["hidden"] == 32
    assert ckpt.train["ema"] == 0.9 and ckpt.train["critic_steps"] == 2
    again = train(TrainConfig("musegan", dataset="chorales", epochs=2, batch_size=8, critic_steps=2, limit=16),
                  resume=ckpt.path)
    assert again.history["epochs"] == 2 and again.model.config.hidden == 32


def test_same_key_bfloat16_run_learns_from_the_moved_chorales(tmp_path):
    from genlab.data.chorales import training_phrases
    from genlab.music.roll import fill_rests
    from genlab.training import TrainConfig
    from genlab.training.loop import _training_data
    from train.__main__ import build_parser, config_from_args, main as train_main

    args = ["musegan", "--hidden", "32", "--epochs", "1", "--batch-size", "8", "--critic-steps", "2", "--limit", "32",
            "--same-key", "--precision", "bfloat16", "--quiet", "--out", str(tmp_path / "k")]
    cfg = config_from_args(build_parser().parse_args(args))
    inputs, _ = _training_data(cfg, build_model("musegan", cfg.model))
    assert torch.equal(inputs, fill_rests(training_phrases(2, same_key=True))[:32])
    assert not torch.equal(inputs, fill_rests(training_phrases(2))[:32])
    assert train_main(args) == 0
    ckpt = load_checkpoint(tmp_path / "k.safetensors")
    assert ckpt.config["same_key"] is True and ckpt.model.config.same_key and ckpt.train["precision"] == "bfloat16"
    assert all(np.isfinite(v[0]) for v in ckpt.history["losses"].values())
    with pytest.raises(ValueError, match="precision"):
        TrainConfig("musegan", dataset="chorales", precision="float8")


def test_musegan_config_errors_are_clear():
    from genlab.training import TrainConfig

    with pytest.raises(ValueError, match="dataset"):
        TrainConfig("musegan", dataset="mnist5k")
    with pytest.raises(ValueError, match="84"):
        build_model("musegan", {"n_pitches": 88})
    with pytest.raises(ValueError, match="same_key"):
        build_model("musegan", {"same_key": "yes"})


def test_the_critic_can_learn_at_its_own_rate():
    from genlab.training import TrainConfig
    from genlab.training.loop import _make_optimizers
    from train.__main__ import build_parser, config_from_args

    model = build_model("musegan", TINY)
    rates = lambda cfg: {k: o.param_groups[0]["lr"] for k, o in _make_optimizers(model, cfg).items()}  # noqa: E731
    assert rates(TrainConfig("musegan", dataset="chorales", lr=5e-4)) == {"G": 5e-4, "D": 5e-4}
    args = build_parser().parse_args(["musegan", "--lr", "5e-4", "--critic-lr", "1e-3", "--out", "x"])
    assert rates(config_from_args(args)) == {"G": 5e-4, "D": 1e-3}
    with pytest.raises(ValueError, match="critic_lr"):
        TrainConfig("musegan", dataset="chorales", critic_lr=2.0)
