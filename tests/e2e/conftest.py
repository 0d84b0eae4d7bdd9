"""A real app server and a real Chromium (Debian's, driven by Playwright) for end-to-end tests."""
from __future__ import annotations

import pytest

from .server import app_server, launch_chromium


@pytest.fixture(scope="session")
def app_url(tmp_path_factory):
    """`streamlit run app.py` on a free loopback port, with the shipped checkpoints; stopped afterwards.

    Maps are cached in a fresh folder, so the tests also see them computed."""
    folder = tmp_path_factory.mktemp("server")
    try:
        with app_server(folder / "streamlit.log", env={"GENLAB_CACHE_DIR": str(folder / "cache")}) as url:
            yield url
    except RuntimeError as err:
        pytest.fail(str(err))


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        try:
            b = launch_chromium(p)
        except RuntimeError as err:
            pytest.fail(str(err))
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    yield pg
    context.close()
