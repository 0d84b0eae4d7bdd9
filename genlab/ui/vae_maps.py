"""The VAE Lab's maps view: an autoencoder and a VAE side by side on the same test digits (SEEDS.md C); the tab
picks its own pair (ae_2d and vae_2d by default: the same latent size).

Per model: the encoded test digits as a scatter coloured by label (the VAE's optionally through the normal
CDF, with samples from N(0, I)), how much of the map is empty and how unequal the class areas are, and the
decoded grid over the same box. Below: reconstructions of chosen digits, and the VAE's latent dimensions
against N(0, 1).
"""
from __future__ import annotations

import numpy as np
import streamlit as st
import torch

from ..checkpoints import Checkpoint
from ..data import load_dataset
from ..images import image_grid
from ..latent.encoded import (EncodedSet, Plane, decoded_grid, from_p_values, kl_per_dimension, occupancy, p_values,
                              reconstruct, view_plane)
from ..latent.space import code_box
from ..plots import latent_histograms_figure, latent_scatter_figure
from .loaders import load_model
from .widgets import load_or_stop, model_picker
from .vae_lab import Lab, codes, digit_code, first_of_class, keep, kept, stamp_of

ss = st.session_state
SAMPLES = 300                        # points drawn from N(0, I)


@st.cache_data(max_entries=32, show_spinner="Decoding the grid...")
def _grid(path: str, stamp: tuple, n: int, through_cdf: bool) -> torch.Tensor:
    ckpt = load_model(path)
    test = codes(ckpt)
    plane = view_plane(test)
    if through_cdf:
        values = from_p_values((np.arange(n) + 0.5) / n)
        return decoded_grid(ckpt.model, plane, values, values)
    (x0, x1), (y0, y1) = code_box(plane.project(test.mu))
    return decoded_grid(ckpt.model, plane, np.linspace(x0, x1, n), np.linspace(y0, y1, n))


def _where(test: EncodedSet, plane: Plane, through_cdf: bool):
    """The points to draw, their box and axis names: codes (or their p-values) in the view plane."""
    if through_cdf:
        return p_values(test.mu), ((0.0, 1.0), (0.0, 1.0)), ("p(z1)", "p(z2)")
    xy = plane.project(test.mu)
    return xy, tuple(code_box(xy)), plane.names


def model_column(lab: Lab, ckpt: Checkpoint, through_cdf: bool, samples: bool, n: int, axes=None) -> None:
    """One model's scatter, its gaps and class areas, and its decoded grid; `axes` ((x_lo, x_hi), (y_lo, y_hi))
    draws the scatter over a common range (both models' codes on the same scale)."""
    test = codes(ckpt)
    plane = view_plane(test)
    xy, box, axis_names = _where(test, plane, through_cdf)
    d = ckpt.model.latent_dim
    kind = "VAE" if getattr(ckpt.model, "variational", False) else "Autoencoder"
    how = ("through the normal CDF" if through_cdf else "codes") if d == 2 else f"2D PCA projection of the {d}D codes"
    st.markdown(f"#### {kind}: {ckpt.path.name}  \n<small>{how}</small>", unsafe_allow_html=True)
    filled = occupancy(xy, test.labels, box)
    areas = filled.class_areas
    small, large = int(areas.argmin()), int(areas.argmax())
    cols = st.columns(2)
    cols[0].metric("Empty cells", f"{filled.empty:.0%}", help="Of the 20 x 20 cells of the box below, the share "
                   "holding no encoded test digit: gaps, where the decoder was never shown a digit.")
    cols[1].metric("Class areas", f"{areas[small]:.0%} – {areas[large]:.0%}",
                   help=f"Each class' share of the occupied cells (where it has the most digits): from "
                        f"{lab.class_names[small]} (smallest) to {lab.class_names[large]} (largest); 10% each when even.")
    drawn = None
    if samples and kind == "VAE":
        drawn = np.random.default_rng(0).standard_normal((SAMPLES, d))
        drawn = p_values(drawn) if through_cdf else plane.project(drawn)
    marks = []
    if ss.get("vae.digit") is not None:
        z = np.asarray(digit_code(ckpt.model))
        mark = p_values(z) if through_cdf else plane.project(z)
        marks.append(dict(name="your digit", x=mark[0], y=mark[1]))
    st.plotly_chart(latent_scatter_figure(xy, test.labels, lab.class_names, axis_names, samples=drawn, marks=marks,
                                          ranges=axes or box, height=420),
                    width="stretch", key=f"vae.map.{kind}", config={"displayModeBar": False})
    grid = _grid(*stamp_of(ckpt), n, through_cdf)
    (x0, x1), (y0, y1) = box
    st.image(image_grid(grid, nrow=n, padding=0, scale=2), width="stretch", output_format="PNG",
             caption=f"Decoded at {n} x {n} points evenly spread over {axis_names[0]} from {x0:g} to {x1:g} and "
                     f"{axis_names[1]} from {y0:g} to {y1:g}" + (" (p-values)" if through_cdf else "") + ".")


