"""End to end in a real browser: start a tiny run on the Train page, watch the progress and the loss chart
move, then open the model just trained in the Latent Explorer. Its own server, so the run's folder is fresh."""
import re

import pytest
from playwright.sync_api import expect

from genlab.training.jobs import JobStore

from .server import app_server, chart_points, fresh_app


@pytest.fixture
def train_url(tmp_path):
    with fresh_app(tmp_path, GENLAB_CACHE_DIR=str(tmp_path / "cache")) as url:
        yield url


def test_train_a_tiny_vae_watch_it_and_explore_it(page, train_url, tmp_path):
    page.goto(f"{train_url}/train")
    main = page.get_by_test_id("stMain")
    expect(main.get_by_role("heading", name="Train", exact=True)).to_be_visible(timeout=60_000)
    for label, value in (("Epochs", "3"), ("Training images (0 = all)", "512"), ("Map resolution (points per axis)", "16")):
        field = main.get_by_label(label, exact=True)
        field.fill(value)
        field.press("Enter")
        expect(field).to_have_value(value, timeout=30_000)
    name = main.get_by_label("Name", exact=True)
    name.fill("browser_vae")
    name.press("Enter")
    main.get_by_test_id("stSelectbox").filter(has_text="Batch size").click()
    page.get_by_role("option", name="32", exact=True).click()
    main.get_by_role("button", name="Start").click()
    # 1. the progress bar moves epoch by epoch, and the loss chart gains points
    expect(main.get_by_text("browser_vae", exact=False).first).to_be_visible(timeout=30_000)
    expect(main.get_by_text("Epoch 1/3", exact=False)).to_be_visible(timeout=120_000)
    expect(main.locator(".js-plotly-plot").first).to_be_visible(timeout=30_000)
    first = chart_points(main)
    expect(main.get_by_text("Epoch 2/3", exact=False)).to_be_visible(timeout=120_000)
    page.screenshot(path=str(tmp_path / "training.png"), full_page=True)
    # 2. it ends, scored, with a link to the explorer
    expect(main.get_by_text("done", exact=True)).to_be_visible(timeout=180_000)
    assert chart_points(main) > first > 0
    link = main.get_by_role("link", name="Explore browser_vae.safetensors in the Latent Explorer")
    expect(link).to_be_visible(timeout=30_000)
    link.click()
    expect(main.get_by_role("heading", name="Latent Explorer")).to_be_visible(timeout=60_000)
    expect(main.get_by_role("combobox", name="Model")).to_have_value("browser_vae — VAE, 16D latent",
                                                                      timeout=60_000)
    expect(main.get_by_role("img").first).to_be_visible(timeout=60_000)
    page.screenshot(path=str(tmp_path / "explorer.png"), full_page=True)


