"""Lesson files: one TOML file per lesson under `lessons/`, checked against a schema on load.

A lesson is a title, a level, its length in minutes, a summary, and steps. A step names a page, the page's
link state (the same query parameters the page's "Copy link" gives), a short Markdown text, optionally the
elements of the page to highlight, optionally a check of what the student did, and optionally a
"predict, then reveal" question. The format, with an example, is in docs/lessons.md; every field is checked,
and a bad file gets a LessonError that names the file, the line and the field.

    title = "The latent space of the thesis' 2D GAN"
    level = "beginner"
    minutes = 15
    summary = "Where each digit lives in a 2D latent space."

    [[step]]
    title = "A point is an image"
    page = "explorer"
    text = "Drag the black point ..."
    highlight = ["pad", "image"]
    link = { model = "gan_2d.safetensors", z = "-0.84,0.54" }
    check = { kind = "point_class", class = "9", min_p = 0.9, hint = "The 9s live ..." }

Nothing here imports Streamlit: the Lessons page, the step bar and the tests read lessons the same way.
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

MAX_FILE_BYTES = 64_000      # a lesson file larger than this is refused
MAX_STEPS = 40
MAX_TEXT = 2_000             # characters of a step's text
MAX_TITLE = 120
MAX_LESSONS = 200            # files read from a lessons folder
ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,47}$")
LEVELS = ("beginner", "intermediate", "advanced")


@dataclass(frozen=True)
class PageInfo:
    """A page a lesson step can open: its script, the link parameters it reads, and the elements a step can
    highlight (name -> CSS selector)."""
    path: str
    title: str
    link: tuple[str, ...]
    elements: dict[str, str]


def _keys(prefix: str, *names: str) -> dict[str, str]:
    return {name: f".st-key-{prefix}-{name}" for name in names}


PAGES: dict[str, PageInfo] = {
    "home": PageInfo("pages/home.py", "Home", (), {}),
    "explorer": PageInfo("pages/explorer.py", "Latent Explorer", ("model", "z", "axis", "off"),
                         {**_keys("explorer", "model", "pad", "image", "class", "layers", "dissect", "nearest",
                                  "activations", "z0", "z1"), "axis": ".st-key-explorer-axis",
                          "cube": ".st-key-explorer-cube"}),
    "morph": PageInfo("pages/morph.py", "Morph", ("model", "a", "b", "steps", "method", "label", "axis"),
                      _keys("morph", "model", "pad", "strip", "chart", "steps", "method", "axis", "step", "gif",
                            "cube", "a0", "a1", "b0", "b1")),
    "cgan": PageInfo("pages/cgan.py", "Conditional GAN", ("model", "z", "label", "map", "axis", "off"),
                     {**_keys("cgan", "model", "label", "pad", "image", "class", "layers", "cube", "z0", "z1"),
                      "map_label": ".st-key-cgan-map_label"}),
    "vae_lab": PageInfo("pages/vae_lab.py", "VAE Lab", ("model", "tab", "digit", "alpha"),
                        {**_keys("vae", "model", "tab", "canvas", "strip", "along_chart", "vector_scatter",
                                 "maps_ae", "maps_vae", "grid", "histograms"),
                         "thickness": ".st-key-vae-alpha-thickness", "moved_image": ".st-key-vae-moved-image",
                         "map_ae": ".st-key-vae-map-Autoencoder", "map_vae": ".st-key-vae-map-VAE"}),
    "music": PageInfo("pages/music.py", "Music", ("model", "z", "tempo", "transpose", "hold"),
                      _keys("music", "roll", "morph")),
    "train": PageInfo("pages/train.py", "Train", ("run",), {}),
    "models": PageInfo("pages/models.py", "Model card", ("model", "seed"), {}),
    "distill": PageInfo("pages/distill.py", "Distillation", ("setting", "lambda", "temperature", "epochs", "student"),
                        {}),
}
# the pages a check of each kind reads the student's state from
CHECK_PAGES = {"point_class": ("explorer", "cgan"), "border": ("explorer", "cgan"), "switch_off": ("explorer", "cgan"),
               "morph_classes": ("morph",), "labels_agree": ("cgan",), "draw_reads_back": ("vae_lab",),
               "predict_area": tuple(PAGES)}
CHECK_FIELDS = {   # kind -> {field: (type, required)}; every check also takes "hint" and "task"
    "point_class": {"class": (str, True), "min_p": (float, False)},
    "border": {"classes": (list, False), "margin": (float, False)},
    "switch_off": {"from_class": (str, True), "to_class": (str, True), "max_units": (int, False)},
    "morph_classes": {"count": (int, True)},
    "labels_agree": {"at_least": (int, True)},
    "draw_reads_back": {"min_p": (float, False)},
    "predict_area": {"class": (str, True), "model": (str, True), "within": (float, False)},
}
STEP_FIELDS = {"title", "page", "text", "link", "highlight", "check"}
LESSON_FIELDS = {"title", "level", "minutes", "summary", "order", "step"}


class LessonError(ValueError):
    """A lesson file that cannot be used: the message names the file, the line (when known) and the field."""


@dataclass(frozen=True)
class Check:
    kind: str
    params: dict
    task: str            # what the student is asked to do (shown above the Check button)
    hint: str            # shown when the check fails, after the check's own reason


@dataclass(frozen=True)
class Step:
    title: str
    page: str
    text: str
    link: dict[str, str] = field(default_factory=dict)
    highlight: tuple[str, ...] = ()
    check: Check | None = None

    @property
    def path(self) -> str:
        return PAGES[self.page].path

    def selectors(self) -> list[str]:
        """CSS selectors of the elements to highlight (a name of the page's elements, or a raw .st-key-...)."""
        elements = PAGES[self.page].elements
        return [elements.get(name, name) for name in self.highlight]


@dataclass(frozen=True)
class Lesson:
    id: str
    title: str
    level: str
    minutes: int
    summary: str
    steps: tuple[Step, ...]
    source: str = ""
    order: int = 100             # where the Lessons page lists it (then by id)

    @property
    def pages(self) -> list[str]:
        """The pages the lesson visits, in order of first visit (their titles)."""
        seen: list[str] = []
        for step in self.steps:
            if PAGES[step.page].title not in seen:
                seen.append(PAGES[step.page].title)
        return seen

    def step(self, k: int) -> Step:
        """Step k, counted from 1 (clamped into 1..n)."""
        return self.steps[min(max(int(k), 1), len(self.steps)) - 1]


class _Lines:
    """Where things are in a lesson file's text, for error messages."""

    def __init__(self, text: str):
        self.lines = text.splitlines()
        self.steps = [i + 1 for i, line in enumerate(self.lines) if re.match(r"^\s*\[\[\s*step\s*\]\]", line)]

    def of(self, name: str, step: int | None = None) -> int | None:
        """The line of `name = ...` (top level, or inside step `step`, counted from 0)."""
        if step is None:
            start, end = 0, (self.steps[0] - 1 if self.steps else len(self.lines))
        elif step < len(self.steps):
            start = self.steps[step] - 1
            end = self.steps[step + 1] - 1 if step + 1 < len(self.steps) else len(self.lines)
        else:
            return None
        pattern = re.compile(rf"^\s*(\[\s*step\.)?{re.escape(name)}\b")
        for i in range(start, end):
            if pattern.match(self.lines[i]):
                return i + 1
        return start + 1 if step is not None else None


def _fail(source: str, line: int | None, where: str, message: str):
    at = f", line {line}" if line else ""
    raise LessonError(f"{source}{at}: {where}: {message}")


def _text(value, what: str, limit: int, fail) -> str:
    if not isinstance(value, str) or not value.strip():
        fail(what, "must be a non-empty text")
    if len(value) > limit:
        fail(what, f"is {len(value):,} characters; at most {limit:,}")
    return value.strip()


def _check(raw, fail) -> Check:
    if not isinstance(raw, dict):
        fail("check", "must be a table (check = { kind = ..., ... })")
    kind = raw.get("kind")
    if kind not in CHECK_FIELDS:
        fail("check.kind", f"{str(kind)[:40]!r} is not one of {', '.join(CHECK_FIELDS)}")
    fields = CHECK_FIELDS[kind]
    params = {}
    for name, value in raw.items():
        if name in ("kind", "hint", "task"):
            continue
        if name not in fields:
            fail(f"check.{name}", f"is not a field of a {kind} check (its fields: {', '.join(fields)}, task, hint)")
        wanted = fields[name][0]
        if wanted is str and isinstance(value, int) and not isinstance(value, bool):
            value = str(value)      # class = 9 means the class named "9"
        if wanted is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, wanted) or isinstance(value, bool):
            fail(f"check.{name}", f"must be {'a number' if wanted is float else 'a whole number' if wanted is int else 'a text' if wanted is str else 'a list'}")
        params[name] = value
    for name, (_, required) in fields.items():
        if required and name not in params:
            fail(f"check.{name}", f"a {kind} check needs it")
    if "classes" in params and (len(params["classes"]) != 2 or not all(isinstance(c, (str, int)) for c in params["classes"])):
        fail("check.classes", "must be two class names, e.g. [\"7\", \"1\"]")
    if "classes" in params:
        params["classes"] = [str(c) for c in params["classes"]]
    for name in ("min_p", "margin"):
        if name in params and not 0 <= params[name] <= 1:
            fail(f"check.{name}", "must be between 0 and 1")
    for name in ("max_units", "count", "at_least"):
        if name in params and not 1 <= params[name] <= 64:
            fail(f"check.{name}", "must be 1 to 64")
    if "within" in params and not 0 < params["within"] <= 10:
        fail("check.within", "must be above 0 and at most 10")
    task = raw.get("task", "")
    hint = raw.get("hint", "")
    for name, value in (("task", task), ("hint", hint)):
        if not isinstance(value, str) or len(value) > MAX_TEXT:
            fail(f"check.{name}", f"must be a text of at most {MAX_TEXT:,} characters")
    return Check(kind, params, task.strip(), hint.strip())


