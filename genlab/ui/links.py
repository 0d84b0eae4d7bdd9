"""Shareable links: every page keeps its view in the URL's query parameters, so a teacher can send it.

A page reads its link once per session (`read_link`), checks every value (a bad one gets a message on the
page and a sensible default, never an exception), and writes its current view back at the end of each run
(`write_link`). `page_title` draws the page's title with a "Copy link" button beside it.
"""
from __future__ import annotations

import math

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

MAX_VALUE = 1000          # characters of one link value that are read; a longer value is refused with a message
LINK_LIMIT = 8000         # characters of all the values a page writes into its link (nginx's default buffer: 8 KB)
ss = st.session_state

COPY_HTML = """<div class="genlab-copy"><button type="button" title="Copy a link to this view">
<svg class="icon" viewBox="0 0 24 24" width="16" height="16" aria-hidden="true"><path fill="currentColor"
d="M3.9 12a3.1 3.1 0 0 1 3.1-3.1h4V7H7a5 5 0 0 0 0 10h4v-1.9H7A3.1 3.1 0 0 1 3.9 12zM8 13h8v-2H8v2zm9-6h-4v1.9h4a3.1
3.1 0 0 1 0 6.2h-4V17h4a5 5 0 0 0 0-10z"/></svg><span class="label">Copy link</span></button>
<input class="fallback" readonly aria-label="Link to this view"></div>"""
COPY_CSS = """
.genlab-copy { display: flex; justify-content: flex-end; align-items: center; gap: 6px; }
.genlab-copy button { font: inherit; font-size: 14px; padding: 4px 12px; border-radius: 8px; cursor: pointer;
  border: 1px solid var(--st-border-color, rgba(49, 51, 63, 0.2)); background: var(--st-background-color, #fff);
  color: var(--st-text-color, #31333f); white-space: nowrap; display: inline-flex; align-items: center; gap: 6px; }
.genlab-copy button:hover { border-color: var(--st-primary-color, #ff4b4b); color: var(--st-primary-color, #ff4b4b); }
.genlab-copy .fallback { display: none; width: 100%; font-size: 12px; }
"""
# navigator.clipboard needs a secure context (https or localhost); on a plain-http host the link is copied
# with a selected text field instead, and left visible if even that is refused.
COPY_JS = """
export default function (component) {
  const root = component.parentElement;
  const button = root.querySelector("button"), label = root.querySelector(".label");
  const field = root.querySelector(".fallback");
  if (button.dataset.ready) return;
  button.dataset.ready = "1";
  const done = (text) => { label.textContent = text; setTimeout(() => { label.textContent = "Copy link"; }, 2000); };
  const fallback = (url) => {
    field.value = url; field.style.display = "block"; field.focus(); field.select();
    let ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    if (ok) { field.style.display = "none"; done("Copied"); } else { done("Copy it from the field"); }
  };
  button.addEventListener("click", () => {
    const url = window.location.href;
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(url).then(() => done("Copied"), () => fallback(url));
    } else {
      fallback(url);
    }
  });
}
"""
_COPY = st.components.v2.component("genlab.copy_link", html=COPY_HTML, css=COPY_CSS, js=COPY_JS)


def page_title(title: str) -> None:
    """The page's title, and a "Copy link" button on its right (the link holds the page's current view)."""
    left, right = st.columns([5, 1], vertical_alignment="center")
    left.title(title)
    with right:
        _COPY(key="genlab.copy_link")


def read_link(page: str, keys: tuple[str, ...]) -> dict:
    """The link's values for `keys`, read once per session (a later run gets what is left of them: a page
    pops each value when it has used it). Values are strings, cut to MAX_VALUE characters."""
    if f"{page}.link" not in ss:
        values, messages = {}, []
        for k in keys:
            if k in st.query_params:
                value = str(st.query_params[k])
                if len(value) > MAX_VALUE:
                    messages.append(f"The link's {k} is {len(value):,} characters long, more than the "
                                    f"{MAX_VALUE:,} a link may carry; using the default.")
                else:
                    values[k] = value
        ss[f"{page}.link"], ss[f"{page}.link_messages"] = values, messages
    return ss[f"{page}.link"]


