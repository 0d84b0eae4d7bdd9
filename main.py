"""GenLab: the router (the Streamlit script that app.py serves). Pages are registered explicitly (genlab.ui.navigation.PAGES)."""
import os

import streamlit as st
import torch

from genlab.training.jobs import demo_mode
from genlab.ui.navigation import PAGES
from genlab.ui.widgets import sidebar


def server_threads() -> int | None:
    """$GENLAB_SERVER_THREADS: torch threads of the app's process (default: 1 in the hosted demo, where
    sessions run side by side and training workers need a core; all cores otherwise)."""
    value = os.environ.get("GENLAB_SERVER_THREADS", "1" if demo_mode() else "")
    return int(value) if value.isdigit() and int(value) > 0 else None


def run() -> None:
    threads = server_threads()
    if threads and torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    st.set_page_config(page_title="GenLab", page_icon=":material/science:", layout="wide")
    page = st.navigation([st.Page(p.path, title=p.title, icon=p.icon, default=i == 0) for i, p in enumerate(PAGES)])
    sidebar()
    page.run()


run()
