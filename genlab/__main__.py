"""python -m genlab info|sample|score|maps|quality|export: look at checkpoints from the command line.

Examples:
  python -m genlab info checkpoints/gan_2d.safetensors
  python -m genlab info checkpoints/gan_2d.safetensors --json
  python -m genlab sample checkpoints/gan_2d.safetensors --z 0.1,-0.4 --out img.png
  python -m genlab sample checkpoints/cgan_3d.safetensors --z 0,0,0 --label 3 --out three.png
  python -m genlab sample checkpoints/gan_2d.safetensors --z -0.84,0.54 --z 0,0 --scale 8 --out two.png
  python -m genlab score runs/my_gan.safetensors --classifier checkpoints/classifier_strong.safetensors --write
  python -m genlab maps checkpoints/gan_*.safetensors --classifier checkpoints/classifier_strong.safetensors
  python -m genlab quality                                   # every shipped generative model, 10,000 samples each
  python -m genlab quality runs/gan_2d.safetensors --samples 2000 --no-detector
  python -m genlab export runs/gan_2d.epochs/epoch_0020.safetensors checkpoints/gan_2d.safetensors
"""
from __future__ import annotations

import argparse
import json
import sys

from .checkpoints import CheckpointError, load_checkpoint, read_metadata, save_checkpoint
from .generate import GenerateError, generate_images
from .catalog import checkpoint_info, config_value_text
from .images import image_grid
from .latent.maps import class_area_map
from .latent.space import axis_name
from .latent.views import explorer_map_specs
from .metrics import generator_scores, generator_verdict


def _print_info(info: dict) -> None:
    print(f"{info['path']}\n  kind      {info['kind']}\n  config    "
          + ", ".join(f"{k}={config_value_text(v)}" for k, v in info["config"].items())
          + f"\n  dataset   {info['dataset']}\n  epochs    {info['epochs']}\n  created   {info['created']}")
    print("  parameters (trainable / non-trainable / total):")
    for name, c in info["parameters"].items():
        print(f"    {name:<14} {c['trainable']:>10,} {c['non_trainable']:>10,} {c['total']:>10,}")
    if info["final_losses"]:
        print("  last epoch's losses: " + ", ".join(f"{k} {v:.4f}" for k, v in info["final_losses"].items()))
    for k, v in info["metrics"].items():
        print(f"  {k}: {v}")


def _score(args: argparse.Namespace) -> int:
    ckpt, classifier = load_checkpoint(args.checkpoint), load_checkpoint(args.classifier)
    if ckpt.kind == "classifier" or classifier.kind != "classifier":
        raise GenerateError("score wants a generative model and a classifier checkpoint (--classifier)")
    if not 1 <= args.n <= 100_000:
        raise GenerateError(f"-n must be in 1..100000, got {args.n}")
    scores = generator_scores(ckpt.model, classifier.model, n=args.n, seed=args.seed)
    print(json.dumps(scores))
    if args.write:
        save_checkpoint(ckpt.path, ckpt.model, ckpt.dataset, ckpt.history, {**ckpt.metrics, **scores},
                        train=ckpt.train, optimizers=ckpt.optimizers, storage=read_metadata(ckpt.path)["storage"])
        print(f"stored in {ckpt.path}")
    return 0


