"""Datasets: the embedded ones always load; a missing full set gives one clear message."""
import gzip

import numpy as np
import pytest
import torch

from genlab.data import DATASETS, DatasetUnavailable, _read_idx, available_datasets, load_dataset


@pytest.mark.parametrize("name, train_size, test_size", [("mnist5k", 4000, 1000), ("digits", 1438, 359)])
def test_embedded_datasets_follow_the_convention(name, train_size, test_size):
    train, test = load_dataset(name, "train"), load_dataset(name, "test")
    assert (len(train), len(test)) == (train_size, test_size)
    for split in (train, test):
        assert split.images.dtype == torch.float32 and split.images.shape[1:] == (1, 28, 28)
        assert split.images.min() == -1 and split.images.max() == 1
        assert split.labels.dtype == torch.int64
        assert set(split.labels.tolist()) == set(range(10))
    assert train.class_names == tuple("0123456789")


def test_mnist5k_split_is_balanced_deterministic_and_disjoint():
    a, b = load_dataset("mnist5k", "test"), load_dataset("mnist5k", "test")
    assert torch.equal(a.images, b.images)
    assert torch.bincount(a.labels).tolist() == [100] * 10
    train = load_dataset("mnist5k", "train")
    assert torch.bincount(train.labels).tolist() == [400] * 10
    assert len(set(train.labels[:20].tolist())) > 3  # shuffled (the csv is sorted by label)
    train_rows = {x.numpy().tobytes() for x in train.images}
    assert not any(x.numpy().tobytes() in train_rows for x in a.images)


def test_missing_full_dataset_says_how_to_get_it(monkeypatch, tmp_path):
    monkeypatch.setenv("GENLAB_DATA_DIR", str(tmp_path))
    monkeypatch.setattr("genlab.data.DEBIAN_FASHION_DIR", tmp_path / "nowhere")
    for name in ("mnist", "fashion_mnist"):
        with pytest.raises(DatasetUnavailable, match="GENLAB_DATA_DIR"):
            load_dataset(name, "train", data_dir=tmp_path / "empty")
    assert available_datasets(tmp_path / "empty") == ["mnist5k", "digits"]


def _fake_npz(path, n=20):
    rng = np.random.default_rng(0)
    np.savez(path, x_train=rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), y_train=np.arange(n) % 10,
             x_test=rng.integers(0, 256, (n // 2, 28, 28), dtype=np.uint8), y_test=np.arange(n // 2) % 10)


def test_full_dataset_from_npz_folder_env_and_file(monkeypatch, tmp_path):
    _fake_npz(tmp_path / "fashion_mnist.npz")
    monkeypatch.setenv("GENLAB_DATA_DIR", str(tmp_path))
    data = load_dataset("fashion_mnist", "test")
    assert data.images.shape == (10, 1, 28, 28) and data.class_names[9] == "Ankle boot"
    assert len(load_dataset("fashion_mnist", "train", data_dir=tmp_path / "fashion_mnist.npz")) == 20


def test_malformed_npz_is_refused(tmp_path):
    np.savez(tmp_path / "mnist.npz", x_train=np.zeros((3, 5)), y_train=np.zeros(3))
    with pytest.raises(DatasetUnavailable, match="28, 28"):
        load_dataset("mnist", "train", data_dir=tmp_path)
    with pytest.raises(DatasetUnavailable, match="lacks"):
        load_dataset("mnist", "test", data_dir=tmp_path)


def test_idx_reader_reads_debian_style_gz(tmp_path):
    images = np.arange(2 * 28 * 28, dtype=np.uint32).astype(np.uint8).reshape(2, 28, 28)
    header = bytes([0, 0, 8, 3]) + b"".join(int(v).to_bytes(4, "big") for v in images.shape)
    with gzip.open(tmp_path / "x.gz", "wb") as f:
        f.write(header + images.tobytes())
    assert np.array_equal(_read_idx(tmp_path / "x.gz"), images)


def test_unknown_names_are_refused():
    with pytest.raises(ValueError, match="known"):
        load_dataset("cifar")
    with pytest.raises(ValueError, match="split"):
        load_dataset("mnist5k", "valid")
    assert {"mnist5k", "digits", "mnist", "fashion_mnist"} == set(DATASETS)
