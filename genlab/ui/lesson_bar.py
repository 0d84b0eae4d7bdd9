"""The lesson step bar, presenter mode, hidden controls and "follow me": what the router (main.py) adds around
every page.

`before_page(slug)` runs before the page: it takes a lesson from the link (`lesson=ID&step=K`), moves to a step
(Back / Next / Page Down / a link), draws the compact step bar (title, step k of n, progress, the step's text,
its check or its predict-then-reveal question, exit) and the class strip (the teacher's code and buttons, or a
student's "release" / "back to the teacher"), styles presenter mode (`present=1`) and hides a link's controls
(`hide=model,axis`). It returns False while a predict step hides its page. `after_page(slug)` puts the lesson's
parameters back into the link the page wrote, and sends a teacher's view to the class.

Moving to a step resets the state of the step's page (its keys' prefix) and opens it with the step's link, so a
step always starts from the state its author chose, in any session.
"""
from __future__ import annotations

import io
from urllib.parse import parse_qsl, urlencode, urlsplit

import streamlit as st
from PIL import Image, ImageDraw

from ..catalog import list_models
from ..images import class_map_image
from ..latent import views
from ..lessons import classroom
from ..lessons.checks import Observation, evaluate
from ..lessons.format import PAGES, Lesson, LessonError, find_lesson
from . import classes, dissect
from .explorer import class_map, class_names_of, ranges_of, strong_classifier
from .highlight import highlight, presenter_keys
from .latent_pad import latent_pad
from .loaders import load_model

ss = st.session_state
PREFIXES = {"explorer": ("explorer.", "explorer-"), "cgan": ("cgan.", "cgan-"), "morph": ("morph.", "morph-"),
            "vae_lab": ("vae.", "vae-"), "music": ("music.",), "models": ("models.",), "distill": ("distill.",)}
KEPT = ("lesson", "step", "present", "hide", "class")     # link parameters the router keeps beside a page's own


# ---- the lesson in this session -------------------------------------------------------------------------------
def current() -> Lesson | None:
    lesson_id = ss.get("lesson.id")
    if not lesson_id:
        return None
    try:
        return find_lesson(lesson_id)
    except LessonError as err:
        ss["lesson.problem"] = f"The lesson cannot continue: {err}"
        ss.pop("lesson.id", None)
        return None


def step_key(lesson: Lesson, k: int) -> str:
    return f"{lesson.id}:{k}"


def clear_page_state(slug: str) -> None:
    """Forget a page's state (its keys), so that it opens from a link as in a fresh session."""
    prefixes = PREFIXES.get(slug, ())
    for key in [k for k in ss.keys() if isinstance(k, str) and k.startswith(prefixes)]:
        del ss[key]


def _link_params(lesson: Lesson | None, k: int | None) -> dict:
    params = {}
    if lesson is not None:
        params.update(lesson=lesson.id, step=str(k))
    if ss.get("lesson.present"):
        params["present"] = "1"
    if classes.is_student():
        params["class"] = classes.code()
    return params


def open_view(slug: str, query: dict) -> None:
    """Open page `slug` with link state `query` (its state reset first)."""
    clear_page_state(slug)
    st.switch_page(PAGES[slug].path, query_params={k: str(v) for k, v in query.items()})


def go(lesson: Lesson, k: int) -> None:
    """Open step k of the lesson (its page, in the step's link state)."""
    k = min(max(int(k), 1), len(lesson.steps))
    step = lesson.step(k)
    ss["lesson.id"], ss["lesson.step"] = lesson.id, k
    open_view(step.page, {**step.link, **_link_params(lesson, k)})


def start(lesson_id: str, present: bool = False) -> None:
    """A button's callback: start a lesson (the next run opens its first step)."""
    ss["lesson.present"] = bool(present)
    ss["lesson.go"] = (lesson_id, 1)


def _move(delta: int) -> None:
    if ss.get("lesson.id"):
        ss["lesson.go"] = (ss["lesson.id"], int(ss.get("lesson.step", 1)) + delta)


