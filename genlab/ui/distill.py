"""The Distillation page's parts (pages/distill.py): the map phi at work, the comparison form, and a
comparison followed live. The comparisons run as jobs (genlab.training.jobs), like the Train page's runs."""
from __future__ import annotations

from datetime import datetime, timezone

import streamlit as st
import numpy as np
import torch
from streamlit import session_state as ss

from ..bars import probability_bars
from ..catalog import find_classifier
from ..checkpoints import Checkpoint, CheckpointError
from ..data import DIGIT_NAMES, available_datasets, load_dataset
from ..distill import FASHION_NAMES, SETTING_TABLE, dual_vae_path, fashion_sets, load_dual_vae, setting_of, teacher_map, teacher_path
from ..files import file_stamp
from ..images import image_grid
from ..plots import distill_figure, sweep_figure, two_domain_scatter
from ..training.jobs import DEMO_LIMITS, JobSpec, demo_mode
from .loaders import load_model
from .training import job_store
from .visitor import visitor_id

SETTING_LABELS = {name: setting.label for name, setting in SETTING_TABLE.items()}
SETTING_HELP = {
    "plain": "The teacher learned 59,000 clothes (Fashion-MNIST Big); the student gets "
             "1,000 other labelled clothes (Small) of the same domain, so phi is the identity: plain distillation "
             "of a big model's knowledge into a small sample.",
    "noise": "The teacher learned 59,000 clothes with Gaussian noise added (variance 0.1 on the 0..1 pixel scale: "
             "the domain S). The student gets 1,000 clean clothes (the domain T); phi adds noise, so the teacher sees "
             "each of the student's clothes the way it learned clothes.",
    "dilated": "The teacher learned 59,000 clothes passed through one fixed 5 x 5 convolution with dilation 2 (a "
               "dotted blur: the domain S). The student gets 1,000 clean clothes; phi applies the same convolution.",
    "vae": "The teacher learned digits (the domain S: MNIST). The student gets 1,000 labelled clothes (the domain T: "
           "Fashion-MNIST, ten classes). phi encodes a clothing image with a VAE that has one encoder and two "
           "decoders, and decodes it as a digit: trained on pairs of the same class index, its latent plane puts "
           "T-shirts where zeros are, trousers where ones are, and so on, so the teacher's opinion of the digit is "
           "a soft label for the clothing item. Measured here (docs: Distillation): through this 2D VAE the digit "
           "teacher names 71.2% of the test clothes, less than the 81.3% a strong student reaches alone, so it "
           "cannot lift the student: the talk's result does not reproduce here.",
    "generated": "The dual VAE turned every Fashion-MNIST image into a digit: "
                 "GeneratedMNIST, 60,000 + 10,000 digits carrying the clothes' labels. The teacher learned its Big "
                 "59,000; the student gets 1,000 clothes, and phi is the same translation, clothes to digits. Measured here (docs: Distillation): through phi this "
                 "teacher names 74.4% of the test clothes, less than the 81.3% a strong student reaches alone, and the "
                 "teacher does not lift it: with this 2D VAE the talk's result does not reproduce.",
    "noise-digits": "The noise experiment on digits (an extra): the teacher learned 59,000 digits with strong "
                    "Gaussian noise; the student gets 1,000 clean digits; phi adds the noise.",
    "dilated-digits": "The dilated-convolution experiment on digits (an extra): the teacher learned 59,000 digits "
                      "through the dilated convolution; the student gets 1,000 clean digits; phi applies it.",
}
LIVE = ("queued", "running", "paused")
SWEEP = (0.0, 0.25, 0.5, 0.75, 1.0)
SHOWN_DIGITS = 10


def _loaded_or_none(path, load):
    """load(path), or None when the file is missing or not a valid checkpoint (the page says what to do)."""
    if not path.is_file():
        return None
    try:
        return load(path)
    except CheckpointError:
        return None


def teacher_or_none(setting: str) -> Checkpoint | None:
    """The shipped teacher of `setting` (cached), or None when it is missing or broken."""
    return _loaded_or_none(teacher_path(setting), lambda path: load_model(str(path)))


def comparison_dataset() -> str:
    """Full MNIST (Test 10,000) when it is on this machine and this is not the hosted demo; else the embedded
    digits (Small 1,000 of their 4,000, Test 1,000)."""
    return "mnist" if not demo_mode() and "mnist" in available_datasets() else "mnist5k"


