"""Every shipped lesson end to end in Chromium (issue 29): each step's link opens its page with the step's text and
highlight, and each check is passed by doing the task on the page (and fails, with a hint, after a wrong try)."""
import re
from urllib.parse import urlencode

import numpy as np
import pytest
from playwright.sync_api import expect

from genlab.checkpoints import load_checkpoint
from genlab.latent.maps import class_area_map
from genlab.latent.views import explorer_ranges
from genlab.lessons.checks import Observation, evaluate
from genlab.lessons.format import Check, find_lesson, list_lessons

from .server import ROOT, pad_pixel

CK = ROOT / "checkpoints"
PAD_MARGIN = 12


def step_url(app_url, lesson, k, **extra):
    step = lesson.step(k)
    return f"{app_url}/{step.page}?" + urlencode({**step.link, **extra, "lesson": lesson.id, "step": k})


def open_step(page, app_url, lesson_id, k, **extra):
    """Open step k by its link; returns the main area once the bar shows the step."""
    lesson = find_lesson(lesson_id)
    page.goto(step_url(app_url, lesson, k, **extra))
    bar = page.locator(".st-key-lesson-bar")
    expect(bar).to_contain_text(f"step {k} of {len(lesson.steps)}", timeout=60_000)
    expect(bar).to_contain_text(lesson.step(k).title)
    step = lesson.step(k)
    if step.highlight and not (step.check and step.check.kind == "predict_area"):
        see_highlight(page, lesson_id, k)          # each step with a highlight shows it on opening
    return bar


def see_highlight(page, lesson_id, k):
    """The step's callout is on the page (driver.js), pointing at its first element; then closed."""
    step = find_lesson(lesson_id).step(k)
    popover = page.locator(".driver-popover")
    expect(popover).to_be_visible(timeout=60_000)
    expect(popover).to_contain_text(step.title)
    expect(page.locator(f"{step.selectors()[0]}.driver-active-element")).to_have_count(1)
    page.locator(".driver-popover-close-btn").click()
    expect(popover).to_have_count(0)


def check(page, lesson_id, k, passed: bool, words: str = ""):
    page.locator(f".st-key-lesson-check-{lesson_id}-{k} button").click()
    alert = page.locator(".st-key-lesson-bar [data-testid='stAlert']")
    expect(alert).to_contain_text("Yes" if passed else "Hint:", timeout=60_000)
    if words:
        expect(alert).to_contain_text(words)
    return alert.inner_text()


def type_point(page, prefix, values):
    for i, v in enumerate(values):
        field = page.locator(f".st-key-{prefix}{i} input")
        field.fill(f"{v:.3f}")
        field.press("Enter")
        for _ in range(60):                       # the field shows it in the page's own format (2 or 3 decimals)
            shown = field.input_value()
            if shown and abs(float(shown) - v) < 0.006:
                break
            page.wait_for_timeout(250)
        page.wait_for_timeout(800)


def passing(kind, params, **seen):
    return evaluate(Check(kind, params, "", ""), Observation(**seen)).passed


@pytest.fixture(scope="module")
def clf():
    return load_checkpoint(CK / "classifier_strong.safetensors").model


def test_the_lessons_page_lists_every_lesson_and_starts_one(page, app_url):
    page.goto(f"{app_url}/lessons")
    main = page.get_by_test_id("stMain")
    expect(main.get_by_role("heading", name="Lessons", exact=True)).to_be_visible(timeout=60_000)
    lessons, _ = list_lessons()
    for lesson in lessons:
        expect(main.get_by_role("heading", name=lesson.title)).to_be_visible()
        expect(page.locator(f".st-key-lessons-{lesson.id}")).to_contain_text(f"about {lesson.minutes} minutes")
    page.locator(".st-key-lessons-start-morphing button").click()
    page.wait_for_url(re.compile(r"/morph\?.*lesson=morphing&step=1"), timeout=60_000)
    expect(page.locator(".st-key-lesson-bar")).to_contain_text("step 1 of 3")
    see_highlight(page, "morphing", 1)                 # the step's callout dims the page until it is closed
    page.locator(".st-key-lesson-next button").click()
    page.wait_for_url(re.compile(r"lesson=morphing&step=2"), timeout=60_000)
    see_highlight(page, "morphing", 2)
    page.locator(".st-key-lesson-exit button").click()
    expect(page.locator(".st-key-lesson-bar")).to_have_count(0, timeout=30_000)