def _exit() -> None:
    for key in ("lesson.id", "lesson.step", "lesson.present"):
        ss.pop(key, None)
    for key in KEPT[:3]:
        st.query_params.pop(key, None)


def _key_pressed() -> None:
    pressed = (ss.get("lesson.keys") or {}).get("key") or {}
    if pressed.get("seq", 0) > ss.get("lesson.key_seq", 0):
        ss["lesson.key_seq"] = pressed["seq"]
        _move(1 if pressed.get("dir") == "next" else -1)


def _from_link(slug: str | None) -> None:
    """A lesson (and step) the link names: taken once; opening it elsewhere than the step's page moves there."""
    q = st.query_params
    if q.get("present") in ("1", "on", "true"):
        ss["lesson.present"] = True
    if "hide" in q:
        ss["lesson.hide"] = (slug, [h for h in str(q["hide"])[:400].split(",") if h][:12])
    if "class" in q and not classes.code():
        try:
            classes.join(str(q["class"]))
        except classroom.ClassError as err:
            st.warning(f"The link's class: {err}.")
            q.pop("class", None)
    if "lesson" not in q:
        return
    lesson_id, text = str(q["lesson"])[:60], str(q.get("step", "1"))[:6]
    k = int(text) if text.isdigit() else 1
    if (lesson_id, k) == (ss.get("lesson.id"), ss.get("lesson.step")):
        return
    try:
        lesson = find_lesson(lesson_id)
    except LessonError as err:
        st.warning(f"The link's lesson: {err}. Pick one on the Lessons page.")
        for key in KEPT[:2]:
            q.pop(key, None)
        return
    if not 1 <= k <= len(lesson.steps):
        st.warning(f"The link's step {text!r} is not one of 1 to {len(lesson.steps)}; opening step 1.")
        k = 1
    ss["lesson.id"], ss["lesson.step"] = lesson.id, k
    if slug != lesson.step(k).page:
        go(lesson, k)


# ---- presenter mode and hidden controls -------------------------------------------------------------------------
PRESENT_CSS = """<style>
body.genlab-present [data-testid="stMain"] { font-size: 1.3rem; }
body.genlab-present [data-testid="stMain"] [data-testid="stMarkdownContainer"] p,
body.genlab-present [data-testid="stMain"] [data-testid="stMarkdownContainer"] li { font-size: 1.3rem; line-height: 1.45; }
body.genlab-present .st-key-lesson-bar [data-testid="stMarkdownContainer"] p,
body.genlab-present .st-key-lesson-bar [data-testid="stMarkdownContainer"] li { font-size: 1.75rem; line-height: 1.4; }
body.genlab-present h1 { font-size: 3rem; }
body.genlab-present [data-testid="stCaptionContainer"] { font-size: 1.1rem; }
body.genlab-present .st-key-lesson-bar { border-width: 3px; }
body.genlab-present [data-testid="stVerticalBlockBorderWrapper"] { border-width: 2px; }
body.genlab-present .latent-pad { font-size: 18px; }
body.genlab-present .latent-pad canvas { outline: 3px solid #111; }
</style>"""
BAR_CSS = """<style>
.st-key-lesson-bar { background: var(--st-secondary-background-color, #f6f6f9); }
.st-key-lesson-bar [data-testid="stMarkdownContainer"] p { margin-bottom: 0.4rem; }
</style>"""


def _hide(slug: str | None) -> None:
    page, names = ss.get("lesson.hide") or (None, [])
    if page != slug or slug not in PAGES:
        return
    elements = PAGES[slug].elements
    selectors = [elements[n] for n in names if n in elements]
    if selectors:
        st.html("<style>" + ", ".join(selectors) + " { display: none !important; }</style>")


# ---- observations and checks ----------------------------------------------------------------------------------
def _checkpoint(file: str | None):
    if not file:
        return None
    rows, _ = list_models()
    row = next((r for r in rows if r["file"] == file), None)
    return None if row is None else load_model(row["path"])