@st.cache_data(show_spinner=False, max_entries=4)
def _shown_digits(judge_path: str | None) -> tuple[torch.Tensor, list[int]]:
    """One typical test digit per class: the first that the strong classifier (when there is one) calls right
    with probability at least 0.9 (the embedded set's first 2 looks like a 9, and phi is easier to see on a
    clear digit)."""
    test = load_dataset("mnist5k", "test")
    sure = torch.ones(len(test), dtype=torch.bool)
    if judge_path is not None:
        with torch.no_grad():
            probs = torch.softmax(load_model(judge_path).model(test.images), dim=1)
        sure = (probs.argmax(1) == test.labels) & (probs.max(1).values >= 0.9)
    picks = [int(((test.labels == c) & sure).nonzero()[0]) for c in range(SHOWN_DIGITS)]
    return test.images[picks], test.labels[picks].tolist()


@st.cache_data(show_spinner=False, max_entries=2)
def _shown_clothes() -> tuple[torch.Tensor, list[int], tuple[str, ...]]:
    """The first test image of each Fashion-MNIST class."""
    _, test, _ = fashion_sets()
    picks = [int((test.labels == c).nonzero()[0]) for c in range(10)]
    return test.images[picks], test.labels[picks].tolist(), test.class_names


@st.cache_resource(show_spinner="Loading the dual-decoder VAE...", max_entries=2)
def _dual_vae(stamp: tuple):
    return load_dual_vae()


def dual_vae_or_none():
    """The shipped dual-decoder VAE (cached per file version), or None when it is missing or broken."""
    return _loaded_or_none(dual_vae_path(), lambda path: _dual_vae(file_stamp(path)))


def teacher_classes(setting: str) -> tuple[str, ...]:
    """The names of the teacher's ten outputs: clothes for the teachers that learned clothes' labels (plain,
    noise, dilated, generated), digits for the digit teachers."""
    return FASHION_NAMES if setting_of(setting).source in ("fashion", "generated") else DIGIT_NAMES


def phi_at_work(setting: str, teacher: Checkpoint, temperature: float) -> None:
    """Test images of T beside phi of them (what the teacher sees), and the teacher's soft labels on one."""
    spec = setting_of(setting)
    if spec.target == "fashion":
        images, labels, names = _shown_clothes()
        phi = dual_vae_or_none() if spec.phi == "vae" else teacher_map(teacher)
        what = "clothes of the student's domain T (the first test image of each class)"
    else:
        judge = find_classifier("strong")
        images, labels = _shown_digits(str(judge) if judge else None)
        names = DIGIT_NAMES
        phi = teacher_map(teacher)
        what = "test digits of the student's domain T (a typical one per class)"
    with torch.no_grad():
        mapped = phi(images, generator=torch.Generator().manual_seed(0))
        soft = torch.softmax(teacher.model(mapped) / temperature, dim=1)
    left, right = st.columns([3, 2])
    with left:
        st.image(image_grid(torch.cat([images, mapped]), nrow=SHOWN_DIGITS, scale=3), width="stretch",
                 caption=f"Top: {what}. Bottom: phi of them, in the teacher's domain S.", output_format="PNG")
    with right:
        index = st.select_slider("Test image", list(range(SHOWN_DIGITS)), key="distill.digit",
                                 format_func=lambda i: names[labels[i]] if spec.target == "fashion" else f"the {labels[i]}")
        outputs = teacher_classes(setting)
        st.markdown(f"**The teacher's soft labels** on phi of the test {names[labels[index]]}"
                    + (f" (class {labels[index]})" if spec.target == "fashion" else "")
                    + f", at temperature {temperature:g}")
        st.html(probability_bars([float(p) for p in soft[index]], outputs))
        st.caption("These probabilities are the student's second target: at a higher temperature they are flatter "
                   "and say more about which classes look alike."
                   + (" This teacher names digits: digit k stands for clothing class k." if outputs is DIGIT_NAMES
                      and spec.target == "fashion" else ""))


@st.cache_data(show_spinner="Encoding digits and clothes...", max_entries=2)
def _vae_views(stamp: tuple) -> dict:
    """GeneratedMNIST (phi of ten Small clothes per class) and both domains' test images in the latent plane."""
    phi = _dual_vae(stamp)
    small, test, _ = fashion_sets()
    per_class = torch.cat([(small.labels == c).nonzero().flatten()[:10] for c in range(10)])
    digits = load_dataset("mnist5k", "test")
    with torch.no_grad():
        generated = phi(small.images[per_class])
        digits_xy = phi.vae.encode(digits.images).numpy()
        clothes_xy = phi.vae.encode(test.images).numpy()
    axes = ("z1", "z2")
    if digits_xy.shape[1] > 2:   # a larger latent: its plane of largest spread (PCA of both domains' codes)
        digits_xy, clothes_xy = plane_of_largest_spread(digits_xy, clothes_xy)
        axes = ("principal axis 1", "principal axis 2")
    return {"clothes": small.images[per_class], "generated": generated, "digits_xy": digits_xy,
            "digit_labels": digits.labels.numpy(), "clothes_xy": clothes_xy, "clothes_labels": test.labels.numpy(),
            "names": test.class_names, "axes": axes, "latent_dim": int(phi.vae.latent_dim)}


