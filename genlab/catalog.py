"""The catalog of checkpoints in a folder: one plain summary per model, for listings."""
from __future__ import annotations

import copy
import os
from functools import lru_cache
from pathlib import Path

from .checkpoints import Checkpoint, CheckpointError, find_checkpoints, read_metadata
from .models import network_parameter_counts

KIND_TITLES = {
    "gan": "GAN", "cgan": "Conditional GAN", "ae": "Autoencoder", "vae": "VAE", "classifier": "Classifier",
    "musegan": "MuseGAN", "melody": "Melody LSTM with attention",
}
DEFAULT_FOLDER = Path(__file__).resolve().parent.parent / "checkpoints"


def checkpoint_folder() -> Path:
    """$GENLAB_CHECKPOINTS, else the project's checkpoints/ folder."""
    return Path(os.environ.get("GENLAB_CHECKPOINTS", DEFAULT_FOLDER))


def trained_folder() -> Path:
    """$GENLAB_RUNS/models, else runs/app/models: where the Train page publishes finished models."""
    return runs_folder() / "models"


def runs_folder() -> Path:
    """$GENLAB_RUNS, else the project's runs/app folder: the Train page's jobs and models."""
    return Path(os.environ.get("GENLAB_RUNS", DEFAULT_FOLDER.parent / "runs" / "app"))


def model_folders() -> list[Path]:
    """Where the pages look for models: the shipped checkpoints, then the models trained in the app."""
    return [checkpoint_folder(), trained_folder()]


def find_classifier(size: str) -> Path | None:
    """The first valid classifier checkpoint of `size` ("strong" or "weak") among the models, or None."""
    rows, _ = list_models()
    return next((Path(r["path"]) for r in rows if r["kind"] == "classifier" and r["config"].get("size") == size),
                None)


def describe(meta: dict, short: bool = False) -> str:
    """A short title such as "GAN, 2D latent", "Classifier (strong)" or "MuseGAN, 4 voices x 2 bars"; `short`
    (the pickers, in narrow columns): a regulariser as "regularised"."""
    cfg, title = meta["config"], KIND_TITLES[meta["kind"]]
    if meta["kind"] == "musegan":
        return f"{title}, {cfg.get('n_tracks', 4)} voices x {cfg.get('n_bars', 2)} bars"
    if meta["kind"] == "melody":
        return f"{title}, {cfg.get('layers', 2)} x {cfg.get('hidden', 256)} units"
    if "latent_dim" in cfg:
        variant = ", the thesis' multiply" if cfg.get("conditioning") == "multiply" else ""
        if meta["kind"] in ("gan", "cgan"):   # the plain-BCE and the regularised GAN of one size apart
            train = meta.get("train") or {}
            regularizer, loss = train.get("regularizer") or "none", train.get("loss") or "bce"
            variant += (", regularised" if short else f", {regularizer} regulariser") if regularizer != "none" \
                else f", plain {loss.upper()}"
        return f"{title}, {cfg['latent_dim']}D latent{variant}"
    return f"{title} ({cfg.get('size', '')})" if cfg.get("size") else title


@lru_cache(maxsize=512)
def _summary(path: str, stamp: tuple) -> dict:
    """The listing fields of one checkpoint, read once per version of the file (`stamp`: its lstat and stat)."""
    meta = read_metadata(path)
    return {"model": describe(meta), "short": describe(meta, short=True), "kind": meta["kind"], "dataset": meta["dataset"],
            "epochs": meta["history"]["epochs"], "metrics": meta["metrics"], "created": meta["created"],
            "config": meta["config"]}


def _stamp(path: Path) -> tuple:
    link, target = os.lstat(path), os.stat(path)
    return (link.st_mode, link.st_size, link.st_mtime_ns, target.st_ino, target.st_size, target.st_mtime_ns)


def list_models(folder: str | os.PathLike | None = None) -> tuple[list[dict], list[str]]:
    """Summaries of the valid checkpoints in `folder` (default: every folder of `model_folders`, a file name
    found twice listed once), and one message per file that failed validation."""
    rows, problems, seen = [], [], set()
    folders = [Path(folder)] if folder is not None else model_folders()
    for source, where in zip(("shipped", "trained") if folder is None else ("folder",), folders):
        for path in find_checkpoints(where):
            if path.name in seen:
                continue
            try:   # the metadata of an unchanged file is parsed once (every page lists the models on every run)
                summary = _summary(str(path), _stamp(path))
            except OSError as err:
                problems.append(f"{path.name}: {err.strerror or err}")
                continue
            except CheckpointError as err:
                problems.append(str(err))
                continue
            seen.add(path.name)
            rows.append({"file": path.name, "path": str(path), **copy.deepcopy(summary), "source": source})
    return rows, problems


