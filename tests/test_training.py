"""One tiny training run per model kind on a slice of the embedded digits."""
import pytest
import torch

from genlab.checkpoints import load_checkpoint
from genlab.training import StopTraining, TrainConfig, train


def _weights(model):
    return {k: v.clone() for k, v in model.state_dict().items() if v.is_floating_point()}


@pytest.mark.parametrize("kind, model, epochs, falling", [
    ("gan", {"latent_dim": 2}, 1, None),
    ("cgan", {"latent_dim": 3}, 1, None),
    ("ae", {"latent_dim": 2}, 4, "reconstruction"),
    ("vae", {"latent_dim": 2}, 4, "total"),
    ("classifier", {"size": "weak"}, 4, "loss"),
])
def test_tiny_run_per_kind(kind, model, epochs, falling, tmp_path):
    torch.manual_seed(0)
    cfg = TrainConfig(kind, model, epochs=epochs, batch_size=32, limit=128, lr=2e-3 if falling else None)
    from genlab.models import build_model

    torch.manual_seed(cfg.seed)
    before = _weights(build_model(kind, model))
    result = train(cfg, out=tmp_path / kind)
    after = _weights(result.model)
    assert any(not torch.equal(before[k], after[k]) for k in before), "training changed no weight"
    losses = result.history["losses"]
    assert result.history["epochs"] == epochs
    assert all(len(v) == epochs and all(torch.isfinite(torch.tensor(v))) for v in losses.values())
    if falling:
        assert losses[falling][-1] < losses[falling][0], f"{kind}'s {falling} loss did not fall: {losses[falling]}"
    ckpt = load_checkpoint(result.path)
    assert ckpt.history == result.history and ckpt.train["kind"] == kind
    if kind == "classifier":
        assert 0 <= result.metrics["test_accuracy"] <= 1
    if kind in ("ae", "vae"):
        assert result.metrics["test_reconstruction_mse"] > 0


def test_reconstruction_regularizer_trains_a_gan_with_its_encoder(tmp_path):
    cfg = TrainConfig("cgan", {"latent_dim": 2}, epochs=2, batch_size=32, limit=64, regularizer="reconstruction",
                      reg_weight=5.0)
    result = train(cfg, out=tmp_path / "reg")
    assert {"G", "D", "reconstruction", "latent_sw"} == set(result.history["losses"])
    ckpt = load_checkpoint(result.path)  # the training-only encoder is not part of the model
    assert not any(k.startswith("encoder") for k in ckpt.model.state_dict())


def test_same_seed_same_run_and_resume_continues(tmp_path):
    cfg = dict(kind="ae", model={"latent_dim": 2}, batch_size=32, limit=64, seed=3)
    a = train(TrainConfig(epochs=2, **cfg))
    b = train(TrainConfig(epochs=2, **cfg))
    assert a.history["losses"] == b.history["losses"]
    assert all(torch.equal(x, y) for x, y in zip(a.model.state_dict().values(), b.model.state_dict().values()))
    # one epoch, then resume to two: the same as two epochs straight (optimiser state is stored)
    first = train(TrainConfig(epochs=1, **cfg), out=tmp_path / "run")
    resumed = train(TrainConfig(epochs=2, **cfg), out=tmp_path / "run", resume=first.path)
    assert resumed.history["epochs"] == 2
    assert resumed.history["losses"] == a.history["losses"]
    assert all(torch.allclose(x, y) for x, y in zip(a.model.state_dict().values(), resumed.model.state_dict().values()))


def test_a_resumed_run_keeps_adams_moments_but_takes_its_own_learning_rate(tmp_path, monkeypatch):
    import genlab.training.loop as loop

    made, make = {}, loop._make_optimizers
    monkeypatch.setattr(loop, "_make_optimizers", lambda model, cfg: made.update(make(model, cfg)) or made)
    cfg = dict(kind="ae", model={"latent_dim": 2}, batch_size=32, limit=64, seed=3)
    first = train(TrainConfig(epochs=1, lr=1e-3, **cfg), out=tmp_path / "run")
    steps = int(next(iter(made["model"].state.values()))["step"])
    train(TrainConfig(epochs=2, lr=1e-4, **cfg), resume=first.path)
    assert [g["lr"] for g in made["model"].param_groups] == [1e-4]        # the new run's rate
    assert int(next(iter(made["model"].state.values()))["step"]) == 2 * steps   # Adam went on counting


def test_resume_refuses_another_kind(tiny_checkpoint):
    with pytest.raises(ValueError, match="cannot resume a vae run from a gan checkpoint"):
        train(TrainConfig("vae", epochs=2, limit=32), resume=tiny_checkpoint)


def test_on_epoch_callback_can_stop_and_the_stop_is_saved(tmp_path):
    seen = []

    def on_epoch(epoch, history, model):
        seen.append(epoch)
        if epoch == 2:
            raise StopTraining

    result = train(TrainConfig("classifier", {"size": "weak"}, epochs=10, limit=64, batch_size=32),
                   out=tmp_path / "c", on_epoch=on_epoch)
    assert seen == [1, 2]
    assert load_checkpoint(result.path).epochs == 2


@pytest.mark.parametrize("field, value, message", [
    ("epochs", 0, "epochs"), ("batch_size", -1, "batch_size"), ("loss", "wasserstein", "loss"),
    ("dataset", "cifar", "dataset"), ("lr", 5.0, "lr"), ("model", {"latent_dim": "two"}, "latent_dim"),
])
def test_invalid_training_configs_are_refused_early(field, value, message):
    values = {"kind": "gan", field: value}
    with pytest.raises(ValueError, match=message):
        TrainConfig(**values)


