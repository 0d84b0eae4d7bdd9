"""On-page highlighting for lesson steps (driver.js, vendored under genlab/ui/vendor/driver.js), and the
presenter's keys.

`highlight(items, shown_id)` dims the page and points at the step's elements one after another, each with a
callout (its title and a sentence), once per step: it appears when the step opens and when "Show me" is pressed,
and closes with its button, Escape or a click beside it. driver.js's own keyboard control is off, so the
latent pad's arrow keys keep moving the point; the highlighted element stays usable (drag the pad under its
callout). Elements that a page draws late (a map computing) are waited for, up to 15 s.

`presenter_keys(key, present)` listens to Page Down / Page Up on the whole page (a presentation clicker sends
those) and returns them to Python as the state value "key" = {"dir": "next"|"back", "seq"}; with `present` it
also marks the page (body.genlab-present) for the presenter mode's styles.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import streamlit as st

_VENDOR = Path(__file__).resolve().parent / "vendor" / "driver.js"


def _driver_module() -> str:
    """driver.js's ES module with its export turned into a local constant `driverFactory`."""
    source = (_VENDOR / "driver.js.mjs").read_text()
    found = re.search(r"export\s*\{\s*([A-Za-z_$][\w$]*)\s+as\s+driver\s*\}\s*;?\s*$", source)
    if not found:
        raise RuntimeError("genlab/ui/vendor/driver.js/driver.js.mjs: no `export {X as driver}` at its end")
    return source[:found.start()] + f"\nconst driverFactory = {found.group(1)};\n"


HIGHLIGHT_JS = _driver_module() + """
const DRIVER_CSS = %s;
function waitFor(selectors, until) {
  return new Promise((resolve) => {
    const look = () => {
      const found = selectors.filter((s) => document.querySelector(s));
      if (found.length === selectors.length || Date.now() > until) resolve(found); else setTimeout(look, 250);
    };
    look();
  });
}
export default function (component) {
  const data = component.data || {};
  if (!document.getElementById("genlab-driver-css")) {
    const style = document.createElement("style");
    style.id = "genlab-driver-css"; style.textContent = DRIVER_CSS;
    document.head.appendChild(style);
  }
  const items = Array.isArray(data.items) ? data.items : [];
  if (window.__genlabHighlighted === data.id) return;
  window.__genlabHighlighted = data.id;
  if (window.__genlabDriver) { try { window.__genlabDriver.destroy(); } catch (e) {} window.__genlabDriver = null; }
  if (!items.length) return;                 // a step without highlights: the last step's callout is gone
  // after a moment: a step opened by switching pages redraws the page's elements once more
  new Promise((r) => setTimeout(r, 700)).then(() => waitFor(items.map((i) => i.selector), Date.now() + 15000)).then((found) => {
    if (window.__genlabHighlighted !== data.id) return;
    const steps = items.filter((i) => found.includes(i.selector)).map((i) => ({
      element: i.selector, popover: {title: i.title, description: i.text}}));
    if (!steps.length) return;
    if (window.__genlabDriver) { try { window.__genlabDriver.destroy(); } catch (e) {} }
    const d = driverFactory({steps, allowKeyboardControl: false, showProgress: steps.length > 1, animate: false,
                             overlayOpacity: 0.55, stagePadding: 6, popoverClass: "genlab-callout",
                             nextBtnText: "Next", prevBtnText: "Back", doneBtnText: "Got it"});
    window.__genlabDriver = d;
    window.__genlabHighlights = (window.__genlabHighlights || 0) + 1;
    d.drive();
  });
}
""" % json.dumps((_VENDOR / "driver.css").read_text() + """
.driver-popover.genlab-callout { max-width: 360px; font-size: 15px; }
body.genlab-present .driver-popover.genlab-callout { max-width: 520px; font-size: 22px; }
""")

_HIGHLIGHT = st.components.v2.component("genlab.highlight", html="<span></span>", js=HIGHLIGHT_JS)


def highlight(items: list[dict], shown_id: str, key: str = "lesson.highlight") -> None:
    """Point at `items` ([{"selector", "title", "text"}]) once for `shown_id` (a new id shows them again)."""
    _HIGHLIGHT(key=key, data={"items": items, "id": shown_id})


KEYS_JS = """
export default function (component) {
  const {data, setStateValue} = component;
  document.body.classList.toggle("genlab-present", !!(data && data.present));
  window.__genlabKeys = setStateValue;
  window.__genlabKeysActive = !!(data && data.active);   // only during a lesson: else Page Down scrolls as ever
  if (window.__genlabKeysBound) return;
  window.__genlabKeysBound = true;
  window.__genlabKeySeq = 0;
  document.addEventListener("keydown", (e) => {
    const dir = {PageDown: "next", PageUp: "back"}[e.key];
    const t = e.target;
    if (!dir || !window.__genlabKeysActive || (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.isContentEditable))) return;
    e.preventDefault();
    window.__genlabKeySeq += 1;
    window.__genlabKeys("key", {dir, seq: window.__genlabKeySeq});
  });
}
"""
_KEYS = st.components.v2.component("genlab.presenter_keys", html="<span></span>", js=KEYS_JS)


def presenter_keys(key: str, present: bool, on_key, active: bool = True) -> dict | None:
    """Mount the key listener; `on_key` runs (as a widget callback) when Page Down / Page Up is pressed while
    `active` (a lesson is open; otherwise the keys scroll the page as usual)."""
    result = _KEYS(key=key, data={"present": bool(present), "active": bool(active)}, default={"key": None},
                   on_key_change=on_key)
    return (result or {}).get("key") if isinstance(result, dict) else getattr(result, "key", None)
