"""Multi-domain distillation (genlab/distill.py, train/distill.py): the loss by hand, the splits, the maps
phi, the paired students and the CLI round trip."""
import json
import math

import pytest
import torch

from genlab.distill import (SETTING_TABLE, SETTINGS, DilatedMap, NoiseMap, carve_validation, class_matched_partners,
                            compare_students, dilated_kernel, distillation_loss, make_map, split_big_small, summarize)
from genlab.models import build_model
from genlab.checkpoints import load_checkpoint


def test_the_loss_against_a_hand_computation():
    student = torch.tensor([[2.0, 0.0, -1.0]])
    teacher = torch.tensor([[0.0, 3.0, 0.0]])
    label = torch.tensor([0])
    T = 2.0
    ce = -math.log(math.exp(2) / (math.exp(2) + 1 + math.exp(-1)))
    p_t = [math.exp(v / T) for v in (0.0, 3.0, 0.0)]
    p_t = [v / sum(p_t) for v in p_t]
    s = [math.exp(v / T) for v in (2.0, 0.0, -1.0)]
    log_s = [math.log(v / sum(s)) for v in s]
    soft = -sum(a * b for a, b in zip(p_t, log_s)) * T * T
    assert distillation_loss(student, label, teacher, 0.0, T).item() == pytest.approx(ce, rel=1e-5)
    assert distillation_loss(student, label, teacher, 1.0, T).item() == pytest.approx(soft, rel=1e-5)
    assert distillation_loss(student, label, teacher, 0.25, T).item() == pytest.approx(0.75 * ce + 0.25 * soft,
                                                                                     rel=1e-5)
    with pytest.raises(ValueError):
        distillation_loss(student, label, teacher, 1.5, T)
    with pytest.raises(ValueError):
        distillation_loss(student, label, teacher, 0.5, 0.0)


def test_the_teacher_term_gives_no_gradient_to_the_teacher():
    student = torch.randn(4, 10, requires_grad=True)
    teacher = torch.randn(4, 10, requires_grad=True)
    distillation_loss(student, torch.arange(4), teacher, 0.5, 4.0).backward()
    assert teacher.grad is None and student.grad is not None


def test_the_splits_are_disjoint_balanced_and_cover_everything():
    labels = torch.arange(10).repeat(300)[torch.randperm(3000, generator=torch.Generator().manual_seed(1))]
    big, small = split_big_small(labels, 1000, seed=3)
    assert len(small) == 1000 and len(big) == 2000
    assert not set(big.tolist()) & set(small.tolist())
    assert sorted(big.tolist() + small.tolist()) == list(range(3000))
    assert torch.bincount(labels[small], minlength=10).tolist() == [100] * 10
    assert torch.equal(split_big_small(labels, 1000, seed=3)[1], small)          # seeded
    assert not torch.equal(split_big_small(labels, 1000, seed=4)[1], small)
    with pytest.raises(ValueError):
        split_big_small(labels, 1001)


def test_each_map_keeps_the_shape_and_the_range():
    x = torch.rand(6, 1, 28, 28) * 2 - 1
    noisy = NoiseMap(0.8)(x, generator=torch.Generator().manual_seed(0))
    assert noisy.shape == x.shape and noisy.min() >= -1 and noisy.max() <= 1
    assert (noisy - x).abs().mean() > 0.3
    assert torch.equal(noisy, NoiseMap(0.8)(x, generator=torch.Generator().manual_seed(0)))
    kernel = dilated_kernel()
    assert kernel.shape == (1, 1, 5, 5) and kernel.min() >= 0 and float(kernel.sum()) == pytest.approx(1.0)
    phi = DilatedMap()
    out = phi(x)
    assert out.shape == x.shape and out.min() >= -1 and out.max() <= 1
    assert torch.allclose(phi(-torch.ones(1, 1, 28, 28)), -torch.ones(1, 1, 28, 28))   # black stays black
    dot = -torch.ones(1, 1, 28, 28)
    dot[0, 0, 14, 14] = 1.0
    reached = (phi(dot) > -1 + 1e-6).nonzero()[:, 2:]
    assert int(reached.max() - reached.min()) == 8             # kernel 5 with dilation 2 reaches 9 x 9
    assert ((reached - 14) % 2 == 0).all()                     # ... every second pixel


