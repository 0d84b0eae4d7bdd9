"""Shared fixtures: small real data slices and tiny trained checkpoints."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "checkpoints"


@pytest.fixture(autouse=True)
def _few_threads():
    torch.set_num_threads(2)
    yield


@pytest.fixture(scope="session")
def mnist5k_test():
    from genlab.data import load_dataset

    return load_dataset("mnist5k", "test")


@pytest.fixture
def tiny_checkpoint(tmp_path):
    """A 2D GAN trained for one epoch on 64 embedded digits, written to tmp_path."""
    from genlab.training import TrainConfig, train

    result = train(TrainConfig("gan", {"latent_dim": 2}, epochs=1, batch_size=32, limit=64), out=tmp_path / "gan")
    return Path(result.path)


def open_app(page: str, timeout: float = 60, **query):
    """An AppTest of the whole app (pages need the router's st.navigation) switched to `page`, with the
    URL's `query` parameters; it has run without an exception."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "main.py"), default_timeout=timeout)
    at.query_params.update(query)
    at.run()
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def image_class(at) -> str:
    """The class a page's point panel names ("Image class: 7" heading of genlab.ui.explorer.class_html)."""
    import re

    for h in at.get("html"):
        found = re.search(r">Image class: ([^<]+)</h4>", h.proto.body)
        if found:
            return found.group(1)
    raise AssertionError("no 'Image class' heading on the page")