def _picker(key: str, kind: str, label: str, preferred: str, slot, empty: str):
    """A model picker whose choice survives the tab being closed (see genlab.ui.vae_lab.keep)."""
    kept_choice = ss.setdefault("vae.kept", {}).get(key, preferred)
    row = model_picker(key, (kind,), label=label, slot=slot, preferred=kept_choice, empty=empty)
    if row is not None:
        ss["vae.kept"][key] = row["file"]
        return load_or_stop(row)
    return None


def maps_view(lab: Lab) -> None:
    """The whole tab: its own autoencoder and VAE (of the same latent size by default), side by side."""
    st.markdown("Both models squeeze each digit into a short code. The autoencoder may put codes anywhere: its cloud "
                "is lopsided, some digits get far more room than others and the gaps between them decode to shapes "
                "that are no digit. The VAE is pulled towards N(0, I): its codes form one compact cloud, and "
                "through the normal CDF (p-values) the classes take roughly equal areas.")
    pickers = st.columns(2, gap="large")
    ae = _picker("vae.maps_ae", "ae", "Autoencoder", "ae_2d.safetensors", pickers[0],
                 "No autoencoder in the models folder. Train one with `python -m train ae --out checkpoints/ae_2d`.")
    vae = _picker("vae.maps_vae", "vae", "VAE", "vae_2d.safetensors", pickers[1], "No VAE in the models folder.")
    if vae is None:
        return
    d = vae.model.latent_dim
    options = st.columns([2, 2, 2])
    cdf_key = keep("vae.cdf", True)
    through_cdf = options[0].toggle("VAE through the normal CDF (p-values)", key=cdf_key, on_change=kept(cdf_key),
                                    disabled=d != 2, help="Each VAE code z becomes Φ(z): where the codes follow "
                                    "N(0, 1) they spread evenly over [0, 1]. For a 2D VAE.") and d == 2
    samples_key = keep("vae.samples", False)
    samples = options[1].toggle("Samples from N(0, I) on the VAE's map", key=samples_key, on_change=kept(samples_key),
                                help="300 random points of the prior the VAE was pulled towards (black crosses).")
    n_key = keep("vae.grid", 12)
    n = options[2].slider("Decoded grid: points per side", 6, 20, key=n_key, on_change=kept(n_key))
    if ae is not None and ae.model.latent_dim != d:
        st.info(f"The autoencoder's latent space is {ae.model.latent_dim}D and the VAE's {d}D: the comparison is "
                "fairest at the same size (ae_2d with vae_2d).")
    axes = None
    if ae is not None and ae.model.latent_dim == d == 2 and not through_cdf:
        boxes = [code_box(codes(c).mu) for c in (ae, vae)]
        axes = tuple((min(b[k][0] for b in boxes), max(b[k][1] for b in boxes)) for k in range(2))
        st.caption("Both clouds on the same scale. Turn on the normal CDF to see the VAE's codes as p-values.")
    left, right = st.columns(2, gap="large")
    if ae is not None:
        with left:
            model_column(lab, ae, False, False, n, axes)
    with right:
        model_column(lab, vae, through_cdf, samples, n, axes)
    reconstructions_view(lab, [c for c in (ae, vae) if c is not None])
    histograms_view(vae)


def reconstructions_view(lab: Lab, models: list[Checkpoint]) -> None:
    """Chosen test digits (and the user's) with each model's reconstruction."""
    st.subheader("Reconstructions")
    test = load_dataset("mnist5k", "test")
    first_of_each = [first_of_class(c) for c in range(len(lab.class_names))]
    key = keep("vae.recon", first_of_each)
    chosen = st.multiselect("Test digits", range(len(test)), key=key, on_change=kept(key), max_selections=16,
                            format_func=lambda i: f"#{i} (a {lab.class_names[int(test.labels[i])]})")
    images = [test.images[list(chosen)]] if chosen else []
    if ss.get("vae.digit") is not None:
        images.append(ss["vae.digit"]["image"])
    if not images:
        st.info("Pick some test digits (or draw one on the first tab).")
        return
    originals = torch.cat(images)
    rows, names = [originals], ["originals"]
    for ckpt in models:
        out, errors = reconstruct(ckpt.model, originals)
        rows.append(out)
        names.append(f"{ckpt.path.stem} (MSE {errors.mean():.3f})")
    st.image(image_grid(torch.cat(rows), nrow=len(originals), scale=3), width="stretch", output_format="PNG",
             caption="Rows: " + "; ".join(names) + (". The last column is your digit." if ss.get("vae.digit") is not None
                                                   else "."))


def histograms_view(vae: Checkpoint) -> None:
    """The VAE's latent dimensions against N(0, 1), with each one's KL divergence."""
    test = codes(vae)
    st.subheader(f"The VAE's {test.latent_dim} latent dimensions against N(0, 1)")
    kl = kl_per_dimension(test.mu, test.log_var)
    unused = int((kl < 0.05).sum())
    st.plotly_chart(latent_histograms_figure(test.z, kl), width="stretch", key="vae.histograms",
                    config={"displayModeBar": False})
    st.caption("Histograms of z = mu + sigma x eps for the 1,000 test digits (the book's health check): a VAE's codes "
               "should look like the N(0, 1) curve. KL: how far q(z | x) is from N(0, 1) on average; "
               + (f"{unused} dimension{'s' if unused != 1 else ''} with KL below 0.05 carry almost nothing (the "
                  "decoder ignores them)." if unused else "every dimension carries information."))
