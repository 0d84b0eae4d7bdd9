"""Train: start a run from the browser and watch it learn; compare finished runs.

State (prefix "train."): the form's fields, "train.view" (which part is shown), "train.job" (the run
watched). Runs live in their own processes and folders (genlab.training.jobs), so a reload, another
browser or another page finds them again.
"""
import streamlit as st

from genlab.ui.links import page_title, read_link, write_link
from genlab.ui.router import require_router
from genlab.ui.training import compare_view, job_store, run_form, watch_view

VIEWS = ("New run", "Watch a run", "Compare runs")

require_router()
page_title("Train")
st.write("Train a small model right here and watch it learn, epoch by epoch: the losses, samples from the same "
         "fixed noise, the class-area map and how much of it still changes, and the scores of independent "
         "classifiers. The finished model opens in every explorer page.")
link = read_link("train", ("run",))
wanted = link.pop("run", None)
if wanted is not None:   # a link to a run: watch it (its owner's buttons stay with its owner)
    found = job_store().get(wanted) if wanted.replace("-", "").isalnum() else None   # an id, never a path
    if found is not None and found.task != "train":      # a distillation comparison: it is watched there
        st.session_state["distill.job"] = wanted
        st.info(f"The link's run {found.name!r} is a distillation comparison, not a training run: it is shown on the "
                "Distillation page.", icon=":material/school:")
        st.page_link("pages/distill.py", label="Open it on the Distillation page", icon=":material/arrow_forward:")
    elif found is not None:
        st.session_state["train.view"], st.session_state["train.job"] = "Watch a run", wanted
    else:
        st.warning(f"The link's run {wanted[:40]!r} does not exist here (any more); showing the runs there are.")
if "train.view" not in st.session_state:
    st.session_state["train.view"] = "New run"
view = st.segmented_control("View", VIEWS, key="train.view", label_visibility="collapsed") or "New run"
if view == "New run":
    run_form()
elif view == "Watch a run":
    watch_view()
else:
    compare_view()
write_link({"run": st.session_state.get("train.job")} if view == "Watch a run" else {})
