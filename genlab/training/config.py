"""The training config: one dataclass, filled by the CLI (and later the Train page)."""
from __future__ import annotations

from dataclasses import dataclass, field

from ..data import DATASETS
from ..data.augment import AUGMENTATIONS
from ..data.chorales import MUSIC_DATASETS
from ..models import MODELS, make_config
from ..models.layers import check_choice
from .losses import GAN_LOSSES, GAN_REGULARIZERS

DEVICES = ("auto", "cpu", "cuda")
OPTIMIZERS = ("adam", "sgd", "rmsprop")
PRECISIONS = ("float32", "bfloat16")
MEMORY_FORMATS = ("contiguous", "channels_last")
LR_SCHEDULES = ("constant", "cosine")
EMA_KINDS = ("gan", "cgan", "musegan")
DEFAULT_LR = {"gan": 2e-4, "cgan": 2e-4, "ae": 5e-4, "vae": 5e-4, "classifier": 1e-3, "musegan": 1e-3,
              "melody": 1e-3}
MUSIC_KINDS = ("musegan", "melody")


@dataclass
class TrainConfig:
    kind: str                              # Model kind: gan, cgan, ae, vae, classifier, musegan, melody.
    model: dict = field(default_factory=dict)  # Model config values (e.g. {"latent_dim": 2}).
    dataset: str = "mnist5k"               # Training dataset (genlab.data.DATASETS; "chorales" for musegan, melody).
    data_dir: str | None = None            # .npz file or folder for the full datasets.
    download: bool = False                 # Let torchvision download a full dataset.
    epochs: int = 20                       # Total epochs (a resumed run continues up to this).
    batch_size: int = 128                  # Images per step (per process under torchrun).
    optimizer: str = "adam"                # adam, sgd (momentum 0.9) or rmsprop.
    lr: float | None = None                # Learning rate; None -> DEFAULT_LR[kind].
    beta1: float | None = None             # Adam beta1; None -> 0.5 for GANs (DCGAN), 0.9 otherwise.
    loss: str = "bce"                      # GAN loss: bce, hinge, lsgan, wgan-gp.
    regularizer: str = "none"              # GAN only: none, reconstruction (mode-regularised GAN), or
                                           # class-reconstruction (and the codes tell the classes apart).
    reg_weight: float = 1.0                # Weight of the regulariser in G's loss.
    limit: int | None = None               # Use only the first `limit` training images.
    seed: int = 0                          # Seed for weights, shuffling and noise.
    device: str = "auto"                   # auto (CUDA when present), cpu or cuda.
    storage: str = "float32"               # Checkpoint storage: float32 or float16.
    save_optimizer: bool = True            # Store optimiser state so a run can be resumed exactly.
    critic_steps: int = 5                  # musegan (WGAN-GP): critic updates per generator update.
    gp_weight: float = 10.0                # musegan and the wgan-gp loss: weight of the gradient penalty.
    transpose: int = 0                     # musegan, melody: shift each phrase (window of notes) by a random -k..k
                                           # semitones (augmentation; melody: k <= 3).
    critic_lr: float | None = None         # GANs and musegan: the discriminator's (critic's) rate; None -> lr
                                           # (a different one: the two time-scale update rule).
    precision: str = "float32"             # float32, or bfloat16 (autocast forward passes: about 2x faster on
                                           # CPUs with AVX-512 BF16 and on recent GPUs).
    ema: float = 0.0                       # gan, cgan, musegan: decay of an exponential moving average of the
                                           # generator's weights per generator step, ramped up from 0 as
                                           # min(ema, (1 + t) / (10 + t)); the checkpoint's generator is the
                                           # average, with BatchNorm statistics re-estimated for it (0 = off).
    memory_format: str = "contiguous"      # contiguous, or channels_last (faster convolutions on some CPUs).
    augment: str = "none"                  # classifier: none, or digits (blur, affine/elastic, stroke width, noise).
    lr_schedule: str = "constant"          # constant, or cosine (decays every rate to 0 over cfg.epochs).
    time_limit: float = 0.0                # stop after the first epoch that ends this many seconds into the run
                                           # (0 = no limit); the GPU script's way to fit its time budget.
    snapshot_every: int = 0                # also keep every N-th epoch's model (float16, no optimiser state) in
                                           # OUT.epochs/ so the epoch to ship can be chosen later (0 = off).

    def __post_init__(self):
        check_choice("kind", self.kind, tuple(MODELS))
        make_config(self.kind, self.model)  # validates the model values early
        check_choice("dataset", self.dataset, MUSIC_DATASETS if self.kind in MUSIC_KINDS else tuple(DATASETS))
        check_choice("loss", self.loss, GAN_LOSSES)
        check_choice("optimizer", self.optimizer, OPTIMIZERS)
        check_choice("regularizer", self.regularizer, GAN_REGULARIZERS)
        if self.regularizer == "class-reconstruction" and self.kind != "gan":
            raise ValueError("the class-reconstruction regulariser is for unconditional GANs (a conditional GAN "
                             "takes its class from the label; use reconstruction)")
        if not 0 <= self.reg_weight <= 1000:
            raise ValueError(f"reg_weight must be in [0, 1000], got {self.reg_weight!r}")
        check_choice("device", self.device, DEVICES)
        check_choice("storage", self.storage, ("float32", "float16"))
        check_choice("precision", self.precision, PRECISIONS)
        check_choice("memory_format", self.memory_format, MEMORY_FORMATS)
        check_choice("augment", self.augment, AUGMENTATIONS)
        if self.augment != "none" and self.kind != "classifier":
            raise ValueError(f"augment applies to classifiers, not to {self.kind}")
        check_choice("lr_schedule", self.lr_schedule, LR_SCHEDULES)
        if not 0 <= self.time_limit <= 30 * 86400:
            raise ValueError(f"time_limit must be in [0, 30 days] seconds, got {self.time_limit!r}")
        if not isinstance(self.snapshot_every, int) or self.snapshot_every < 0:
            raise ValueError(f"snapshot_every must be a non-negative integer, got {self.snapshot_every!r}")
        for name in ("epochs", "batch_size", "critic_steps"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if not isinstance(self.transpose, int) or not 0 <= self.transpose <= 12:
            raise ValueError(f"transpose must be an integer in 0..12, got {self.transpose!r}")
        if not 0 <= self.ema < 1:
            raise ValueError(f"ema must be in [0, 1), got {self.ema!r}")
        if self.ema and self.kind not in EMA_KINDS:
            raise ValueError(f"ema applies to {', '.join(EMA_KINDS)}, not to {self.kind}")
        if not 0 <= self.gp_weight <= 1000:
            raise ValueError(f"gp_weight must be in [0, 1000], got {self.gp_weight!r}")
        if self.limit is not None and (not isinstance(self.limit, int) or self.limit < 1):
            raise ValueError(f"limit must be a positive integer, got {self.limit!r}")
        if self.lr is not None and not 0 < self.lr < 1:
            raise ValueError(f"lr must be in (0, 1), got {self.lr!r}")
        if self.critic_lr is not None and not 0 < self.critic_lr < 1:
            raise ValueError(f"critic_lr must be in (0, 1), got {self.critic_lr!r}")
        if self.beta1 is not None and not 0 <= self.beta1 < 1:
            raise ValueError(f"beta1 must be in [0, 1), got {self.beta1!r}")

    @property
    def learning_rate(self) -> float:
        return self.lr if self.lr is not None else DEFAULT_LR[self.kind]

    @property
    def adam_beta1(self) -> float:
        if self.beta1 is not None:
            return self.beta1
        return 0.5 if self.kind in ("gan", "cgan", "musegan") else 0.9