def test_with_lambda_zero_both_students_are_the_same_run():
    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(60, 1, 28, 28, generator=g) * 2 - 1, torch.arange(10).repeat(6)
    teacher = build_model("classifier", {"size": "weak"}).eval()
    same = compare_students(teacher, NoiseMap(0.5), x, y, x[:20], y[:20], lam=0.0, epochs=2, seed=5)
    assert same.teacher == same.alone
    apart = compare_students(teacher, NoiseMap(0.5), x, y, x[:20], y[:20], lam=0.9, epochs=2, seed=5)
    assert apart.alone == same.alone and apart.teacher != apart.alone
    summary = summarize([same, apart])
    assert summary["alone"]["spread"] == 0.0 and summary["seeds"] == [5, 5]
    from genlab.distill import Identity

    three = compare_students(teacher, NoiseMap(0.5), x, y, x[:20], y[:20], lam=0.9, epochs=2, seed=5,
                             others={"plain teacher": (teacher, Identity())})       # the noise plot's third curve
    assert len(three.others["plain teacher"]) == 2 and three.others["plain teacher"] != three.alone
    assert summarize([three])["others"]["plain teacher"]["values"] == [three.others["plain teacher"][-1]["accuracy"]]


def test_the_cli_trains_a_teacher_and_compares_students(tmp_path, capsys, monkeypatch):
    from train.__main__ import main
    from genlab.checkpoints import load_checkpoint
    from genlab.distill import teacher_map

    monkeypatch.setenv("GENLAB_DATA_DIR", str(tmp_path / "none"))    # the embedded digits
    assert main(["distill-teacher", "--map", "dilated-digits", "--epochs", "1", "--out", str(tmp_path / "teacher")]) == 0
    checkpoint = load_checkpoint(tmp_path / "teacher.safetensors")
    assert torch.allclose(teacher_map(checkpoint).kernel, dilated_kernel(), atol=1e-3)       # stored float16
    assert checkpoint.train["distill"]["setting"] == "dilated-digits" and checkpoint.train["distill"]["big"] == 3000
    assert main(["distill", "--map", "dilated-digits", "--teacher", str(tmp_path / "teacher.safetensors"), "--epochs", "1",
                 "--seeds", "2", "--out", str(tmp_path / "run")]) == 0
    result = json.loads((tmp_path / "run" / "result.json").read_text())
    assert result["small"] == 1000 and result["test"] == 1000 and len(result["runs"]) == 2
    assert set(result["runs"][0]["with_teacher"][0]) == {"accuracy", "cross_entropy"}
    assert "final test accuracy over 2 seeds" in capsys.readouterr().out
    assert main(["distill", "--map", "noise-digits", "--teacher", str(tmp_path / "teacher.safetensors"), "--out",
              str(tmp_path / "x")]) == 2          # a teacher of another domain is refused
    assert "learned the 'dilated-digits' domain" in capsys.readouterr().err
    # the Fashion settings need Fashion Big, which does not ship: a clear message, no traceback
    assert main(["distill-teacher", "--map", "plain", "--epochs", "1", "--out", str(tmp_path / "plain")]) == 2
    assert "fashion_mnist" in capsys.readouterr().err


def _comparison(**distill):
    from genlab.training.jobs import JobSpec

    settings = {"setting": "noise-digits", "lambda": 0.5, "temperature": 4.0, "student": "weak", "seed": 0, **distill}
    return JobSpec("comparison", {"kind": "classifier", "epochs": 2, "dataset": "mnist5k"}, {}, distill=settings)


