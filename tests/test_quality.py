"""The quality report: its figures, its real-vs-generated detector, and `python -m genlab quality`."""
import json

import pytest
import torch

from genlab import quality
from genlab.metrics import class_figures
from genlab.checkpoints import load_checkpoint
from genlab.models import build_model

from .conftest import SHIPPED


def test_class_figures():
    probs = torch.tensor([[0.95, 0.05, 0.0], [0.6, 0.4, 0.0], [0.45, 0.1, 0.45], [0.0, 0.0, 1.0]])
    f = class_figures(probs)
    assert f["classes_covered"] == 2 and f["class_fractions"] == [0.75, 0.0, 0.25]
    assert (f["rarest_class"], f["rarest_class_fraction"]) == (1, 0.0)
    assert (f["commonest_class"], f["commonest_class_fraction"]) == (0, 0.75)
    assert f["unsure_share"] == 0.5 and f["unplaced_share"] == 0.25


def test_samples_are_seeded_and_balanced_per_label():
    torch.manual_seed(0)
    cgan = build_model("cgan", {"latent_dim": 3}).eval()
    images, labels = quality.quality_samples(cgan, 200, seed=4)
    assert images.shape == (200, 1, 28, 28) and torch.equal(torch.bincount(labels), torch.full((10,), 20))
    again, _ = quality.quality_samples(cgan, 200, seed=4)
    assert torch.equal(images, again)
    vae = build_model("vae", {"latent_dim": 2}).eval()
    images, labels = quality.quality_samples(vae, 100)
    assert labels is None and images.min() >= -1 and images.max() <= 1


def test_detector_tells_noise_from_digits_and_not_digits_from_digits(mnist5k_test):
    real = mnist5k_test.images[:400]
    noise = torch.rand(400, 1, 28, 28) * 2 - 1
    assert quality.real_vs_generated(real, noise, steps=30, batch_size=32)["detector_error"] < 0.05
    same = quality.real_vs_generated(real[:200], real[200:], steps=30, batch_size=32)
    assert same["detector_error"] > 0.3 and same["detector_bce"] > 0.5


def test_detector_is_judged_with_its_final_weights_statistics(mnist5k_test):
    """Digits dimmed a little are easy to tell once the detector's batch norms are recomputed; judged with the
    running averages of a short training it called every image real (error 0.49, cross-entropy 4.9)."""
    real = mnist5k_test.images[:800]
    dimmed = real[400:] * 0.85 - 0.15
    figures = quality.real_vs_generated(real[:400], dimmed, steps=60, batch_size=32)
    assert figures["detector_error"] < 0.1 and figures["detector_bce"] < 0.3


def test_label_ceiling_of_multiply_conditioning():
    """z * e with z uniform in the cube: the label survives only as an origin-centred box's widths."""
    nested = quality.label_ceiling(torch.tensor([[1.0, 1.0, 1.0], [0.5, 0.5, 0.5]]), n=40_000)
    assert nested[1] == 1.0 and abs(nested[0] - (1 - 0.5 ** 3)) < 0.01      # the big box loses the small one
    signs = quality.label_ceiling(torch.tensor([[1.0, 1.0, 1.0], [-1.0, 1.0, -1.0]]), n=10_000)
    assert sorted(signs) == [0.0, 1.0]          # signs do not tell labels apart: one label gets nothing
    apart = quality.label_ceiling(torch.tensor([[1.0, 0.01, 0.01], [0.01, 1.0, 0.01], [0.01, 0.01, 1.0]]))
    assert min(apart) > 0.97                    # thin boxes along different axes barely overlap
    torch.manual_seed(0)
    cgan = build_model("cgan", {"latent_dim": 3, "conditioning": "multiply"}).eval()
    assert len(quality.label_ceiling(cgan.generator.label_embedding.weight)) == 10


def test_target_checks():
    figures = {"unsure_share": 0.08, "unplaced_share": 0.02, "rarest_class_fraction": 0.07, "fid": 90.0}
    checks = quality.target_checks("gan_2d", figures, before_fid=500.0)
    assert checks == {"unsure <= 10%": True, "cannot place <= 1.5%": False, "rarest class >= 6%": True,
                      "FID <= 1/5 of before (500)": True}
    assert quality.target_checks("my_gan", figures) == {}


def test_quality_cli_prints_writes_json_and_stores_metrics(tiny_checkpoint, tmp_path, capsys, monkeypatch):
    from genlab.__main__ import main

    monkeypatch.delenv("GENLAB_DATA_DIR", raising=False)
    out = tmp_path / "q.json"
    assert main(["quality", str(tiny_checkpoint), "--classifier", str(SHIPPED / "classifier_strong.safetensors"),
                 "--samples", "200", "--json", str(out), "--write", "--before", str(tmp_path / "none.json"),
                 "--no-detector"]) == 0
    printed = capsys.readouterr().out
    assert "judge" in printed and "FID" in printed and "the floor" in printed
    report = json.loads(out.read_text())
    assert report["judge"]["reference"] == "mnist5k" and report["judge"]["test_digits"] == 1000
    row = report["models"][0]
    assert row["samples"] == 200 and "detector_error" not in row and row["fid"] > report["judge"]["fid_floor"]
    assert row["copy_samples"] == 200 and 0 <= row["copy_rate"] <= 1 and "4,000 training digits" in row["copy_reference"]
    assert 0 <= report["judge"]["copy_rate_floor"] < 0.1 and "copies (nearest of the 4,000" in printed
    metrics = load_checkpoint(tiny_checkpoint).metrics
    assert metrics["samples"] == 200 and metrics["scored_by"] == "classifier_strong.safetensors"
    with pytest.raises(SystemExit):
        main(["quality", "--bogus"])


def test_every_fid_shown_names_its_sample_count():
    """Issue 32.6: a shipped model's FID (10,000 samples) and a trained run's (1,000) are never shown side by
    side without their sizes."""
    import re

    from genlab.catalog import list_models, quality_summary

    shipped = next(r for r in list_models()[0] if r["file"] == "gan_2d.safetensors")
    line = quality_summary(shipped["metrics"])
    assert re.search(r"FID \d+ \(10,000 samples", line), line
    run = {"classes_covered": 10, "class_fractions": [0.1] * 10, "rarest_class_fraction": 0.05,
           "commonest_class_fraction": 0.15, "commonest_class": 1, "unsure_share": 0.3, "fid": 513.0, "samples": 1000}
    assert "FID 513 (1,000 samples;" in quality_summary(run)
    assert "sample count not recorded" in quality_summary({**run, "samples": None})
