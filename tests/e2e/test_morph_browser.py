"""End to end in a real browser: run a morph, see the strip, move B on the pad, download the GIF."""
import io
import re

from PIL import Image
from playwright.sync_api import expect

from .server import open_page, pad_pixel


def test_morph_strip_follows_b_and_downloads_as_a_gif(page, app_url, tmp_path):
    main = open_page(page, f"{app_url}/morph", "Morph")
    strip = page.locator(".st-key-morph-strip img")
    expect(strip).to_be_visible(timeout=120_000)
    expect(main.get_by_text("16 steps from A (left) to B")).to_be_visible()
    before = strip.get_attribute("src")
    with page.expect_download() as download:
        main.get_by_role("button", name="Download the morph as an animated GIF").click()
    gif_before = open(download.value.path(), "rb").read()

    canvas = page.locator(".latent-pad canvas")
    expect(canvas).to_have_attribute("data-preview", re.compile(".+"), timeout=30_000)   # the plane's sprite
    page.evaluate("window.__genlabPreviews = []")
    live = []                                                       # the exact strips from the morph route
    page.on("response", lambda r: live.append(r) if "/genlab/api/morph" in r.url else None)
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    page.mouse.move(*pad_pixel(box, 1.0, 0.0))                      # B starts at (1, 0)
    page.mouse.down()
    page.mouse.move(*pad_pixel(box, 0.8, -0.6), steps=5)
    assert page.evaluate("window.__genlabPreviews.length") >= 5     # each move painted the strip's preview
    expect(page.locator(".st-key-morph-strip img.genlab-live")).to_have_count(1, timeout=10_000)   # then the exact strip
    page.wait_for_timeout(1000)                                     # the newest move's answer is in
    assert live and {r.status for r in live} == {200}, [r.status for r in live]
    assert re.search(r"a=-1\.0000(%2C|,)0\.0000", live[-1].url), live[-1].url                         # A stays
    answer = live[-1].json()
    assert answer["a"] == [-1.0, 0.0] and answer["b"] != [1.0, 0.0]
    expect(page.locator('.st-key-morph-strip [data-testid="stImageCaption"]')).to_have_text(answer["caption"])
    expect(page.locator(".st-key-morph-strip img.genlab-live")).to_have_attribute("src", answer["strip"])
    page.mouse.up()
    expect(strip).not_to_have_attribute("src", before, timeout=15_000)
    expect(page.locator(".st-key-morph-strip .genlab-preview")).to_have_count(0, timeout=15_000)   # the exact strip
    expect(page.locator(".latent-pad .readout")).to_contain_text("B: z1 = 0.8", timeout=10_000)

    # issue 32.2: the link, the GIF and the scrubber follow the drag's release (the fragment's rerun)
    expect(page).to_have_url(re.compile(r"b=0\.8\d*(%2C|,)-0\.6"), timeout=15_000)
    with page.expect_download() as download:
        main.get_by_role("button", name="Download the morph as an animated GIF").click()
    data = open(download.value.path(), "rb").read()
    gif = Image.open(io.BytesIO(data))
    assert gif.format == "GIF" and gif.n_frames == 16 and data != gif_before
    last_class = page.locator(".st-key-morph-strip [data-testid='stImageCaption']").inner_text().split()[-1]
    slider = page.locator(".st-key-morph-step input[type=range]")
    slider.focus()
    slider.press("End")
    expect(main.get_by_text(f"step 16 of 16: class {last_class}")).to_be_visible(timeout=15_000)

    # a typed endpoint too
    field = page.locator(".st-key-morph-b0 input")
    field.fill("0.5")
    field.press("Enter")
    expect(page).to_have_url(re.compile(r"b=0\.500(%2C|,)-0\.6"), timeout=15_000)
    with page.expect_download() as download:
        main.get_by_role("button", name="Download the morph as an animated GIF").click()
    assert open(download.value.path(), "rb").read() not in (data, gif_before)
    page.screenshot(path=str(tmp_path / "morph.png"))
