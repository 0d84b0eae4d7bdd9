"""torchrun with two CPU processes (gloo): DistributedDataParallel training writes one valid checkpoint."""
import os
import subprocess
import sys

import pytest

from genlab.checkpoints import find_checkpoints, load_checkpoint

from .conftest import ROOT


@pytest.mark.parametrize("kind", ["gan", "vae"])
def test_two_process_ddp_run_writes_one_valid_checkpoint(kind, tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           "-m", "train", kind, "--epochs", "2", "--limit", "128", "--batch-size", "32", "--quiet",
           "--out", str(tmp_path / "ddp")]
    run = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.count("wrote ") == 1  # rank 0 only
    assert [p.name for p in find_checkpoints(tmp_path)] == ["ddp.safetensors"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ddp.safetensors"]  # no temporary files left
    ckpt = load_checkpoint(tmp_path / "ddp.safetensors")
    assert ckpt.kind == kind and ckpt.epochs == 2
    assert all(len(v) == 2 for v in ckpt.history["losses"].values())