def config_value_text(value) -> str:
    """A config value as listings show it: a long list (a melody model's vocabulary) as its length and first tokens."""
    if isinstance(value, list) and len(value) > 8:
        return f"[{len(value)} tokens: {' '.join(map(str, value[:5]))} ...]"
    return str(value)


def checkpoint_info(ckpt: Checkpoint) -> dict:
    """Everything `python -m genlab info` shows, as plain JSON-ready values."""
    return {
        "path": str(ckpt.path),
        "kind": ckpt.kind,
        "config": ckpt.config,
        "dataset": ckpt.dataset,
        "epochs": ckpt.epochs,
        "parameters": network_parameter_counts(ckpt.model),
        "metrics": ckpt.metrics,
        "final_losses": {k: v[-1] for k, v in ckpt.history.get("losses", {}).items() if v},
        "created": ckpt.created,
    }


def quality_summary(metrics: dict) -> str | None:
    """One line from a checkpoint's quality figures (`python -m genlab quality --write`), worst news first,
    with the real digits' figure beside the model's (a melody model: its held-out next-pitch accuracy beside a
    bigram's); None when the checkpoint has no such figures."""
    if "held_out_pitch_accuracy" in metrics and "bigram_pitch_accuracy" in metrics:
        return (f"next pitch of held-out tunes named {metrics['held_out_pitch_accuracy']:.1%} of the time "
                f"(perplexity {metrics.get('held_out_pitch_perplexity', float('nan')):.2f}); a bigram "
                f"{metrics['bigram_pitch_accuracy']:.1%} ({metrics.get('bigram_pitch_perplexity', float('nan')):.2f})")
    if "unsure_share" not in metrics or "classes_covered" not in metrics:
        return None
    from .metrics import generator_verdict

    verdict, _ = generator_verdict(metrics, len(metrics.get("class_fractions", [])) or 10)
    real = metrics.get("real_unsure_share")
    parts = [f"{metrics['classes_covered']} classes ({metrics['rarest_class_fraction']:.1%} to "
             f"{metrics['commonest_class_fraction']:.1%} of samples each)" if verdict == "all classes" else verdict,
             f"unsure of {metrics['unsure_share']:.1%} (top probability under 0.9)"
             + (f"; of real digits {real:.1%}" if real is not None else "")]
    if "worst_label_agreement" in metrics:
        parts.append(f"requested label drawn {metrics['label_agreement']:.1%} (worst label "
                     f"{metrics['worst_label_agreement']:.1%})")
    samples = metrics.get("samples")
    if "fid" in metrics:   # FID falls with the sample count (the shipped gan_2d: 77 on 10,000, 520 on 1,000)
        scale = [f"{samples:,} samples"] if samples else ["sample count not recorded"]
        if "fid_floor" in metrics:
            scale.append(f"real digits {metrics['fid_floor']:.0f}")
        parts.append(f"distance from real digits FID {metrics['fid']:.0f} ({', '.join(scale)}; lower is better)")
    return (f"{samples:,} samples, judged by the strong classifier: " if samples else "") + "; ".join(parts)


def training_unit(kind: str | None) -> str:
    """What one training example of a model kind is called: images, phrases (MuseGAN), windows of notes (melody)."""
    return {"melody": "windows of notes", "musegan": "phrases"}.get(kind, "images")


def training_summary(train: dict, history: dict) -> str:
    """How a checkpoint was trained, in one line: epochs, images seen, loss and the options that matter."""
    parts = [f"{history.get('epochs', 0)} epochs"]
    if history.get("images_seen"):
        seen = training_unit(train.get("kind"))
        parts.append(f"{history['images_seen']:,} {seen} seen")
    if train.get("kind") == "melody" and train.get("transpose"):
        parts.append(f"each window in one of {2 * train['transpose'] + 1} keys")
    if train.get("batch_size"):
        parts.append(f"batch {train['batch_size']}")
    if train.get("lr"):
        parts.append(f"lr {train['lr']:g}" + (f" (D {train['critic_lr']:g})" if train.get("critic_lr") else ""))
    if train.get("kind") in ("gan", "cgan"):
        parts.append(f"{train.get('loss', 'bce')} loss")
        if train.get("regularizer", "none") != "none":
            parts.append(f"{train['regularizer']} regulariser (weight {train.get('reg_weight', 1):g})")
    if train.get("ema"):
        parts.append(f"moving average of G ({train['ema']:g})")
    if train.get("augment", "none") != "none":
        parts.append(f"{train['augment']} augmentation")
    if train.get("precision", "float32") != "float32":
        parts.append(train["precision"])
    return ", ".join(parts)


