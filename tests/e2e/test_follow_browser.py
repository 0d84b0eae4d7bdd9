"""Follow me (issue 29): a teacher starts a class, a student joins with its code, and the student's screen follows
the teacher's page, lesson step and dragged point; the student can release and come back; the teacher can pause."""
import re

from playwright.sync_api import expect

from .server import open_page, pad_pixel


def drag(page, path):
    canvas = page.locator(".latent-pad canvas").first
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    page.mouse.move(*pad_pixel(box, *path[0]))
    page.mouse.down()
    for x, y in path[1:]:
        page.mouse.move(*pad_pixel(box, x, y), steps=3)
        page.wait_for_timeout(120)
    page.mouse.up()


def test_students_follow_the_teacher_and_cannot_drive(browser, app_url, tmp_path):
    teacher = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    student = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    main = open_page(teacher, f"{app_url}/lessons", "Lessons")
    main.get_by_role("button", name="Start a class").click()
    strip = teacher.locator(".st-key-class-strip")
    expect(strip).to_contain_text("You lead class", timeout=30_000)
    code = re.search(r"class ([A-Z0-9]{6})", strip.inner_text()).group(1)

    smain = open_page(student, f"{app_url}/lessons", "Lessons")
    smain.get_by_label("Class code").fill(code.lower())
    smain.get_by_role("button", name="Join").click()
    expect(student.locator(".st-key-class-strip")).to_contain_text("following the teacher", timeout=30_000)

    # the teacher opens a lesson step: the student's page follows within a few seconds
    teacher.goto(f"{app_url}/explorer?model=gan_2d.safetensors&z=-0.840,0.540&lesson=latent-space-2d&step=1")
    expect(teacher.locator(".st-key-lesson-bar")).to_contain_text("step 1 of 4", timeout=60_000)
    teacher.locator(".driver-popover-close-btn").click()
    student.wait_for_url(re.compile(r"/explorer\?.*lesson=latent-space-2d&step=1"), timeout=30_000)
    expect(student.locator(".st-key-lesson-bar")).to_contain_text("step 1 of 4", timeout=30_000)
    student.locator(".driver-popover-close-btn").click()
    image = student.locator(".st-key-explorer-image img")
    expect(image).to_have_attribute("alt", re.compile(r"\(-0\.84, 0\.54\)"), timeout=60_000)
    student.wait_for_timeout(1500)                    # the pad is mounted and polling

    # the teacher drags: the student's image follows the live point, without a rerun of the student's page
    student.evaluate("window.__genlabFollow = []")
    drag(teacher, [(-0.84, 0.54), (-0.6, 0.2), (-0.3, -0.1), (0.2, -0.5), (0.6, -0.75)])
    expect(image).to_have_attribute("alt", re.compile(r"\(0\.[56]\d*, -0\.7"), timeout=15_000)
    follows = student.evaluate("window.__genlabFollow")
    assert len(follows) >= 2, follows
    delays = sorted(f["painted"] - f["teacher"] for f in follows)
    print("follow delays (ms):", [round(d) for d in delays])
    # the release commits the teacher's point: the student's page takes it in full (its link too)
    student.wait_for_url(re.compile(r"z=0\.[56]\d*%2C-0\.7"), timeout=30_000)

    # release to explore: the teacher's moves no longer move the student
    student.locator(".st-key-class-release button").click()
    expect(student.locator(".st-key-class-strip")).to_contain_text("exploring on your own", timeout=30_000)
    student.wait_for_timeout(1200)
    mine = image.get_attribute("alt")
    drag(teacher, [(0.6, -0.75), (0.2, 0.2), (-0.5, 0.8)])
    teacher.wait_for_url(re.compile(r"z=-0\.5\d*%2C0\.8"), timeout=30_000)
    student.wait_for_timeout(3000)
    assert image.get_attribute("alt") == mine
    # back to the teacher: the student's page opens the teacher's view again
    student.locator(".st-key-class-back button").click()
    student.wait_for_url(re.compile(r"z=-0\.5\d*%2C0\.8"), timeout=30_000)

    # pause everyone: the students stay where they are while the teacher prepares
    teacher.locator(".st-key-class-pause button").click()
    expect(student.locator(".st-key-class-strip")).to_contain_text("paused", timeout=30_000)
    teacher.goto(f"{app_url}/morph?model=gan_2d.safetensors")
    expect(teacher.get_by_test_id("stMain").get_by_role("heading", name="Morph", exact=True)).to_be_visible(timeout=60_000)
    student.wait_for_timeout(3000)
    assert "/explorer" in student.url
    teacher.locator(".st-key-class-resume button").click()
    student.wait_for_url(re.compile(r"/morph\?"), timeout=30_000)
    student.screenshot(path=str(tmp_path / "student.png"))

    # a student cannot drive the class: the route refuses a point without the teacher's token
    status = student.evaluate(f"fetch('/genlab/api/point?model=gan_2d.safetensors&z=0,0&class={code}&token=guess')"
                              ".then(r => r.status)")
    assert status == 403
    teacher.locator(".st-key-class-end button").click()
    expect(student.locator(".st-key-class-strip")).to_have_count(0, timeout=30_000)
