"""Lessons (issue 29): the lesson files and their schema check, each kind of check on the live shipped models
(passed by the right action, failed with a hint by a wrong one), and classes that follow a teacher."""
import asyncio
import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import torch
from starlette.requests import Request

from genlab import api
from genlab.checkpoints import load_checkpoint
from genlab.data import load_dataset
from genlab.inspect import Ablation
from genlab.latent.maps import class_area_map
from genlab.lessons import classroom
from genlab.lessons.checks import Observation, evaluate
from genlab.lessons.format import PAGES, Check, LessonError, list_lessons, load_lesson, parse_lesson

ROOT = Path(__file__).resolve().parents[1]
CHECKPOINTS = ROOT / "checkpoints"
GOOD = '''title = "A test lesson"
level = "beginner"
minutes = 5
summary = "Three steps."

[[step]]
title = "One"
page = "explorer"
text = "Look."
link = { model = "gan_2d.safetensors", z = "0.1,0.2" }

[[step]]
title = "Two"
page = "explorer"
text = "Find a 9."
highlight = ["pad"]
check = { kind = "point_class", class = 9, min_p = 0.9 }
'''


@pytest.fixture(scope="module")
def clf():
    return load_checkpoint(CHECKPOINTS / "classifier_strong.safetensors").model


def model(name):
    return load_checkpoint(CHECKPOINTS / f"{name}.safetensors").model


def test_the_shipped_lessons_are_valid_and_each_is_checked():
    lessons, problems = list_lessons(ROOT / "lessons")
    assert problems == []
    assert len(lessons) >= 5
    titles = {ls.title for ls in lessons}
    assert "The latent space of the thesis' 2D GAN" in titles and "Looking inside the generator" in titles
    for lesson in lessons:
        assert any(step.check is not None for step in lesson.steps), lesson.id
        for step in lesson.steps:
            if "model" in step.link:          # every model a step opens is shipped
                assert (CHECKPOINTS / step.link["model"]).is_file(), (lesson.id, step.title)
            if step.check is not None and "model" in step.check.params:
                assert (CHECKPOINTS / step.check.params["model"]).is_file()


def test_a_good_file_reads_with_its_steps():
    lesson = parse_lesson(GOOD, "test-lesson")
    assert [s.title for s in lesson.steps] == ["One", "Two"]
    assert lesson.steps[0].link == {"model": "gan_2d.safetensors", "z": "0.1,0.2"}
    assert lesson.steps[1].check == Check("point_class", {"class": "9", "min_p": 0.9}, "", "")
    assert lesson.steps[1].selectors() == [".st-key-explorer-pad"]
    assert lesson.pages == ["Latent Explorer"] and lesson.step(99).title == "Two"


@pytest.mark.parametrize("change, words", [
    (('minutes = 5', 'minutes = "five"'), ["line 3", "'minutes'", "whole number"]),
    (('page = "explorer"\ntext = "Find', 'page = "explorr"\ntext = "Find'), ["line 14", "step 2", "'page'", "explorr"]),
    (('highlight = ["pad"]', 'highlight = ["padd"]'), ["line 16", "step 2", "'highlight'", "padd", "pad, image"]),
    (('kind = "point_class"', 'kind = "guess"'), ["step 2", "'check.kind'", "point_class"]),
    (('class = 9, min_p = 0.9', 'min_p = 0.9'), ["step 2", "'check.class'", "needs it"]),
    (('min_p = 0.9', 'min_p = 1.5'), ["'check.min_p'", "between 0 and 1"]),
    (('z = "0.1,0.2"', 'zz = "0.1,0.2"'), ["line 10", "step 1", "'link.zz'", "has: model, z, axis, off"]),
    (('text = "Look."', 'txt = "Look."'), ["line 9", "step 1", "'txt'", "not a step field"]),
    (('title = "One"', 'title = ""'), ["step 1", "'title'", "non-empty"]),
    (('summary = "Three steps."', 'summary = "x\n'), ["not valid TOML", "line"]),
    (('[[step]]\ntitle = "One"', 'colour = "red"\n[[step]]\ntitle = "One"'), ["'colour'", "not a lesson field"]),
])
def test_a_bad_file_gets_a_message_naming_its_line_and_field(change, words):
    text = GOOD.replace(*change, 1)
    assert text != GOOD
    with pytest.raises(LessonError) as err:
        parse_lesson(text, "test-lesson", "test-lesson.toml")
    message = str(err.value)
    assert message.startswith("test-lesson.toml") and all(w in message for w in words), message


