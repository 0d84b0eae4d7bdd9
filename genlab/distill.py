"""Multi-domain distillation (SEEDS.md E, the talk): a teacher f learns a large sample of a domain S; a
student g learns a small sample of a close domain T and also listens to the teacher through a known map
phi: X_T -> X_S.

    L = (1 - lambda) * CE(y, g(x)) + lambda * T^2 * CE(softmax(f(phi(x)) / T), softmax(g(x) / T))

The second term is the cross-entropy of the student's softened prediction against the teacher's softened
prediction on the mapped image (temperature T); it is scaled by T^2, as Hinton et al. do, so that its
gradients keep their size when T changes. lambda = 0 is plain training on the labels, lambda = 1 pure
distillation.

Splits (SEEDS.md E): the 60,000 training images = Big 59,000 + Small 1,000 (Small class-balanced: 100 per
class, seeded); Test = the 10,000 test images. Where something must be chosen (the dual VAE's epoch, lambda and
T) it is chosen on VALIDATION images carved from Big, never on Test. Without the full sets on this machine the
embedded digits stand in (4,000 training digits: Big 3,000 + Small 1,000; 1,000 test digits) and the shipped
Fashion Small 1,000 with 1,000 test clothes.

The settings (SETTING_TABLE), the talk's five first, as its slides ran them:
- "plain": S = T = Fashion-MNIST; the teacher learns FashionMNIST-Big, phi = identity.
- "noise": S = clothes with Gaussian noise (variance 0.1 in [0, 1] pixel units, i.e. sigma 0.632 in the
  model's [-1, 1] range, clipped back to it), T = clean clothes; phi adds fresh noise on every call.
- "dilated": S = clothes through one fixed 5 x 5 convolution with dilation 2 (its kernel seeded, non-negative,
  summing to 1, and stored with the teacher), T = clean clothes; phi applies it.
- "vae": S = MNIST digits, T = Fashion-MNIST clothes; phi = the MNIST decoder of the encoded clothing image,
  through the dual-decoder VAE (one encoder, 2D latent, two decoders: the book's architecture).
- "generated": S = GeneratedMNIST (phi of every Fashion-MNIST image: digits with the clothes' labels, the same
  splits), T = clothes; the teacher learns GeneratedMNIST-Big; phi = the same VAE translation.
- "noise-digits", "dilated-digits": the noise (sigma 0.8) and dilated maps on MNIST digits (S and T digits).

The dual-decoder VAE trains on pairs of the same class index drawn from BOTH Big samples: each Big digit with a
random Big clothing image of its class (a validation share of the clothes Big held out to choose the epoch).
Both images are encoded, and every code must be decoded into both the digit (by the MNIST decoder) and the
clothing image (by the Fashion decoder), with one KL term: L = r * (MSE_MNIST + MSE_Fashion) + KL. So a
clothing class and the digit class of the same index share a region of the latent plane, and phi turns a shirt
into the digit of its class index. It is stored as a book VAE (encoder + MNIST decoder) with the Fashion
decoder as training state (checkpoints/distill/dual_vae.safetensors). Small and Test never touch it.

Nothing here uses Streamlit: the CLI (`python -m train distill ...`) and the page call the same functions.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from .catalog import checkpoint_folder
from .checkpoints import CheckpointError
from .data import DatasetUnavailable, ImageDataset, load_dataset
from .models import build_model

FASHION_SMALL_FILE = Path(__file__).resolve().parent / "data" / "fashion_small.npz"
DUAL_VAE_R_LOSS = 1000.0       # the book's weight of the (per-pixel mean) MSE against the KL term
NOISE_SIGMA = 0.8              # digits, in [-1, 1] units: strong enough that a clean-digit classifier is not a noisy-digit one
FASHION_NOISE_SIGMA = 0.632    # clothes: the talk's variance 1/10 in [0, 1] pixel units (sigma 0.316) in [-1, 1] units
DILATED_KERNEL = 5
DILATION = 2
DILATED_SEED = 7
SMALL = 1000
VALIDATION = 5000              # carved from Big where something is chosen (never Test)
FASHION_NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                 "Ankle boot")


@dataclass(frozen=True)
class Setting:
    """One experiment: where the teacher's data comes from (source), the student's domain (target), phi."""
    name: str
    label: str        # the page's name for it
    source: str       # "fashion" | "digits" | "generated": the teacher learns phi of this Big (generated: as is)
    target: str       # "fashion" | "digits": the student's Small 1,000 and Test
    phi: str          # "identity" | "noise" | "dilated" | "vae"
    talk: str         # which of the talk's experiments it is
    sigma: float = 0.0
    also: tuple[str, ...] = ()   # other settings' teachers whose students the page adds (the talk's third curve)

    @property
    def teacher_file(self) -> str:
        """Its teacher under checkpoints/distill/; the vae teacher is the shipped strong classifier itself
        (a digit classifier: shipping a copy would only spend the checkpoint budget)."""
        return "../classifier_strong.safetensors" if self.name == "vae" else f"teacher_{self.name}.safetensors"


SETTING_TABLE = {s.name: s for s in (
    Setting("plain", "Fashion: plain", "fashion", "fashion", "identity", "1, plain distillation"),
    Setting("noise", "Fashion + noise", "fashion", "fashion", "noise", "2, normal noise", FASHION_NOISE_SIGMA,
            also=("plain",)),
    Setting("dilated", "Fashion + dilated conv", "fashion", "fashion", "dilated", "3, dilated convolution"),
    Setting("vae", "Digits teach clothes (VAE)", "digits", "fashion", "vae", "4, dual-decoder VAE"),
    Setting("generated", "GeneratedMNIST", "generated", "fashion", "vae", "5, GeneratedMNIST"),
    Setting("noise-digits", "Digits + noise", "digits", "digits", "noise", "2 on digits (extra)", NOISE_SIGMA),
    Setting("dilated-digits", "Digits + dilated conv", "digits", "digits", "dilated", "3 on digits (extra)"),
)}
SETTINGS = tuple(SETTING_TABLE)


def setting_of(name: str) -> Setting:
    try:
        return SETTING_TABLE[name]
    except KeyError:
        raise ValueError(f"unknown setting {name!r}; known: {', '.join(SETTINGS)}") from None


def distillation_loss(student_logits: torch.Tensor, labels: torch.Tensor, teacher_logits: torch.Tensor,
                      lam: float, temperature: float) -> torch.Tensor:
    """The talk's loss (see the module docstring), averaged over the batch."""
    if not 0.0 <= lam <= 1.0:
        raise ValueError(f"lambda must be in [0, 1], got {lam}")
    if not temperature > 0:
        raise ValueError(f"the temperature must be positive, got {temperature}")
    hard = F.cross_entropy(student_logits, labels)
    if lam == 0:
        return hard
    soft_teacher = F.softmax(teacher_logits.detach() / temperature, dim=1)
    log_student = F.log_softmax(student_logits / temperature, dim=1)
    soft = -(soft_teacher * log_student).sum(dim=1).mean() * temperature ** 2
    return (1 - lam) * hard + lam * soft


