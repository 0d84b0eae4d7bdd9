"""The command lines: python -m train (dry runs) and python -m genlab info / sample."""
import json
import subprocess
import sys

import pytest
from PIL import Image

from genlab.__main__ import main as genlab_main
from genlab.checkpoints import load_checkpoint
from train.__main__ import main as train_main

from .conftest import ROOT


@pytest.mark.parametrize("kind, extra", [
    ("gan", ["--latent-dim", "3", "--activation", "elu", "--loss", "hinge"]),
    ("cgan", ["--latent-dim", "2"]),
    ("ae", []),
    ("vae", ["--r-loss-factor", "500"]),
    ("classifier", ["--size", "weak", "--dataset", "digits"]),
])
def test_train_cli_dry_run_per_kind(kind, extra, tmp_path, capsys):
    code = train_main([kind, "--epochs", "1", "--limit", "64", "--batch-size", "32", "--quiet",
                       "--out", str(tmp_path / kind), *extra])
    assert code == 0
    assert f"wrote {tmp_path / kind}.safetensors (1 epochs)" in capsys.readouterr().out
    assert genlab_main(["info", str(tmp_path / f"{kind}.safetensors"), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["kind"] == kind and info["epochs"] == 1


def test_train_cli_errors_are_clear(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("GENLAB_DATA_DIR", str(tmp_path))
    code = train_main(["gan", "--dataset", "mnist", "--epochs", "1", "--out", str(tmp_path / "x"), "--quiet"])
    assert code == 2
    assert "dataset 'mnist' is not on this machine" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        train_main(["gan", "--epochs", "0", "--out", str(tmp_path / "x")])
    assert "epochs must be a positive integer" in capsys.readouterr().err


def test_train_help_shows_examples_and_defaults():
    out = subprocess.run([sys.executable, "-m", "train", "gan", "--help"], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0 and "(default: 2)" in out.stdout
    out = subprocess.run([sys.executable, "-m", "train", "--help"], cwd=ROOT, capture_output=True, text=True)
    assert "torchrun --nproc_per_node=2 -m train" in out.stdout


def test_info_shows_the_thesis_parameter_counts(tiny_checkpoint, capsys):
    assert genlab_main(["info", str(tiny_checkpoint), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["parameters"]["generator"] == {"trainable": 1_076_160, "non_trainable": 25_472, "total": 1_101_632}
    assert info["parameters"]["discriminator"]["total"] == 212_865
    assert set(info["final_losses"]) == {"G", "D"}
    assert genlab_main(["info", str(tiny_checkpoint)]) == 0
    assert "1,076,160" in capsys.readouterr().out


def test_sample_writes_a_png(tiny_checkpoint, tmp_path):
    out = tmp_path / "img.png"
    assert genlab_main(["sample", str(tiny_checkpoint), "--z", "0.1,-0.4", "--out", str(out)]) == 0
    assert Image.open(out).size == (28, 28)
    assert genlab_main(["sample", str(tiny_checkpoint), "--z", "0,0", "--z", "1,1", "--scale", "4",
                        "--out", str(out)]) == 0
    assert Image.open(out).size == (4 * (2 * 28 + 3 * 2), 4 * (28 + 2 * 2))


@pytest.mark.parametrize("args, message", [
    (["--z", "0.1"], "has 2 dimensions"),
    (["--z", "0,0", "--label", "3"], "not conditional"),
    (["--z", "nan,0"], "finite"),
    (["--z", "0,0", "--scale", "99"], "scale"),
])
def test_sample_refuses_bad_input(tiny_checkpoint, tmp_path, capsys, args, message):
    assert genlab_main(["sample", str(tiny_checkpoint), *args, "--out", str(tmp_path / "x.png")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()


def test_info_refuses_a_pickle(tmp_path, capsys):
    import torch

    torch.save({"x": 1}, tmp_path / "x.safetensors")
    assert genlab_main(["info", str(tmp_path / "x.safetensors")]) == 2
    assert "pickle" in capsys.readouterr().err


def test_score_measures_a_generator_and_can_store_it(tiny_checkpoint, tmp_path, capsys):
    from genlab.checkpoints import load_checkpoint
    from genlab.training import TrainConfig, train

    ic = train(TrainConfig("classifier", {"size": "weak"}, epochs=1, limit=64, batch_size=32), out=tmp_path / "ic")
    before = load_checkpoint(tiny_checkpoint)
    assert genlab_main(["score", str(tiny_checkpoint), "--classifier", ic.path, "-n", "50", "--write"]) == 0
    scores = json.loads(capsys.readouterr().out.splitlines()[0])
    assert 0.1 <= scores["mean_top_probability"] <= 1 and 1 <= scores["classes_covered"] <= 10
    after = load_checkpoint(tiny_checkpoint)
    assert after.metrics["mean_top_probability"] == scores["mean_top_probability"]
    assert after.history == before.history and set(after.optimizers) == {"G", "D"}
    assert genlab_main(["score", ic.path, "--classifier", str(tiny_checkpoint)]) == 2
    assert "generative model and a classifier" in capsys.readouterr().err


def test_ship_models_script_dry_run(tmp_path):
    """train/ship_models.sh (the GPU path) end to end on the CPU with one tiny epoch per GAN."""
    import os

    from genlab.checkpoints import load_checkpoint

    env = {**os.environ, "DEVICE": "cpu", "EPOCHS": "1", "LIMIT": "256", "DATASET": "mnist5k", "SAMPLES": "100",
           "OMP_NUM_THREADS": "1", "QUALITY_ARGS": "--no-detector"}
    env.pop("GENLAB_DATA_DIR", None)
    done = subprocess.run(["bash", "train/ship_models.sh", str(tmp_path), "1"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    for name in ("gan_2d", "gan_3d", "gan_4d", "cgan_3d", "cgan_3d_multiply"):
        ckpt = load_checkpoint(tmp_path / f"{name}.safetensors")
        assert ckpt.train["ema"] == 0.9995 and ckpt.train["precision"] == "bfloat16" and ckpt.epochs == 1
        assert ckpt.train["regularizer"] == ("reconstruction" if name.startswith("cgan") else "class-reconstruction")
    assert load_checkpoint(tmp_path / "cgan_3d_multiply.safetensors").config["conditioning"] == "multiply"
    assert "gan_4d" in (tmp_path / "quality.json").read_text()


def test_export_ships_float16_without_training_state(tiny_checkpoint, tmp_path, capsys):
    import torch

    from genlab.checkpoints import load_checkpoint, read_metadata

    out = tmp_path / "shipped.safetensors"
    assert genlab_main(["export", str(tiny_checkpoint), str(out)]) == 0
    assert "float16" in capsys.readouterr().out
    before, after = load_checkpoint(tiny_checkpoint), load_checkpoint(out)
    assert read_metadata(out)["storage"] == "float16" and after.optimizers == {} and after.training_state == {}
    assert after.history == before.history and after.train == before.train
    assert out.stat().st_size < tiny_checkpoint.stat().st_size / 2
    z = torch.zeros(1, 2)
    assert torch.allclose(after.model.generate(z), before.model.generate(z), atol=2e-2)
    assert genlab_main(["export", str(tmp_path / "missing.safetensors"), str(out)]) == 2


def test_activation_experiment_dry_run(tmp_path, monkeypatch):
    """train/activation_experiment.py: four GANs that differ only in their activation, through the job system,
    exported as one set that the Explorer's side-by-side view finds."""
    import sys

    sys.path.insert(0, str(ROOT / "train"))
    from activation_experiment import main as experiment
    from genlab.ui.activations import activation_sets

    monkeypatch.setenv("GENLAB_TRAIN_THREADS", "1")
    out = tmp_path / "models" / "activations"
    assert experiment(["--epochs", "1", "--limit", "128", "--runs", str(tmp_path / "runs"), "--out", str(out),
                       "--parallel", "2", "--poll", "0.5"]) == 0
    assert sorted(p.name for p in out.glob("*.safetensors")) == [
        "gan_2d_elu.safetensors", "gan_2d_leaky_relu.safetensors", "gan_2d_prelu.safetensors", "gan_2d_relu.safetensors"]
    monkeypatch.setenv("GENLAB_CHECKPOINTS", str(tmp_path / "models"))
    monkeypatch.setenv("GENLAB_RUNS", str(tmp_path / "runs"))
    sets = activation_sets()
    rows = next(rows for title, rows in sets.items() if title.startswith("shipped: "))
    assert [r["config"]["activation"] for r in rows] == ["relu", "leaky_relu", "prelu", "elu"]
    assert load_checkpoint(rows[0]["path"]).history["monitor"]["score_epochs"] == [1]


@pytest.mark.parametrize("out, words", [("", "give a file name"), ("runs/x/..", "give a file name"),
                                        ("README.md/inside/gan", "is a file, not a folder")])
def test_a_bad_out_is_refused_before_training(out, words, capsys):
    """Issue 32.22: --out under a regular file or empty was found only after training (or as a traceback)."""
    from train.__main__ import main as train_main

    with pytest.raises(SystemExit) as stopped:
        train_main(["gan", "--epochs", "1", "--limit", "8", "--out", out])
    assert stopped.value.code == 2 and words in capsys.readouterr().err


def test_the_cli_bounds_epochs(capsys, tmp_path):
    from train.__main__ import main as train_main

    with pytest.raises(SystemExit):
        train_main(["gan", "--epochs", "1000000000", "--out", str(tmp_path / "g")])
    assert "--epochs 1,000,000,000: give 1 to 100,000" in capsys.readouterr().err


def test_quality_checks_its_inputs_before_building_the_references(monkeypatch, capsys):
    """Issue 32.22: `genlab quality README.md` scored real digits for 16 s before refusing the file."""
    from genlab import quality

    def never(*args, **kwargs):
        raise AssertionError("the references were built before the inputs were checked")
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    monkeypatch.setattr(quality, "load_references", never)
    assert genlab_main(["quality", str(root / "README.md")]) == 2
    assert "README.md is truncated or not a safetensors file" in capsys.readouterr().err
    assert genlab_main(["quality", str(root / "checkpoints/classifier_strong.safetensors")]) == 2
    assert "no generative model of digits to judge" in capsys.readouterr().err