def test_bad_names_sizes_and_folders(tmp_path):
    with pytest.raises(LessonError, match="lower-case letters"):
        parse_lesson(GOOD, "Bad Name")
    with pytest.raises(LessonError, match="at most 64,000"):
        parse_lesson(GOOD + "#" * 70_000, "big")
    (tmp_path / "good.toml").write_text(GOOD)
    (tmp_path / "broken.toml").write_text("title = ")
    (tmp_path / "binary.toml").write_bytes(b"\xff\xfe\x00")
    lessons, problems = list_lessons(tmp_path)
    assert [ls.id for ls in lessons] == ["good"]
    assert len(problems) == 2 and any("not UTF-8" in p for p in problems) and any("not valid TOML" in p for p in problems)
    assert load_lesson(tmp_path / "good.toml").source == "good.toml"
    assert list_lessons(tmp_path / "missing") == ([], [])


def test_every_page_a_lesson_can_open_is_a_page_of_the_app():
    from genlab.ui.navigation import PAGES as APP_PAGES

    paths = {p.path for p in APP_PAGES}
    assert all(info.path in paths for info in PAGES.values())


# ---- checks on the live models ----
def verdict(kind, params, **seen):
    return evaluate(Check(kind, params, "", "the hint"), Observation(**seen))


def test_point_class_passes_in_the_area_and_fails_elsewhere_with_the_hint(clf):
    gan = model("gan_2d")
    good = verdict("point_class", {"class": "9", "min_p": 0.9}, model=gan, classifier=clf, point=[-0.68, -0.07])
    assert good.passed and "a 9" in good.message
    bad = verdict("point_class", {"class": "9", "min_p": 0.9}, model=gan, classifier=clf, point=[-0.84, 0.54])
    assert not bad.passed and "as a 7" in bad.message and bad.message.endswith("Hint: the hint")
    missing = verdict("point_class", {"class": "9"}, model=gan, classifier=clf)
    assert not missing.passed and "No point yet" in missing.message


def border_point(gan, clf, a, b, names=("7", "1")):
    """A point on the border of two classes, by bisection between a point of each."""
    from genlab.latent.point import explore_point

    a, b = np.array(a), np.array(b)
    for _ in range(30):
        middle = (a + b) / 2
        top = int(np.argmax(explore_point(gan, middle.tolist(), clf).probabilities))
        if str(top) == names[0]:
            a = middle
        else:
            b = middle
    return ((a + b) / 2).tolist()


def test_border_passes_between_the_7s_and_1s_only(clf):
    gan = model("gan_2d")
    point = border_point(gan, clf, [-0.6, 0.46], [-0.14, 0.74])
    assert verdict("border", {"classes": ["7", "1"]}, model=gan, classifier=clf, point=point).passed
    inside = verdict("border", {"classes": ["7", "1"]}, model=gan, classifier=clf, point=[-0.6, 0.46])
    assert not inside.passed and "still inside the 7s' area" in inside.message and "towards the 1s" in inside.message
    other = verdict("border", {"classes": ["7", "1"]}, model=gan, classifier=clf,
                    point=border_point(gan, clf, [-0.68, -0.07], [-0.68, -0.65], ("9", "4")))
    assert not other.passed and "not 7 and 1" in other.message


def test_switching_two_units_off_turns_the_9_into_a_4(clf):
    gan = model("gan_2d")
    seen = dict(model=gan, classifier=clf, point=[-0.95, -0.36])
    params = {"from_class": "9", "to_class": "4", "max_units": 3}
    assert verdict("switch_off", params, ablation=Ablation("generator.layers.act1", (117, 123)), **seen).passed
    none = verdict("switch_off", params, **seen)
    assert not none.passed and "No unit is switched off" in none.message
    useless = verdict("switch_off", params, ablation=Ablation("generator.layers.act1", (0,)), **seen)
    assert not useless.passed and "not a 4" in useless.message
    many = verdict("switch_off", params, ablation=Ablation("generator.layers.act1", (1, 2, 117, 123)), **seen)
    assert not many.passed and "at most 3" in many.message
    elsewhere = verdict("switch_off", params, ablation=Ablation("generator.layers.act1", (117, 123)),
                        model=gan, classifier=clf, point=[-0.84, 0.54])
    assert not elsewhere.passed and "Start from a 9" in elsewhere.message


