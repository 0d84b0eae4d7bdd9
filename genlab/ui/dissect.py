"""Switch units off and on (issue 16, dissection) on the Latent Explorer and the Conditional GAN page: the
chosen layer's feature maps become clickable (genlab.ui.feature_maps), the image, the class and the
activations follow, the image with every unit on stays beside it, and "which units matter" ranks the layer's
channels for the image's class (genlab.latent.point.rank_units). The ablation is kept per page in the session
(`ablation_key`) and in the link (`off=`)."""
from __future__ import annotations

import base64

import streamlit as st

from ..images import to_pil
from ..inspect import Ablation
from ..latent.point import PointView, units_that_change_the_class
from .feature_maps import MAX_MAPS, edited, feature_maps

ss = st.session_state
MAX_RANKED = 24   # units the ranking switches off at most (it stops when the class changes)


def ablation_key(key: str) -> str:
    return f"{key}-ablation"


def dissect_key(key: str) -> str:
    return f"{key}-dissect"


def current_ablation(key: str) -> Ablation | None:
    found = ss.get(ablation_key(key))
    return found if isinstance(found, Ablation) else None


def dissecting(key: str) -> bool:
    return bool(ss.get(dissect_key(key)))


def _toggled(key: str) -> None:
    if not ss.get(dissect_key(key)):
        ss[ablation_key(key)] = None               # switching the mode off switches every unit on again


def dissect_toggle(key: str) -> bool:
    """The switch of the mode (clickable maps instead of the picture of them); returns whether it is on."""
    return st.toggle("Switch units off", key=dissect_key(key), on_change=_toggled, args=(key,),
                     help="Click the feature maps to switch channels off and watch the image and its class change.")


def link_ablation(key: str, text: str | None, layers: list[str], messages: list[str]) -> None:
    """Take the link's `off=` value (genlab.inspect.Ablation.to_text) into the page, or say why not."""
    if not text:
        return
    try:
        ablation = Ablation.from_text(text)
        if ablation.layer not in layers:
            raise ValueError(f"this model has no layer {ablation.layer[:60]!r}")
    except ValueError as err:
        messages.append(f"The link's units to switch off were not used: {err}.")
        return
    ss[ablation_key(key)], ss[dissect_key(key)] = ablation, True


def take_edit(key: str, layers: list[str]) -> None:
    """Apply the clickable maps' newest edit once (before the view is computed, so it shows at once)."""
    edit = (ss.get(f"{key}-maps") or {}).get("edit")
    if not isinstance(edit, dict) or edit.get("layer") not in layers:
        return
    try:
        seq = int(edit.get("seq", 0))
    except (TypeError, ValueError):
        return
    if seq <= int(ss.get(f"{key}-maps-seq", 0)):
        return
    ss[f"{key}-maps-seq"] = seq
    ss[ablation_key(key)] = edited(current_ablation(key), edit["layer"], edit)


def sync_link(key: str) -> None:
    """Keep the link's `off=` as the ablation is (edits rerun only the view's fragment, which does not
    write the page's link)."""
    ablation = current_ablation(key) if dissecting(key) else None
    text = ablation.to_text() if ablation is not None else None
    if st.query_params.get("off") != text:
        if text is None:
            del st.query_params["off"]
        else:
            st.query_params["off"] = text


def _reset(key: str) -> None:
    ss[ablation_key(key)] = None


def _switch_off(key: str, layer: str, units: list[int]) -> None:
    ablation = current_ablation(key)
    kept = set(ablation.zeroed) if ablation is not None and ablation.layer == layer else set()
    ss[ablation_key(key)] = Ablation(layer, tuple(sorted(kept | set(units))))


def _rank(key: str, model, z: list[float], classifier, layer: str, label: int | None) -> None:
    try:
        ss[f"{key}-ranking"] = (layer, z, label, units_that_change_the_class(model, z, classifier, layer, label=label, count=MAX_RANKED))
    except ValueError as err:
        ss[f"{key}-ranking"] = (layer, z, label, str(err))


COMPARISON_HEIGHT = 84   # px: the "every unit on" row; kept free while the mode is on, so the maps stay put