def _maps(args: argparse.Namespace) -> int:
    """Compute (and cache beside each checkpoint) the class-area maps the Latent Explorer opens with."""
    classifier = load_checkpoint(args.classifier)
    if classifier.kind != "classifier":
        raise GenerateError(f"--classifier must be a classifier checkpoint, {args.classifier} is a {classifier.kind}")
    for path in args.checkpoints:
        ckpt = load_checkpoint(path)
        if ckpt.kind not in ("gan", "cgan", "vae", "ae"):
            print(f"{path}: a {ckpt.kind} has no class-area map; skipped")
            continue
        labels = range(ckpt.model.n_classes) if ckpt.model.conditional else [None]
        for label, spec in ((label, spec) for label in labels for spec in explorer_map_specs(ckpt.model)):
            m = class_area_map(ckpt.model, classifier.model, path, args.classifier, spec.axes, spec.ranges,
                               spec.resolution, spec.fixed, label)
            size = "x".join([str(spec.resolution)] * len(spec.axes))
            how = "already cached" if m.from_cache else f"{m.seconds:.1f} s, {m.computed_fraction:.0%} of points classified"
            print(f"{path}: {size} map over {', '.join(axis_name(a) for a in spec.axes)}"
                  + (f" at {spec.fixed}" if spec.fixed else "") + ("" if label is None else f", class {label}")
                  + f": {how}")
    return 0


def _percent(value: float) -> str:
    return f"{100 * value:.1f}%"