def test_morph_classes_counts_the_classes_passed(clf):
    gan = model("gan_2d")
    thesis = verdict("morph_classes", {"count": 3}, model=gan, classifier=clf, a=[-1, 0], b=[1, 0])
    assert not thesis.passed and "passes 5 classes (9 → 7 → 2 → 3 → 5)" in thesis.message
    # from the 4s through the 6s to the 0s
    good = verdict("morph_classes", {"count": 3}, model=gan, classifier=clf, a=[-0.68, -0.65], b=[0.55, -0.75])
    assert good.passed and "4 → 6 → 0" in good.message


def test_labels_agree_fails_at_the_multiply_cgans_centre_and_passes_away_from_it(clf):
    cgan = model("cgan_3d_multiply")
    centre = verdict("labels_agree", {"at_least": 8}, model=cgan, classifier=clf, point=[0, 0, 0])
    assert not centre.passed and "0 of the 10" not in centre.message and "5→5" in centre.message
    corner = verdict("labels_agree", {"at_least": 8}, model=cgan, classifier=clf, point=[0.6117, -0.6322, 0.4485])
    assert corner.passed, corner.message
    plain = verdict("labels_agree", {"at_least": 8}, model=model("gan_2d"), classifier=clf, point=[0, 0])
    assert not plain.passed and "not a conditional GAN" in plain.message


def test_draw_reads_back_a_clear_digit_and_refuses_a_scribble(clf):
    vae = model("vae_16")
    test = load_dataset("mnist5k", "test")
    good = verdict("draw_reads_back", {"min_p": 0.8}, model=vae, classifier=clf, drawing=test.images[1:2])
    assert good.passed and f"your {int(test.labels[1])} comes back" in good.message.lower()
    odd = verdict("draw_reads_back", {"min_p": 0.8}, model=vae, classifier=clf, drawing=test.images[:1])
    assert not odd.passed and "not sure what your drawing is" in odd.message      # test digit 0: a 2 read at p 0.43
    scribble = -torch.ones(1, 1, 28, 28)                                          # images are in [-1, 1]
    scribble[0, 0, 2:4, 2:26] = 1
    bad = verdict("draw_reads_back", {"min_p": 0.8}, model=vae, classifier=clf, drawing=scribble)
    assert not bad.passed, bad.message
    assert not verdict("draw_reads_back", {}, model=vae, classifier=clf).passed


def test_predict_area_scores_the_mark_against_the_map(clf):
    gan_path, clf_path = CHECKPOINTS / "gan_2d.safetensors", CHECKPOINTS / "classifier_strong.safetensors"
    area = class_area_map(model("gan_2d"), clf, gan_path, clf_path, (0, 1), [(-1, 1), (-1, 1)], 100)
    params = {"class": "8", "model": "gan_2d.safetensors", "within": 0.15}
    right = verdict("predict_area", params, mark=(0.6, 0.73), class_map=area)
    assert right.passed and right.score == 0.0 and "right in the 8s' area" in right.message
    wrong = verdict("predict_area", params, mark=(-0.68, -0.65), class_map=area)
    assert not wrong.passed and wrong.score > 0.5 and "is on a 4" in wrong.message


# ---- classes ----
@pytest.fixture
def runs(tmp_path, monkeypatch):
    monkeypatch.setenv("GENLAB_RUNS", str(tmp_path / "runs"))
    return tmp_path / "runs"