def observe(slug: str) -> Observation:
    """What the student's `slug` page shows now (its last run's state)."""
    classifier = strong_classifier()
    obs = Observation(classifier=classifier.model if classifier else None, class_names=class_names_of(classifier))
    prefix = PREFIXES[slug][0].rstrip(".") if slug in ("explorer", "cgan", "morph", "vae_lab") else None
    if prefix is None:
        return obs
    ckpt = _checkpoint(ss.get(f"{prefix}.model"))
    if ckpt is not None:
        obs.model, obs.model_file = ckpt.model, ckpt.path.name
    if slug in ("explorer", "cgan"):
        obs.point = ss.get(f"{prefix}.point")
        obs.label = ss.get("cgan.label") if slug == "cgan" else None
        obs.ablation = dissect.current_ablation(prefix) if dissect.dissecting(prefix) else None
    elif slug == "morph":
        obs.a, obs.b = ss.get("morph.a"), ss.get("morph.b")
        obs.steps, obs.method = int(ss.get("morph.steps", 16)), ss.get("morph.method", "linear")
        obs.label = ss.get("morph.label") if ckpt is not None and ckpt.model.conditional else None
    elif slug == "vae_lab":
        digit = ss.get("vae.digit") or {}
        obs.drawing = digit.get("image")
    return obs


def _record(lesson: Lesson, k: int, verdict, mark=None) -> None:
    ss[f"lesson.verdict.{step_key(lesson, k)}"] = verdict
    if classes.is_student():
        value = {"passed": bool(verdict.passed)}
        if mark is not None:
            value["mark"] = [round(float(mark[0]), 4), round(float(mark[1]), 4)]
        try:
            classroom.answer(classes.code(), classes.student_id(), step_key(lesson, k), value)
        except (classroom.ClassError, OSError):
            pass


def _show_verdict(lesson: Lesson, k: int) -> None:
    verdict = ss.get(f"lesson.verdict.{step_key(lesson, k)}")
    if verdict is None:
        return
    (st.success if verdict.passed else st.warning)(verdict.message, icon=":material/check_circle:" if verdict.passed
                                                   else ":material/lightbulb:")


def _check(lesson: Lesson, k: int, slug: str | None) -> None:
    step = lesson.step(k)
    check = step.check
    if check.task:
        st.markdown(f"**Your task:** {check.task}")
    if slug != step.page:
        return
    if st.button("Check", key=f"lesson.check.{step_key(lesson, k)}", icon=":material/task_alt:", type="primary"):
        with st.spinner("Checking on the live model..."):
            _record(lesson, k, evaluate(check, observe(slug)))
    _show_verdict(lesson, k)


def _predict_space(check):
    """(checkpoint, classifier, ranges) of a predict step's model; None when it is missing."""
    ckpt, classifier = _checkpoint(check.params["model"]), strong_classifier()
    if ckpt is None or classifier is None or ckpt.model.latent_dim != 2:
        return None
    return ckpt, classifier, ranges_of(ckpt)


