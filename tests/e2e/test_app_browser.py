"""End to end in a real browser: the app opens with the shipped models listed, and the Model card works."""
from playwright.sync_api import expect


def test_home_lists_the_shipped_models_with_samples(page, app_url, tmp_path):
    page.goto(app_url)
    main = page.get_by_test_id("stMain")
    expect(main.get_by_role("heading", name="GenLab")).to_be_visible(timeout=60_000)
    for title in ("GAN, 2D latent", "GAN, 3D latent", "GAN, 4D latent", "Conditional GAN, 3D latent",
                  "VAE, 2D latent", "VAE, 16D latent", "Autoencoder, 2D latent", "Classifier (strong)", "MuseGAN, 4 voices x 2 bars"):
        expect(main.get_by_text(title, exact=True)).to_be_visible(timeout=60_000)
    expect(main.get_by_role("img")).to_have_count(8, timeout=60_000)  # a row of samples per generative model
    page.screenshot(path=str(tmp_path / "home.png"), full_page=True)


def test_model_card_shows_parameter_counts_and_new_samples(page, app_url):
    page.goto(app_url)
    page.get_by_test_id("stSidebarNav").get_by_text("Model card").click()
    main = page.get_by_test_id("stMain")
    expect(main.get_by_role("heading", name="Model card")).to_be_visible(timeout=60_000)
    page.get_by_test_id("stSelectbox").click()
    page.get_by_role("option", name="GAN, 2D latent — gan_2d.safetensors").click()
    expect(main.get_by_text("1,076,160")).to_be_visible(timeout=60_000)
    image = main.get_by_role("img").first
    expect(image).to_be_visible(timeout=60_000)
    before = image.get_attribute("src")
    seed = main.get_by_test_id("stNumberInput").locator("input")
    seed.fill("7")
    seed.press("Enter")
    expect(main.get_by_role("img").first).not_to_have_attribute("src", before, timeout=60_000)
