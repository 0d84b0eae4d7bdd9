"""python -m genlab info|sample: look at checkpoints from the command line.

Examples:
  python -m genlab info checkpoints/gan_2d.safetensors
  python -m genlab info checkpoints/gan_2d.safetensors --json
  python -m genlab sample checkpoints/gan_2d.safetensors --z 0.1,-0.4 --out img.png
  python -m genlab sample checkpoints/cgan_3d.safetensors --z 0,0,0 --label 3 --out three.png
  python -m genlab sample checkpoints/gan_2d.safetensors --z -0.84,0.54 --z 0,0 --scale 8 --out two.png
"""
from __future__ import annotations

import argparse
import json
import sys

from .checkpoints import CheckpointError, load_checkpoint
from .generate import GenerateError, generate_images
from .catalog import checkpoint_info
from .images import image_grid


def _print_info(info: dict) -> None:
    print(f"{info['path']}\n  kind      {info['kind']}\n  config    "
          + ", ".join(f"{k}={v}" for k, v in info["config"].items())
          + f"\n  dataset   {info['dataset']}\n  epochs    {info['epochs']}\n  created   {info['created']}")
    print("  parameters (trainable / non-trainable / total):")
    for name, c in info["parameters"].items():
        print(f"    {name:<14} {c['trainable']:>10,} {c['non_trainable']:>10,} {c['total']:>10,}")
    if info["final_losses"]:
        print("  last epoch's losses: " + ", ".join(f"{k} {v:.4f}" for k, v in info["final_losses"].items()))
    for k, v in info["metrics"].items():
        print(f"  {k}: {v}")


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
    args = parser.parse_args(argv)
    try:
        if args.command == "info":
            data = checkpoint_info(load_checkpoint(args.checkpoint))
            print(json.dumps(data, indent=2)) if args.json else _print_info(data)
            return 0
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
