"""GenLab: the router (the Streamlit script that app.py serves). Pages are registered explicitly (genlab.ui.navigation.PAGES)."""
import os

import streamlit as st
import torch

from genlab.training.jobs import demo_mode
from genlab.lessons.format import PAGES as LESSON_PAGES
from genlab.ui import lesson_bar
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
    present = st.query_params.get("present") == "1" or st.session_state.get("lesson.present", False)
    st.set_page_config(page_title="GenLab", page_icon=":material/science:", layout="wide",
                       initial_sidebar_state="collapsed" if present else "auto")
    pages = {p.path: st.Page(p.path, title=p.title, icon=p.icon, default=i == 0) for i, p in enumerate(PAGES)}
    page = st.navigation(list(pages.values()))
    path = next((k for k, v in pages.items() if v.url_path == page.url_path), None)
    slug = next((s for s, info in LESSON_PAGES.items() if info.path == path), None)
    sidebar()
    if lesson_bar.before_page(slug):      # the lesson's step bar, presenter mode, a class (genlab/ui/lesson_bar.py)
        page.run()
    lesson_bar.after_page(slug)


run()
