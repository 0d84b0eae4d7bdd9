"""Typed numbers from forms: what a visitor typed is parsed and checked here, never silently replaced.

A number field that refuses a value in the browser (Streamlit's number input keeps its previous value when
the typed one is out of bounds) lets a form run a value the screen does not show. GenLab's forms take the
text as typed and call `parse_number`, which returns the value or says, in words, why it cannot be used.
"""
from __future__ import annotations

import math

MAX_TEXT = 40   # characters of a typed number that are read


def format_number(value: float | int, integer: bool = False) -> str:
    """How a form shows a number it filled in itself (a preset, a default)."""
    if integer:
        return str(int(value))
    return f"{float(value):.6g}"


def parse_number(text: str, lo: float, hi: float, integer: bool = False, name: str = "value") -> float | int:
    """The number in `text`, within [lo, hi].

    Raises:
        ValueError: with a sentence that names the field, what was typed and the allowed range.
    """
    shown = str(text).strip()
    if len(shown) > MAX_TEXT:
        raise ValueError(f"{name}: a number of at most {MAX_TEXT} characters, please")
    span = f"between {_show(lo, integer)} and {_show(hi, integer)}"
    if not shown:
        raise ValueError(f"{name} is empty: type a {'whole ' if integer else ''}number {span}")
    try:
        value = float(shown.replace("_", "").replace(",", ""))
    except ValueError:
        raise ValueError(f"{name}: {shown!r} is not a number; type one {span}") from None
    if not math.isfinite(value):
        raise ValueError(f"{name}: {shown!r} is not a finite number; type one {span}")
    if integer and value != int(value):
        raise ValueError(f"{name}: {shown!r} is not a whole number; type one {span}")
    if not lo <= value <= hi:
        raise ValueError(f"{name}: {_show(value, integer)} is {'below' if value < lo else 'above'} the limit; "
                         f"type a number {span}")
    return int(value) if integer else value


def _show(value: float, integer: bool) -> str:
    if integer or float(value).is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    return f"{value:g}"
