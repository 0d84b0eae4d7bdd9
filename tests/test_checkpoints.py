"""Checkpoints: round trips, atomic writes, and refusal of anything that is not a valid GenLab file."""
import json
import os
import pickle

import pytest
import torch
from safetensors.torch import save_file

from genlab.checkpoints import CheckpointError, content_hash, load_checkpoint, read_metadata, save_checkpoint
from genlab.models import MODELS, build_model


def _outputs(model):
    x = torch.rand(4, 1, 28, 28, generator=torch.Generator().manual_seed(1)) * 2 - 1
    with torch.no_grad():
        if model.kind == "classifier":
            return model(x)
        if model.kind == "melody":
            ids = torch.randint(1, 16, (4, 32), generator=torch.Generator().manual_seed(3))
            return torch.cat(model(ids, ids)[:2], dim=1)
        z = model.sample_z(4, torch.Generator().manual_seed(2))
        return model.generate(z, torch.arange(4) if model.conditional else None)


@pytest.mark.parametrize("kind", list(MODELS))
def test_round_trip_gives_identical_outputs(kind, tmp_path):
    torch.manual_seed(0)
    model = build_model(kind).eval()
    history = {"epochs": 2, "losses": {"a": [1.0, 0.5]}, "seconds": [1.0, 1.0]}
    path = save_checkpoint(tmp_path / "m", model, "mnist5k", history, {"score": 0.5})
    assert path.name == "m.safetensors"
    ckpt = load_checkpoint(path)
    assert ckpt.kind == kind and ckpt.epochs == 2 and ckpt.metrics == {"score": 0.5}
    assert not ckpt.model.training
    assert torch.equal(_outputs(model), _outputs(ckpt.model))


def test_float16_storage_is_restored_to_float32(tmp_path):
    model = build_model("gan").eval()
    small = save_checkpoint(tmp_path / "half", model, "mnist5k", storage="float16")
    full = save_checkpoint(tmp_path / "full", model, "mnist5k")
    assert small.stat().st_size < 0.6 * full.stat().st_size
    restored = load_checkpoint(small).model
    assert all(p.dtype == torch.float32 for p in restored.parameters())
    assert torch.allclose(_outputs(model), _outputs(restored), atol=2e-2)


def test_pickle_file_is_refused(tmp_path):
    path = tmp_path / "evil.safetensors"
    torch.save(build_model("ae").state_dict(), path)
    with pytest.raises(CheckpointError, match="pickle"):
        load_checkpoint(path)
    raw = tmp_path / "raw.safetensors"
    raw.write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(CheckpointError, match="pickle"):
        load_checkpoint(raw)