def plane_of_largest_spread(*codes: np.ndarray) -> tuple[np.ndarray, ...]:
    """Codes of several sets projected onto the two principal axes of all of them together."""
    stacked = np.concatenate(codes).astype(np.float64)
    mean = stacked.mean(0)
    _, _, vt = np.linalg.svd(stacked - mean, full_matrices=False)
    return tuple(((c - mean) @ vt[:2].T).astype(np.float32) for c in codes)


def vae_views() -> None:
    """The vae setting's own views: GeneratedMNIST beside the Small clothes, and the shared latent plane."""
    views = _vae_views(file_stamp(dual_vae_path()))
    left, right = st.columns(2)
    left.image(image_grid(views["clothes"], nrow=10, scale=2), width="stretch", output_format="PNG",
               caption="Fashion-MNIST Small: ten clothes of each class, one class per row (0 T-shirt/top ... 9 Ankle boot)")
    right.image(image_grid(views["generated"], nrow=10, scale=2), width="stretch", output_format="PNG",
                caption="GeneratedMNIST: phi of the same clothes, the digits the dual VAE makes of them")
    st.plotly_chart(two_domain_scatter(views["digits_xy"], views["digit_labels"], views["clothes_xy"],
                                       views["clothes_labels"], views["names"], views["axes"]), width="stretch",
                    key="distill.plane")
    size = views["latent_dim"]
    st.caption("1,000 test digits and 1,000 test clothes encoded by the one encoder: where a class of clothes falls, "
               "the digit of the same class index lies too, which is what lets the digit teacher label clothes."
               + (f" This VAE's latent has {size} dimensions (the talk's had 2, which through phi named fewer test "
                  "clothes than the student learns alone): the plane shown is the one of largest spread of both "
                  "domains' codes." if size > 2 else ""))


def start_comparison(setting: str, sweep: bool = False) -> None:
    """The Start buttons: one comparison job with the form's values (session state), or (`sweep`) one per
    lambda of SWEEP started together as one group; owned by this visitor."""
    temperature, epochs, student = ss["distill.temperature"], int(ss["distill.epochs"]), ss["distill.student"]
    stamp = datetime.now(timezone.utc)
    name = f"distill_{setting}_{stamp:%H%M%S}_{stamp.microsecond // 1000:03d}"
    lambdas = SWEEP if sweep else (ss["distill.lambda"],)
    specs = [JobSpec(f"{name}_l{round(lam * 100):03d}" if sweep else name,
                     {"kind": "classifier", "epochs": epochs, "dataset": comparison_dataset()}, {},
                     group=f"sweep_{name}" if sweep else "", owner=visitor_id(),
                     distill={"setting": setting, "lambda": float(lam), "temperature": float(temperature),
                              "student": student, "seed": 0})
             for lam in lambdas]
    try:
        jobs = job_store().submit_many(specs)
    except ValueError as err:
        ss["distill.error"] = str(err)
        return
    ss["distill.error"] = None
    ss["distill.job"] = jobs[-1].id if sweep else jobs[0].id


def sweep_view(group: str) -> None:
    """The lambda sweep a comparison belongs to: every finished point's last test accuracy against lambda."""
    jobs = [j for j in job_store().jobs() if j.task == "distill" and j.spec.get("group") == group]
    points = sorted((j.spec["distill"]["lambda"], j.distill_result()) for j in jobs)
    points = [(lam, r) for lam, r in points if r.get("epochs")]
    if not points:
        return
    st.markdown(f"**The lambda sweep** ({len(points)} of {len(jobs)} comparisons with results; each at its last "
                "finished epoch)")
    st.plotly_chart(sweep_figure([lam for lam, _ in points], [r["with_teacher"][-1]["accuracy"] for _, r in points],
                                 [r["alone"][-1]["accuracy"] for _, r in points], [r["epochs"][-1] for _, r in points]),
                    width="stretch", key="distill.sweep")


def _stop(job_id: str) -> None:
    try:
        job_store().command(job_id, "stop", visitor_id())
    except ValueError as err:
        ss["distill.error"] = str(err)


