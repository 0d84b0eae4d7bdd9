"""python -m train distill-teacher | distill-vae | distill: the multi-domain distillation experiment
(genlab/distill.py).

  python -m train distill-teacher --map noise --epochs 3 --out runs/distill/teacher_noise
  python -m train distill-vae --epochs 5 --out runs/distill/dual_vae     # phi of the "vae" setting
  python -m train distill --map noise --teacher runs/distill/teacher_noise.safetensors --lambda 0.5 \\
      --temperature 4 --epochs 20 --seeds 3 --out runs/distill_noise

The full MNIST (GENLAB_DATA_DIR or --data-dir) gives Big 59,000 / Small 1,000 / Test 10,000; without it the
embedded digits stand in (Big 3,000 / Small 1,000 / Test 1,000) and the output says so.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from genlab.checkpoints import CheckpointError, load_checkpoint, save_checkpoint
from genlab.data import DatasetUnavailable
from genlab.distill import (SETTINGS, DilatedMap, compare_students, comparison_data, digits, evaluate, fashion_sets,
                            load_dual_vae, make_map, split_big_small, summarize, teacher_map, train_dual_vae,
                            train_teacher)
from genlab.files import atomic_write

COMMANDS = ("distill-teacher", "distill-vae", "distill")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m train", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    t = commands.add_parser("distill-teacher", help="train a teacher on the domain S = phi(Big)")
    t.add_argument("--map", choices=SETTINGS, required=True, help="phi: which domain S the teacher learns")
    t.add_argument("--epochs", type=int, default=3)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--data-dir", default=None, help="folder or .npz with mnist.npz (default $GENLAB_DATA_DIR)")
    t.add_argument("--out", required=True, help="checkpoint path (.safetensors is added)")
    v = commands.add_parser("distill-vae", help="the dual-decoder VAE (phi of the vae setting)")
    v.add_argument("--epochs", type=int, default=5)
    v.add_argument("--seed", type=int, default=0)
    v.add_argument("--data-dir", default=None, help="folder with mnist.npz (and fashion_mnist.npz)")
    v.add_argument("--out", required=True, help="checkpoint path (.safetensors is added)")
    v.add_argument("--resume", action="store_true", help="continue the VAE at --out for --epochs more epochs")
    d = commands.add_parser("distill", help="students with and without the teacher on Small, tested on Test")
    d.add_argument("--map", choices=SETTINGS, required=True)
    d.add_argument("--teacher", required=True, help="a checkpoint from distill-teacher for the same map")
    d.add_argument("--lambda", dest="lam", type=float, default=0.5, help="weight of the teacher's term, 0..1")
    d.add_argument("--temperature", type=float, default=4.0)
    d.add_argument("--epochs", type=int, default=20)
    d.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 (each: both students)")
    d.add_argument("--student", choices=("weak", "strong"), default="weak", help="the students' size")
    d.add_argument("--dual-vae", default=None, help="vae map: the dual-decoder VAE (default: the shipped one)")
    d.add_argument("--data-dir", default=None)
    d.add_argument("--out", required=True, help="folder for result.json")
    return parser


def main(argv: list[str]) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        train_set, test_set, source = digits(args.data_dir)
    except DatasetUnavailable as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    big, small = split_big_small(train_set.labels)
    print(f"digits: {source}, Big {len(big):,} / Small {len(small):,} / Test {len(test_set):,}")
    if args.command == "distill-vae":
        clothes, clothes_test, fashion = fashion_sets(args.data_dir)
        print(f"clothes: {fashion}, Small {len(clothes):,} (the only labelled clothes used)")
        started = time.monotonic()

        def save(phi, epochs_done):
            return save_checkpoint(args.out, phi.vae, dataset=source, history={"epochs": epochs_done, "losses": {}},
                                   train={"distill": {"setting": "vae", "role": "dual_vae", "big": len(big),
                                                      "clothes": len(clothes), "epochs": epochs_done, "seed": args.seed,
                                                      "pairs": "each Big digit with a random Fashion Small image of "
                                                               "its class"}},
                                   training_state={"fashion_decoder": phi.fashion_decoder})

        def report(epoch, losses, phi):
            path = save(phi, epoch)          # every epoch: a long run can be cut short
            print(f"epoch {epoch}: MSE digits {losses['mnist']:.4f}, clothes {losses['fashion']:.4f}, "
                  f"KL {losses['kl']:.2f}, {time.monotonic() - started:.0f} s; wrote {path}", flush=True)

        start, done = None, 0
        if args.resume:
            out = Path(args.out).with_suffix(".safetensors")
            try:
                start = load_dual_vae(out)
                done = int(load_checkpoint(out).train["distill"]["epochs"])
            except (CheckpointError, KeyError, TypeError, ValueError) as err:
                print(f"error: cannot resume from {out}: {err}", file=sys.stderr)
                return 2
            print(f"resuming {out} after epoch {done}")
        phi = train_dual_vae(train_set.images[big], train_set.labels[big], clothes.images, clothes.labels,
                             epochs=args.epochs, seed=args.seed, on_epoch=report, start=start, first_epoch=done + 1)
        path = save(phi, done + args.epochs)
        print(f"wrote {path}")
        return 0
    if args.command == "distill-teacher":
        if args.epochs < 1:
            parser.error("--epochs must be at least 1")
        phi = make_map(args.map)
        started = time.monotonic()

        def report(epoch, net):
            figures = evaluate(net, phi(test_set.images), test_set.labels)
            print(f"epoch {epoch}: test accuracy on S (phi of the test digits) {figures['accuracy']:.4f}, "
                  f"{time.monotonic() - started:.0f} s", flush=True)

        teacher = train_teacher(phi, train_set.images[big], train_set.labels[big], epochs=args.epochs,
                                seed=args.seed, on_epoch=report)
        metrics = {f"s_test_{k}": round(v, 4) for k, v in evaluate(teacher, phi(test_set.images), test_set.labels).items()}
        metrics.update({f"t_test_{k}": round(v, 4) for k, v in evaluate(teacher, test_set.images, test_set.labels).items()})
        path = save_checkpoint(args.out, teacher, dataset=source, metrics=metrics,
                               history={"epochs": args.epochs, "losses": {}},
                               train={"distill": {**phi.describe(), "big": len(big), "epochs": args.epochs,
                                                  "seed": args.seed}},
                               training_state={"phi": phi} if isinstance(phi, DilatedMap) else None)
        print(f"wrote {path}: {json.dumps(metrics)}")
        return 0
    if not 0 <= args.lam <= 1 or args.temperature <= 0 or args.epochs < 1 or not 1 <= args.seeds <= 20:
        parser.error("--lambda in [0, 1], --temperature > 0, --epochs >= 1, --seeds in 1..20")
    try:
        checkpoint = load_checkpoint(args.teacher)
        phi = teacher_map(checkpoint, args.dual_vae)
    except (CheckpointError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if phi.setting != args.map:
        parser.error(f"the teacher learned the {phi.setting!r} domain, not {args.map!r}")
    # T's Small 1,000 and test set (Fashion-MNIST for vae), as the page's jobs take them
    small_x, small_y, test_set, target = comparison_data(args.map, source, args.data_dir)
    if args.map == "vae":
        source = f"{source} + {target}"
    comparisons = []
    for seed in range(args.seeds):
        def report(c):
            a, b = c.teacher[-1], c.alone[-1]
            print(f"seed {c.seed} epoch {c.epochs[-1]:>3}: with teacher {a['accuracy']:.4f} (CE {a['cross_entropy']:.3f})"
                  f"  alone {b['accuracy']:.4f} (CE {b['cross_entropy']:.3f})", flush=True)

        comparisons.append(compare_students(checkpoint.model, phi, small_x, small_y, test_set.images, test_set.labels, lam=args.lam,
                                            temperature=args.temperature, epochs=args.epochs, seed=seed,
                                            student_size=args.student, on_epoch=report))
    summary = summarize(comparisons)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    result = {"map": args.map, "teacher": os.path.basename(args.teacher), "data": source, "big": len(big),
              "small": len(small_y), "test": len(test_set), "student": args.student, "lambda": args.lam,
              "temperature": args.temperature, "epochs": args.epochs, "summary": summary,
              "runs": [c.as_dict() for c in comparisons]}
    atomic_write(out / "result.json", json.dumps(result, indent=1).encode())
    t, a = summary["with_teacher"], summary["alone"]
    print(f"final test accuracy over {args.seeds} seeds: with teacher {t['mean']:.4f} +- {t['spread']:.4f}, "
          f"alone {a['mean']:.4f} +- {a['spread']:.4f}; gain {summary['gain']:+.4f}"
          f" ({'more' if summary['gain_beats_spread'] else 'not more'} than the spread); wrote {out / 'result.json'}")
    return 0