def _step(raw, index: int, lines: _Lines, source: str) -> Step:
    def fail(name: str, message: str):
        _fail(source, lines.of(name.split(".")[0], index), f"step {index + 1}, field {name!r}", message)
    if not isinstance(raw, dict):
        fail("step", "must be a table")
    for name in raw:
        if name not in STEP_FIELDS:
            fail(name, f"is not a step field (the fields: {', '.join(sorted(STEP_FIELDS))})")
    page = raw.get("page")
    if page not in PAGES:
        fail("page", f"{str(page)[:40]!r} is not one of {', '.join(PAGES)}")
    info = PAGES[page]
    link = raw.get("link", {})
    if not isinstance(link, dict):
        fail("link", "must be a table of the page's link parameters")
    for name, value in link.items():
        if name not in info.link:
            fail(f"link.{name}", f"the {info.title} page's link has no {name!r} (it has: {', '.join(info.link) or 'none'})")
        if isinstance(value, bool) or not isinstance(value, (str, int, float)) or len(str(value)) > 1000:
            fail(f"link.{name}", "must be a text or a number (at most 1,000 characters)")
    highlight = raw.get("highlight", [])
    if isinstance(highlight, str):
        highlight = [highlight]
    if not isinstance(highlight, list) or len(highlight) > 6:
        fail("highlight", "must be a list of at most six element names")
    for name in highlight:
        if not isinstance(name, str) or (name not in info.elements and not re.fullmatch(r"\.st-key-[A-Za-z0-9_-]{1,80}", name)):
            fail("highlight", f"{str(name)[:40]!r} is not an element of the {info.title} page "
                              f"(its elements: {', '.join(info.elements) or 'none'}; or a .st-key-NAME selector)")
    check = None
    if "check" in raw:
        check = _check(raw["check"], fail)
        if page not in CHECK_PAGES[check.kind]:
            fail("check.kind", f"a {check.kind} check reads the {' or '.join(CHECK_PAGES[check.kind])} page, not {page}")
    return Step(title=_text(raw.get("title"), "title", MAX_TITLE, fail), page=page,
                text=_text(raw.get("text"), "text", MAX_TEXT, fail),
                link={k: str(v) for k, v in link.items()}, highlight=tuple(highlight), check=check)