def comparison(view: PointView, class_names: tuple[str, ...], reserve: bool = False) -> None:
    """Under the image: the same point with every unit on, and what switching units off changed. With
    `reserve` (the mode on, nothing switched off yet) a line of the same height says what will appear there,
    so the first click does not push the feature maps down under the pointer."""
    if view.ablation is None or view.original_image is None:
        if reserve:
            st.html(f'<div style="height:{COMPARISON_HEIGHT}px;display:flex;align-items:center;font-size:14px;'
                    f'color:#6b6b6b">Click a feature map below to switch it off: the image with every unit on '
                    f'will stay here to compare.</div>')
        return
    from .explorer import png_bytes

    data = base64.b64encode(png_bytes(to_pil(view.original_image))).decode()
    a = view.ablation
    what = ", ".join(part for part in (f"{len(a.zeroed)} channel(s) off" if a.zeroed else "",
                                       f"{len(a.scaled)} doubled" if a.scaled else "",
                                       "a region zeroed" if a.box else "") if part)
    before = after = ""
    if view.original_probabilities is not None and view.probabilities is not None:
        o, n = view.original_predicted, view.predicted
        before = f"class {class_names[o]} ({view.original_probabilities[o]:.2f})"
        after = (f"class {class_names[n]} ({view.probabilities[n]:.2f}); "
                 f"{class_names[o]} now {view.probabilities[o]:.2f}")
    st.html(f'<div style="display:flex;gap:10px;align-items:center;font-size:14px">'
            f'<img src="data:image/png;base64,{data}" width="{COMPARISON_HEIGHT}" height="{COMPARISON_HEIGHT}" alt="the image with every unit on" '
            f'style="image-rendering:pixelated;border-radius:3px"/><div><b>Every unit on</b>: {before}<br>'
            f'<b>{a.layer.split(".")[-1]}: {what}</b>: {after}</div></div>')


def dissect_panel(view: PointView, key: str, layer: str, model, classifier, label: int | None,
                  class_names: tuple[str, ...]) -> None:
    """The clickable maps of `layer`, Reset, and the unit ranking (with a classifier)."""
    activation = view.activations[layer]
    ablation = current_ablation(key)
    feature_maps(f"{key}-maps", layer, activation, ablation, int(ss.get(f"{key}-maps-seq", 0)),
                 on_change=lambda: None)
    shown = min(activation.shape[0], MAX_MAPS) if activation.dim() == 3 else activation.numel()
    st.caption(f"{layer.split('.', 1)[-1]}: " + (f"{shown} of {activation.shape[0]} maps; " if activation.dim() == 3 else
               f"{shown} units, row by row; ") + "click a map to switch it off (again: on), shift-click to double it"
               + (", drag a box inside a map to zero that region in every map." if activation.dim() == 3 else "."))
    if ablation is not None and ablation.layer != layer:
        st.caption(f"Units of {ablation.layer.split('.', 1)[-1]} are switched off; this layer shows their effect. "
                   "A click here starts afresh on this layer.")
    cols = st.columns(2)
    cols[0].button("Reset", key=f"{key}-reset", on_click=_reset, args=(key,), disabled=ablation is None,
                   width="stretch", help="Every unit on again.")
    if classifier is None:
        return
    cols[1].button("Rank units", key=f"{key}-rank", width="stretch", on_click=_rank,
                   args=(key, model, list(view.z), classifier, layer, label),
                   help="Which units make this class? Picks, one at a time, the channel whose switching off (with "
                        "the ones picked before) lowers the class' probability most.")
    ranked = ss.get(f"{key}-ranking")
    if not (isinstance(ranked, tuple) and ranked[0] == layer and ranked[1] == list(view.z) and ranked[2] == label):
        return
    if isinstance(ranked[3], str):
        st.warning(ranked[3])
    else:
        cls, p, top = ranked[3]
        st.markdown(f"**Units of {layer.split('.')[-1]} that take the {class_names[cls]} away fastest** "
                    f"(probability {p:.2f} with every unit on). Each row switches its unit off *together with the "
                    "rows above it*; the probability and the class are the strong classifier's for that image.")
        st.table({"channel": [u for u, *_ in top],
                  f"p({class_names[cls]}) with this and the units above off": [f"{q:.2f}" for _, q, _, _ in top],
                  "class then seen": [class_names[c] for _, _, c, _ in top],
                  "pixels changed (mean, 0-1)": [f"{d:.3f}" for *_, d in top]})
        st.button(f"Switch these {len(top)} off", key=f"{key}-top-off", on_click=_switch_off,
                  args=(key, layer, [u for u, *_ in top]))
