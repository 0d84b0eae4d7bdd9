"""Nearest training digits (genlab.nearest): exact search in pixels and features, the copy rate, the cache."""
import numpy as np
import pytest
import torch

from genlab import nearest
from genlab.data import load_dataset
from genlab.models import build_model


@pytest.fixture(scope="module")
def digits():
    return load_dataset("mnist5k", "train")


@pytest.fixture(scope="module")
def index(digits):
    torch.manual_seed(0)
    return nearest.NearestIndex(digits, build_model("classifier", {"size": "weak"}).eval())


def test_search_is_exact_against_brute_force(index, digits):
    queries = torch.rand(7, 1, 28, 28) * 2 - 1
    found = index.search(queries, k=3)
    flat = (queries.reshape(7, -1) + 1) / 2
    brute = torch.cdist(flat, (digits.images.reshape(len(digits), -1) + 1) / 2)
    d, i = brute.topk(3, largest=False)
    assert torch.equal(found.indices, i) and torch.allclose(found.distances, d, atol=1e-3)
    assert torch.equal(found.labels, digits.labels[i])
    feats = index.search(queries, k=2, space="features")
    fd = torch.cdist(index.embed(queries), index.features).topk(2, largest=False)
    assert torch.equal(feats.indices, fd.indices)


def test_a_training_digit_finds_itself_and_a_copy_is_called_one(index, digits):
    found = index.search(digits.images[:5], k=1)
    assert found.indices[:, 0].tolist() == [0, 1, 2, 3, 4] and found.distances.max() < 1e-2
    others = index.search(digits.images[:5], k=1, exclude_self=True)
    assert (others.indices[:, 0] != torch.arange(5)).all() and (others.distances > 0.1).all()
    threshold = index.copy_threshold()
    assert 0 < threshold < float(index.search(digits.images[:200], k=1, exclude_self=True).distances.median())
    copies = index.copy_figures(digits.images[:100])
    assert copies["copy_rate"] == 1.0 and copies["copy_reference"].startswith("4,000 training digits")
    noise = index.copy_figures(torch.rand(100, 1, 28, 28) * 2 - 1)
    assert noise["copy_rate"] == 0.0 and noise["median_nearest_distance"] > threshold


def test_bad_queries_are_refused(index):
    with pytest.raises(ValueError, match="k must be"):
        index.search(torch.zeros(1, 1, 28, 28), k=0)
    with pytest.raises(ValueError, match="space must be"):
        index.search(torch.zeros(1, 1, 28, 28), space="colour")
    with pytest.raises(ValueError, match=r"\(N, 1, 28, 28\)"):
        index.search(torch.zeros(1, 3, 32, 32))
    with pytest.raises(ValueError, match="no classifier features"):
        nearest.NearestIndex(load_dataset("mnist5k", "test")).search(torch.zeros(1, 1, 28, 28), space="features")


def test_features_are_cached_on_disk_and_a_bad_cache_is_recomputed(tmp_path, monkeypatch, digits):
    from genlab.checkpoints import save_checkpoint

    monkeypatch.setenv("GENLAB_CACHE_DIR", str(tmp_path / "cache"))
    torch.manual_seed(0)
    classifier = build_model("classifier", {"size": "weak"}).eval()
    path = save_checkpoint(tmp_path / "clf", classifier, "mnist5k")
    small = type(digits)(digits.name, "train", digits.images[:300], digits.labels[:300], digits.class_names)
    first = nearest.build_index(classifier, path, dataset=small)
    files = list((tmp_path / "cache" / "nearest").glob("features.*.npy"))
    assert len(files) == 1
    again = nearest.build_index(classifier, path, dataset=small)
    assert torch.equal(first.features, again.features) and again.copy_threshold() == first.copy_threshold()
    np.save(files[0], np.zeros((3, 2), dtype=np.float32))          # the wrong shape: recomputed, not trusted
    assert torch.allclose(nearest.build_index(classifier, path, dataset=small).features, first.features)


def test_the_check_names_the_set_it_searched_and_whether_it_is_the_models_own():
    """Issue 32.7: a full-MNIST model checked against the embedded digits says so."""
    from types import SimpleNamespace

    from genlab.nearest import searched_set_note

    embedded = SimpleNamespace(dataset=SimpleNamespace(name="mnist5k"))
    full = SimpleNamespace(dataset=SimpleNamespace(name="mnist"))
    assert "not on this machine" in searched_set_note("mnist", embedded)
    assert "4,000 embedded" in searched_set_note("mnist", embedded)
    assert searched_set_note("mnist", full).endswith("the set this model was trained on.")
    assert "not this set" in searched_set_note("mnist5k", full)