def _marked_map(class_area, ranges, marks: list, mine=None) -> bytes:
    """The class-area map (PNG) with the class' marks as dots (and this student's as a ring)."""
    image = class_map_image(class_area.labels, class_area.confidence).convert("RGB")
    image = image.resize((300, 300), Image.NEAREST)
    draw = ImageDraw.Draw(image)
    (x0, x1), (y0, y1) = ranges

    def pixel(x, y):
        return (x - x0) / (x1 - x0) * 299, (y1 - y) / (y1 - y0) * 299
    for x, y in marks:
        px, py = pixel(x, y)
        draw.ellipse([px - 4, py - 4, px + 4, py + 4], fill=(17, 17, 17), outline=(255, 255, 255))
    if mine is not None:
        px, py = pixel(*mine)
        draw.ellipse([px - 8, py - 8, px + 8, py + 8], outline=(17, 17, 17), width=3)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _predict(lesson: Lesson, k: int, slug: str | None, answers: list[dict]) -> bool:
    """A predict-then-reveal step: the mark on a blank pad, then the map. Returns whether the page may show."""
    step, key = lesson.step(k), step_key(lesson, k)
    check = step.check
    space = _predict_space(check)
    if space is None:
        st.info(f"This step needs the 2D model {check.params['model']} and the strong classifier in the models folder.")
        return True
    ckpt, classifier, ranges = space
    revealed = ss.get(f"lesson.revealed.{key}", False)
    mark = ss.get(f"lesson.mark.{key}")
    if not revealed:
        st.markdown(f"**Your guess:** click where you think the **{check.params['class']}s** of "
                    f"{ckpt.path.name} live, then press Reveal. (The page and its map are hidden until then.)")
        left, right = st.columns([2, 3])
        with left:
            moved = latent_pad(f"lesson.pad.{key}", tuple(mark or (0.0, 0.0)), ranges[0], ranges[1], "z1", "z2",
                               None, (), seq=ss.get(f"lesson.seq.{key}", 0))
            point = (moved or {}).get("point") if isinstance(moved, dict) else getattr(moved, "point", None)
            if point and point.get("seq", 0) > ss.get(f"lesson.seq.{key}", 0):
                ss[f"lesson.seq.{key}"] = point["seq"]
                ss[f"lesson.mark.{key}"] = mark = (float(point["x"]), float(point["y"]))
        with right:
            st.caption("Your mark: " + ("none yet" if mark is None else f"({mark[0]:.2f}, {mark[1]:.2f})"))
            if st.button("Reveal the map", key=f"lesson.reveal.{key}", type="primary", disabled=mark is None,
                         icon=":material/visibility:"):
                ss[f"lesson.revealed.{key}"] = True
                st.rerun()
        return False
    whole = class_map(ckpt, classifier, views.space_map_spec(ranges, [0.0, 0.0]), what="class-area map")
    if ss.get(f"lesson.verdict.{key}") is None and mark is not None:
        obs = observe(step.page)
        obs.mark, obs.class_map = mark, whole
        _record(lesson, k, evaluate(check, obs), mark)
    left, right = st.columns([1, 2])
    marks = [a["mark"] for a in answers if isinstance(a.get("mark"), list)]
    left.image(_marked_map(whole, ranges, marks, mark), width=260,
               caption=(f"The class' {len(marks)} guesses (dots) on the map" if classes.is_teacher() else
                        "Your guess (ring) on the map"))
    with right:
        _show_verdict(lesson, k)
        if st.button("Guess again", key=f"lesson.again.{key}"):
            for name in ("revealed", "verdict", "mark"):
                ss.pop(f"lesson.{name}.{key}", None)
            st.rerun()
    return True


def _class_answers(lesson: Lesson, k: int) -> list[dict]:
    """The class' answers to step k (the teacher's session only; read once per run)."""
    if not classes.is_teacher() or lesson.step(k).check is None:
        return []
    return [a for a in classroom.answers(classes.code(), step_key(lesson, k)) if isinstance(a, dict)]


def _class_results(answers: list[dict]) -> None:
    """The teacher's view of a check: how many students passed (anonymous)."""
    if answers:
        passed = sum(1 for a in answers if a.get("passed"))
        st.caption(f"Class: {passed} of {len(answers)} students who checked have passed this step.")


