"""Worker for test_train_ddp.py: one rank (or the single process) computes the loss and gradients of the three
regimes on a fixed global batch, with BatchNorm in eval mode. Usage: ``python ddp_worker.py OUT.pt``.
Under ``RANK``/``WORLD_SIZE`` it joins a gloo group and uses only its shard of the batch."""

from __future__ import annotations

import sys

import torch

from core.config import LossConfig
from core.regimes import build_model, get_regime
from core.train import ddp

GLOBAL_BATCH = 8


def all_reduce_mean(value: torch.Tensor, info: ddp.DistInfo) -> torch.Tensor:
    """The mean of ``value`` over all ranks (the value itself when not distributed)."""
    if not info.enabled:
        return value
    out = value.detach().clone()
    torch.distributed.all_reduce(out, op=torch.distributed.ReduceOp.SUM)
    return out / info.world_size


def main(out_path: str) -> None:
    torch.set_num_threads(1)
    info = ddp.init_from_env(torch.device("cpu"))
    g = torch.Generator().manual_seed(1)
    v1 = torch.randn(GLOBAL_BATCH, 3, 32, 24, generator=g)
    v2 = torch.randn(GLOBAL_BATCH, 3, 32, 24, generator=g)
    labels = torch.randint(0, 5, (GLOBAL_BATCH,), generator=g)
    labels[[1, 6]] = -1  # one unlabelled clip in each rank's half
    per_rank = GLOBAL_BATCH // info.world_size
    shard = slice(info.rank * per_rank, (info.rank + 1) * per_rank)
    results = {}
    for regime in ("simclr", "clar", "supervised"):
        torch.manual_seed(0)
        model = build_model(regime, "small_cnn_2d", 5)
        model.eval()  # BatchNorm in eval mode: its statistics would otherwise depend on the shard
        net = ddp.wrap_model(model, info, torch.device("cpu"))
        y = labels[shard]
        if regime == "supervised":
            y = y.clamp_min(0)  # supervised batches hold labelled clips only
            inp = v1[shard]
        else:
            inp = torch.cat([v1[shard], v2[shard]])
        loss, _ = get_regime(regime).loss(net(inp), y, LossConfig(temperature=0.5), distributed=info.enabled)
        loss.backward()
        results[regime] = {
            "loss": all_reduce_mean(loss.detach(), info),
            "grads": {n: p.grad.detach().clone() for n, p in model.named_parameters()},
        }
    if info.is_main:
        torch.save(results, out_path)
    ddp.cleanup(info, wait_for_all=True)  # no rank tears down gloo while another still uses it


if __name__ == "__main__":
    main(sys.argv[1])