def test_in_the_demo_only_the_visitor_who_started_a_run_can_stop_it(browser, tmp_path):
    """Two browsers (two visitors): the owner keeps the run across a reload (its id lives in a cookie);
    the other one watches it without a Stop button."""
    env = {"GENLAB_RUNS": str(tmp_path / "runs"), "GENLAB_TRAIN_THREADS": "1", "GENLAB_DEMO": "1",
           "GENLAB_CACHE_DIR": str(tmp_path / "cache")}
    with app_server(tmp_path / "streamlit.log", env=env) as url:
        owner, other = (browser.new_context(viewport={"width": 1280, "height": 800}) for _ in range(2))
        try:
            page = owner.new_page()
            page.goto(f"{url}/train")
            main = page.get_by_test_id("stMain")
            expect(main.get_by_role("heading", name="Train", exact=True)).to_be_visible(timeout=60_000)
            expect(page.get_by_test_id("stSidebar").get_by_text("Hosted demo", exact=False)).to_be_visible()
            page.wait_for_function("() => document.cookie.includes('genlab_visitor=')", timeout=30_000)
            epochs = main.get_by_label("Epochs", exact=True)   # long enough to outlast the test
            epochs.fill("20")
            epochs.press("Enter")
            expect(epochs).to_have_value("20", timeout=30_000)
            name = main.get_by_label("Name", exact=True)
            name.fill("owned_run")
            name.press("Enter")
            main.get_by_role("button", name="Start").click()
            expect(main.get_by_role("button", name="Stop")).to_be_visible(timeout=60_000)
            [job] = JobStore(tmp_path / "runs").jobs()      # the preset's run, as the form showed it
            assert job.train_config.kind == "vae" and job.train_config.epochs == 20 and job.owner
            expect(page).to_have_url(re.compile(r"run=" + job.id), timeout=30_000)   # the watch view's link
            page.reload()                           # a reload is the same visitor, and the link reopens the run
            expect(main.get_by_text("owned_run", exact=False).first).to_be_visible(timeout=60_000)
            expect(main.get_by_role("button", name="Stop")).to_be_visible(timeout=60_000)
            page2 = other.new_page()
            page2.goto(f"{url}/train")
            main2 = page2.get_by_test_id("stMain")
            expect(main2.get_by_role("heading", name="Train", exact=True)).to_be_visible(timeout=60_000)
            main2.get_by_role("radio", name="Watch a run").or_(main2.get_by_role("button", name="Watch a run")).first.click()
            expect(main2.get_by_text("Another visitor started this run", exact=False)).to_be_visible(timeout=60_000)
            assert main2.get_by_role("button", name="Stop").count() == 0
            page2.screenshot(path=str(tmp_path / "other_visitor.png"), full_page=True)
            main.get_by_role("button", name="Stop").click()
            expect(main.get_by_text("stopped", exact=False).first).to_be_visible(timeout=120_000)
        finally:
            owner.close()
            other.close()


@pytest.mark.ray
def test_on_a_ray_cluster_start_pause_resume_and_explore(page, tmp_path):
    """The Train page on Ray (issue 30): a real two-node cluster (the head schedules nothing), Start lands the run
    on the worker node, Pause releases it at the end of the epoch, Resume continues there, and the published
    model opens in the Latent Explorer."""
    from genlab.training.ray_local import local_cluster

    with local_cluster(worker_cpus=1) as cluster, \
            fresh_app(tmp_path, GENLAB_CACHE_DIR=str(tmp_path / "cache"), GENLAB_JOB_BACKEND="ray",
                      GENLAB_RAY_ADDRESS=cluster.url, GENLAB_MAX_JOBS="2") as url:
        page.goto(f"{url}/train")
        main = page.get_by_test_id("stMain")
        expect(main.get_by_role("heading", name="Train", exact=True)).to_be_visible(timeout=60_000)
        for label, value in (("Epochs", "3"), ("Training images (0 = all)", "512"),
                             ("Map resolution (points per axis)", "16"), ("Name", "ray_vae")):
            field = main.get_by_label(label, exact=True)
            field.fill(value)
            field.press("Enter")
            expect(field).to_have_value(value, timeout=30_000)
        main.get_by_role("button", name="Start").click()
        expect(main.get_by_text("Epoch 0/3", exact=False)).to_be_visible(timeout=120_000)
        main.get_by_role("button", name="Pause").click()
        expect(main.get_by_text("its CPU is free", exact=False)).to_be_visible(timeout=180_000)
        [job] = JobStore(tmp_path / "runs").jobs()
        assert job.status["backend"] == "ray" and job.status["epoch"] < 3
        page.screenshot(path=str(tmp_path / "ray_paused.png"), full_page=True)
        main.get_by_role("button", name="Resume").click()
        expect(main.get_by_text("done", exact=True)).to_be_visible(timeout=240_000)
        job = JobStore(tmp_path / "runs").get(job.id)
        assert job.status["attempt"] == 2
        link = main.get_by_role("link", name="Explore ray_vae.safetensors in the Latent Explorer")
        expect(link).to_be_visible(timeout=30_000)
        link.click()
        expect(main.get_by_role("combobox", name="Model")).to_have_value("ray_vae — VAE, 16D latent", timeout=60_000)