def link_messages(page: str) -> list[str]:
    """What was wrong with the page's link (shown by `show_link_messages`)."""
    return ss.setdefault(f"{page}.link_messages", [])


def show_link_messages(page: str) -> None:
    """Show what was wrong with the link, once: the next rerun (the visitor's first change) clears it."""
    for message in link_messages(page):
        st.warning(message)
    link_messages(page).clear()


def link_choice(page: str, value: str | None, options: dict, what: str):
    """The option a link names (`options`: link text -> value), or None (and a message) when it names none."""
    if value is None:
        return None
    if value in options:
        return options[value]
    if not options:   # e.g. a label for a model without labels, an axis of a 2D model
        link_messages(page).append(f"The link's {what} {value[:40]!r} does not apply to this model (it has no "
                                   f"{what}); ignored.")
        return None
    shown = ", ".join(list(options)[:12])
    link_messages(page).append(f"The link's {what} {value[:40]!r} is not one of {shown}; using the default.")
    return None


def link_number(page: str, value: str | None, low: float, high: float, what: str, integer: bool = False):
    """The number a link gives, clamped to [low, high] (with a message), or None when it is not a number."""
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        number = math.nan
    if not math.isfinite(number) or (integer and number != int(number)):
        kind = "a whole number" if integer else "a number"
        link_messages(page).append(f"The link's {what} {value[:20]!r} is not {kind}; using the default.")
        return None
    clamped = min(max(number, low), high)
    if clamped != number:
        link_messages(page).append(f"The link's {what} {number:g} is outside {low:g} to {high:g}; using {clamped:g}.")
    return int(clamped) if integer else clamped


def link_flag(page: str, value: str | None, what: str) -> bool | None:
    return link_choice(page, value, {"1": True, "0": False, "on": True, "off": False}, what)


def link_values(params: dict) -> tuple[dict, list[str]]:
    """(the values a link can carry, the names left out): values as strings, None left out; a value over
    MAX_VALUE characters (a link could not give it back), and then the longest values while all of them
    together pass LINK_LIMIT, are left out."""
    values = {k: str(v) for k, v in params.items() if v is not None}
    dropped = [k for k, v in values.items() if len(v) > MAX_VALUE]
    for k in dropped:
        del values[k]
    while values and sum(len(k) + len(v) + 2 for k, v in values.items()) > LINK_LIMIT:
        longest = max(values, key=lambda k: len(values[k]))
        dropped.append(longest)
        del values[longest]
    return values, dropped


def write_link(params: dict) -> None:
    """Put the page's current view in the URL (values as strings; None values are left out); what is too
    long for a link is left out, and the page says so under its content."""
    values, dropped = link_values(params)
    st.query_params.from_dict(values)
    if dropped:
        st.caption(f"The link leaves out {', '.join(dropped)}: too long for a link (at most {MAX_VALUE:,} "
                   f"characters a value, {LINK_LIMIT:,} in all). Copy link gives the rest of this view.")


def page_follows(page: str, state) -> None:
    """Call inside a fragment with the state it just drew (e.g. a morph's endpoints): when a rerun of the fragment
    alone changed it, the whole page reruns once, so that what lies outside the fragment (the link, downloads,
    other views) shows the same state. A whole-page run just records it."""
    ctx = get_script_run_ctx()   # its fragment_ids_this_run is set only on a fragment's own rerun
    fragment_only = bool(ctx is not None and ctx.fragment_ids_this_run)
    key = f"{page}.page_state"
    if not fragment_only:
        ss[key] = state
    elif ss.get(key) != state:
        ss[key] = state
        st.rerun(scope="app")


def point_text(point) -> str:
    return ",".join(f"{float(v):.3f}" for v in point)


def model_mismatch(wanted: str | None, shown: str, what: str = "") -> str | None:
    """The message when a link asks for a model the picker could not show (None when it shows it): `what` names
    the kind the page takes ("a VAE"), else any model of the page's kinds."""
    if not wanted or wanted == shown:
        return None
    kind = f"{what} " if what else ""
    return (f"The link asks for model {wanted[:60]!r}, which is not {kind}in the models folder; "
            f"showing {shown} instead.")