def test_the_latent_space_lesson(page, app_url, clf, tmp_path):
    lid = "latent-space-2d"
    gan, bce = load_checkpoint(CK / "gan_2d.safetensors").model, load_checkpoint(CK / "gan_2d_bce.safetensors").model
    # 1: the thesis' point is a 7 here; the 9s are found by moving the point
    open_step(page, app_url, lid, 1)
    check(page, lid, 1, False, "as a 7")
    type_point(page, "explorer-z", [-0.68, -0.07])
    check(page, lid, 1, True, "a 9")
    page.screenshot(path=str(tmp_path / "step1.png"))
    # 2: predict where the 8s live on the blank pad, then reveal
    bar = open_step(page, app_url, lid, 2)
    expect(page.get_by_test_id("stMain").get_by_role("heading", name="Latent Explorer")).to_have_count(0)   # hidden
    pad = page.locator(f".st-key-lesson-pad-{lid}-2 canvas")
    page.mouse.click(*pad_pixel(pad.bounding_box(), -0.68, -0.65))                  # the 4s
    expect(bar).to_contain_text("(-0.6", timeout=30_000)
    page.locator(f".st-key-lesson-reveal-{lid}-2 button").click()
    expect(bar.get_by_test_id("stAlert")).to_contain_text("is on a 4", timeout=60_000)
    expect(page.get_by_test_id("stMain").get_by_role("heading", name="Latent Explorer")).to_be_visible()   # revealed
    page.locator(f".st-key-lesson-again-{lid}-2 button").click()
    pad = page.locator(f".st-key-lesson-pad-{lid}-2 canvas")
    expect(pad).to_be_visible(timeout=30_000)
    page.mouse.click(*pad_pixel(pad.bounding_box(), 0.6, 0.73))
    expect(bar).to_contain_text("(0.6", timeout=30_000)
    page.locator(f".st-key-lesson-reveal-{lid}-2 button").click()
    expect(bar.get_by_test_id("stAlert")).to_contain_text("right in the 8s' area", timeout=60_000)
    # 3: the border between the 7s and the 1s
    open_step(page, app_url, lid, 3)
    check(page, lid, 3, False)
    a, b = np.array([-0.6, 0.46]), np.array([-0.14, 0.74])
    from genlab.latent.point import explore_point
    for _ in range(25):
        middle = (a + b) / 2
        if int(np.argmax(explore_point(gan, middle.tolist(), clf).probabilities)) == 7:
            a = middle
        else:
            b = middle
    candidates = [np.round(a + d * (b - a), 3).tolist() for d in np.linspace(-2, 3, 11)]
    border = next(p for p in candidates if passing("border", {"classes": ["7", "1"], "margin": 0.1}, model=gan,
                                                   classifier=clf, point=p))
    type_point(page, "explorer-z", border)
    check(page, lid, 3, True, "on the border")
    # 4: the plain-BCE model's 1 in the centre; its 3s
    open_step(page, app_url, lid, 4)
    check(page, lid, 4, False, "as a 1")
    assert passing("point_class", {"class": "3", "min_p": 0.9}, model=bce, classifier=clf, point=[-0.75, -0.28])
    type_point(page, "explorer-z", [-0.75, -0.28])
    check(page, lid, 4, True, "a 3")


def test_the_morphing_lesson(page, app_url):
    lid = "morphing"
    open_step(page, app_url, lid, 1)
    expect(page.locator(".st-key-morph-strip img")).to_be_visible(timeout=60_000)
    open_step(page, app_url, lid, 2)
    check(page, lid, 2, False, "passes 5 classes")
    type_point(page, "morph-a", [-0.68, -0.65])
    type_point(page, "morph-b", [0.55, -0.75])
    check(page, lid, 2, True, "4 → 6 → 0")
    open_step(page, app_url, lid, 3)
    check(page, lid, 3, False, "passes 3 classes")
    type_point(page, "morph-b", [0.0])
    check(page, lid, 3, True, "passes 2")


def test_the_inside_the_generator_lesson(page, app_url):
    lid = "inside-the-generator"
    open_step(page, app_url, lid, 1)
    open_step(page, app_url, lid, 2)
    check(page, lid, 2, False, "No unit is switched off")
    open_step(page, app_url, lid, 2, off="generator.layers.act1|0")          # one unit that changes nothing
    check(page, lid, 2, False, "not a 4")
    open_step(page, app_url, lid, 2, off="generator.layers.act1|117,123")
    check(page, lid, 2, True, "became a 4")


def test_the_conditional_gan_lesson(page, app_url, clf):
    lid = "conditional-gans"
    open_step(page, app_url, lid, 1)
    open_step(page, app_url, lid, 2)
    check(page, lid, 2, False, "5→5")
    corner = [0.612, -0.632, 0.448]
    assert passing("labels_agree", {"at_least": 8}, model=load_checkpoint(CK / "cgan_3d_multiply.safetensors").model,
                   classifier=clf, point=corner)
    type_point(page, "cgan-z", corner)
    check(page, lid, 2, True, "drawn as themselves")