def test_a_distillation_job_runs_both_students_through_the_job_system(tmp_path, monkeypatch):
    import time

    from genlab.checkpoints import save_checkpoint
    from genlab.training.jobs import JobStore

    teachers = tmp_path / "checkpoints" / "distill"
    teachers.mkdir(parents=True)
    save_checkpoint(teachers / "teacher_noise-digits", build_model("classifier", {"size": "strong"}), dataset="mnist",
                    train={"distill": {"setting": "noise-digits", "sigma": 0.8}})
    monkeypatch.setenv("GENLAB_CHECKPOINTS", str(tmp_path / "checkpoints"))
    monkeypatch.setenv("GENLAB_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv("GENLAB_TRAIN_THREADS", "1")
    store = JobStore(tmp_path / "runs", limit=1)
    job = store.submit(_comparison())
    assert job.task == "distill"
    deadline = time.monotonic() + 180
    while store.get(job.id).state not in ("done", "stopped", "failed", "interrupted") and time.monotonic() < deadline:
        store.tick()
        time.sleep(0.2)
    job = store.get(job.id)
    assert job.state == "done", (job.status, (job.folder / "worker.log").read_text()[-2000:])
    result = job.distill_result()
    assert result["epochs"] == [1, 2] and len(result["with_teacher"]) == len(result["alone"]) == 2
    assert result["small"] == 1000 and result["test"] == 1000 and result["setting"] == "noise-digits"
    assert set(job.status["scores"]) == {"with_teacher", "alone"}


@pytest.mark.parametrize("change, words", [({"lambda": 1.5}, "lambda"), ({"setting": "blur"}, "map"),
                                           ({"temperature": 0.0}, "temperature"), ({"student": "huge"}, "student"),
                                           ({"seed": "1"}, "seed must be an integer")])
def test_a_distillation_job_with_bad_settings_is_refused(change, words):
    with pytest.raises(ValueError, match=words):
        _comparison(**change).validate()


@pytest.fixture()
def full_sets(tmp_path):
    """Small stand-ins for the full sets, in their file format (uint8 x_train, y_train, x_test, y_test): the
    embedded digits as "mnist" and the shipped clothes as "fashion_mnist" (150 training images per class, so
    Big 500 + Small 1,000; 500 other test images)."""
    import numpy as np

    from genlab.data import load_dataset
    from genlab.distill import fashion_sets

    def pixels(x):
        return ((x + 1) * 127.5).round().clamp(0, 255).to(torch.uint8).squeeze(1).numpy()

    folder = tmp_path / "data"
    folder.mkdir()
    train, test = load_dataset("mnist5k", "train"), load_dataset("mnist5k", "test")
    np.savez(folder / "mnist.npz", x_train=pixels(train.images), y_train=train.labels.numpy(),
             x_test=pixels(test.images), y_test=test.labels.numpy())
    small, clothes_test, _ = fashion_sets(str(tmp_path / "none"))
    np.savez(folder / "fashion_mnist.npz", x_train=pixels(torch.cat([small.images, clothes_test.images[1::2]])),
             y_train=torch.cat([small.labels, clothes_test.labels[1::2]]).numpy(),
             x_test=pixels(clothes_test.images[::2]), y_test=clothes_test.labels[::2].numpy())
    return folder


def test_every_setting_has_a_map_of_the_right_shape_and_range():
    x = torch.rand(4, 1, 28, 28) * 2 - 1
    assert SETTINGS[:5] == ("plain", "noise", "dilated", "vae", "generated")      # the talk's order first
    for name, setting in SETTING_TABLE.items():
        phi = make_map(name)
        assert phi.setting == name
        out = phi(x, generator=torch.Generator().manual_seed(0))
        assert out.shape == x.shape and out.min() >= -1 and out.max() <= 1
        assert torch.equal(out, x) == (setting.phi in ("identity", "vae"))      # vae: the teacher learns S as is
    assert SETTING_TABLE["noise"].sigma == pytest.approx(2 * 0.1 ** 0.5, abs=1e-3)      # variance 0.1 on 0..1


def test_the_vae_pairs_are_class_matched_and_validation_is_carved_from_big():
    g = torch.Generator().manual_seed(0)
    digit_labels = torch.randint(10, (500,), generator=g)
    clothes_labels = torch.randint(10, (300,), generator=g)
    partners = class_matched_partners(digit_labels, clothes_labels, g)
    assert torch.equal(clothes_labels[partners], digit_labels)
    assert len(set(partners.tolist())) > 150                     # many clothes, not one per class
    with pytest.raises(ValueError, match="class 3"):
        class_matched_partners(torch.tensor([3]), torch.tensor([0, 1]))
    big = torch.arange(100, 600)
    rest, val = carve_validation(big)
    assert len(val) == 50 and not set(rest.tolist()) & set(val.tolist()) and set(rest.tolist()) | set(val.tolist()) == set(big.tolist())


def test_the_dual_vae_generated_mnist_and_its_teacher_never_touch_small_or_test(tmp_path, full_sets, monkeypatch):
    """distill-vae pairs Big digits with Big clothes only; distill-generate turns every clothing image into a
    digit with its label; the generated teacher learns GeneratedMNIST Big; a comparison runs through phi."""
    import numpy as np

    import train.distill as cli
    from train.__main__ import main
    from genlab.data import load_dataset
    from genlab.distill import load_dual_vae, load_generated

    monkeypatch.setenv("GENLAB_DATA_DIR", str(full_sets))
    seen = {}
    real = cli.train_dual_vae

    def spy(digits_x, digits_y, clothes_x, clothes_y, **kw):
        seen.update(digits=digits_x, clothes=clothes_x, clothes_y=clothes_y)
        return real(digits_x, digits_y, clothes_x, clothes_y, **kw)

    monkeypatch.setattr(cli, "train_dual_vae", spy)
    assert main(["distill-vae", "--epochs", "1", "--out", str(tmp_path / "dual")]) == 0
    clothes = load_dataset("fashion_mnist", "train", full_sets)
    _, small = split_big_small(clothes.labels)
    flat = lambda x: {bytes(v) for v in ((x + 1) * 127.5).round().to(torch.uint8).flatten(1).numpy()}
    assert len(seen["clothes"]) == 450                              # Big 500 less its validation 50
    assert not flat(seen["clothes"]) & flat(clothes.images[small])   # no Small image
    assert not flat(seen["clothes"]) & flat(load_dataset("fashion_mnist", "test", full_sets).images)
    assert (tmp_path / "dual_best.safetensors").is_file()
    phi = load_dual_vae(tmp_path / "dual.safetensors")
    with torch.no_grad():
        z = phi.vae.encode(clothes.images[:4])
        as_digits, as_clothes = phi.vae.decode(z), phi.fashion_decoder(z)
    assert as_digits.shape == as_clothes.shape == (4, 1, 28, 28) and not torch.allclose(as_digits, as_clothes)
    assert torch.allclose(phi(clothes.images[:4]), as_digits)            # phi: the MNIST decoder
    assert main(["distill-vae", "--epochs", "1", "--resume", "--out", str(tmp_path / "dual")]) == 0
    assert load_checkpoint(tmp_path / "dual.safetensors").train["distill"]["epochs"] == 2   # continued
    assert main(["distill-vae", "--epochs", "1", "--resume", "--out", str(tmp_path / "nothing")]) == 2

    generated = tmp_path / "generated.npz"
    assert main(["distill-generate", "--dual-vae", str(tmp_path / "dual.safetensors"), "--out", str(generated)]) == 0
    train, test = load_generated(generated)
    phi = load_dual_vae(tmp_path / "dual.safetensors")                  # as resumed
    assert train.images.shape == clothes.images.shape and torch.equal(train.labels, clothes.labels)
    assert torch.allclose(train.images[:4], phi(clothes.images[:4]), atol=1 / 127)
    with np.load(generated, allow_pickle=False) as npz:
        assert npz["x_train"].dtype == np.uint8 and sorted(npz["small"].tolist()) == small.tolist()
    teacher = tmp_path / "teacher_generated"
    assert main(["distill-teacher", "--map", "generated", "--generated", str(generated), "--dual-vae",
                 str(tmp_path / "dual.safetensors"), "--epochs", "1", "--out", str(teacher)]) == 0
    checkpoint = load_checkpoint(f"{teacher}.safetensors")
    assert checkpoint.train["distill"]["big"] == 500 and "t_test_via_phi_accuracy" in checkpoint.metrics
    assert main(["distill", "--map", "generated", "--teacher", f"{teacher}.safetensors", "--dual-vae",
                 str(tmp_path / "dual.safetensors"), "--epochs", "1", "--seeds", "1", "--validate",
                 "--out", str(tmp_path / "run")]) == 0
    result = json.loads((tmp_path / "run" / "result.json").read_text())
    assert result["tested_on"] == "validation" and result["test"] == 50 and result["small"] == 1000
    assert 0 <= result["teacher_via_phi"]["accuracy"] <= 1