def _quality(args: argparse.Namespace) -> int:
    """The quality report (genlab.quality): a table on the terminal, JSON, and the figures in each checkpoint."""
    from datetime import datetime, timezone
    from pathlib import Path

    from . import nearest, quality
    from .catalog import checkpoint_folder
    from .files import atomic_write

    if not 100 <= args.samples <= 100_000:
        raise GenerateError(f"--samples must be in 100..100000, got {args.samples}")
    judge = load_checkpoint(args.classifier)
    if judge.kind != "classifier":
        raise GenerateError(f"--classifier must be a classifier checkpoint, {args.classifier} is a {judge.kind}")
    paths = args.checkpoints or [p for p in sorted(checkpoint_folder().glob("*.safetensors"))
                                 if read_metadata(p)["kind"] in quality.GENERATIVE_KINDS]
    # every input checked before the references are built (16 s of real digits for nothing, else)
    kinds = {str(p): read_metadata(p)["kind"] for p in paths}       # raises CheckpointError for a file that is not one
    if not any(kind in quality.GENERATIVE_KINDS for kind in kinds.values()):
        raise GenerateError("no generative model of digits to judge: " + ", ".join(f"{p} is a {k}" for p, k in kinds.items()))
    before = {}
    if args.before and Path(args.before).is_file():
        before = {m["name"]: m["fid"] for m in json.loads(Path(args.before).read_text())["models"]}
    refs = quality.load_references(args.data_dir)
    fid = quality.FidReference(judge.model, refs.test.images)
    floor = quality.judge_figures(judge.model, refs, fid)
    copies = nearest.build_index(data_dir=args.data_dir)        # pixels only: the copy rate needs no features
    real = copies.copy_figures(quality.copy_subset(refs.test.images, args.seed))
    floor.update(copy_rate_floor=real["copy_rate"], median_nearest_distance_floor=real["median_nearest_distance"],
                 copy_threshold=real["copy_threshold"], copy_reference=real["copy_reference"])
    print(f"judge {args.classifier}: {_percent(floor['accuracy'])} on the {floor['test_digits']:,} {refs.source} "
          f"test digits, {_percent(floor['blurred_accuracy'])} on them through a 5x5 box blur")
    print(f"real test digits: unsure {_percent(floor['unsure_share'])}, cannot place "
          f"{_percent(floor['unplaced_share'])}; FID of {floor['test_digits']:,} training against the test digits "
          f"(the floor) {floor['fid_floor']:.1f}; copies (nearest of the {real['copy_reference']} closer than "
          f"{real['copy_threshold']:.2f}): {_percent(real['copy_rate'])} of {quality.COPY_SAMPLES:,} test digits\n")
    width = max([14] + [len(quality.model_name(p)) + 2 for p in paths])
    header = (f"{'model':<{width}}{'verdict':<15}{'classes':>8}{'rarest':>12}{'commonest':>12}{'top p':>7}{'unsure':>8}{'no place':>9}"
              f"{'FID':>8}{'labels ok':>11}{'recon':>8}{'detector':>10}{'copies':>8}  targets")
    print(header + "\n" + "-" * len(header))
    models, failed = [], 0
    for path in paths:
        ckpt = load_checkpoint(path)
        if ckpt.kind not in quality.GENERATIVE_KINDS:
            print(f"{path}: a {ckpt.kind} is not a generative model of digits; skipped")
            continue
        name = quality.model_name(path)
        figures = quality.model_quality(ckpt.model, judge.model, refs, fid, args.samples, args.seed,
                                        detector=not args.no_detector, copies=copies)
        checks = quality.target_checks(name, figures, before.get(name))
        failed += sum(not ok for ok in checks.values())
        labels = (f"{_percent(figures['worst_label_agreement'])} min" if "worst_label_agreement" in figures else "")
        if "worst_label_ceiling" in figures:
            labels += f" (ceiling {_percent(figures['worst_label_ceiling'])})"
        verdict = generator_verdict(figures, len(figures["class_fractions"]))[0]
        print(f"{name:<{width}}{verdict:<15}{figures['classes_covered']:>8}"
              f"{_percent(figures['rarest_class_fraction']) + ' (' + str(figures['rarest_class']) + ')':>12}"
              f"{_percent(figures['commonest_class_fraction']) + ' (' + str(figures['commonest_class']) + ')':>12}"
              f"{figures['mean_top_probability']:>7.3f}{_percent(figures['unsure_share']):>8}"
              f"{_percent(figures['unplaced_share']):>9}{figures['fid']:>8.1f} {labels:>10}"
              f"{figures.get('test_reconstruction_mse', float('nan')):>8.4f}"
              f"{_percent(figures['detector_error']) if 'detector_error' in figures else '':>10}"
              f"{_percent(figures['copy_rate']):>8}  "
              + ", ".join(f"{what} {'met' if ok else 'MISSED'}" for what, ok in checks.items()))
        models.append({"name": name, "path": str(path), "kind": ckpt.kind, "config": ckpt.config,
                       "epochs": ckpt.epochs, "images_seen": ckpt.history.get("images_seen"), **figures,
                       "targets": checks})
        if args.write:
            stamp = {"scored_by": Path(args.classifier).name, "fid_reference": f"{len(refs.test)} {refs.source} test digits",
                     "fid_floor": floor["fid_floor"], "real_unsure_share": floor["unsure_share"],
                     "scored_on": datetime.now(timezone.utc).date().isoformat()}
            stored = {k: v for k, v in figures.items() if not isinstance(v, dict)}
            save_checkpoint(ckpt.path, ckpt.model, ckpt.dataset, ckpt.history, {**stored, **stamp}, train=ckpt.train,
                            optimizers=ckpt.optimizers or None, storage=read_metadata(ckpt.path)["storage"],
                            training_state=ckpt.training_state or None)
    print(f"\n{args.samples:,} samples per model (seed {args.seed}); unsure: top probability < 0.9, no place: < 0.5; "
          "detector: test error of a fresh CNN telling generated from real digits (the thesis' measure)")
    if args.json:
        report = {"judge": {"path": args.classifier, **floor}, "samples": args.samples, "seed": args.seed,
                  "created": datetime.now(timezone.utc).isoformat(timespec="seconds"), "models": models}
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        atomic_write(Path(args.json), json.dumps(report, indent=1).encode())
        print(f"wrote {args.json}")
    if args.write:
        print("stored the figures in each checkpoint's metrics")
    if failed:
        print(f"{failed} target(s) missed")
    return 0


def _export(args) -> int:
    """Copy a checkpoint as it ships: its weights in float16, its metadata, no optimizer or training state."""
    ckpt = load_checkpoint(args.checkpoint)
    path = save_checkpoint(args.out, ckpt.model, ckpt.dataset, ckpt.history, ckpt.metrics, train=ckpt.train,
                           storage=args.storage)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB, {args.storage}, {ckpt.epochs} epochs)")
    return 0