def parse_lesson(text: str, lesson_id: str, source: str = "lesson") -> Lesson:
    """A lesson from the text of its TOML file; raises LessonError naming the line and field of what is wrong."""
    if len(text.encode()) > MAX_FILE_BYTES:
        raise LessonError(f"{source}: the file is {len(text.encode()):,} bytes; a lesson file has at most {MAX_FILE_BYTES:,}")
    if not ID_PATTERN.match(lesson_id):
        raise LessonError(f"{source}: the file name must be lower-case letters, digits and dashes (the lesson's id), "
                          f"e.g. latent-space-2d.toml")
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise LessonError(f"{source}: not valid TOML: {err}") from None
    lines = _Lines(text)

    def fail(name: str, message: str):
        _fail(source, lines.of(name), f"field {name!r}", message)
    for name in raw:
        if name not in LESSON_FIELDS:
            fail(name, f"is not a lesson field (the fields: {', '.join(sorted(LESSON_FIELDS))})")
    title = _text(raw.get("title"), "title", MAX_TITLE, fail)
    level = raw.get("level", "beginner")
    if level not in LEVELS:
        fail("level", f"{str(level)[:30]!r} is not one of {', '.join(LEVELS)}")
    minutes = raw.get("minutes")
    if not isinstance(minutes, int) or isinstance(minutes, bool) or not 1 <= minutes <= 240:
        fail("minutes", "must be a whole number of minutes, 1 to 240")
    summary = _text(raw.get("summary"), "summary", MAX_TEXT, fail)
    order = raw.get("order", 100)
    if not isinstance(order, int) or isinstance(order, bool) or not 0 <= order <= 10_000:
        fail("order", "must be a whole number 0 to 10,000 (where the Lessons page lists the lesson)")
    steps = raw.get("step")
    if not isinstance(steps, list) or not steps:
        _fail(source, None, "field 'step'", "a lesson needs at least one [[step]]")
    if len(steps) > MAX_STEPS:
        _fail(source, lines.steps[MAX_STEPS] if len(lines.steps) > MAX_STEPS else None, "field 'step'",
              f"{len(steps)} steps; at most {MAX_STEPS}")
    return Lesson(lesson_id, title, level, minutes, summary,
                  tuple(_step(s, i, lines, source) for i, s in enumerate(steps)), source, order)


