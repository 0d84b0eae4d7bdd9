"""Activation functions side by side (issue 16.2): models that differ only in their generator's activation
(the thesis' experiment: ReLU, LeakyReLU, PReLU, ELU), the same latent point through each of them (image, class,
one layer's feature maps, a row per model), and the experiment's scores (a table, and the score per epoch per
activation). The sets come from the shipped `checkpoints/activations/` (train/activation_experiment.py) and
from the models folders (the Train page's activation experiment publishes four models)."""
from __future__ import annotations

import base64
import json

import streamlit as st

from ..catalog import checkpoint_folder, list_models
from ..checkpoints import CheckpointError
from ..images import feature_map_grid
from ..inspect import named_layers
from ..latent.point import explore_point
from ..plots import activation_scores_figure
from ..training.presets import ACTIVATION_LABELS, PRESETS
from .explorer import image_html, png_bytes
from .loaders import load_model

LABELS = ACTIVATION_LABELS
ORDER = PRESETS["activations"].activations          # the thesis' order
SHIPPED_SET = "activations"


def activation_sets() -> dict[str, list[dict]]:
    """{title: the rows of its models}: every group of at least two GANs (or conditional
    GANs) that share kind, dataset, epochs and configuration but their activation (in the thesis' order)."""
    rows = list_models(checkpoint_folder() / SHIPPED_SET)[0] if (checkpoint_folder() / SHIPPED_SET).is_dir() else []
    rows = [dict(r, source="shipped set") for r in rows] + list_models()[0]
    groups: dict[tuple, dict[str, dict]] = {}
    for row in rows:
        cfg = row.get("config", {})
        if row["kind"] not in ("gan", "cgan") or cfg.get("activation") not in ORDER:
            continue
        rest = json.dumps({k: v for k, v in cfg.items() if k != "activation"}, sort_keys=True)
        key = (row["source"] == "shipped set", row["kind"], row["dataset"], row["epochs"], rest)
        groups.setdefault(key, {}).setdefault(cfg["activation"], row)
    sets = {}
    for (shipped, _, dataset, epochs, _), by_activation in sorted(groups.items(), key=lambda g: not g[0][0]):
        if len(by_activation) < 2:
            continue
        first = next(iter(by_activation.values()))
        title = (f"{'shipped: ' if shipped else ''}{first['model']}, {dataset}, {epochs} epoch{'s' * (epochs != 1)}: "
                 + ", ".join(LABELS[a] for a in ORDER if a in by_activation))
        sets[title] = [by_activation[a] for a in ORDER if a in by_activation]
    return sets


def activations_view(key: str, point: list[float], classifier, class_names: tuple[str, ...]) -> None:
    """The toggle and, when on, the side-by-side view at `point` (the explorer's point when it fits)."""
    if not st.toggle("Activation functions side by side", key=f"{key}-activations",
                     help="The thesis trained the same GAN with ReLU, LeakyReLU, PReLU and ELU. See one latent point "
                          "through each of them."):
        return
    sets = activation_sets()
    if not sets:
        st.info("No models that differ only in their activation are in the models folders. Run the Train page's "
                "preset \"Activation-function experiment (4 GANs)\", or `python train/activation_experiment.py`.")
        return
    title = st.selectbox("Models that differ only in their activation", list(sets), key=f"{key}-activation-set")
    rows = sets[title]
    try:
        models = [load_model(r["path"]) for r in rows]
    except CheckpointError as err:
        st.error(f"A model of this set cannot be loaded: {err}")
        return
    d = models[0].model.latent_dim
    z = list(point) if len(point) == d else [0.0] * d
    if len(point) != d:
        st.caption(f"These models have a {d}D latent space, the explorer's point has {len(point)} coordinates: "
                   f"shown at the origin.")
    layers = [n for n in named_layers(models[0].model, "generator") if ".act" in n] or \
        named_layers(models[0].model, "generator")
    layer = st.selectbox("Feature maps of layer", layers, index=min(1, len(layers) - 1), key=f"{key}-activation-layer",
                         format_func=lambda n: n.split(".")[-1])
    label = 0 if models[0].model.conditional else None
    st.caption(f"The point ({', '.join(f'{v:.2f}' for v in z)}) through each model"
               + (" (label 0)" if label is not None else "") + "; each layer's maps are scaled on their own.")
    for row, ckpt in zip(rows, models):
        view = explore_point(ckpt.model, z, classifier.model if classifier else None, label=label)
        name, picture, maps = st.columns([2, 2, 5], vertical_alignment="center")
        activation = LABELS[ckpt.config["activation"]]
        seen = ""
        if view.probabilities is not None:
            seen = f"class {class_names[view.predicted]} ({view.probabilities[view.predicted]:.2f})"
        name.markdown(f"**{activation}**  \n{seen}  \n`{row['file']}`")
        picture.html(image_html(view).replace('width="280" height="280"', 'width="120" height="120"'))
        grid = base64.b64encode(png_bytes(feature_map_grid(view.activations[layer], scale=1))).decode()
        maps.html(f'<img src="data:image/png;base64,{grid}" alt="feature maps of {layer} with {activation}" '
                  'style="width:100%;image-rendering:pixelated;border-radius:4px"/>')
    scores(rows, models)


def scores(rows: list[dict], models: list) -> None:
    """The experiment's table (the strong classifier's final scores) and the score per epoch per activation."""
    table = {"activation": [], "epochs": [], "seconds per epoch": [], "FID (strong classifier)": [],
             "classes": [], "unsure share": [], "weak classifier's confidence, last epoch": []}
    histories = {}
    for row, ckpt in zip(rows, models):
        m, h = ckpt.metrics, ckpt.history
        label = LABELS[ckpt.config["activation"]]
        table["activation"].append(label)
        table["epochs"].append(ckpt.epochs)
        seconds = h.get("seconds") or []
        table["seconds per epoch"].append(f"{sum(seconds) / len(seconds):.0f}" if seconds else "")
        table["FID (strong classifier)"].append(f"{m['fid']:.0f}" if isinstance(m.get("fid"), (int, float)) else "")
        table["classes"].append(m.get("classes_covered", ""))
        table["unsure share"].append(f"{m['unsure_share']:.0%}" if isinstance(m.get("unsure_share"), float) else "")
        weak = h.get("monitor", {}).get("weak_top_probability") or []
        table["weak classifier's confidence, last epoch"].append(f"{weak[-1]:.3f}" if weak else "")
        histories[label] = h
    st.table(table)
    if any(h.get("monitor", {}).get("score_epochs") for h in histories.values()):
        st.plotly_chart(activation_scores_figure(histories), width="stretch")