def _parse_point(text: str) -> list[float]:
    try:
        return [float(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--z wants comma-separated numbers like 0.1,-0.4, got {text!r}") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m genlab", description=__doc__.split("\n")[0],
                                     epilog="examples:" + __doc__.split("Examples:", 1)[1],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    info = commands.add_parser("info", help="kind, config, dataset, epochs, parameter counts, metrics")
    info.add_argument("checkpoint")
    info.add_argument("--json", action="store_true", help="print JSON")
    sample = commands.add_parser("sample", help="generate an image from a latent point")
    sample.add_argument("checkpoint")
    sample.add_argument("--z", type=_parse_point, action="append", required=True,
                        help="latent point, comma-separated (repeat for a row of images)")
    sample.add_argument("--label", type=int, help="class label (conditional GAN only)")
    sample.add_argument("--scale", type=int, default=1, help="nearest-neighbour upscaling factor (1..32)")
    sample.add_argument("--out", required=True, help="PNG file to write")
    score = commands.add_parser("score", help="how recognisable a generator's images are to a classifier")
    score.add_argument("checkpoint")
    score.add_argument("--classifier", required=True, help="classifier checkpoint (e.g. the strong one)")
    score.add_argument("-n", type=int, default=1000, help="number of random latent points")
    score.add_argument("--seed", type=int, default=0, help="seed of the latent points")
    score.add_argument("--write", action="store_true", help="store the scores in the checkpoint's metrics")
    maps = commands.add_parser("maps", help="precompute the class-area maps the Latent Explorer opens with")
    maps.add_argument("checkpoints", nargs="+", help="GAN, VAE or AE checkpoints")
    maps.add_argument("--classifier", required=True, help="the strong classifier checkpoint that colours the maps")
    qual = commands.add_parser("quality", help="the quality report: every generative model judged by the strong "
                               "classifier, beside the real digits' figures")
    qual.add_argument("checkpoints", nargs="*", help="checkpoints (default: every GAN, CGAN, VAE and AE in the "
                      "models folder)")
    qual.add_argument("--classifier", default="checkpoints/classifier_strong.safetensors", help="the judge")
    qual.add_argument("--samples", type=int, default=10_000, help="samples per model")
    qual.add_argument("--seed", type=int, default=0, help="seed of the samples")
    qual.add_argument("--data-dir", help="folder with mnist.npz (default $GENLAB_DATA_DIR); without it the "
                      "embedded 1,000 test digits are the reference")
    qual.add_argument("--no-detector", action="store_true", help="skip the real-vs-generated CNN (about 20 s a model)")
    qual.add_argument("--write", action="store_true", help="store the figures in each checkpoint's metrics")
    qual.add_argument("--json", default=None, help="also write the report as JSON to this file")
    qual.add_argument("--before", default="bench/results/quality_before.json",
                      help="a report of the pre-release models (its FIDs are what the FID targets divide)")
    export = commands.add_parser("export", help="copy a checkpoint as it ships (float16, without optimizer or "
                                 "training state)")
    export.add_argument("checkpoint")
    export.add_argument("out", help="checkpoint file to write")
    export.add_argument("--storage", choices=("float16", "float32"), default="float16")
    args = parser.parse_args(argv)
    try:
        if args.command == "info":
            data = checkpoint_info(load_checkpoint(args.checkpoint))
            print(json.dumps(data, indent=2)) if args.json else _print_info(data)
            return 0
        if args.command == "score":
            return _score(args)
        if args.command == "maps":
            return _maps(args)
        if args.command == "quality":
            return _quality(args)
        if args.command == "export":
            return _export(args)
        if not 1 <= args.scale <= 32:
            raise GenerateError(f"--scale must be in 1..32, got {args.scale}")
        model = load_checkpoint(args.checkpoint).model
        images = generate_images(model, args.z, args.label)
        image_grid(images, nrow=len(images), padding=0 if len(images) == 1 else 2, scale=args.scale).save(args.out)
        print(f"wrote {args.out}")
        return 0
    except (CheckpointError, GenerateError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
