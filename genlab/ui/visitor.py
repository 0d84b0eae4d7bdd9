"""Who is this visitor? An opaque id the browser keeps (a first-party cookie), so that a visitor owns the
training runs they start across reloads and tabs, and other visitors can watch them but not stop them.

A session starts with the id the browser sent with the page's connection (`st.context.cookies`), or, on a
first visit, a new random 128-bit one; a tiny Streamlit v2 component with no visible content stores that id
in the cookie, so the next reload or tab sends it back. The component never sends a value to Python, so it
never causes a rerun. The id is never shown to anyone, so one visitor cannot learn another's; a visitor who
clears their cookies becomes a new visitor (the queue's bound still holds).
"""
from __future__ import annotations

import re
import secrets

import streamlit as st

COOKIE = "genlab_visitor"
_ID = re.compile(r"^[0-9a-f]{32}$")
_KEY = "genlab.visitor"
JS = """
export default function (component) {
  const id = component.data && component.data.id;
  if (!/^[0-9a-f]{32}$/.test(id || "")) return;
  const has = document.cookie.split("; ").some(c => c === "%s=" + id);
  if (!has) document.cookie = "%s=" + id + "; path=/; max-age=31536000; SameSite=Lax";
}
""" % (COOKIE, COOKIE)
_COMPONENT = st.components.v2.component(_KEY, html="<span></span>", js=JS)


def visitor_id() -> str:
    """This visitor's id: the browser's cookie when it sent one, else a new one kept for the session (and
    stored in the browser by `mount`)."""
    ss = st.session_state
    if _KEY not in ss:
        try:
            sent = st.context.cookies.get(COOKIE, "")
        except Exception:   # no browser connection (AppTest, a bare script run)
            sent = ""
        ss[_KEY] = sent if isinstance(sent, str) and _ID.match(sent) else secrets.token_hex(16)
    return ss[_KEY]


def mount() -> None:
    """Keep the visitor's id in the browser (call once per run, e.g. in the shared sidebar)."""
    _COMPONENT(key=_KEY + ".cookie", data={"id": visitor_id()})
