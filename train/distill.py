"""python -m train distill-teacher | distill-vae | distill: the multi-domain distillation experiment
(genlab/distill.py).

  python -m train distill-teacher --map noise --epochs 3 --out runs/distill/teacher_noise
  python -m train distill-vae --epochs 5 --out runs/distill/dual_vae     # phi of the vae and generated settings
  python -m train distill-generate --dual-vae runs/distill/dual_vae_best.safetensors --out runs/distill/generated_mnist.npz
  python -m train distill-teacher --map generated --generated runs/distill/generated_mnist.npz --out runs/distill/teacher_generated
  python -m train distill --map noise --teacher runs/distill/teacher_noise.safetensors --lambda 0.5 \\
      --temperature 4 --epochs 20 --seeds 3 --out runs/distill/noise

Full MNIST and Fashion-MNIST (GENLAB_DATA_DIR or --data-dir) give Big 59,000 / Small 1,000 / Test 10,000; the
Fashion teachers and the dual VAE need them. Without them a comparison uses the embedded digits (Big 3,000 /
Small 1,000 / Test 1,000) and the shipped clothes (Small 1,000, Test 1,000), and the output says so.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from genlab.checkpoints import STORAGES, CheckpointError, load_checkpoint, save_checkpoint
from genlab.data import DatasetUnavailable
from genlab.distill import (SETTINGS, VALIDATION, DilatedMap, carve_validation, compare_students, comparison_data,
                            digits, domain_sets, evaluate, fashion_full, generate_mnist, load_dual_vae, make_map,
                            setting_of, split_big_small, summarize, teacher_map, teacher_path, train_dual_vae,
                            train_teacher, translate)
from genlab.files import atomic_write

COMMANDS = ("distill-teacher", "distill-vae", "distill")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m train", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    t = commands.add_parser("distill-teacher", help="train a teacher on the domain S = phi(Big)")
    t.add_argument("--map", choices=SETTINGS, required=True, help="the setting: which domain S the teacher learns")
    t.add_argument("--epochs", type=int, default=3)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--generated", default=None, help="generated: the GeneratedMNIST file (distill-generate's)")
    t.add_argument("--dual-vae", default=None, help="vae, generated: phi for the report (default: the shipped one)")
    t.add_argument("--storage", choices=STORAGES, default="float16", help="the weights' precision on disk")
    t.add_argument("--data-dir", default=None, help="folder with mnist.npz, fashion_mnist.npz ($GENLAB_DATA_DIR)")
    t.add_argument("--out", required=True, help="checkpoint path (.safetensors is added)")
    v = commands.add_parser("distill-vae", help="the dual-decoder VAE (phi of the vae and generated settings)")
    v.add_argument("--epochs", type=int, default=5)
    v.add_argument("--seed", type=int, default=0)
    v.add_argument("--latent-dim", type=int, default=2, help="the latent size (the talk: 2)")
    v.add_argument("--judge", default=None, help="the digit teacher that scores phi on validation clothes "
                                                "(default: the shipped vae teacher)")
    v.add_argument("--data-dir", default=None, help="folder with mnist.npz and fashion_mnist.npz")
    v.add_argument("--out", required=True, help="checkpoint path (.safetensors is added); the epoch best on "
                                                "validation is also written as OUT_best")
    v.add_argument("--resume", action="store_true", help="continue the VAE at --out for --epochs more epochs")
    g = commands.add_parser("distill-generate", help="GeneratedMNIST: phi of every Fashion-MNIST image")
    g.add_argument("--dual-vae", default=None, help="default: the shipped dual VAE")
    g.add_argument("--data-dir", default=None)
    g.add_argument("--out", default="runs/distill/generated_mnist.npz")
    d = commands.add_parser("distill", help="students with and without the teacher on Small, tested on Test")
    d.add_argument("--map", choices=SETTINGS, required=True)
    d.add_argument("--teacher", default=None, help="a checkpoint from distill-teacher for the same map "
                                                  "(default: the shipped one)")
    d.add_argument("--lambda", dest="lam", type=float, default=0.5, help="weight of the teacher's term, 0..1")
    d.add_argument("--temperature", type=float, default=4.0)
    d.add_argument("--epochs", type=int, default=20)
    d.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 (each: both students)")
    d.add_argument("--student", choices=("weak", "strong"), default="weak", help="the students' size")
    d.add_argument("--dual-vae", default=None, help="vae, generated: the dual-decoder VAE (default: the shipped one)")
    d.add_argument("--also", action="append", default=[], metavar="SETTING[=TEACHER]",
                   help="one more student, taught by another setting's teacher of the same student domain (the "
                        "noise plot's plain teacher: --also plain); default its shipped teacher")
    d.add_argument("--validate", action="store_true", help=f"test on {VALIDATION:,} validation images carved from "
                                                           "T's Big instead of Test (to choose lambda and T)")
    d.add_argument("--data-dir", default=None)
    d.add_argument("--out", required=True, help="folder for result.json")
    return parser


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def main(argv: list[str]) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "distill-vae":
            return dual_vae(args)
        if args.command == "distill-generate":
            return generate(args)
        if args.command == "distill-teacher":
            if args.epochs < 1:
                parser.error("--epochs must be at least 1")
            return teacher(args)
        if not 0 <= args.lam <= 1 or args.temperature <= 0 or args.epochs < 1 or not 1 <= args.seeds <= 20:
            parser.error("--lambda in [0, 1], --temperature > 0, --epochs >= 1, --seeds in 1..20")
        return compare(args)
    except (DatasetUnavailable, CheckpointError) as err:
        return _fail(str(err))


def dual_vae(args) -> int:
    """Pairs from both Big samples; the clothes' validation share scores each epoch (the judge: a digit teacher
    through phi); the last epoch at --out (to resume), the best at OUT_best."""
    if not 1 <= args.latent_dim <= 64:
        return _fail("--latent-dim in 1..64")
    digit_train, _, source = digits(args.data_dir)
    digit_big, _ = split_big_small(digit_train.labels)
    clothes, _ = fashion_full(args.data_dir)
    clothes_big, clothes_small = split_big_small(clothes.labels)
    clothes_rest, clothes_val = carve_validation(clothes_big)
    judge = load_checkpoint(args.judge or teacher_path("vae")).model.eval()
    print(f"pairs: {len(digit_big):,} Big digits ({source}) with {len(clothes_rest):,} Big clothes of the same class; "
          f"{len(clothes_val):,} Big clothes held out for validation; the Small {len(clothes_small):,} and Test "
          f"are not used")
    started = time.monotonic()
    out = Path(args.out).with_suffix(".safetensors")
    best_file = out.with_name(out.stem + "_best.safetensors")
    best = {"accuracy": -1.0}
    if best_file.is_file():
        kept = load_checkpoint(best_file).metrics
        best = {"accuracy": kept.get("validation_accuracy", -1.0), "epoch": kept.get("validation_epoch")}

    def save(path, phi, epochs_done, figures):
        return save_checkpoint(path, phi.vae, dataset=source, history={"epochs": epochs_done, "losses": {}},
                               metrics={f"validation_{k}": v for k, v in figures.items()},
                               train={"distill": {"setting": "vae", "role": "dual_vae", "big_digits": len(digit_big),
                                                  "big_clothes": len(clothes_rest), "validation": len(clothes_val),
                                                  "epochs": epochs_done, "seed": args.seed,
                                                  "pairs": "each Big digit with a random Big clothing image of "
                                                           "its class (both Big samples; Small and Test unused)"}},
                               training_state={"fashion_decoder": phi.fashion_decoder})

    def report(epoch, losses, phi):
        nonlocal best
        phi.eval()
        figures = {k: round(v, 4) for k, v in evaluate(judge, translate(phi, clothes.images[clothes_val]),
                                                       clothes.labels[clothes_val]).items()}
        figures["epoch"] = epoch
        phi.vae.train(), phi.fashion_decoder.train()
        save(out, phi, epoch, figures)          # every epoch: a long run can be cut short and resumed
        mark = ""
        if figures["accuracy"] > best["accuracy"]:
            best, mark = figures, " (best so far: OUT_best)"
            save(best_file, phi, epoch, figures)
        print(f"epoch {epoch}: MSE digits {losses['mnist']:.4f}, clothes {losses['fashion']:.4f}, KL {losses['kl']:.2f}; "
              f"the digit teacher through phi names {figures['accuracy']:.2%} of the validation clothes{mark}, "
              f"{time.monotonic() - started:.0f} s", flush=True)

    start, done = None, 0
    if args.resume:
        try:
            start = load_dual_vae(out)
            done = int(load_checkpoint(out).train["distill"]["epochs"])
        except (CheckpointError, KeyError, TypeError, ValueError) as err:
            return _fail(f"cannot resume from {out}: {err}")
        print(f"resuming {out} after epoch {done}")
    train_dual_vae(digit_train.images[digit_big], digit_train.labels[digit_big], clothes.images[clothes_rest],
                   clothes.labels[clothes_rest], epochs=args.epochs, seed=args.seed, on_epoch=report, start=start,
                   first_epoch=done + 1, latent_dim=args.latent_dim)
    print(f"wrote {out}; best on validation: epoch {best.get('epoch')} ({best['accuracy']:.2%}) at {best_file}")
    return 0


def generate(args) -> int:
    import io

    import numpy as np

    phi = load_dual_vae(Path(args.dual_vae) if args.dual_vae else None)
    train, test = fashion_full(args.data_dir)
    started = time.monotonic()
    arrays = generate_mnist(phi, train, test)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(out, buffer.getvalue())
    print(f"GeneratedMNIST: {len(arrays['x_train']):,} training (Big {len(arrays['x_train']) - len(arrays['small']):,} "
          f"+ Small {len(arrays['small']):,}) and {len(arrays['x_test']):,} test digits with the clothes' labels, "
          f"{time.monotonic() - started:.0f} s; wrote {out} ({out.stat().st_size / 1e6:.1f} MB)")
    return 0


def teacher(args) -> int:
    spec = setting_of(args.map)
    train_set, test_set, source = domain_sets(spec.source, args.data_dir,
                                              Path(args.generated) if args.generated else None)
    big, small = split_big_small(train_set.labels)
    print(f"{spec.name}: the teacher learns {source} Big {len(big):,} (Small {len(small):,} and Test "
          f"{len(test_set):,} unused)")
    phi = make_map(args.map)
    started = time.monotonic()

    def report(epoch, net):
        figures = evaluate(net, translate(phi, test_set.images), test_set.labels)
        print(f"epoch {epoch}: test accuracy on S {figures['accuracy']:.4f}, {time.monotonic() - started:.0f} s",
              flush=True)

    net = train_teacher(phi, train_set.images[big], train_set.labels[big], epochs=args.epochs, seed=args.seed,
                        on_epoch=report)
    metrics = {f"s_test_{k}": round(v, 4) for k, v in evaluate(net, translate(phi, test_set.images),
                                                                 test_set.labels).items()}
    _, t_test, _ = domain_sets(spec.target, args.data_dir) if spec.target != spec.source else (None, test_set, None)
    metrics.update({f"t_test_{k}": round(v, 4) for k, v in evaluate(net, t_test.images, t_test.labels).items()})
    if spec.phi == "vae":          # what the student will hear: the teacher through the VAE's translation
        through = load_dual_vae(Path(args.dual_vae) if args.dual_vae else None)
        metrics.update({f"t_test_via_phi_{k}": round(v, 4)
                        for k, v in evaluate(net, translate(through, t_test.images), t_test.labels).items()})
    path = save_checkpoint(args.out, net, dataset=source, metrics=metrics, storage=args.storage,
                           history={"epochs": args.epochs, "losses": {}},
                           train={"distill": {**phi.describe(), "domain": spec.source, "big": len(big),
                                              "epochs": args.epochs, "seed": args.seed}},
                           training_state={"phi": phi} if isinstance(phi, DilatedMap) else None)
    print(f"wrote {path}: {json.dumps(metrics)}")
    return 0


def command(args) -> str:
    """The comparison's command line, canonical (paths as given)."""
    parts = ["python -m train distill --map", args.map]
    if args.teacher:
        parts += ["--teacher", args.teacher]
    parts += ["--lambda", f"{args.lam:g}", "--temperature", f"{args.temperature:g}", "--epochs", str(args.epochs),
              "--seeds", str(args.seeds), "--student", args.student]
    for item in args.also:
        parts += ["--also", item]
    if args.dual_vae:
        parts += ["--dual-vae", args.dual_vae]
    if args.validate:
        parts.append("--validate")
    return " ".join(parts + ["--out", args.out])


