"""Multi-process data parallel training (``torchrun --nproc_per_node N -m core train ...``).

``torchrun`` sets ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR`` and ``MASTER_PORT``; :func:`init_from_env`
joins the process group (NCCL on CUDA, gloo on CPU). Each global batch of ``data.batch_size`` clips is split
into equal contiguous shards, one per rank (see ``core.train.pipeline.epoch_batches``); NT-Xent gathers the
projections of every rank (``gather_distributed=True``) so that each view's negatives are the whole global batch.
"""

from __future__ import annotations

import datetime
import gc
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

from core.errors import ConfigError


@dataclass(frozen=True)
class DistInfo:
    """Where this process sits: ``rank`` of ``world_size``, ``local_rank`` on its machine."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        """Whether several processes train together."""
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Whether this is rank 0 (the one that writes)."""
        return self.rank == 0


def env_world_size() -> int:
    """``WORLD_SIZE`` as torchrun sets it (1 without torchrun)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def env_rank() -> int:
    """``RANK`` as torchrun sets it (0 without torchrun), known before the process group is joined."""
    return int(os.environ.get("RANK", "0"))


def init_from_env(device: torch.device, timeout_s: float = 1800.0) -> DistInfo:
    """Join the process group described by torchrun's environment variables (a no-op for a single process).

    On CUDA each process uses ``cuda:LOCAL_RANK`` (returned device is set as current) and NCCL; elsewhere gloo.
    ``timeout_s`` bounds every collective, so the ranks waiting while rank 0 evaluates give up after it.
    """
    world = env_world_size()
    if world <= 1:
        return DistInfo()
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if not dist.is_available():
        raise ConfigError("WORLD_SIZE > 1 but torch.distributed is not available in this build of torch")
    if device.type == "cuda":
        torch.cuda.set_device(local_rank)
    if not dist.is_initialized():
        dist.init_process_group(
            backend="nccl" if device.type == "cuda" else "gloo", timeout=datetime.timedelta(seconds=timeout_s)
        )
    return DistInfo(rank, world, local_rank)


def ddp_device(device: torch.device, info: DistInfo) -> torch.device:
    """The device of this rank: ``cuda:LOCAL_RANK`` under multi-GPU DDP, else ``device``."""
    if info.enabled and device.type == "cuda":
        return torch.device("cuda", info.local_rank)
    return device


def wrap_model(model: nn.Module, info: DistInfo, device: torch.device, sync_bn: bool = False) -> nn.Module:
    """The model wrapped for data-parallel training, or the model itself.

    ``DistributedDataParallel(model)`` when running distributed (with SyncBatchNorm on CUDA if ``sync_bn``); the model
    itself otherwise.
    """
    if not info.enabled:
        return model
    if sync_bn:
        if device.type != "cuda":
            raise ConfigError("runtime.sync_bn: SyncBatchNorm needs CUDA (NCCL); disable it for CPU runs")
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    ids = [device.index] if device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(model, device_ids=ids)


def check_batch_split(batch_size: int, info: DistInfo) -> int:
    """Per-rank batch size; the global ``batch_size`` must divide evenly over the ranks."""
    if batch_size % info.world_size:
        raise ConfigError(
            f"data.batch_size={batch_size} does not split evenly over {info.world_size} processes; "
            "use a multiple of the process count"
        )
    return batch_size // info.world_size


def broadcast_object(obj: object, info: DistInfo, src: int = 0) -> object:
    """``obj`` from rank ``src`` on every rank (e.g. the run id)."""
    if not info.enabled:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=src)
    return box[0]


def cleanup(info: DistInfo, wait_for_all: bool = False) -> None:
    """Leave the process group (a no-op for a single process).

    With ``wait_for_all`` (after a run that ended normally on every rank), the ranks first meet at a barrier: a
    rank that tears down its gloo connections while another still uses them aborts that other process.

    Unreachable objects are collected first. A graph built through ``torch.distributed.nn``'s collectives holds the
    process group in reference cycles; left to the interpreter's exit, it keeps the group alive past
    ``destroy_process_group``, and gloo then aborts the process (SIGABRT) after a run that succeeded. NT-Xent's own
    gather no longer builds such graphs; the collection covers any that a user's code still makes.
    """
    if info.enabled and dist.is_initialized():
        gc.collect()
        if wait_for_all:
            dist.barrier()
        dist.destroy_process_group()