def load_lesson(path: str | Path) -> Lesson:
    """The lesson in a .toml file (its id is the file name without .toml); parsed once per version of the file
    (the step bar asks for the current lesson on every page run)."""
    path = Path(path)
    try:
        stat = path.stat()
    except OSError as err:
        raise LessonError(f"{path.name}: cannot be read ({err.strerror or err})") from None
    return _load_lesson(str(path), stat.st_size, stat.st_mtime_ns)


@lru_cache(maxsize=64)
def _load_lesson(name: str, size: int, mtime_ns: int) -> Lesson:
    path = Path(name)
    if size > MAX_FILE_BYTES:
        raise LessonError(f"{path.name}: the file is {size:,} bytes; a lesson file has at most {MAX_FILE_BYTES:,}")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise LessonError(f"{path.name}: not UTF-8 text") from None
    except OSError as err:
        raise LessonError(f"{path.name}: cannot be read ({err.strerror or err})") from None
    return parse_lesson(text, path.stem, path.name)


def lessons_folder() -> Path:
    """$GENLAB_LESSONS, else the project's lessons/ folder."""
    import os

    return Path(os.environ.get("GENLAB_LESSONS") or Path(__file__).resolve().parents[2] / "lessons")


def list_lessons(folder: str | Path | None = None) -> tuple[list[Lesson], list[str]]:
    """(the lessons in the folder, by their `order` then id; the messages of the files that could not be used)."""
    folder = Path(folder) if folder is not None else lessons_folder()
    lessons, problems = [], []
    files = sorted(folder.glob("*.toml"))[:MAX_LESSONS] if folder.is_dir() else []
    for path in files:
        try:
            lessons.append(load_lesson(path))
        except LessonError as err:
            problems.append(str(err))
    return sorted(lessons, key=lambda ls: (ls.order, ls.id)), problems


def find_lesson(lesson_id: str, folder: str | Path | None = None) -> Lesson:
    """The lesson with this id; raises LessonError when there is none (or it is broken)."""
    if not isinstance(lesson_id, str) or not ID_PATTERN.match(lesson_id):
        raise LessonError(f"{str(lesson_id)[:40]!r} is not a lesson id")
    path = (Path(folder) if folder is not None else lessons_folder()) / f"{lesson_id}.toml"
    if not path.is_file():
        raise LessonError(f"there is no lesson {lesson_id!r}")
    return load_lesson(path)