# ---- the bar --------------------------------------------------------------------------------------------------
def _bar(lesson: Lesson, slug: str | None) -> bool:
    k = int(ss.get("lesson.step", 1))
    n = len(lesson.steps)
    step = lesson.step(k)
    show_page = True
    with st.container(border=True, key="lesson-bar"):
        head, back, forward, leave = st.columns([5, 1.4, 1.4, 1.4], vertical_alignment="center")
        head.markdown(f"**{lesson.title}** · step {k} of {n}: **{step.title}**")
        head.progress(k / n)
        back.button("Back", key="lesson.back", on_click=_move, args=(-1,), disabled=k <= 1, width="stretch",
                    icon=":material/arrow_back:")
        forward.button("Next", key="lesson.next", on_click=_move, args=(1,), disabled=k >= n, width="stretch",
                       icon=":material/arrow_forward:", type="primary")
        leave.button("Exit", key="lesson.exit", on_click=_exit, width="stretch", icon=":material/close:")
        if slug != step.page:
            st.info(f"This step is on the {PAGES[step.page].title} page.")
            if st.button(f"Back to step {k}", key="lesson.return"):
                go(lesson, k)
            return True
        st.markdown(step.text)
        answers = _class_answers(lesson, k)
        if step.check is not None and step.check.kind == "predict_area":
            show_page = _predict(lesson, k, slug, answers)
        elif step.check is not None:
            _check(lesson, k, slug)
        _class_results(answers)
        if not step.highlight or not show_page:
            highlight([], f"{lesson.id}:{k}:none")          # closes a callout left open by the last step
        else:
            shown = ss.get("lesson.shown", 0)
            if st.button("Show me", key="lesson.show", icon=":material/highlight:",
                         help="Point at what this step talks about"):
                ss["lesson.shown"] = shown = shown + 1
            highlight([{"selector": sel, "title": step.title if i == 0 else "",
                        "text": _callout(name)} for i, (sel, name) in
                       enumerate(zip(step.selectors(), step.highlight))], f"{lesson.id}:{k}:{shown}")
    return show_page


def _callout(name: str) -> str:
    label = {"pad": "The latent space: drag the point.", "image": "The generated image.",
             "class": "What the classifier sees.", "layers": "Every layer's activations.",
             "strip": "The morph, from A to B.", "chart": "Each class' probability along the morph.",
             "dissect": "Switch units off here.", "model": "Which model the page shows.",
             "label": "The digit the generator is asked for.", "cube": "The whole 3D space: turn it.",
             "thickness": "The thickness vector's strength.", "canvas": "Draw here."}
    return label.get(name, "Look here.")


# ---- the class strip -----------------------------------------------------------------------------------------
def _pause(paused: bool) -> None:
    ss["class.paused"] = paused
    try:
        classroom.lead(classes.code(), ss["class.token"], paused=paused)
    except (classroom.ClassError, OSError):
        pass


def _release() -> None:
    ss["class.following"] = False


def _back_to_teacher() -> None:
    ss["class.following"], ss["class.seen"] = True, None


def _leave_class() -> None:
    classes.leave()
    st.query_params.pop("class", None)


def _teacher_strip() -> None:
    code = classes.code()
    with st.container(border=True, key="class-strip"):
        left, mid, right = st.columns([5, 2, 2], vertical_alignment="center")
        paused = ss.get("class.paused", False)
        left.markdown(f"**You lead class `{code}`**: students join on the Lessons page with this code"
                      + (" · **paused**: they stay where they are." if paused else "."))
        if paused:
            mid.button("Resume", key="class.resume", on_click=_pause, args=(False,), icon=":material/play_arrow:")
        else:
            mid.button("Pause everyone", key="class.pause", on_click=_pause, args=(True,), icon=":material/pause:")
        right.button("End the class", key="class.end", on_click=_leave_class, icon=":material/stop:")


