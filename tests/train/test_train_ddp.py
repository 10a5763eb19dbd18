"""DDP on the CPU: a 2-process gloo run has the loss and gradients of a 1-process run on the same global batch
(BatchNorm in eval mode), for SimCLR, CLAR and supervised; and the per-rank shards tile the global batches."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from core.data.batches import epoch_batches
from core.errors import ConfigError
from core.train import ddp

WORKER = Path(__file__).with_name("ddp_worker.py")
REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK")}
    env.update(PYTHONPATH=str(REPO), OMP_NUM_THREADS="1", **extra)
    return env


def test_two_gloo_ranks_match_one_process(tmp_path: Path):
    single = tmp_path / "single.pt"
    double = tmp_path / "double.pt"
    port = str(_free_port())
    procs = [subprocess.Popen([sys.executable, str(WORKER), str(single)], env=_env())]
    for rank in range(2):
        env = _env(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE="2", MASTER_ADDR="127.0.0.1", MASTER_PORT=port)
        procs.append(subprocess.Popen([sys.executable, str(WORKER), str(double)], env=env))
    for p in procs:
        assert p.wait(timeout=240) == 0
    one = torch.load(single, weights_only=True)
    two = torch.load(double, weights_only=True)
    for regime in ("simclr", "clar", "supervised"):
        assert torch.allclose(one[regime]["loss"], two[regime]["loss"], atol=1e-6), regime
        assert one[regime]["grads"].keys() == two[regime]["grads"].keys()
        for name, g1 in one[regime]["grads"].items():
            g2 = two[regime]["grads"][name]
            assert torch.allclose(g1, g2, rtol=1e-4, atol=1e-6), f"{regime}: {name}: max diff {(g1 - g2).abs().max()}"


@pytest.mark.parametrize(("n", "batch", "world"), [(50, 8, 2), (64, 16, 4), (10, 4, 1)])
def test_rank_shards_tile_the_global_batches(n, batch, world):
    single = epoch_batches(n, batch, seed=5, epoch=3)
    shards = [epoch_batches(n, batch, seed=5, epoch=3, rank=r, world_size=world) for r in range(world)]
    assert len(single) == n // batch and all(len(s) == len(single) for s in shards)
    for b, global_batch in enumerate(single):
        assert torch.equal(torch.cat([s[b] for s in shards]), global_batch)
    assert not torch.equal(torch.cat(single), torch.cat(epoch_batches(n, batch, seed=5, epoch=4)))
    assert sorted(torch.cat(single).tolist()) == sorted(set(torch.cat(single).tolist()))


def test_batch_must_split_evenly():
    with pytest.raises(ConfigError, match="does not split evenly"):
        ddp.check_batch_split(10, ddp.DistInfo(rank=0, world_size=4))
    assert ddp.check_batch_split(12, ddp.DistInfo(rank=1, world_size=4)) == 3


def test_sync_bn_needs_cuda():
    info = ddp.DistInfo(rank=0, world_size=2)
    with pytest.raises(ConfigError, match="SyncBatchNorm needs CUDA"):
        ddp.wrap_model(torch.nn.BatchNorm1d(3), info, torch.device("cpu"), sync_bn=True)
