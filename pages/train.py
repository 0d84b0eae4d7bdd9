"""Train: start a run from the browser and watch it learn; compare finished runs.

State (prefix "train."): the form's fields, "train.view" (which part is shown), "train.job" (the run
watched). Runs live in their own processes and folders (genlab.training.jobs), so a reload, another
browser or another page finds them again.
"""
import streamlit as st

from genlab.ui.router import require_router
from genlab.ui.training import compare_view, run_form, watch_view

VIEWS = ("New run", "Watch a run", "Compare runs")

require_router()
st.title("Train")
st.write("Train a small model right here and watch it learn, epoch by epoch: the losses, samples from the same "
         "fixed noise, the class-area map and how much of it still changes, and the scores of independent "
         "classifiers. The finished model opens in every explorer page.")
if "train.view" not in st.session_state:
    st.session_state["train.view"] = "New run"
view = st.segmented_control("View", VIEWS, key="train.view", label_visibility="collapsed") or "New run"
if view == "New run":
    run_form()
elif view == "Watch a run":
    watch_view()
else:
    compare_view()