def comparison_view(job_id: str, drawn_state: str) -> None:
    """One comparison: progress, both students' curves, and the result (polled while it runs)."""
    store = job_store()
    job = store.get(job_id)
    if job is None:
        st.warning("This comparison no longer exists.")
        return
    if job.state != drawn_state:
        st.rerun(scope="app")
    spec, result = job.spec["distill"], job.distill_result()
    epochs = job.train_config.epochs
    done = len(result.get("epochs", []))
    st.markdown(f"**{SETTING_LABELS.get(spec['setting'], spec['setting'])}**: lambda {spec['lambda']:g}, "
                f"temperature {spec['temperature']:g}, {spec['student']} students, {epochs} epochs"
                + (f", Small {result['small']:,} / Test {result['test']:,} ({result['dataset']})" if result else ""))
    if job.state == "queued":
        st.info(f"Waiting in the queue: position {store.queue_position(job)}.", icon=":material/hourglass_top:")
    elif job.state == "failed":
        st.error(f"The comparison failed: {job.status.get('error')}")
    elif job.state == "interrupted":
        st.warning("The comparison was interrupted (its worker ended, e.g. the server restarted). Start it again.")
    else:
        status = job.status
        steps, step = status.get("steps") or 1, status.get("step") or 0
        fraction = min(1.0, (done + (step / steps if job.state == "running" else 0)) / max(1, epochs))
        st.progress(fraction, text=f"Epoch {done}/{epochs}" + (" · training the students" if job.state == "running"
                                                                else f" · {job.state}"))
    if job.state in LIVE and job.commandable_by(visitor_id()):
        st.button("Stop", key="distill.stop", on_click=_stop, args=(job.id,), icon=":material/stop:")
    if result.get("epochs"):
        left, right = st.columns(2)
        left.plotly_chart(distill_figure(result, "accuracy"), width="stretch", key="distill.accuracy")
        right.plotly_chart(distill_figure(result, "cross_entropy"), width="stretch", key="distill.ce")
        with_teacher, alone = result["with_teacher"][-1], result["alone"][-1]
        gain = with_teacher["accuracy"] - alone["accuracy"]
        rows = [("with the teacher", with_teacher), *((f"with the {name}", figures[-1])
                                                        for name, figures in (result.get("others") or {}).items()
                                                        if figures), ("alone (lambda = 0)", alone)]
        st.dataframe([{"student": name, "test accuracy": f"{figures['accuracy']:.2%}",
                       "test cross-entropy": f"{figures['cross_entropy']:.3f}"} for name, figures in rows],
                     hide_index=True)
        verdict = "ahead of" if gain > 0 else "behind" if gain < 0 else "level with"
        st.caption(f"After epoch {result['epochs'][-1]}: the student with the teacher is {abs(gain):.2%} {verdict} "
                   "the student alone (one seed; the docs give the mean and spread over three).")
    if job.spec.get("group"):
        sweep_view(job.spec["group"])


def comparisons_view() -> None:
    """The comparisons started here (this visitor's first), one followed live."""
    store = job_store()
    jobs = [j for j in store.jobs() if j.task == "distill"][::-1]
    if not jobs:
        st.info("No comparison yet: start one above.")
        return
    me = visitor_id()
    jobs.sort(key=lambda j: j.owner != me)          # stable: this visitor's newest first
    ids = [j.id for j in jobs]
    if ss.get("distill.job") not in ids:
        ss["distill.job"] = ids[0]
    by_id = {j.id: j for j in jobs}
    st.selectbox("Comparison", ids, key="distill.job",
                 format_func=lambda i: f"{by_id[i].name} — {by_id[i].state}"
                                       + (" · yours" if by_id[i].owner == me else ""))
    state = by_id[ss["distill.job"]].state
    st.fragment(comparison_view, run_every=1.0 if state in LIVE else None)(ss["distill.job"], state)


def epoch_limit() -> int:
    return DEMO_LIMITS["epochs"] if demo_mode() else 100


def teacher_caption(setting: str, metrics: dict) -> None:
    """What the shipped teacher knows, from the figures its checkpoint records (measured on the 10,000 test
    images when it was trained): in its own domain S, on T as it is, and through phi (what the student hears)."""
    spec = setting_of(setting)
    parts = []
    if isinstance(metrics.get("s_test_accuracy"), float):
        parts.append(f"{metrics['s_test_accuracy']:.1%} of the test images of its domain S")
    if isinstance(metrics.get("t_test_accuracy"), float) and spec.source != spec.target:
        parts.append(f"{metrics['t_test_accuracy']:.1%} of the student's test images as they are (no phi)")
    if isinstance(metrics.get("t_test_via_phi_accuracy"), float):
        parts.append(f"**{metrics['t_test_via_phi_accuracy']:.1%} of the student's test images through phi** "
                     "(what the student hears)")
    if parts:
        data = {"fashion": "Fashion-MNIST Big", "digits": "MNIST Big", "generated": "GeneratedMNIST Big"}[spec.source]
        through = "phi of " if spec.phi in ("noise", "dilated") else ""
        st.caption(f"The teacher (the strong classifier's architecture, trained on {through}{data}) names "
                   + "; ".join(parts) + ".")