@st.fragment(run_every=1.0)
def _follow() -> None:
    """A student's link to the teacher: every second, the teacher's view; a new one opens here."""
    code = classes.code()
    if not code:
        return
    try:
        v = classroom.view(code)
    except classroom.ClassError as err:
        st.warning(f"The class has ended ({err}).")
        classes.leave()
        return
    with st.container(border=True, key="class-strip"):
        left, right, out = st.columns([6, 2, 2], vertical_alignment="center")
        if not classes.following():
            left.markdown(f"Class `{code}`: you are **exploring on your own**.")
            clicked = right.button("Back to the teacher", key="class.back", icon=":material/group:")
            action = _back_to_teacher
        else:
            left.markdown(f"Class `{code}`: " + ("**the teacher has paused the class**; stay here." if v.get("paused")
                                                 else "**following the teacher**."))
            clicked = right.button("Release to explore", key="class.release", icon=":material/explore:")
            action = _release
        if out.button("Leave", key="class.leave"):
            clicked, action = True, _leave_class
    if clicked:                       # the whole page again: its pad stops (or starts) following
        action()
        st.rerun(scope="app")
    if not classes.following() or v.get("paused") or not v.get("page") or v.get("page") not in PAGES:
        return
    if ss.get("class.seen") == v.get("seq"):
        return
    ss["class.seen"] = v.get("seq")
    query = {k: val for k, val in (v.get("query") or {}).items() if k not in ("present", "class")}
    query["class"] = code
    lesson_id, step = v.get("lesson"), v.get("step")
    if lesson_id and step:
        ss["lesson.id"], ss["lesson.step"] = lesson_id, int(step)
    else:
        ss.pop("lesson.id", None)
    open_view(v["page"], query)


# ---- the router's hooks ----------------------------------------------------------------------------------------
def before_page(slug: str | None) -> bool:
    """Call before the page runs; returns whether to run it (False while a predict step hides it)."""
    classes.restore()
    _from_link(slug)
    if "lesson.go" in ss:
        lesson_id, k = ss.pop("lesson.go")
        try:
            go(find_lesson(lesson_id), k)
        except LessonError as err:
            st.error(f"That lesson cannot be opened: {err}")
    if problem := ss.pop("lesson.problem", None):
        st.warning(problem)
    lesson = current()
    present = bool(ss.get("lesson.present"))
    if lesson is not None or classes.code():
        st.html(BAR_CSS + (PRESENT_CSS if present else ""))
    presenter_keys("lesson.keys", present, _key_pressed, active=lesson is not None)
    _hide(slug)
    if classes.is_teacher():
        _teacher_strip()
    elif classes.is_student():
        _follow()
    if lesson is None:
        return True
    return _bar(lesson, slug)


def after_page(slug: str | None) -> None:
    """Call after the page ran: the lesson's parameters back in the link; a teacher's view to the class."""
    lesson = current()
    k = int(ss.get("lesson.step", 1)) if lesson else None
    on_step = lesson is not None and slug == lesson.step(k).page
    for name, value in (_link_params(lesson if on_step else None, k)).items():
        if st.query_params.get(name) != value:
            st.query_params[name] = value
    hidden = ss.get("lesson.hide")
    if hidden and hidden[0] == slug and hidden[1]:
        st.query_params["hide"] = ",".join(hidden[1])
    if classes.is_teacher() and slug in PAGES:
        query = {k2: v for k2, v in st.query_params.to_dict().items() if k2 not in ("present", "class")}
        try:
            classroom.lead(classes.code(), ss["class.token"], page=slug, query=query,
                           lesson=lesson.id if on_step else None, step=k if on_step else None)
        except (classroom.ClassError, OSError) as err:
            st.warning(f"The class: {err}.")
            classes.leave()


def link_for_class(base_link: str, slug: str, hide: list[str], present: bool, lesson: str | None,
                   step: int | None) -> str:
    """The link builder's result: a page's link (as copied from it, or just its query) with hidden controls,
    presenter mode and a lesson step added."""
    parts = urlsplit(base_link.strip())
    query = dict(parse_qsl(parts.query or (parts.path if "=" in parts.path else ""), keep_blank_values=False))
    allowed = set(PAGES[slug].link)
    query = {k: v[:1000] for k, v in query.items() if k in allowed}
    if hide:
        query["hide"] = ",".join(h for h in hide if h in PAGES[slug].elements)
    if present:
        query["present"] = "1"
    if lesson:
        query.update(lesson=lesson, step=str(step or 1))
    return "/" + slug + ("?" + urlencode(query) if query else "")
