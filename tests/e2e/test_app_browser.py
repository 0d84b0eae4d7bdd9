"""End to end in a real browser: the app opens with the shipped models listed, and the Model card works."""
import re

from playwright.sync_api import expect


def test_home_lists_the_shipped_models_with_samples(page, app_url, tmp_path):
    page.goto(app_url)
    main = page.get_by_test_id("stMain")
    expect(main.get_by_role("heading", name="GenLab")).to_be_visible(timeout=60_000)
    for title in ("GAN, 2D latent, class-reconstruction regulariser", "GAN, 2D latent, plain BCE",
                  "GAN, 3D latent, class-reconstruction regulariser", "GAN, 4D latent, class-reconstruction regulariser",
                  "Conditional GAN, 3D latent, reconstruction regulariser",
                  "VAE, 2D latent", "VAE, 16D latent", "Autoencoder, 2D latent", "Classifier (strong)", "MuseGAN, 4 voices x 2 bars"):
        expect(main.get_by_text(title, exact=True)).to_be_visible(timeout=60_000)
    expect(main.get_by_role("img")).to_have_count(10, timeout=60_000)  # a row of samples per generative model
    expect(page.get_by_role("button", name="Deploy")).to_have_count(0)   # issue 32.15: no Deploy button
    page.screenshot(path=str(tmp_path / "home.png"), full_page=True)


def test_model_card_shows_parameter_counts_and_new_samples(page, app_url):
    page.goto(app_url)
    page.get_by_test_id("stSidebarNav").get_by_text("Model card").click()
    main = page.get_by_test_id("stMain")
    expect(main.get_by_role("heading", name="Model card")).to_be_visible(timeout=60_000)
    page.get_by_test_id("stSelectbox").click()
    page.get_by_role("option", name="gan_2d — GAN, 2D latent, regularised").click()
    expect(main.get_by_text("1,076,160")).to_be_visible(timeout=60_000)
    image = main.get_by_role("img").first
    expect(image).to_be_visible(timeout=60_000)
    before = image.get_attribute("src")
    seed = main.get_by_test_id("stNumberInput").locator("input")
    seed.fill("7")
    seed.press("Enter")
    expect(main.get_by_role("img").first).not_to_have_attribute("src", before, timeout=60_000)


def test_copy_link_gives_a_link_that_opens_the_same_view(browser, app_url, tmp_path):
    """Morph with A, B and the steps from a link; "Copy link" copies the page's link; a fresh browser opens it
    on the same view (issue 14)."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=app_url)
    try:
        page = context.new_page()
        page.goto(f"{app_url}/morph?model=gan_2d.safetensors&a=-0.8,0.5&b=0.6,-0.4&steps=6&method=spherical")
        main = page.get_by_test_id("stMain")
        expect(main.get_by_role("heading", name="Morph", exact=True)).to_be_visible(timeout=60_000)
        expect(main.get_by_text("6 steps from A (left) to B, spherical interpolation", exact=False)).to_be_visible(
            timeout=60_000)
        main.get_by_role("button", name="Copy link").click()
        expect(main.get_by_text("Copied")).to_be_visible(timeout=10_000)
        copied = page.evaluate("navigator.clipboard.readText()")
        assert "/morph?" in copied and "steps=6" in copied and "a=-0.800%2C0.500" in copied, copied
        page.screenshot(path=str(tmp_path / "morph_link.png"))
        fresh = browser.new_context(viewport={"width": 1280, "height": 800})
        other = fresh.new_page()
        other.goto(copied)
        expect(other.get_by_test_id("stMain").get_by_text("6 steps from A (left) to B, spherical interpolation",
                                                          exact=False)).to_be_visible(timeout=60_000)
        fields = other.get_by_test_id("stMain").get_by_test_id("stNumberInput").locator("input")
        assert "-0.80" in [fields.nth(i).input_value() for i in range(fields.count())]
        fresh.close()
    finally:
        context.close()


def test_an_over_long_link_opens_the_page_with_its_message(page, app_url):
    """Issue 32, 20: a link over the server's 64 KB got uvicorn's plain "Invalid HTTP request received."; now a
    page says the link is too long and links to the page without it. A long link that the server takes (40 KB)
    opens the page, which says what is wrong with the value and shows its default view."""
    page.goto(f"{app_url}/explorer?model=gan_2d.safetensors&z={'0.1,' * 20_000}")          # 80 KB
    expect(page.get_by_role("heading", name="This link is too long")).to_be_visible(timeout=30_000)
    page.get_by_role("link", name="Open /explorer without the link's values").click()
    expect(page.get_by_role("heading", name="Latent Explorer")).to_be_visible(timeout=120_000)
    page.goto(f"{app_url}/explorer?model=gan_2d.safetensors&z={'0.1,' * 10_000}")          # 40 KB
    main = page.get_by_test_id("stMain")
    expect(main.get_by_text(re.compile(r"has 2 coordinates, not 10000; using \(-0.84, 0.54\)"))).to_be_visible(
        timeout=120_000)
    expect(page.locator(".st-key-explorer-image img")).to_be_visible(timeout=60_000)