def compare(args) -> int:
    spec = setting_of(args.map)
    checkpoint = load_checkpoint(args.teacher or teacher_path(args.map))
    phi = teacher_map(checkpoint, Path(args.dual_vae) if args.dual_vae else None, setting=args.map)
    if phi.setting != args.map:
        return _fail(f"the teacher learned the {phi.setting!r} domain, not {args.map!r}")
    digit_source = digits(args.data_dir)[2] if spec.target == "digits" else "mnist"   # Fashion: not read
    small_x, small_y, test_set, target = comparison_data(args.map, digit_source, args.data_dir)
    test_x, test_y, tested = test_set.images, test_set.labels, "test"
    if args.validate:              # held-out images of T's Big: never the Small 1,000, never Test
        big_train, _, _ = (domain_sets(spec.target, args.data_dir) if spec.target == "fashion"
                           else domain_sets("digits", args.data_dir))
        big, _ = split_big_small(big_train.labels)
        _, val = carve_validation(big)
        test_x, test_y, tested = big_train.images[val], big_train.labels[val], "validation"
    others = {}
    for item in args.also:
        name, _, path = item.partition("=")
        if name not in SETTINGS or setting_of(name).target != spec.target:
            return _fail(f"--also {item}: not a setting whose students learn {spec.target}")
        other = load_checkpoint(path or teacher_path(name))
        others[f"{name} teacher"] = (other.model, teacher_map(other, Path(args.dual_vae) if args.dual_vae else None))
    via_phi = evaluate(checkpoint.model, translate(phi, test_x), test_y)
    print(f"{spec.label} (the talk's {spec.talk}): students on {target} Small {len(small_y):,}, tested on "
          f"{len(test_y):,} {tested} images; the teacher through phi names {via_phi['accuracy']:.2%} of them")
    comparisons = []
    for seed in range(args.seeds):
        def report(c):
            a, b = c.teacher[-1], c.alone[-1]
            print(f"seed {c.seed} epoch {c.epochs[-1]:>3}: with teacher {a['accuracy']:.4f} (CE {a['cross_entropy']:.3f})"
                  f"  alone {b['accuracy']:.4f} (CE {b['cross_entropy']:.3f})", flush=True)

        comparisons.append(compare_students(checkpoint.model, phi, small_x, small_y, test_x, test_y, lam=args.lam,
                                            temperature=args.temperature, epochs=args.epochs, seed=seed,
                                            student_size=args.student, on_epoch=report, others=others))
    summary = summarize(comparisons)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    teacher_data = checkpoint.dataset if spec.source == spec.target else f"{checkpoint.dataset} -> {target}"
    result = {"map": args.map, "label": spec.label, "talk": spec.talk,
              "teacher": os.path.basename(str(checkpoint.path or args.teacher)), "data": teacher_data,
              "target": target, "small": len(small_y), "test": len(test_y), "tested_on": tested,
              "student": args.student, "lambda": args.lam, "temperature": args.temperature, "epochs": args.epochs,
              "teacher_via_phi": via_phi, "summary": summary, "command": command(args), "runs": [c.as_dict() for c in comparisons]}
    atomic_write(out / "result.json", json.dumps(result, indent=1).encode())
    t, a = summary["with_teacher"], summary["alone"]
    print(f"final {tested} accuracy over {args.seeds} seeds: with teacher {t['mean']:.4f} +- {t['spread']:.4f}, "
          f"alone {a['mean']:.4f} +- {a['spread']:.4f}; gain {summary['gain']:+.4f}"
          f" ({'more' if summary['gain_beats_spread'] else 'not more'} than the spread); wrote {out / 'result.json'}")
    return 0
