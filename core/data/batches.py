"""Batches for training.

Batches for training: waveforms held on the device when they fit, else gathered from the memory-mapped cache, and the
seeded per-epoch order of clips (sharded over DDP ranks).

Decoded waveforms come from ``core.data.load_dataset`` (cached as memory maps). When they fit, they are copied
once onto the training device and batches are gathered there; otherwise each batch is read from the memory map
(only its rows), pinned on CUDA, and copied asynchronously. A dataset larger than memory (NSynth) trains with
``resident: cpu``.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from core.data.rows import IndexedRows
from core.seeding import mix_seed

RESIDENT_SHARE = 0.25
"""Keep a dataset resident when it takes at most this share of the free memory of the device (CUDA or CPU)."""
MPS_RESIDENT_BYTES = 1 << 30


def _free_cpu_bytes() -> int:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 8 << 30  # unknown: assume a modest machine


class WaveformStore:
    """Waveforms [N, T] held on the training device when they fit, else read batch by batch from their array.

    Args:
        waveforms: float32 [N, T]: an array, a memory map, or :class:`core.data.rows.IndexedRows`.
        device: the training device.
        resident: ``auto`` (resident when it fits: a quarter of the free memory), ``device`` (always) or ``cpu``
            (never: each batch reads its rows from ``waveforms``).
    """

    def __init__(self, waveforms, device: torch.device, resident: str = "auto") -> None:
        self.device = torch.device(device)
        self.source = waveforms
        n, t = waveforms.shape
        nbytes = int(n) * int(t) * 4
        if resident == "auto":
            resident = "device" if self._fits(nbytes) else "cpu"
        self.resident = resident == "device"
        self.shape = (int(n), int(t))
        if self.resident:
            cpu = torch.from_numpy(np.ascontiguousarray(np.asarray(waveforms), dtype=np.float32))
            self.data = cpu.to(self.device)
        elif not isinstance(waveforms, IndexedRows):
            self.source = IndexedRows(waveforms, np.arange(n))

    def _fits(self, nbytes: int) -> bool:
        if self.device.type == "cuda":
            free, _ = torch.cuda.mem_get_info(self.device)
            return nbytes <= RESIDENT_SHARE * free
        if self.device.type == "mps":
            return nbytes <= MPS_RESIDENT_BYTES
        return nbytes <= RESIDENT_SHARE * _free_cpu_bytes()

    def __len__(self) -> int:
        return self.shape[0]

    def batch(self, index: Tensor) -> Tensor:
        """The waveforms at ``index`` (int64, CPU) as a [B, T] float32 tensor on the device."""
        if self.resident:
            return self.data.index_select(0, index.to(self.data.device, non_blocking=True))
        out = torch.from_numpy(np.ascontiguousarray(self.source.rows(index.cpu().numpy()), dtype=np.float32))
        if self.device.type == "cuda":
            return out.pin_memory().to(self.device, non_blocking=True)
        return out.to(self.device)


def epoch_batches(
    n: int, batch_size: int, seed: int, epoch: int, rank: int = 0, world_size: int = 1, drop_last: bool = True
) -> list[Tensor]:
    """This rank's index batches for one epoch.

    This rank's index batches for ``epoch``: a seeded permutation of ``range(n)`` cut into global batches of
    ``batch_size``, each split into ``world_size`` equal contiguous shards (the DistributedSampler equivalent for a
    device-resident index). Deterministic in (seed, epoch), so a restarted epoch repeats exactly.
    """
    g = torch.Generator().manual_seed(mix_seed(seed, epoch, 0xBA7C))
    perm = torch.randperm(n, generator=g)
    per_rank = batch_size // world_size
    n_full = n // batch_size
    out = []
    for b in range(n_full):
        start = b * batch_size + rank * per_rank
        out.append(perm[start : start + per_rank])
    if not drop_last and n % batch_size:
        tail = perm[n_full * batch_size :]
        shards = tail.tensor_split(world_size)
        if len(shards[rank]):
            out.append(shards[rank])
    return out