def split_big_small(labels: torch.Tensor, small: int = SMALL, seed: int = 0,
                    n_classes: int = 10) -> tuple[torch.Tensor, torch.Tensor]:
    """Indices (big, small) of a training set: `small` images, the same number of each class (seeded),
    and all the others. Disjoint; together every index once."""
    if small % n_classes:
        raise ValueError(f"the small set ({small}) must split evenly over {n_classes} classes")
    g = torch.Generator().manual_seed(seed)
    chosen = []
    for c in range(n_classes):
        members = (labels == c).nonzero().flatten()
        if len(members) < small // n_classes:
            raise ValueError(f"class {c} has {len(members)} images, fewer than {small // n_classes}")
        chosen.append(members[torch.randperm(len(members), generator=g)[:small // n_classes]])
    small_idx = torch.cat(chosen).sort().values
    mask = torch.ones(len(labels), dtype=torch.bool)
    mask[small_idx] = False
    return mask.nonzero().flatten(), small_idx


class NoiseMap(nn.Module):
    """phi for "noise": x + sigma * N(0, 1), clipped to [-1, 1]."""

    def __init__(self, sigma: float = NOISE_SIGMA, setting: str = "noise-digits"):
        super().__init__()
        self.sigma, self.setting = float(sigma), setting

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        noise = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
        return (x + self.sigma * noise).clamp(-1, 1)

    def describe(self) -> dict:
        return {"setting": self.setting, "sigma": self.sigma}


def dilated_kernel(seed: int = DILATED_SEED, size: int = DILATED_KERNEL) -> torch.Tensor:
    """A fixed (1, 1, size, size) kernel: seeded uniform weights, summing to 1 (so [-1, 1] stays [-1, 1])."""
    g = torch.Generator().manual_seed(seed)
    k = torch.rand(size, size, generator=g)
    return (k / k.sum()).view(1, 1, size, size)


class DilatedMap(nn.Module):
    """phi for "dilated": one fixed convolution, kernel 5 x 5, dilation 2 (a 9 x 9 reach), zero-padded
    around the digit's black background so the image stays 28 x 28."""

    def __init__(self, kernel: torch.Tensor | None = None, setting: str = "dilated-digits"):
        super().__init__()
        self.setting = setting
        self.register_buffer("kernel", dilated_kernel() if kernel is None else kernel.detach().clone())

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        reach = (self.kernel.shape[-1] - 1) * DILATION // 2
        padded = F.pad(x, (reach,) * 4, value=-1.0)          # the background is -1 (black)
        return F.conv2d(padded, self.kernel.to(x.dtype), dilation=DILATION).clamp(-1, 1)

    def describe(self) -> dict:
        return {"setting": self.setting, "kernel": [round(float(v), 6) for v in self.kernel.flatten()],
                "dilation": DILATION}


def teacher_path(setting: str) -> Path:
    """Where the shipped teacher of `setting` lives: checkpoints/distill/teacher_<setting>.safetensors (a
    subfolder, so the model pickers do not list it as a classifier)."""
    return checkpoint_folder() / "distill" / setting_of(setting).teacher_file


def teacher_map(checkpoint, dual_vae: Path | None = None, setting: str | None = None) -> nn.Module:
    """phi as a teacher's checkpoint records it (train["distill"]; the dilated kernel is stored with it; for
    "vae" and "generated", the dual-decoder VAE at `dual_vae`, by default the shipped one). `setting`: the
    setting asked for, which names phi for a digit classifier that records none (the vae teacher)."""
    info = checkpoint.train.get("distill", {}) if isinstance(checkpoint.train, dict) else {}
    name = info.get("setting")
    if name is None and setting == "vae" and checkpoint.kind == "classifier":
        name = "vae"
    if name in ("noise", "dilated") and info.get("domain") != "fashion":
        name = f"{name}-digits"           # teachers written before the Fashion settings were the digit ones
    if name not in SETTING_TABLE:
        raise CheckpointError(f"not a distillation teacher (setting {info.get('setting')!r})")
    setting = SETTING_TABLE[name]
    if setting.phi == "noise":
        sigma = info.get("sigma")
        if not isinstance(sigma, (int, float)) or not 0 < sigma <= 4:
            raise CheckpointError("this noise teacher records no valid sigma")
        return NoiseMap(float(sigma), name)
    if setting.phi == "dilated":
        kernel = checkpoint.training_state.get("phi", {}).get("kernel")
        if kernel is None or tuple(kernel.shape) != (1, 1, DILATED_KERNEL, DILATED_KERNEL):
            raise CheckpointError("this dilated-map teacher holds no 5 x 5 kernel")
        return DilatedMap(kernel.float(), name)
    if setting.phi == "vae":
        phi = load_dual_vae(dual_vae)
        phi.setting = name
        return phi
    return Identity(name)


def digits(data_dir=None) -> tuple[ImageDataset, ImageDataset, str]:
    """(train, test, source): full MNIST when it is on this machine, else the embedded digits."""
    try:
        return load_dataset("mnist", "train", data_dir), load_dataset("mnist", "test", data_dir), "mnist"
    except DatasetUnavailable:
        return load_dataset("mnist5k", "train"), load_dataset("mnist5k", "test"), "mnist5k"


class VaeMap(nn.Module):
    """phi for "vae" and "generated": the MNIST decoder of the encoded image's mean code (deterministic)."""

    def __init__(self, vae: nn.Module, fashion_decoder: nn.Module | None = None, setting: str = "vae"):
        super().__init__()
        self.vae, self.fashion_decoder, self.setting = vae, fashion_decoder, setting

    @torch.no_grad()
    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.vae.decode(self.vae.encode(x))

    def describe(self) -> dict:
        return {"setting": self.setting}


class Identity(nn.Module):
    """phi = identity: the plain setting, and while a vae or generated teacher trains (S is its data as is)."""

    def __init__(self, setting: str = "plain"):
        super().__init__()
        self.setting = setting

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        return x

    def describe(self) -> dict:
        return {"setting": self.setting}


def dual_vae_path() -> Path:
    return checkpoint_folder() / "distill" / "dual_vae.safetensors"


def load_dual_vae(path: Path | None = None) -> VaeMap:
    """The shipped dual-decoder VAE as phi (its Fashion decoder attached for the page's views)."""
    from .checkpoints import load_checkpoint
    from .models.autoencoder import Decoder

    checkpoint = load_checkpoint(path or dual_vae_path())
    state = checkpoint.training_state.get("fashion_decoder")
    if checkpoint.kind != "vae" or state is None:
        raise CheckpointError("not a dual-decoder VAE (a VAE with a fashion_decoder)")
    decoder = Decoder(checkpoint.model.latent_dim)
    decoder.load_state_dict({k: v.float() for k, v in state.items()})
    return VaeMap(checkpoint.model.eval(), decoder.eval())


def class_matched_partners(digit_labels: torch.Tensor, clothes_labels: torch.Tensor,
                           generator: torch.Generator | None = None, n_classes: int = 10) -> torch.Tensor:
    """For every digit, the index of a random clothing image of the same class index (drawn afresh each
    epoch, so a digit meets many clothes of its class)."""
    partners = torch.empty(len(digit_labels), dtype=torch.long)
    for c in range(n_classes):
        digits_c = (digit_labels == c).nonzero().flatten()
        clothes_c = (clothes_labels == c).nonzero().flatten()
        if len(digits_c) and not len(clothes_c):
            raise ValueError(f"no clothing image of class {c} to pair with its digits")
        if len(digits_c):
            partners[digits_c] = clothes_c[torch.randint(len(clothes_c), (len(digits_c),), generator=generator)]
    return partners


def train_dual_vae(digits_x: torch.Tensor, digits_y: torch.Tensor, clothes_x: torch.Tensor, clothes_y: torch.Tensor,
                   epochs: int = 5, batch_size: int = 128, lr: float = 1e-3, seed: int = 0,
                   on_epoch=None, start: VaeMap | None = None, first_epoch: int = 1, latent_dim: int = 2) -> VaeMap:
    """The dual-decoder VAE (see the module docstring) on digit/clothes pairs of the same class: every digit
    with a random image of its class among `clothes_x` (the caller passes the two Big samples). `start`
    continues a trained one (a fresh optimiser; the epochs are numbered from `first_epoch`, and the batch
    order is seeded by it, so a resumed run does not repeat the first epochs' batches)."""
    from .models.autoencoder import Decoder
    from .training.losses import kl_divergence, reconstruction_loss

    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed * 100_003 + first_epoch - 1)
    if start is None:
        vae = build_model("vae", {"latent_dim": latent_dim, "r_loss_factor": DUAL_VAE_R_LOSS}).train()
        fashion_decoder = Decoder(latent_dim).train()
    else:
        vae, fashion_decoder = start.vae.train(), start.fashion_decoder.train()
    optimizer = torch.optim.Adam(list(vae.parameters()) + list(fashion_decoder.parameters()), lr=lr)
    for epoch in range(first_epoch, first_epoch + epochs):
        order = torch.randperm(len(digits_x), generator=g)
        partners = class_matched_partners(digits_y, clothes_y, g)
        totals = {"mnist": 0.0, "fashion": 0.0, "kl": 0.0}
        steps = 0
        for i in range(0, len(order), batch_size):
            idx = order[i:i + batch_size]
            x_m = digits_x[idx]
            x_f = clothes_x[partners[idx]]
            mu, log_var = vae.encode_distribution(torch.cat([x_m, x_f]))
            z = mu + torch.exp(log_var / 2) * torch.randn(mu.shape, generator=g)
            loss_m = reconstruction_loss(vae.decode(z), torch.cat([x_m, x_m]))
            loss_f = reconstruction_loss(fashion_decoder(z), torch.cat([x_f, x_f]))
            kl = kl_divergence(mu, log_var)
            loss = DUAL_VAE_R_LOSS * (loss_m + loss_f) + kl
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            totals["mnist"] += float(loss_m.detach())
            totals["fashion"] += float(loss_f.detach())
            totals["kl"] += float(kl.detach())
            steps += 1
        if on_epoch is not None:   # (epoch, mean losses, the model so far: in training mode)
            on_epoch(epoch, {k: v / max(1, steps) for k, v in totals.items()}, VaeMap(vae, fashion_decoder))
    return VaeMap(vae.eval(), fashion_decoder.eval())


def comparison_data(setting: str, dataset: str = "mnist", data_dir=None, seed: int = 0):
    """(small_x, small_y, test, source) for a comparison: the Small 1,000 and the test set of T (Fashion-MNIST
    for the talk's settings; the digits of `dataset` for noise-digits and dilated-digits)."""
    if setting_of(setting).target == "fashion":
        small, test, source = fashion_sets(data_dir)
        return small.images, small.labels, test, source
    train = load_dataset(dataset, "train", data_dir)
    test = load_dataset(dataset, "test", data_dir)
    _, small = split_big_small(train.labels, seed=seed)
    return train.images[small], train.labels[small], test, dataset


def carve_validation(big: torch.Tensor, n: int | None = None, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """(rest, validation): `n` seeded indices of `big` held out where something is chosen (never Test);
    by default VALIDATION, or a tenth of a smaller Big."""
    n = min(VALIDATION, len(big) // 10) if n is None else n
    if not 0 < n < len(big):
        raise ValueError(f"a validation share of {n} does not fit a Big of {len(big)}")
    order = torch.randperm(len(big), generator=torch.Generator().manual_seed(10_007 + seed))
    return big[order[n:]].sort().values, big[order[:n]].sort().values


def fashion_full(data_dir=None) -> tuple[ImageDataset, ImageDataset]:
    """(train 60,000, test 10,000) of Fashion-MNIST; DatasetUnavailable when it is not on this machine (the
    teachers and the dual VAE need Fashion Big, which does not ship)."""
    return load_dataset("fashion_mnist", "train", data_dir), load_dataset("fashion_mnist", "test", data_dir)


def domain_sets(source: str, data_dir=None, generated: Path | None = None) -> tuple[ImageDataset, ImageDataset, str]:
    """(train, test, name) of a teacher's data: "digits" (full MNIST or the embedded digits), "fashion" (full
    Fashion-MNIST), "generated" (GeneratedMNIST from `generate_mnist`, at `generated`)."""
    if source == "digits":
        return digits(data_dir)
    if source == "fashion":
        return (*fashion_full(data_dir), "fashion_mnist")
    if source == "generated":
        return (*load_generated(generated or Path("runs/distill/generated_mnist.npz")), "generated_mnist")
    raise ValueError(f"unknown source {source!r}")


@torch.no_grad()
def translate(phi: nn.Module, images: torch.Tensor, batch_size: int = 2000) -> torch.Tensor:
    """phi of many images, in batches."""
    return torch.cat([phi(images[i:i + batch_size]) for i in range(0, len(images), batch_size)])


def generate_mnist(phi: "VaeMap", train: ImageDataset, test: ImageDataset) -> dict:
    """GeneratedMNIST (the talk's fifth setting): phi of every Fashion-MNIST image, with the clothes' labels
    and the same splits (Big / Small by split_big_small of the clothes' labels). Arrays for np.savez: uint8
    images (N, 28, 28), int64 labels, the Small indices."""

    def pixels(x):
        return ((translate(phi, x) + 1) * 127.5).round().clamp(0, 255).to(torch.uint8).squeeze(1).numpy()

    _, small = split_big_small(train.labels)
    return {"x_train": pixels(train.images), "y_train": train.labels.numpy(), "x_test": pixels(test.images),
            "y_test": test.labels.numpy(), "small": small.numpy()}


def load_generated(path: Path) -> tuple[ImageDataset, ImageDataset]:
    """(train, test) of a GeneratedMNIST file (generate_mnist's arrays, no pickles)."""
    import numpy as np

    from .data import to_model_range

    path = Path(path)
    if not path.is_file():
        raise DatasetUnavailable(f"no GeneratedMNIST at {path}: make it with `python -m train distill-generate "
                                 f"--out {path}`")
    with np.load(path, allow_pickle=False) as npz:
        for key, shape in (("x_train", (60000, 28, 28)), ("x_test", (10000, 28, 28))):
            if npz[key].dtype != np.uint8 or npz[key].shape[1:] != shape[1:]:
                raise DatasetUnavailable(f"{path}: {key} is not uint8 28 x 28 images")
        return tuple(ImageDataset("generated_mnist", split, to_model_range(npz[f"x_{split}"]),
                                  torch.from_numpy(npz[f"y_{split}"].astype(np.int64)), FASHION_NAMES)
                     for split in ("train", "test"))


def fashion_sets(data_dir=None) -> tuple[ImageDataset, ImageDataset, str]:
    """(small, test, source) of Fashion-MNIST: Small = the class-balanced 1,000 of its training set
    (split_big_small, seed 0); Test = its 10,000 test images when the full set is on this machine, else the
    shipped balanced 1,000 (genlab/data/fashion_small.npz: the same Small, and the first 100 test images of
    each class)."""
    import numpy as np

    from .data import to_model_range

    names = FASHION_NAMES
    try:
        train = load_dataset("fashion_mnist", "train", data_dir)
        test = load_dataset("fashion_mnist", "test", data_dir)
        _, small = split_big_small(train.labels)
        return (ImageDataset("fashion_mnist", "small", train.images[small], train.labels[small], train.class_names),
                test, "fashion_mnist")
    except DatasetUnavailable:
        pass
    with np.load(FASHION_SMALL_FILE, allow_pickle=False) as npz:
        sets = [ImageDataset("fashion_small", split, to_model_range(npz[f"x_{split}"]),
                             torch.from_numpy(npz[f"y_{split}"].astype(np.int64)), names)
                for split in ("small", "test")]
    return sets[0], sets[1], "fashion_small"


def make_map(setting: str) -> nn.Module:
    """phi for training the teacher of `setting`: noise and dilated as their settings apply it; identity for
    plain, vae (the teacher learns plain digits) and generated (it learns GeneratedMNIST as it is)."""
    spec = setting_of(setting)
    if spec.phi == "noise":
        return NoiseMap(spec.sigma, spec.name)
    if spec.phi == "dilated":
        return DilatedMap(setting=spec.name)
    return Identity(spec.name)


@torch.no_grad()
def evaluate(net: nn.Module, images: torch.Tensor, labels: torch.Tensor, batch_size: int = 1000) -> dict:
    """Test accuracy and mean cross-entropy (nats) of a classifier."""
    was = net.training
    net.eval()
    logits = torch.cat([net(images[i:i + batch_size]) for i in range(0, len(images), batch_size)])
    net.train(was)
    return {"accuracy": float((logits.argmax(1) == labels).float().mean()),
            "cross_entropy": float(F.cross_entropy(logits, labels))}


def train_teacher(phi: nn.Module, images: torch.Tensor, labels: torch.Tensor, epochs: int = 3,
                  batch_size: int = 128, lr: float = 1e-3, seed: int = 0, on_epoch=None) -> nn.Module:
    """The teacher f: the strong classifier trained on phi(images) (the domain S), fresh phi each batch."""
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    teacher = build_model("classifier", {"size": "strong"}).train()
    optimizer = torch.optim.Adam(teacher.parameters(), lr=lr)
    for epoch in range(epochs):
        order = torch.randperm(len(images), generator=g)
        for i in range(0, len(order), batch_size):
            idx = order[i:i + batch_size]
            with torch.no_grad():
                x = phi(images[idx], generator=g)
            loss = F.cross_entropy(teacher(x), labels[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        if on_epoch is not None:
            on_epoch(epoch + 1, teacher)
    return teacher.eval()


@dataclass
class Comparison:
    """Per-epoch test figures of the students of one seed: "teacher" (lambda as asked), "alone" (lambda = 0,
    the same initial weights and batch order) and, in `others`, students of other teachers (the noise
    setting's plain teacher: the talk's third curve)."""
    seed: int
    lam: float
    temperature: float
    epochs: list[int] = field(default_factory=list)
    teacher: list[dict] = field(default_factory=list)     # {"accuracy", "cross_entropy"} per epoch
    alone: list[dict] = field(default_factory=list)
    others: dict[str, list[dict]] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"seed": self.seed, "lambda": self.lam, "temperature": self.temperature, "epochs": self.epochs,
                "with_teacher": self.teacher, "alone": self.alone, "others": self.others}


def compare_students(teacher: nn.Module, phi: nn.Module, small_x: torch.Tensor, small_y: torch.Tensor,
                     test_x: torch.Tensor, test_y: torch.Tensor, lam: float = 0.5, temperature: float = 4.0,
                     epochs: int = 20, seed: int = 0, student_size: str = "weak", batch_size: int = 32,
                     lr: float = 1e-3, on_epoch=None, on_step=None,
                     others: dict[str, tuple[nn.Module, nn.Module]] | None = None) -> Comparison:
    """Train two students of `student_size` from the same seeded start on the Small set: one with the
    teacher (lambda), one alone (lambda 0), same batches; test both after every epoch. `others` {name:
    (teacher, phi)} adds a student per other teacher, from the same start, on the same batches, at the same
    lambda and T. The teachers' soft labels are computed once per epoch on phi of the Small images (fresh
    noise each epoch for "noise"). `on_epoch(comparison)` is called after each epoch, `on_step(epoch, step,
    steps)` after each batch (either may raise to stop)."""
    torch.manual_seed(seed)
    listeners = {"": (teacher, phi), **(others or {})}
    first = build_model("classifier", {"size": student_size})
    students = {name: build_model("classifier", {"size": student_size}) for name in ("alone", *listeners)}
    for net in students.values():
        net.load_state_dict(first.state_dict())
        net.train()
    optimizers = {name: torch.optim.Adam(net.parameters(), lr=lr) for name, net in students.items()}
    g = torch.Generator().manual_seed(seed)
    result = Comparison(seed=seed, lam=lam, temperature=temperature, others={name: [] for name in others or {}})
    for net, _ in listeners.values():
        net.eval()
    for epoch in range(1, epochs + 1):
        with torch.no_grad():
            soft = {name: torch.cat([net(map_(small_x[i:i + 500], generator=g)) for i in range(0, len(small_x), 500)])
                    for name, (net, map_) in listeners.items()}
        order = torch.randperm(len(small_x), generator=g)
        steps = math.ceil(len(order) / batch_size)
        for step, i in enumerate(range(0, len(order), batch_size), start=1):
            idx = order[i:i + batch_size]
            x, y = small_x[idx], small_y[idx]
            for name, net in students.items():
                logits = net(x)
                loss = (F.cross_entropy(logits, y) if name == "alone"
                        else distillation_loss(logits, y, soft[name][idx], lam, temperature))
                optimizers[name].zero_grad(set_to_none=True)
                loss.backward()
                optimizers[name].step()
            if on_step is not None:
                on_step(epoch, step, steps)
        result.epochs.append(epoch)
        result.teacher.append(evaluate(students[""], test_x, test_y))
        result.alone.append(evaluate(students["alone"], test_x, test_y))
        for name in result.others:
            result.others[name].append(evaluate(students[name], test_x, test_y))
        if on_epoch is not None:
            on_epoch(result)
    return result


def summarize(comparisons: list[Comparison]) -> dict:
    """Final test accuracy with and without the teacher: mean and spread (sample standard deviation) over
    the seeds, and the gain (mean difference) against the larger spread."""
    def stats(values: list[float]) -> dict:
        mean = sum(values) / len(values)
        spread = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1)) if len(values) > 1 else 0.0
        return {"mean": mean, "spread": spread, "values": values}
    teacher = stats([c.teacher[-1]["accuracy"] for c in comparisons])
    alone = stats([c.alone[-1]["accuracy"] for c in comparisons])
    gain = teacher["mean"] - alone["mean"]
    others = {name: stats([c.others[name][-1]["accuracy"] for c in comparisons]) for name in comparisons[0].others}
    return {"with_teacher": teacher, "alone": alone, "gain": gain, "others": others,
            "gain_beats_spread": gain > max(teacher["spread"], alone["spread"]),
            "seeds": [c.seed for c in comparisons]}