def test_truncated_file_is_refused(tiny_checkpoint, tmp_path):
    data = tiny_checkpoint.read_bytes()
    for cut in (4, 200, len(data) // 2, len(data) - 10):
        broken = tmp_path / f"cut{cut}.safetensors"
        broken.write_bytes(data[:cut])
        with pytest.raises(CheckpointError, match="truncated|too short|readable|cannot be read"):
            load_checkpoint(broken)


def _rewrite(path, out, change_meta=None, change_tensors=None):
    from safetensors import safe_open

    with safe_open(str(path), "pt") as f:
        meta = json.loads(f.metadata()["genlab"])
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    if change_meta:
        change_meta(meta)
    if change_tensors:
        change_tensors(tensors)
    save_file(tensors, str(out), metadata={"genlab": json.dumps(meta)})
    return out


def test_config_mismatch_is_refused(tiny_checkpoint, tmp_path):
    wrong_dim = _rewrite(tiny_checkpoint, tmp_path / "a.safetensors",
                         lambda m: m["config"].__setitem__("latent_dim", 3))
    with pytest.raises(CheckpointError, match="shape"):
        load_checkpoint(wrong_dim)
    wrong_kind = _rewrite(tiny_checkpoint, tmp_path / "b.safetensors", lambda m: m.__setitem__("kind", "vae"))
    with pytest.raises(CheckpointError, match="unknown vae config keys: activation"):
        load_checkpoint(wrong_kind)
    other_net = _rewrite(tiny_checkpoint, tmp_path / "b2.safetensors", lambda m: m.__setitem__("kind", "cgan"))
    with pytest.raises(CheckpointError, match="do not match"):
        load_checkpoint(other_net)
    bad_value = _rewrite(tiny_checkpoint, tmp_path / "c.safetensors",
                         lambda m: m["config"].__setitem__("activation", "rm -rf"))
    with pytest.raises(CheckpointError, match="activation"):
        load_checkpoint(bad_value)


@pytest.mark.parametrize("change, message", [
    (lambda m: m.__setitem__("format_version", 99), "format_version"),
    (lambda m: m.__setitem__("kind", "os.system"), "unknown model kind"),
    (lambda m: m["history"].__setitem__("epochs", -1), "epochs"),
    (lambda m: m["history"]["losses"].__setitem__("G", [1.0, 2.0, 3.0]), "one finite number per epoch"),
    (lambda m: m.__setitem__("metrics", {"x": {"nested": 1}}), "metrics"),
])
def test_invalid_metadata_is_refused(tiny_checkpoint, tmp_path, change, message):
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(_rewrite(tiny_checkpoint, tmp_path / "x.safetensors", change))


def test_safetensors_without_genlab_metadata_and_nan_weights_are_refused(tiny_checkpoint, tmp_path):
    plain = tmp_path / "plain.safetensors"
    save_file({"w": torch.zeros(2)}, str(plain))
    with pytest.raises(CheckpointError, match="without GenLab metadata"):
        load_checkpoint(plain)
    key = "generator.layers.dense.weight"
    nan = _rewrite(tiny_checkpoint, tmp_path / "nan.safetensors",
                   change_tensors=lambda t: t[key].__setitem__((0, 0), float("nan")))
    with pytest.raises(CheckpointError, match="NaN"):
        load_checkpoint(nan)
    with pytest.raises(CheckpointError, match="no checkpoint"):
        load_checkpoint(tmp_path / "missing.safetensors")


def test_a_crash_during_save_leaves_the_old_checkpoint_intact(tiny_checkpoint, monkeypatch):
    before = content_hash(tiny_checkpoint)

    def crash(*args):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(tiny_checkpoint, build_model("gan"), "mnist5k")
    assert content_hash(tiny_checkpoint) == before
    assert sorted(p.name for p in tiny_checkpoint.parent.iterdir()) == [tiny_checkpoint.name]
    assert read_metadata(tiny_checkpoint)["kind"] == "gan"


# Hostile files in a models folder (issue 14): each is refused with a message, nothing else breaks.
def _raw_metadata(path, out, text):
    """A copy of `path` whose GenLab metadata is the raw string `text`."""
    from safetensors import safe_open

    with safe_open(str(path), "pt") as f:
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    save_file(tensors, str(out), metadata={"genlab": text})
    return out


def test_hostile_metadata_is_refused_with_a_message(tiny_checkpoint, tmp_path):
    deep = _raw_metadata(tiny_checkpoint, tmp_path / "deep.safetensors", "[" * 100_000 + "]" * 100_000)
    with pytest.raises(CheckpointError, match="nested too deep"):
        read_metadata(deep)
    nested = _rewrite(tiny_checkpoint, tmp_path / "nested.safetensors",
                      lambda m: m["metrics"].__setitem__("x", "y") or m["train"].__setitem__("a", [[[[[[[[[1]]]]]]]]]))
    with pytest.raises(CheckpointError, match="nested deeper"):
        read_metadata(nested)
    huge = _rewrite(tiny_checkpoint, tmp_path / "huge.safetensors", lambda m: m.__setitem__("dataset", "x" * 10_000_000))
    with pytest.raises(CheckpointError, match="longer than"):
        read_metadata(huge)
    for bad in ("NaN", "Infinity"):
        text = json.dumps({**read_metadata(tiny_checkpoint), "metrics": {"fid": 1.0}}).replace("1.0}", bad + "}")
        with pytest.raises(CheckpointError, match="not finite"):
            read_metadata(_raw_metadata(tiny_checkpoint, tmp_path / f"{bad}.safetensors", text))


def test_pickles_of_every_protocol_and_outside_links_are_refused(tiny_checkpoint, tmp_path):
    import pickle

    for protocol in (0, 1, 2, 5):
        path = tmp_path / f"p{protocol}.safetensors"
        path.write_bytes(pickle.dumps({"weights": [1, 2, 3]}, protocol=protocol))
        with pytest.raises(CheckpointError, match="looks like a pickle"):
            read_metadata(path)
    folder = tmp_path / "models"
    folder.mkdir()
    (folder / "passwd.safetensors").symlink_to("/etc/passwd")
    with pytest.raises(CheckpointError, match="outside its folder") as refused:
        read_metadata(folder / "passwd.safetensors")
    assert "bytes" not in str(refused.value)
    (folder / "inside.safetensors").symlink_to(tiny_checkpoint)   # a file of another folder
    with pytest.raises(CheckpointError, match="outside its folder"):
        read_metadata(folder / "inside.safetensors")
    (folder / "gan.safetensors").write_bytes(tiny_checkpoint.read_bytes())
    (folder / "alias.safetensors").symlink_to("gan.safetensors")   # a link within the folder is fine
    assert read_metadata(folder / "alias.safetensors")["kind"] == "gan"


def test_home_lists_every_model_around_a_broken_one(tiny_checkpoint, tmp_path, monkeypatch):
    from .conftest import open_app

    folder = tmp_path / "models"
    folder.mkdir()
    _rewrite(tiny_checkpoint, folder / "a_wrong_weights.safetensors", lambda m: m["config"].__setitem__("latent_dim", 3))
    _raw_metadata(tiny_checkpoint, folder / "b_deep.safetensors", "{" * 50_000)
    (folder / "c_link.safetensors").symlink_to("/etc/passwd")
    (folder / "d_good.safetensors").write_bytes(tiny_checkpoint.read_bytes())
    monkeypatch.setenv("GENLAB_CHECKPOINTS", str(folder))
    monkeypatch.setenv("GENLAB_RUNS", str(tmp_path / "runs"))
    at = open_app("pages/home.py")
    warnings = " ".join(w.value for w in at.warning)
    assert "cannot be loaded" in warnings and "shape" in warnings
    assert "b_deep.safetensors" in warnings and "c_link.safetensors" in warnings
    assert "d_good.safetensors" in " ".join(m.value for m in at.markdown)


def test_the_listing_follows_a_rewritten_checkpoint(tmp_path):
    """list_models parses each file's metadata once per version of the file: a rewrite (new metrics), a
    replacement and a file that turns invalid all show on the next listing."""
    import os

    from genlab.catalog import list_models
    from genlab.checkpoints import update_metrics
    from genlab.models import build_model

    path = save_checkpoint(tmp_path / "m.safetensors", build_model("ae", {"latent_dim": 2}), "mnist5k")
    assert list_models(tmp_path)[0][0]["metrics"] == {}
    update_metrics(path, {"test_reconstruction_mse": 0.5})
    [row], _ = list_models(tmp_path)
    assert row["metrics"] == {"test_reconstruction_mse": 0.5}
    row["metrics"]["test_reconstruction_mse"] = 9.0          # a caller's change does not reach the cache
    assert list_models(tmp_path)[0][0]["metrics"] == {"test_reconstruction_mse": 0.5}
    path.write_bytes(b"not a checkpoint")
    os.utime(path, ns=(1, 1))
    rows, problems = list_models(tmp_path)
    assert rows == [] and len(problems) == 1
