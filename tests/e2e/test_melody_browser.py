"""End to end in a real browser: the Melody page writes a melody with both heatmaps; the keyboard makes a seed."""
from playwright.sync_api import expect


def test_generate_from_an_opening_see_both_heatmaps_then_play_your_own_seed(page, app_url, tmp_path):
    page.goto(app_url)
    page.get_by_test_id("stSidebarNav").get_by_text("Melody", exact=True).click()
    main = page.get_by_test_id("stMain")
    expect(main.get_by_role("heading", name="Melody")).to_be_visible(timeout=60_000)
    charts = main.locator(".js-plotly-plot")
    expect(charts).to_have_count(4, timeout=60_000)        # the roll, Bach's continuation, the two heatmaps
    expect(main.locator(".js-plotly-plot .heatmaplayer image")).to_have_count(2, timeout=30_000)
    expect(main.locator("audio")).to_have_count(2)           # the melody, and Bach's continuation (an expander)
    expect(main.get_by_text("Next-pitch probability")).to_be_visible()
    expect(main.get_by_text("Attention", exact=False).first).to_be_visible()
    page.screenshot(path=str(tmp_path / "melody.png"), full_page=True)

    # a seed of your own from the keyboard: a new melody and a link that carries it
    before = main.locator("audio").first.get_attribute("src")
    main.get_by_text("Keyboard: add notes by clicking").click()
    keys = main.get_by_test_id("stButtonGroup").nth(1)
    expect(keys.get_by_role("radio", name="G4", exact=True)).to_be_visible(timeout=30_000)
    page.wait_for_timeout(500)                                # the expander has finished opening
    main.get_by_role("button", name="Clear", exact=True).click()
    field = main.get_by_test_id("stTextInputField")
    expect(field).to_have_value("", timeout=30_000)
    for key in ("G4", "B4", "D5"):
        keys.get_by_role("radio", name=key, exact=True).click()
        page.wait_for_timeout(300)
    expect(field).to_have_value("G4:1 B4:1 D5:1", timeout=30_000)
    expect(main.locator("audio").first).not_to_have_attribute("src", before, timeout=60_000)
    expect(main.locator("audio")).to_have_count(1)           # your own seed: no chorale to compare with
    page.wait_for_function("() => location.search.includes('notes=G4%3A1+B4%3A1+D5%3A1')", timeout=30_000)
