"""Light bar charts as HTML, for views that redraw on every drag step (a plotly chart costs the
browser tens of milliseconds per redraw; these cost almost nothing). Plain strings, no Streamlit."""
from __future__ import annotations

from html import escape

from .colors import class_color


def probability_bars(probabilities: list[float], class_names: tuple[str, ...], height: int = 110) -> str:
    """Vertical bars, one per class in its colour, the most probable one outlined; hover shows p."""
    top = max(range(len(probabilities)), key=probabilities.__getitem__)
    bars = "".join(
        f'<div title="class {escape(name)}: p = {p:.3f}" style="flex:1;display:flex;flex-direction:column;'
        f'justify-content:flex-end;align-items:center;height:{height + 18}px">'
        f'<div style="width:70%;height:{max(1, round(p * height))}px;background:{class_color(i)};'
        f'{"outline:2px solid #111;" if i == top else ""}border-radius:2px 2px 0 0"></div>'
        f'<div style="font-size:12px;line-height:18px">{escape(name)}</div></div>'
        for i, (name, p) in enumerate(zip(class_names, probabilities)))
    return (f'<div style="font-weight:600;font-size:14px">Class probabilities</div>'
            f'<div style="display:flex;gap:2px;border-bottom:1px solid #ccc" aria-label="class probabilities">{bars}</div>')


def layer_bars(layer_means: dict[str, float], selected: str | None = None) -> str:
    """"Activations for each layer (average values)": one row per layer in forward order, a bar from
    zero (left for negative, right for positive) and the value; the selected layer highlighted."""
    largest = max((abs(v) for v in layer_means.values()), default=1.0) or 1.0
    rows = []
    for name, value in layer_means.items():
        short = name.split(".", 1)[-1].removeprefix("layers.")
        width = abs(value) / largest * 50
        left = 50 - width if value < 0 else 50
        colour = "#e76300" if name == selected else "#3f90da"
        rows.append(
            f'<div style="display:flex;align-items:center;gap:6px;font-size:12px;line-height:17px" title="{escape(name)}: '
            f'mean {value:.4f}"><span style="width:34%;text-align:right;overflow:hidden;white-space:nowrap;'
            f'{"font-weight:700;" if name == selected else ""}">{escape(short)}</span>'
            f'<span style="position:relative;flex:1;height:12px;background:linear-gradient(90deg,transparent calc(50% - 1px),'
            f'#999 calc(50% - 1px),#999 50%,transparent 50%)"><span style="position:absolute;left:{left:.1f}%;'
            f'width:{max(width, 0.4):.1f}%;top:1px;bottom:1px;background:{colour};border-radius:2px"></span></span>'
            f'<span style="width:4.2em;text-align:right;font-variant-numeric:tabular-nums">{value:+.3f}</span></div>')
    return ('<div style="font-weight:600;font-size:14px">Activations for each layer (average values)</div>'
            + "".join(rows))


def class_legend(class_names: tuple[str, ...]) -> str:
    """One colour chip per class, as the class-area maps colour them."""
    chips = "".join(f'<span style="display:inline-flex;align-items:center;gap:3px;margin-right:8px">'
                    f'<span style="width:11px;height:11px;border-radius:2px;background:{class_color(i)}"></span>'
                    f'{escape(name)}</span>' for i, name in enumerate(class_names))
    return f'<div style="font-size:12px;line-height:18px" aria-label="class colours">{chips}</div>'
