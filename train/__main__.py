"""python -m train KIND [options]: argparse -> TrainConfig -> genlab.training.train.

Examples:
  python -m train gan --latent-dim 2 --epochs 20 --dataset mnist5k --out checkpoints/my_gan_2d
  python -m train cgan --latent-dim 3 --epochs 10 --out runs/cgan3d
  python -m train vae --epochs 30 --out runs/vae2d
  python -m train classifier --size strong --dataset mnist --data-dir ../shared/data --epochs 3 --out runs/ic
  python -m train gan --resume runs/gan2d.safetensors --epochs 40 --out runs/gan2d
  torchrun --nproc_per_node=2 -m train gan --epochs 5 --out runs/gan_ddp
  python -m train musegan --epochs 10 --batch-size 32 --critic-steps 3 --ema 0.99 --out runs/musegan
  python -m train melody --epochs 12 --batch-size 64 --transpose 3 --out runs/melody
  python -m train distill-teacher --map noise --epochs 3 --out runs/distill/teacher_noise
  python -m train distill --map noise --teacher runs/distill/teacher_noise.safetensors --seeds 3 --out runs/distill/noise
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from genlab.data import DATASETS, DatasetUnavailable
from genlab.data.chorales import MUSIC_DATASETS
from genlab.models.layers import ACTIVATIONS
from genlab.training import TrainConfig, train
from genlab.data.augment import AUGMENTATIONS
from genlab.training.config import LR_SCHEDULES, MEMORY_FORMATS, OPTIMIZERS, PRECISIONS
from genlab.training.losses import GAN_LOSSES, GAN_REGULARIZERS

KINDS = {
    "gan": "the thesis' DCGAN with a latent cube [-1, 1]^d",
    "cgan": "the conditional GAN (label embedding, one latent cube per class)",
    "ae": "the book's autoencoder",
    "vae": "the book's variational autoencoder",
    "classifier": "the independent classifier (strong or weak)",
    "musegan": "the book's MuseGAN on Bach chorales (WGAN-GP, single process)",
    "melody": "the book's melody model (LSTM with attention) on the chorales' soprano lines",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m train", description="Train a GenLab model and write a safetensors checkpoint.",
        epilog=__doc__.split("Examples:", 1)[1] and "examples:" + __doc__.split("Examples:", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    kinds = parser.add_subparsers(dest="kind", required=True, metavar="KIND")
    for command, help_text in (("distill-teacher", "a distillation teacher on the domain S = phi(Big) (train/distill.py)"),
                               ("distill-vae", "the dual-decoder VAE of the vae and generated settings (train/distill.py)"),
                               ("distill-generate", "GeneratedMNIST: the dual VAE's digits of every clothing image"),
                               ("distill", "students with and without the teacher on Small 1,000 (train/distill.py)")):
        kinds.add_parser(command, help=help_text, add_help=False)   # main() hands these to train/distill.py
    for kind, help_text in KINDS.items():
        p = kinds.add_parser(kind, help=help_text, description=f"Train {help_text}.",
                             formatter_class=argparse.ArgumentDefaultsHelpFormatter)
        if kind in ("gan", "cgan", "ae", "vae"):
            p.add_argument("--latent-dim", type=int, default=3 if kind == "cgan" else 2, help="latent dimension d")
        if kind in ("gan", "cgan"):
            p.add_argument("--activation", choices=ACTIVATIONS, default="leaky_relu", help="generator activation")
            p.add_argument("--loss", choices=GAN_LOSSES, default="bce", help="GAN loss")
            p.add_argument("--regularizer", choices=GAN_REGULARIZERS, default="none",
                           help="reconstruction: a training-only encoder and G's reconstruction of real images "
                                "keep every kind of digit in the latent space (mode-regularised GAN); "
                                "class-reconstruction (gan): and the codes must tell the classes apart, so each "
                                "class gets a region as large as its share of the data")
            p.add_argument("--reg-weight", type=float, default=1.0, help="weight of the regulariser")
            p.add_argument("--gp-weight", type=float, default=10.0, help="wgan-gp loss: weight of the gradient penalty")
            p.add_argument("--critic-lr", type=float, default=None,
                           help="the discriminator's learning rate (default: --lr; two time-scale update rule)")
            p.add_argument("--score-classifier", metavar="CHECKPOINT",
                           help="classifier checkpoint that scores the samples at the end (stored as metrics)")
        if kind == "cgan":
            p.add_argument("--conditioning", choices=("concat", "multiply"), default="concat",
                           help="concat: the design note's embedding maps; multiply: the thesis' CGAN")
        if kind == "vae":
            p.add_argument("--r-loss-factor", type=float, default=1000.0, help="weight of the MSE against KL")
        if kind == "classifier":
            p.add_argument("--size", choices=("strong", "weak"), default="strong", help="classifier size")
            p.add_argument("--augment", choices=AUGMENTATIONS, default="none", help="digits: train on blurred, "
                           "warped, thickened or thinned and noisy digits too (a classifier to trust on generated ones)")
        if kind == "musegan":
            p.add_argument("--hidden", type=int, default=1024, help="width of the temporal networks and bar "
                           "generators (the book: 1024; smaller for quick experiments)")
            p.add_argument("--critic-steps", type=int, default=5, help="critic updates per generator update")
            p.add_argument("--gp-weight", type=float, default=10.0, help="weight of the gradient penalty")
            p.add_argument("--transpose", type=int, default=0,
                           help="augmentation: shift each phrase by a random -k..k semitones")
            p.add_argument("--critic-lr", type=float, default=None,
                           help="the critic's learning rate (default: --lr; a higher one: two time-scale update rule)")
            p.add_argument("--same-key", action="store_true", help="train on every chorale moved to C major "
                           "or A minor (the key without sharps or flats); the model then writes in those keys")
        if kind == "melody":
            p.add_argument("--hidden", type=int, default=256, help="LSTM units (the book: 256)")
            p.add_argument("--attention", choices=("additive", "book"), default="additive",
                           help="additive: Bahdanau's score with the last step as query; book: the book's "
                                "Dense(1, tanh) score per step (weights capped near 19%% in a window of 32)")
            p.add_argument("--transpose", type=int, default=0, help="augmentation: each window of notes in a "
                           "random one of its keys -k..k semitones (k <= 3; held-out tunes stay in their own key)")
        if kind in ("gan", "cgan", "musegan"):
            p.add_argument("--ema", type=float, default=0.0, help="decay of a moving average of the generator's "
                           "weights per generator step, ramped up from 0; the checkpoint's generator is the average, "
                           "with BatchNorm statistics re-estimated for it (0 = off; e.g. 0.999)")
        p.add_argument("--precision", choices=PRECISIONS, default="float32", help="bfloat16: autocast forward "
                       "passes (about 2x faster on CPUs with AVX-512 BF16 and on recent GPUs)")
        p.add_argument("--lr-schedule", choices=LR_SCHEDULES, default="constant",
                       help="cosine: decay the learning rates to 0 over --epochs")
        p.add_argument("--memory-format", choices=MEMORY_FORMATS, default="contiguous",
                       help="channels_last: faster convolutions on some CPUs (bench/bench_training.py measures it)")
        p.add_argument("--time-limit", type=float, default=0.0, metavar="SECONDS",
                       help="stop after the first epoch that ends this long into the run (0 = no limit)")
        p.add_argument("--snapshot-every", type=int, default=0, metavar="N",
                       help="also keep every N-th epoch's model in OUT.epochs/ (float16), to choose the epoch to ship")
        datasets = MUSIC_DATASETS if kind in ("musegan", "melody") else tuple(DATASETS)
        p.add_argument("--dataset", choices=datasets, default=datasets[0], help="training data")
        p.add_argument("--data-dir", help=".npz file or folder for the full datasets (default $GENLAB_DATA_DIR)")
        p.add_argument("--download", action="store_true", help="let torchvision download a full dataset")
        p.add_argument("--epochs", type=int, default=20, help="total epochs (a resumed run continues up to it)")
        p.add_argument("--batch-size", type=int, default=128, help="images per step and process")
        p.add_argument("--optimizer", choices=OPTIMIZERS, default="adam", help="optimiser (sgd uses momentum 0.9)")
        p.add_argument("--lr", type=float, default=None, help="learning rate (default per kind)")
        p.add_argument("--beta1", type=float, default=None, help="Adam beta1 (default 0.5 for GANs, 0.9 otherwise)")
        p.add_argument("--limit", type=int, default=None, help="use only the first N training images")
        p.add_argument("--seed", type=int, default=0, help="random seed (same seed, same run)")
        p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto", help="auto: CUDA when present")
        p.add_argument("--storage", choices=("float32", "float16"), default="float32",
                       help="checkpoint weight storage (float16 halves the file)")
        p.add_argument("--no-optimizer-state", action="store_true",
                       help="do not store optimiser state (smaller file; a resume restarts Adam)")
        p.add_argument("--resume", metavar="CHECKPOINT", help="continue training from this checkpoint")
        p.add_argument("--out", required=True, help="checkpoint path (.safetensors is added)")
        p.add_argument("--quiet", action="store_true", help="no progress bars")
    return parser


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    model = {}
    for flag, key in (("latent_dim", "latent_dim"), ("activation", "activation"), ("conditioning", "conditioning"),
                      ("r_loss_factor", "r_loss_factor"), ("size", "size"), ("hidden", "hidden"), ("attention", "attention"),
                      ("same_key", "same_key")):
        if getattr(args, flag, None) is not None:
            model[key] = getattr(args, flag)
    return TrainConfig(kind=args.kind, model=model, dataset=args.dataset, data_dir=args.data_dir,
                       download=args.download, epochs=args.epochs, batch_size=args.batch_size, optimizer=args.optimizer, lr=args.lr,
                       beta1=args.beta1, loss=getattr(args, "loss", "bce"),
                       regularizer=getattr(args, "regularizer", "none"), reg_weight=getattr(args, "reg_weight", 1.0), limit=args.limit, seed=args.seed,
                       device=args.device, storage=args.storage, save_optimizer=not args.no_optimizer_state,
                       **{k: getattr(args, k) for k in ("critic_steps", "gp_weight", "transpose", "critic_lr", "ema", "precision", "memory_format",
                                                "snapshot_every", "augment", "lr_schedule", "time_limit") if hasattr(args, k)})


MAX_CLI_EPOCHS = 100_000   # the thesis trained 5,000; the Train page allows jobs.MAX_EPOCHS


def check_out(out: str) -> str | None:
    """Why `out` cannot take the checkpoint (checked before any training), or None."""
    path = Path(out)
    if not out.strip() or not path.name or path.name in (".", ".."):
        return f"--out {out!r}: give a file name, e.g. runs/my_gan"
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        return f"--out {out}: {folder} is a file, not a folder"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"--out {out}: cannot write in {folder}"
    if path.with_suffix(".safetensors").is_dir() or (path.suffix == ".safetensors" and path.is_dir()):
        return f"--out {out}: a folder of that name is in the way"
    return None


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in ("distill", "distill-teacher", "distill-vae", "distill-generate"):   # the distillation experiment (train/distill.py)
        from .distill import main as distill_main

        return distill_main(argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    if problem := check_out(args.out):
        parser.error(problem)
    if args.epochs > MAX_CLI_EPOCHS:   # (0 and below: the config's own message)
        parser.error(f"--epochs {args.epochs:,}: give 1 to {MAX_CLI_EPOCHS:,}")
    try:
        cfg = config_from_args(args)
    except ValueError as err:
        parser.error(str(err))
    score_classifier = getattr(args, "score_classifier", None)
    if score_classifier and not os.path.isfile(score_classifier):
        parser.error(f"--score-classifier: no file {score_classifier}")
    try:
        result = train(cfg, out=args.out, resume=args.resume, progress=not args.quiet,
                       score_classifier=score_classifier)
    except (DatasetUnavailable, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if result.path:
        print(f"wrote {result.path} ({result.history['epochs']} epochs)")
        if result.metrics:
            print("metrics: " + json.dumps(result.metrics))
    return 0


if __name__ == "__main__":
    sys.exit(main())