METRIC_NAMES = {   # the Model card's words for a checkpoint's figures: plain words first, the term after
    "samples": "samples judged",
    "scored_by": "judged by", "scored_on": "judged on",
    "classes_covered": "classes it draws (of 10)",
    "class_fractions": "share of the samples in each class",
    "rarest_class": "rarest class", "rarest_class_fraction": "rarest class's share",
    "commonest_class": "commonest class", "commonest_class_fraction": "commonest class's share",
    "unsure_share": "samples the judge is unsure of (top probability under 0.9: 'unsure share')",
    "real_unsure_share": "real test digits the judge is unsure of (the floor for the line above)",
    "unplaced_share": "samples the judge cannot place (top probability under 0.5)",
    "mean_top_probability": "the judge's mean top probability",
    "fid": "distance from real digits in the judge's features (FID; lower is better)",
    "fid_floor": "the same distance between two sets of real digits (FID floor)",
    "fid_reference": "FID measured against",
    "label_agreement": "samples that show the label asked for",
    "worst_label_agreement": "the label drawn least often as asked",
    "label_agreement_per_label": "samples showing the label asked for, per label",
    "copy_rate": "samples that are near-copies of a training image (copy rate)",
    "copy_reference": "copies searched among", "copy_samples": "samples searched", "copy_threshold": "copy distance",
    "median_nearest_distance": "median distance to the nearest training image",
    "nearest_real_mismatch": "samples whose nearest training image has another class",
    "detector_error": "a real-or-generated detector's error (0.5: it cannot tell)",
    "detector_bce": "the detector's loss (BCE)",
    "test_accuracy": "test images named right (accuracy)",
    "test_reconstruction_mse": "test images' reconstruction error (MSE)",
    "s_test_accuracy": "teacher: test images of its own domain S named right",
    "s_test_cross_entropy": "teacher: cross-entropy on its own domain S",
    "t_test_accuracy": "teacher: the student's test images named right, unmapped",
    "t_test_cross_entropy": "teacher: cross-entropy on the student's test images, unmapped",
    "t_test_via_phi_accuracy": "teacher: the student's test images named right through phi (the map)",
    "t_test_via_phi_cross_entropy": "teacher: cross-entropy through phi",
    "held_out_pitch_accuracy": "next pitch of held-out tunes named right",
    "held_out_pitch_perplexity": "the model's surprise at the next pitch (perplexity: lower is better)",
    "held_out_duration_accuracy": "next duration of held-out tunes named right",
    "held_out_notes": "held-out notes",
    "bigram_pitch_accuracy": "the same for a bigram (the pitch after each pitch, counted)",
    "bigram_pitch_perplexity": "a bigram's perplexity",
    "unigram_pitch_accuracy": "the same for a unigram (always the commonest pitch)",
    "unigram_pitch_perplexity": "a unigram's perplexity",
    "chord_fraction": "steps whose notes form a chord", "in_key_fraction": "notes in the phrase's key",
    "in_range_fraction": "notes in each voice's range", "distinct_pitches_per_voice": "different pitches per voice",
}
_SHARES = {"unsure_share", "real_unsure_share", "unplaced_share", "rarest_class_fraction", "commonest_class_fraction",
           "label_agreement", "worst_label_agreement", "copy_rate", "nearest_real_mismatch", "test_accuracy",
           "s_test_accuracy", "t_test_accuracy", "t_test_via_phi_accuracy", "held_out_pitch_accuracy",
           "held_out_duration_accuracy", "bigram_pitch_accuracy", "unigram_pitch_accuracy", "chord_fraction",
           "in_key_fraction", "in_range_fraction"}


def metric_rows(metrics: dict) -> list[dict]:
    """A checkpoint's figures as rows {"figure": plain words (the term), "value": text}, for a table; shares in
    percent, lists of shares as percent lists; unknown figures under their own name."""
    def text(key, value):
        if isinstance(value, list):
            return ", ".join(f"{v:.1%}" if isinstance(v, float) and key.endswith(("fractions", "per_label"))
                             else f"{v:g}" if isinstance(v, float) else str(v) for v in value)
        if isinstance(value, float):
            return f"{value:.1%}" if key in _SHARES else f"{value:,.4g}"
        return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)
    return [{"figure": METRIC_NAMES.get(k, k), "value": text(k, v)} for k, v in metrics.items()]
