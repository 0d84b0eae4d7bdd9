"""End to end in a real browser: on the Distillation page, see phi at work, start a short comparison and watch
both students' curves grow epoch by epoch. Its own server, so the runs folder is fresh."""
import pytest
from playwright.sync_api import expect

from .server import chart_points, fresh_app


@pytest.fixture
def distill_url(tmp_path):
    with fresh_app(tmp_path, GENLAB_DATA_DIR=str(tmp_path / "no-data")) as url:   # the embedded digits
        yield url


def test_start_a_comparison_and_watch_both_students_learn(page, distill_url, tmp_path):
    page.goto(f"{distill_url}/distill?setting=generated&epochs=4&student=weak")   # issue 28: the generated setting
    main = page.get_by_test_id("stMain")
    expect(main.get_by_role("heading", name="Distillation", exact=True)).to_be_visible(timeout=60_000)
    expect(main.get_by_text("phi of them, in the teacher's domain S", exact=False)).to_be_visible(timeout=60_000)
    expect(main.get_by_text("The teacher's soft labels", exact=False).first).to_be_visible()
    main.get_by_role("button", name="Start the comparison").click()
    expect(main.get_by_text("Epoch 1/4", exact=False)).to_be_visible(timeout=120_000)
    curves = main.locator(".st-key-distill-accuracy")          # the accuracy chart (the page also draws the VAE's plane)
    expect(curves.locator(".js-plotly-plot").first).to_be_visible(timeout=30_000)
    first = chart_points(curves)
    expect(main.get_by_text("After epoch 4", exact=False)).to_be_visible(timeout=180_000)
    assert chart_points(curves) > first >= 2
    expect(main.get_by_text("alone (lambda = 0)", exact=False).first).to_be_visible()
    page.screenshot(path=str(tmp_path / "distill.png"), full_page=True)
