"""Distillation: a teacher that learned a big sample of a close domain helps a student with 1,000 images."""
import streamlit as st

from genlab.distill import SETTINGS, dual_vae_path, setting_of, teacher_path
from genlab.ui.distill import (SETTING_HELP, SETTING_LABELS, comparisons_view, dual_vae_or_none, epoch_limit,
                               phi_at_work, start_comparison, teacher_caption, teacher_or_none, vae_views)
from genlab.ui.links import link_choice, link_number, page_title, read_link, show_link_messages, write_link
from genlab.ui.router import require_router

require_router()
page_title("Distillation")
st.write("A **teacher** learned 59,000 images of one domain S. A **student** has only 1,000 labelled images of a "
         "close domain T. It learns from its labels and, through a known map phi from T to S, from the teacher's "
         "soft labels: loss = (1 - λ) x cross-entropy with the labels + λ x τ² x cross-entropy with the "
         "teacher's probabilities at temperature τ. λ (lambda) is how much the student listens to the teacher; "
         "τ (tau), the temperature, how soft the teacher's probabilities are made. S and T name the two domains "
         "(the teacher's and the student's). Does listening to the teacher beat learning alone?")

PAGE = "distill"
link = read_link(PAGE, ("setting", "lambda", "temperature", "epochs", "student"))
defaults = {"distill.setting": link_choice(PAGE, link.pop("setting", None), {s: s for s in SETTINGS}, "setting"),
            "distill.lambda": link_number(PAGE, link.pop("lambda", None), 0.0, 1.0, "lambda"),
            "distill.temperature": link_number(PAGE, link.pop("temperature", None), 1.0, 10.0, "temperature"),
            "distill.epochs": link_number(PAGE, link.pop("epochs", None), 1, epoch_limit(), "epochs", integer=True),
            "distill.student": link_choice(PAGE, link.pop("student", None), {"weak": "weak", "strong": "strong"},
                                           "student")}
for key, value in defaults.items():
    if value is not None:
        st.session_state[key] = value
st.session_state.setdefault("distill.setting", "noise")          # the talk's Fashion + noise
st.session_state.setdefault("distill.lambda", 0.5)
st.session_state.setdefault("distill.temperature", 4.0)
st.session_state.setdefault("distill.epochs", min(8, epoch_limit()))
st.session_state.setdefault("distill.student", "strong")   # chosen on validation: the weak CNN gains nothing
show_link_messages(PAGE)

setting = st.segmented_control("Setting", SETTINGS, key="distill.setting", format_func=SETTING_LABELS.get,
                               required=True)
spec = setting_of(setting)
st.caption(("" if "extra" in spec.talk else f"The talk's experiment {spec.talk}. ") + SETTING_HELP[setting])
teacher = teacher_or_none(setting)
if teacher is None:
    st.warning(f"The teacher of this setting is missing or unreadable ({teacher_path(setting).name} in "
               "checkpoints/distill/). Train it with `python -m train distill-teacher --map "
               f"{setting} --out checkpoints/distill/teacher_{setting}` (docs: Distillation).")
    st.stop()
if spec.phi == "vae" and dual_vae_or_none() is None:
    st.warning(f"The dual-decoder VAE is missing or unreadable ({dual_vae_path().name} in checkpoints/distill/). "
               "Train it with `python -m train distill-vae --out checkpoints/distill/dual_vae`.")
    st.stop()
teacher_caption(setting, teacher.metrics)

st.subheader("1. phi at work")
phi_at_work(setting, teacher, st.session_state["distill.temperature"])
if spec.phi == "vae":
    vae_views()

st.subheader("2. Compare two students")
st.write("Both students start from the same weights and see the same batches of the Small 1,000; one listens to "
         "the teacher (lambda), the other does not (lambda = 0). Both are tested after every epoch.")
c = st.columns(4)
c[0].slider("λ: how much it listens to the teacher", 0.0, 1.0, step=0.05, key="distill.lambda")
c[1].slider("Temperature τ (softness)", 1.0, 10.0, step=0.5, key="distill.temperature",
            help="Also the temperature of the soft labels shown above.")
c[2].number_input("Epochs", 1, epoch_limit(), key="distill.epochs")
c[3].selectbox("Students", ("weak", "strong"), key="distill.student",
               format_func={"weak": "small CNN", "strong": "VGG-style CNN"}.get,
               help="small CNN: the weak classifier (one convolution, 8 channels); VGG-style CNN: the strong "
                    "classifier, the teacher's own architecture.")
b = st.columns([3, 3, 4])
b[0].button("Start the comparison", key="distill.start", icon=":material/play_arrow:", type="primary",
            on_click=start_comparison, args=(setting,))
b[1].button("Sweep lambda 0 to 1", key="distill.sweep_start", icon=":material/stacked_line_chart:",
            on_click=start_comparison, args=(setting, True),
            help="Five comparisons, lambda 0, 0.25, 0.5, 0.75 and 1, with the other values above; their accuracies "
                 "are plotted against lambda as they finish.")
if st.session_state.get("distill.error"):
    st.error(st.session_state["distill.error"])
write_link({"setting": setting, "lambda": f"{st.session_state['distill.lambda']:g}",
            "temperature": f"{st.session_state['distill.temperature']:g}", "epochs": st.session_state["distill.epochs"],
            "student": st.session_state["distill.student"]})

st.subheader("3. Comparisons")
comparisons_view()
