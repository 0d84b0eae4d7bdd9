"""Every page runs inside main.py's router (st.navigation). One exception needs mending: on a fresh
server, until some session has run the router, Streamlit still treats the `pages/` folder the legacy
way, so the very first visitor who opens a deep link (a shared `/explorer?model=...&z=...`) gets that
page run on its own, without the router's layout and page list. `require_router()` at the top of a
page switches the server to the router and reruns, so the link opens as it does for everyone else."""
from __future__ import annotations

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager


def require_router() -> None:
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()
