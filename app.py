"""GenLab: the router. Pages are registered explicitly (genlab.ui.navigation.PAGES)."""
import streamlit as st

from genlab.ui.navigation import PAGES
from genlab.ui.widgets import sidebar


def run() -> None:
    st.set_page_config(page_title="GenLab", page_icon=":material/science:", layout="wide")
    page = st.navigation([st.Page(p.path, title=p.title, icon=p.icon, default=i == 0) for i, p in enumerate(PAGES)])
    sidebar()
    page.run()


run()