def test_only_the_teacher_leads_and_students_answer_anonymously(runs):
    code, token = classroom.start_class("latent-space-2d", owner="f" * 32)
    assert classroom.CODE.match(code) and len(token) == 32
    assert "f" * 32 not in (runs / "classes" / code / "meta.json").read_text()   # the owner's id only as a hash
    assert classroom.owned_by("f" * 32) == (code, token) and classroom.owned_by("e" * 32) is None
    first = classroom.lead(code, token, page="explorer", query={"model": "gan_2d.safetensors", "z": "0,0"},
                           lesson="latent-space-2d", step=1)
    assert first["seq"] == 1 and classroom.lead(code, token, page="explorer", query=first["query"],
                                                lesson="latent-space-2d", step=1)["seq"] == 1   # no change, same seq
    for bad in ("", "0" * 32, token[:-1] + "x"):
        with pytest.raises(classroom.ClassError, match="only the teacher"):
            classroom.lead(code, bad, page="morph")
        with pytest.raises(classroom.ClassError, match="only the teacher"):
            classroom.set_live(code, bad, "gan_2d.safetensors", [0.5, 0.5])
    assert classroom.view(code)["page"] == "explorer"
    live = classroom.set_live(code, token, "gan_2d.safetensors", [0.123456, -0.5])
    assert classroom.follow_state(code)["live"] == live and live["z"] == [0.1235, -0.5]
    assert classroom.lead(code, token, paused=True)["paused"] and classroom.follow_state(code)["paused"]
    classroom.answer(code, "a" * 16, "latent-space-2d:2", {"passed": True, "mark": [0.6, 0.7]})
    classroom.answer(code, "b" * 16, "latent-space-2d:2", {"passed": False, "mark": [-0.6, 0.1]})
    classroom.answer(code, "a" * 16, "latent-space-2d:2", {"passed": True, "mark": [0.5, 0.7]})   # replaces
    assert sorted(a["mark"][0] for a in classroom.answers(code, "latent-space-2d:2")) == [-0.6, 0.5]
    with pytest.raises(classroom.ClassError, match="not a student id"):
        classroom.answer(code, "../etc", "k", 1)
    with pytest.raises(classroom.ClassError, match="at most 2,000"):
        classroom.answer(code, "c" * 16, "k", "x" * 3000)
    classroom.end_class(code, token)
    with pytest.raises(classroom.ClassError, match="there is no class"):
        classroom.view(code)


def test_codes_are_checked_classes_end_and_their_number_is_bounded(runs, monkeypatch):
    for bad in ("", "abc", "../../x", "K7QH3", "K7QH3MM", "O0O0O0"):
        with pytest.raises(classroom.ClassError, match="not a class code"):
            classroom.view(bad)
    assert classroom.normal_code(" k7q-h3m ") == "K7QH3M"
    code, token = classroom.start_class()
    monkeypatch.setattr(time, "time", lambda: 1e12)        # far past its lifetime
    with pytest.raises(classroom.ClassError, match="has ended"):
        classroom.view(code)
    assert classroom.sweep() == 1 and not (runs / "classes" / code).exists()
    monkeypatch.undo()
    monkeypatch.setenv("GENLAB_RUNS", str(runs))
    monkeypatch.setattr(classroom, "MAX_CLASSES", 2)
    classroom.start_class(), classroom.start_class()
    with pytest.raises(classroom.ClassError, match="2 classes are running"):
        classroom.start_class()


def call(endpoint, path, query):
    scope = {"type": "http", "method": "GET", "path": path, "query_string": query.encode(), "headers": [],
             "server": ("127.0.0.1", 80), "client": ("127.0.0.1", 1), "scheme": "http", "root_path": ""}
    with ThreadPoolExecutor(1) as pool:
        response = pool.submit(asyncio.run, endpoint(Request(scope))).result()
    return response.status_code, json.loads(response.body)


def test_the_routes_hand_the_teachers_drag_to_the_class_and_refuse_anyone_else(runs):
    code, token = classroom.start_class()
    status, answer = call(api.point_endpoint, api.POINT_PATH,
                          f"model=gan_2d.safetensors&z=0.25,-0.5&class={code}&token={token}")
    assert status == 200 and answer["z"] == [0.25, -0.5]
    status, state = call(api.class_endpoint, api.CLASS_PATH, f"code={code}")
    assert status == 200 and state["live"]["z"] == [0.25, -0.5] and state["live"]["model"] == "gan_2d.safetensors"
    status, refused = call(api.point_endpoint, api.POINT_PATH, f"model=gan_2d.safetensors&z=0.9,0.9&class={code}&token=x")
    assert status == 403 and "only the teacher" in refused["error"]
    assert call(api.class_endpoint, api.CLASS_PATH, f"code={code}")[1]["live"]["seq"] == 1      # unchanged
    assert call(api.class_endpoint, api.CLASS_PATH, "code=NPQR22")[0] == 404
    assert call(api.class_endpoint, api.CLASS_PATH, "code=../x")[0] == 400


def test_the_example_in_the_lesson_format_guide_is_a_valid_lesson():
    text = (ROOT / "docs/lessons.md").read_text()
    example = text.split("```toml\n", 1)[1].split("```", 1)[0]
    lesson = parse_lesson(example, "where-the-9s-live")
    assert len(lesson.steps) == 3 and lesson.steps[2].check.kind == "predict_area"
    documented = {kind for kind in text.split("| kind |", 1)[1].split("\n## ", 1)[0].split("`")[1::2]}
    from genlab.lessons.format import CHECK_FIELDS
    assert set(CHECK_FIELDS) <= documented
