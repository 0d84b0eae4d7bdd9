"""Lessons: the guided lessons (lessons/*.toml), a class that follows its teacher, and a link builder for a class."""
from urllib.parse import parse_qsl, urlsplit

import streamlit as st

from genlab.lessons import classroom
from genlab.lessons.format import PAGES, lessons_folder, list_lessons
from genlab.ui import classes
from genlab.ui.lesson_bar import link_for_class, start
from genlab.ui.links import page_title
from genlab.ui.router import require_router

ss = st.session_state
require_router()
page_title("Lessons")
st.write("Guided lessons through GenLab, written for a student who has never seen a GAN. Each step opens a page "
         "in a prepared state, says what to look at, points at it, and checks what you found on the live model. "
         "Take one alone, or teach it: start a class, and your students' screens follow yours.")

lessons, problems = list_lessons()
for problem in problems:
    st.warning(f"A lesson file could not be used: {problem}")
if not lessons:
    st.info(f"No lessons in `{lessons_folder()}`. Write one: see docs/lessons.md.")

for lesson in lessons:
    with st.container(border=True, key=f"lessons-{lesson.id}"):
        text, buttons = st.columns([5, 2], vertical_alignment="center")
        checks = sum(1 for s in lesson.steps if s.check is not None)
        text.markdown(f"### {lesson.title}\n{lesson.summary}")
        text.caption(f"{lesson.level.capitalize()} · about {lesson.minutes} minutes · {len(lesson.steps)} steps, "
                     f"{checks} checked · pages: {', '.join(lesson.pages)}")
        buttons.button("Start", key=f"lessons.start.{lesson.id}", on_click=start, args=(lesson.id,),
                       type="primary", icon=":material/play_arrow:", width="stretch")
        buttons.button("Present (projector)", key=f"lessons.present.{lesson.id}", on_click=start,
                       args=(lesson.id, True), icon=":material/slideshow:", width="stretch",
                       help="Larger type and lines, the sidebar collapsed; Page Down / Page Up (or a clicker) "
                            "step through the lesson.")

st.header("Teach a class")
teach, join = st.columns(2, gap="large")
with teach:
    st.markdown("**Lead a class.** Start a class and show its code; students who join follow your page, "
                "your lesson step and your point as you drag it. You can pause everyone, and end the class.")
    if classes.is_teacher():
        st.markdown(f"Your class code: <span style='font-size: 2.4rem; font-weight: 700; letter-spacing: 0.2em'>"
                    f"{classes.code()}</span>", unsafe_allow_html=True)
        st.caption(f"Students: open Lessons and type the code, or open `/lessons?class={classes.code()}`. "
                   f"A class lasts {classroom.LIFETIME // 3600} hours.")
    elif st.button("Start a class", key="lessons.teach", icon=":material/groups:"):
        try:
            classes.start()
            st.rerun()
        except (classroom.ClassError, OSError) as err:
            st.error(f"No class started: {err}")
with join:
    st.markdown("**Join a class.** Type the code your teacher shows.")
    if classes.is_student():
        st.success(f"You are in class {classes.code()}.")
    else:
        with st.form("lessons.join_form", border=False):
            code = st.text_input("Class code", key="lessons.code", max_chars=12, placeholder="e.g. K7QH3M")
            if st.form_submit_button("Join", icon=":material/login:"):
                try:
                    classes.join(code)
                    st.rerun()
                except classroom.ClassError as err:
                    st.error(f"Not joined: {err}.")

st.header("A link for your class")
st.write("Prepare one view for a class: paste a link copied from a page (its Copy link button), choose controls to "
         "hide (for example the model picker, to keep everyone on one model), and copy the result. The controls stay "
         "hidden for whoever opens that link; the app stays whole for everyone else.")
builder = st.columns([2, 3])
slugs = [s for s, info in PAGES.items() if info.elements]
slug = builder[0].selectbox("Page", slugs, format_func=lambda s: PAGES[s].title, key="lessons.builder_page")
pasted = builder[1].text_input("The page's link (or its part after ?)", key="lessons.builder_link", max_chars=3000,
                               placeholder="http://.../explorer?model=gan_2d.safetensors&z=-0.840,0.540")
options = st.columns([3, 1, 2])
hide = options[0].multiselect("Hide these controls", list(PAGES[slug].elements), key="lessons.builder_hide")
present = options[1].checkbox("Presenter mode", key="lessons.builder_present")
lesson_choice = options[2].selectbox("Within a lesson (optional)", [None] + [ls.id for ls in lessons],
                                     key="lessons.builder_lesson",
                                     format_func=lambda i: "none" if i is None else next(ls.title for ls in lessons
                                                                                         if ls.id == i))
built = link_for_class(pasted or "", slug, hide, present, lesson_choice, 1)
st.code(built, language=None)
st.caption("Add this server's address in front (as in your browser's address bar). Values the page does not know "
           "are left out.")
st.page_link(PAGES[slug].path, label="Open it", icon=":material/open_in_new:",
             query_params=dict(parse_qsl(urlsplit(built).query)) or None)
st.caption("Write your own lesson: a TOML file in `lessons/` (format and example: docs/lessons.md).")