@pytest.mark.parametrize("optimizer, kind", [("adam", "gan"), ("sgd", "cgan"), ("rmsprop", "gan")])
def test_optimiser_choice_and_a_separate_discriminator_rate(optimizer, kind):
    from genlab.models import build_model
    from genlab.training.loop import _make_optimizers

    cfg = TrainConfig(kind, {"latent_dim": 2}, optimizer=optimizer, lr=1e-4, critic_lr=4e-4)
    optimizers = _make_optimizers(build_model(kind, cfg.model), cfg)
    assert type(optimizers["G"]).__name__.lower() == optimizer
    assert optimizers["G"].param_groups[0]["lr"] == 1e-4 and optimizers["D"].param_groups[0]["lr"] == 4e-4


def test_wgan_gp_loss_trains_an_image_gan(tmp_path):
    result = train(TrainConfig("gan", {"latent_dim": 2}, epochs=1, batch_size=32, limit=64, loss="wgan-gp"))
    assert set(result.history["losses"]) == {"G", "D"}
    assert all(torch.isfinite(torch.tensor(v)).all() for v in result.history["losses"].values())


def test_ema_gan_stores_the_average_and_resumes_exactly(tmp_path):
    """A moving average with the regulariser: the checkpoint's generator is the average (raw generator and
    encoder kept as training state), and 1 + 1 resumed epochs give exactly the weights of 2 straight."""
    cfg = dict(kind="gan", model={"latent_dim": 2}, batch_size=32, limit=64, ema=0.9, regularizer="reconstruction",
               reg_weight=5.0, seed=1)
    straight = train(TrainConfig(epochs=2, **cfg), out=tmp_path / "straight")
    ckpt = load_checkpoint(straight.path)
    assert set(ckpt.training_state) == {"generator", "encoder"} and {"G", "D", "E"} <= set(ckpt.optimizers)
    raw = ckpt.training_state["generator"]
    average = ckpt.model.generator.state_dict()
    assert not torch.equal(raw["layers.dense.weight"], average["layers.dense.weight"])
    # the average's BatchNorm statistics are re-estimated for it, not the raw generator's
    assert not torch.equal(raw["layers.bn1.running_mean"], average["layers.bn1.running_mean"])
    assert straight.history["steps"] == 4 and straight.history["images_seen"] == 128
    first = train(TrainConfig(epochs=1, **cfg), out=tmp_path / "resumed")
    resumed = train(TrainConfig(epochs=2, **cfg), out=tmp_path / "resumed", resume=first.path)
    for key, value in straight.model.state_dict().items():
        assert torch.equal(value, resumed.model.state_dict()[key]), key
    assert load_checkpoint(resumed.path).training_state["encoder"].keys() == ckpt.training_state["encoder"].keys()


def test_ema_decay_ramps_up():
    from genlab.training.loop import _ema_decay

    cfg = TrainConfig("gan", ema=0.999)
    assert _ema_decay(cfg, 0) == 0.1 and _ema_decay(cfg, 90) == 0.91 and _ema_decay(cfg, 10 ** 6) == 0.999
    with pytest.raises(ValueError, match="ema applies"):
        TrainConfig("vae", ema=0.9)


def test_bfloat16_channels_last_snapshots_and_cosine(tmp_path):
    cfg = TrainConfig("gan", {"latent_dim": 2}, epochs=2, batch_size=32, limit=64, precision="bfloat16",
                      memory_format="channels_last", snapshot_every=1, lr_schedule="cosine")
    result = train(cfg, out=tmp_path / "g")
    assert all(torch.isfinite(torch.tensor(v)).all() for v in result.history["losses"].values())
    snapshots = sorted((tmp_path / "g.epochs").glob("*.safetensors"))
    assert [p.name for p in snapshots] == ["epoch_0001.safetensors", "epoch_0002.safetensors"]
    snap = load_checkpoint(snapshots[-1])
    assert not snap.optimizers and not snap.training_state
    for key, value in snap.model.state_dict().items():   # float16 copies of the last epoch's weights
        assert torch.allclose(value.float(), result.model.state_dict()[key].float(), rtol=1e-2, atol=1e-3), key


def test_augmented_classifier_trains(tmp_path):
    result = train(TrainConfig("classifier", {"size": "weak"}, epochs=2, batch_size=32, limit=128,
                               augment="digits", lr=2e-3), out=tmp_path / "c")
    assert load_checkpoint(result.path).train["augment"] == "digits"
    assert result.history["losses"]["loss"][-1] < result.history["losses"]["loss"][0]
    with pytest.raises(ValueError, match="augment applies"):
        TrainConfig("gan", augment="digits")


def test_the_quick_demo_delivers_what_it_promises():
    """Issue 32.5: the Quick demo preset, as the Train page runs it (seed 0, embedded digits), ends with all ten
    digits in its samples (the 2D VAE it used to be dropped the 4, 5 and 6)."""
    from genlab.data import load_dataset
    from genlab.metrics import generator_verdict, model_scores
    from genlab.training.presets import PRESETS

    from .conftest import SHIPPED

    preset = PRESETS["quick"]
    assert "all ten digits" in preset.help
    result = train(TrainConfig(**preset.train))
    classifier = load_checkpoint(SHIPPED / "classifier_strong.safetensors").model.eval()
    scores = model_scores(result.model.eval(), load_dataset("mnist5k", "test"), classifier)
    verdict, sentence = generator_verdict(scores)
    assert verdict == "all classes", sentence