def test_the_autoencoder_vs_vae_lesson(page, app_url, clf):
    lid = "autoencoder-vs-vae"
    vae = load_checkpoint(CK / "vae_2d.safetensors").model
    ranges = [tuple(r) for r in explorer_ranges(vae)]
    area = class_area_map(vae, clf, CK / "vae_2d.safetensors", CK / "classifier_strong.safetensors", (0, 1), ranges, 100)
    ones = np.argwhere(area.labels == 1)
    centre = ones.mean(0)
    i, j = ones[np.argmin(((ones - centre) ** 2).sum(1))]
    right = (float(area.coords[0][i]), float(area.coords[1][j]))
    far = np.argwhere(area.labels != 1)
    gx, gy = area.coords[0][far[:, 0]], area.coords[1][far[:, 1]]
    k = int(np.argmax((gx - right[0]) ** 2 + (gy - right[1]) ** 2))
    wrong = (float(gx[k]), float(gy[k]))

    def pixel(box, x, y):
        inner = box["width"] - 2 * PAD_MARGIN
        (x0, x1), (y0, y1) = ranges
        return (box["x"] + PAD_MARGIN + (x - x0) / (x1 - x0) * inner, box["y"] + PAD_MARGIN + (y1 - y) / (y1 - y0) * inner)
    bar = open_step(page, app_url, lid, 1)
    pad = page.locator(f".st-key-lesson-pad-{lid}-1 canvas")
    page.mouse.click(*pixel(pad.bounding_box(), *wrong))
    expect(bar).to_contain_text("Your mark: (", timeout=30_000)
    page.locator(f".st-key-lesson-reveal-{lid}-1 button").click()
    expect(bar.get_by_test_id("stAlert")).to_contain_text("Hint:", timeout=60_000)
    see_highlight(page, lid, 1)                                   # the page, revealed, points at the two maps
    page.locator(f".st-key-lesson-again-{lid}-1 button").click()
    pad = page.locator(f".st-key-lesson-pad-{lid}-1 canvas")
    expect(pad).to_be_visible(timeout=30_000)
    page.mouse.click(*pixel(pad.bounding_box(), *right))
    expect(bar).to_contain_text("Your mark: (", timeout=30_000)
    page.locator(f".st-key-lesson-reveal-{lid}-1 button").click()
    expect(bar.get_by_test_id("stAlert")).to_contain_text("Yes", timeout=60_000)
    # 2: a scribble does not come back as itself; a clear test digit does
    open_step(page, app_url, lid, 2)
    canvas = page.locator(".st-key-vae-canvas canvas")
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + 10, box["y"] + 10)
    page.mouse.down()
    page.mouse.move(box["x"] + 30, box["y"] + 12, steps=4)
    page.mouse.up()
    page.wait_for_timeout(2500)
    check(page, lid, 2, False)
    field = page.locator(".st-key-vae-test_index input")
    field.fill("1")
    field.press("Enter")
    page.wait_for_timeout(800)
    page.locator(".st-key-vae-use_test button").click()
    page.wait_for_timeout(2500)
    check(page, lid, 2, True, "comes back from the VAE")
    open_step(page, app_url, lid, 3)


def test_presenter_mode_and_its_clicker_keys(page, app_url):
    lesson = find_lesson("morphing")
    page.goto(step_url(app_url, lesson, 1, present="1"))
    bar = page.locator(".st-key-lesson-bar")
    expect(bar).to_contain_text("step 1 of 3", timeout=60_000)
    page.locator(".driver-popover-close-btn").click()
    assert page.evaluate("document.body.classList.contains('genlab-present')")
    size = bar.locator("[data-testid='stMarkdownContainer'] p").nth(1).evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
    assert size >= 26, size                                          # the step's text large on the projector
    expect(page.get_by_test_id("stSidebar")).to_have_attribute("data-collapsed", "true")      # collapsed
    page.locator("body").press("PageDown")                          # a clicker's "next"
    page.wait_for_url(re.compile(r"lesson=morphing&step=2"), timeout=60_000)
    expect(bar).to_contain_text("step 2 of 3", timeout=60_000)
    assert "present=1" in page.url
    page.locator(".driver-popover-close-btn").click()
    page.locator("body").press("PageUp")
    page.wait_for_url(re.compile(r"lesson=morphing&step=1"), timeout=60_000)


def test_a_class_link_hides_the_chosen_controls_on_that_link_only(page, app_url):
    from genlab.ui.lesson_bar import link_for_class

    built = link_for_class(f"{app_url}/explorer?model=gan_2d.safetensors&z=0.100,0.200&evil=1", "explorer",
                           ["model", "z0", "nonsense"], False, None, None)
    assert built == "/explorer?model=gan_2d.safetensors&z=0.100%2C0.200&hide=model%2Cz0"
    page.goto(app_url + built)
    expect(page.locator(".st-key-explorer-image img")).to_be_visible(timeout=60_000)
    expect(page.locator(".st-key-explorer-z1")).to_be_visible()
    expect(page.locator(".st-key-explorer-model")).to_be_hidden()
    expect(page.locator(".st-key-explorer-z0")).to_be_hidden()
    page.goto(f"{app_url}/explorer?model=gan_2d.safetensors&z=0.100,0.200")     # the same view without hide=
    expect(page.locator(".st-key-explorer-model")).to_be_visible(timeout=60_000)
