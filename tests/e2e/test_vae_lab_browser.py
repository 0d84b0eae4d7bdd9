"""End to end in a real browser: draw a digit on the VAE Lab's canvas with the mouse and see it appear as a
point on the latent pad with the VAE's reconstruction; clear the canvas and get a message."""
import re
from urllib.parse import parse_qs, urlparse

from playwright.sync_api import expect

from .server import open_page

THREE = [(90, 60), (130, 45), (175, 55), (190, 85), (170, 120), (135, 135), (175, 150), (195, 185), (180, 220),
         (135, 240), (90, 225)]                      # on the canvas's 280 x 280 surface


def test_a_drawn_stroke_becomes_a_point_and_a_reconstruction(page, app_url, tmp_path):
    main = open_page(page, f"{app_url}/vae_lab", "VAE Lab")
    canvas = page.locator(".draw-canvas canvas")
    expect(canvas).to_be_visible(timeout=120_000)
    expect(main.get_by_text("Draw a digit on the black square")).to_be_visible()
    expect(page.locator(".latent-pad")).to_have_count(0)

    box = canvas.bounding_box()
    scale = box["width"] / 280
    at = lambda x, y: (box["x"] + x * scale, box["y"] + y * scale)  # noqa: E731
    page.mouse.move(*at(*THREE[0]))
    page.mouse.down()
    for point in THREE[1:]:
        page.mouse.move(*at(*point), steps=5)
    page.mouse.up()

    reconstruction = page.locator(".st-key-vae-point-image img")
    expect(reconstruction).to_be_visible(timeout=60_000)
    expect(page.locator(".latent-pad .readout")).to_contain_text(re.compile(r"PC1 = -?\d\.\d{3}"), timeout=30_000)
    expect(main.get_by_text("your drawing, as MNIST")).to_be_visible()
    expect(main.get_by_text(re.compile(r"^Image class: \d$"))).to_be_visible()
    page.screenshot(path=str(tmp_path / "vae_lab_drawn.png"))

    pad = page.locator(".latent-pad canvas")                 # a drag paints previews from the plane's sprite
    expect(pad).to_have_attribute("data-preview", re.compile(".+"), timeout=30_000)
    page.evaluate("window.__genlabPreviews = []")
    live, asked_for = [], []                                 # ... and asks the live route for the exact image
    page.on("request", lambda r: asked_for.append(r.url) if "/genlab/api/point" in r.url else None)
    page.on("response", lambda r: live.append((r.status, r.url)) if "/genlab/api/point" in r.url else None)
    box = pad.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    page.mouse.down()
    for k in range(1, 6):
        page.mouse.move(box["x"] + box["width"] * (0.5 + 0.05 * k), box["y"] + box["height"] * 0.5)
        page.wait_for_timeout(150)
    settled = 0                                              # the button still down: every answer in (the newest last)
    for _ in range(100):
        settled = settled + 1 if asked_for and len(live) == len(asked_for) else 0
        if settled == 3:
            break
        page.wait_for_timeout(100)
    assert live and len(live) == len(asked_for), (len(live), len(asked_for))
    asked = asked_for[-1]
    page.mouse.up()
    assert page.evaluate("window.__genlabPreviews.length") >= 5
    assert live and {status for status, _ in live} == {200}, live
    sent = [float(v) for v in parse_qs(urlparse(asked).query)["z"][0].split(",")]
    # the release commits the point in Python (the plane through the point, moved to the pad's x, y): the
    # page's image is then at the point the pad's JavaScript asked for while dragging
    expect(page.locator(".legendtext", has_text="the point")).to_have_count(1, timeout=30_000)   # committed: the page reran
    committed = re.search(r"generated image at \(([^)]*)\)", reconstruction.get_attribute("alt")).group(1)
    committed = [float(v) for v in committed.split(",")]
    assert len(committed) == len(sent) and max(abs(a - b) for a, b in zip(committed, sent)) <= 0.011, (committed, sent)

    page.locator(".draw-canvas button.clear").click()
    expect(main.get_by_text("The canvas is empty: draw a digit on it.")).to_be_visible(timeout=30_000)
    expect(reconstruction).to_have_count(0)


def test_attribute_sliders_are_in_the_link_at_once(page, app_url):
    """Issue 32.3: moving a slider on the Attribute vectors tab puts it in the link (the sliders' fragment
    reran alone, so the link kept the old view until another tab was opened)."""
    open_page(page, f"{app_url}/vae_lab?tab=vectors", "VAE Lab")
    slider = page.locator(".st-key-vae-alpha-thickness input[type=range]")
    expect(slider).to_be_visible(timeout=120_000)
    slider.focus()
    for _ in range(3):
        slider.press("ArrowRight")
    expect(page).to_have_url(re.compile(r"alpha=thickness(%3A|:)0\.3"), timeout=15_000)
