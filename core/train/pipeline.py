"""The input pipeline: splits and labels, device-resident waveforms, per-epoch batches, and stage timing.

Decoded waveforms come from ``core.data.load_dataset`` (cached as memory maps). When they fit, they are copied
once onto the training device and batches are gathered there; otherwise each batch is gathered on the CPU,
pinned, and copied asynchronously. Augmentation (``core.augment.two_views``) and features then run on the whole
batch on the device, so no per-clip Python work happens in the training loop.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from core.errors import ConfigError, DatasetError
from core.train.config import DataConfig

# On CUDA, keep the dataset resident when it takes at most this share of the free device memory.
RESIDENT_SHARE = 0.25
MPS_RESIDENT_BYTES = 1 << 30


@dataclass
class SplitData:
    """The clips a run uses. ``train.labels`` holds -1 for clips whose label the run may not use."""

    train: object  # core.data.AudioDataset
    valid: object
    test: object
    class_names: list[str]

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def labelled(self) -> np.ndarray:
        """Indices (into ``train``) of the labelled training clips."""
        return np.flatnonzero(self.train.labels >= 0)


def _stratified_pick(labels: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` indices drawn without replacement, as evenly as possible across the classes in ``labels``."""
    if n >= len(labels):
        return np.arange(len(labels))
    order = rng.permutation(len(labels))
    # round-robin over classes in a random order: class-balanced prefix of the permutation
    rank = np.empty(len(labels), dtype=np.int64)
    for c in np.unique(labels):
        members = order[labels[order] == c]
        rank[members] = np.arange(len(members))
    key = rank * (len(labels) + 1) + np.argsort(order)  # within a rank, random order
    return np.sort(np.argsort(key, kind="stable")[:n])


def _split_indices(labels: np.ndarray, split: np.ndarray, cfg: DataConfig, seed: int):
    """Train/valid/test indices into the dataset, and the training labels with the hidden ones set to -1."""
    from core.data import labelled_fraction

    rng = np.random.default_rng(seed)
    train_idx, valid_idx, test_idx = (np.flatnonzero(split == s) for s in ("train", "valid", "test"))
    if len(train_idx) == 0:
        raise DatasetError(f"{cfg.dataset}: no clips in the train split")
    if len(valid_idx) == 0 and cfg.valid_fraction > 0:
        n_valid = max(1, round(len(train_idx) * cfg.valid_fraction))
        pick = _stratified_pick(labels[train_idx], n_valid, rng)
        valid_idx = train_idx[pick]
        train_idx = np.delete(train_idx, pick)
    if cfg.max_train_clips is not None:
        train_idx = train_idx[_stratified_pick(labels[train_idx], cfg.max_train_clips, rng)]
    if cfg.max_eval_clips is not None:
        valid_idx = valid_idx[_stratified_pick(labels[valid_idx], cfg.max_eval_clips, rng)]
        test_idx = test_idx[_stratified_pick(labels[test_idx], cfg.max_eval_clips, rng)]
    train_labels = np.asarray(labels[train_idx], dtype=np.int64)
    if cfg.label_fraction < 1.0:
        train_labels = np.asarray(labelled_fraction(train_labels, cfg.label_fraction, cfg.label_seed), dtype=np.int64)
    if not (train_labels >= 0).any():
        raise DatasetError(f"{cfg.dataset}: no labelled training clips (data.label_fraction={cfg.label_fraction})")
    return train_idx, valid_idx, test_idx, train_labels


def prepare_splits(
    cfg: DataConfig, seed: int = 0, progress: bool = True, check: Callable[[int, int], None] | None = None
) -> SplitData:
    """Load ``cfg.dataset`` and return its train/valid/test clips, subsetted and with the labelled fraction.

    * No ``valid`` clips in the dataset: ``valid_fraction`` of ``train`` becomes validation (stratified, by seed).
    * ``max_train_clips`` / ``max_eval_clips``: a seeded, class-balanced subset.
    * ``label_fraction`` < 1: ``core.data.labelled_fraction`` marks the other training clips unlabelled (-1).

    ``check(train_clips, labelled_clips)`` is called once the split sizes are known from the file listing, before
    any audio is decoded, so that a batch size the splits cannot fill fails in a second.
    """
    from core.data import list_clips, load_dataset

    clips = list_clips(cfg.dataset, cfg.root, task=cfg.task, version=cfg.version, fold=cfg.fold, seed=seed)
    train_idx, valid_idx, test_idx, train_labels = _split_indices(clips.labels, clips.split, cfg, seed)
    if check is not None:
        check(len(train_idx), int((train_labels >= 0).sum()))
    ds = load_dataset(
        cfg.dataset,
        cfg.root,
        task=cfg.task,
        version=cfg.version,
        fold=cfg.fold,
        num_samples=cfg.num_samples,
        seed=seed,
        progress=progress,
    )
    train = ds.subset(train_idx)
    train.labels = train_labels
    return SplitData(train, ds.subset(valid_idx), ds.subset(test_idx), list(ds.class_names))


def check_batch_size(cfg: DataConfig, regime: str, train_clips: int, labelled_clips: int) -> None:
    """Refuse a ``data.batch_size`` larger than the clips one epoch iterates over: the labelled training clips for
    supervised training, all training clips for the contrastive regimes."""
    if regime == "supervised":
        if cfg.batch_size > labelled_clips:
            raise ConfigError(
                f"data.batch_size={cfg.batch_size} is larger than the {labelled_clips} labelled training clips "
                f"(supervised training sees only labelled clips; data.label_fraction={cfg.label_fraction:g} of "
                f"{train_clips}); lower data.batch_size or raise data.label_fraction"
            )
    elif cfg.batch_size > train_clips:
        raise ConfigError(f"data.batch_size={cfg.batch_size} is larger than the {train_clips} training clips")


class WaveformStore:
    """Waveforms [N, T] held on the training device when they fit, else on the (pinned) CPU.

    Args:
        waveforms: float32 [N, T] array (a memory map is read once).
        device: the training device.
        resident: ``auto`` (device when it fits), ``device`` (always) or ``cpu`` (stream pinned batches).
    """

    def __init__(self, waveforms: np.ndarray, device: torch.device, resident: str = "auto") -> None:
        self.device = torch.device(device)
        cpu = torch.from_numpy(np.ascontiguousarray(waveforms, dtype=np.float32))
        nbytes = cpu.numel() * 4
        if resident == "auto":
            resident = "device" if self._fits(nbytes) else "cpu"
        self.resident = resident == "device" or self.device.type == "cpu"
        if self.resident:
            self.data = cpu.to(self.device)
        else:
            self.data = cpu.pin_memory() if self.device.type == "cuda" else cpu

    def _fits(self, nbytes: int) -> bool:
        if self.device.type == "cuda":
            free, _ = torch.cuda.mem_get_info(self.device)
            return nbytes <= RESIDENT_SHARE * free
        if self.device.type == "mps":
            return nbytes <= MPS_RESIDENT_BYTES
        return True

    def __len__(self) -> int:
        return int(self.data.shape[0])

    def batch(self, index: Tensor) -> Tensor:
        """The waveforms at ``index`` (int64, CPU) as a [B, T] tensor on the device."""
        if self.resident:
            return self.data.index_select(0, index.to(self.data.device, non_blocking=True))
        out = self.data.index_select(0, index)
        if self.device.type == "cuda":
            out = out.pin_memory()
        return out.to(self.device, non_blocking=True)


def mix_seed(*parts: int) -> int:
    """A 62-bit seed from integers (deterministic across runs and machines)."""
    h = 0x9E3779B97F4A7C15
    for p in parts:
        h ^= (int(p) + 0x9E3779B97F4A7C15 + ((h << 6) & (2**64 - 1)) + (h >> 2)) & (2**64 - 1)
        h = (h * 0xBF58476D1CE4E5B9) & (2**64 - 1)
    return h >> 2


def epoch_batches(
    n: int, batch_size: int, seed: int, epoch: int, rank: int = 0, world_size: int = 1, drop_last: bool = True
) -> list[Tensor]:
    """This rank's index batches for ``epoch``: a seeded permutation of ``range(n)`` cut into global batches of
    ``batch_size``, each split into ``world_size`` equal contiguous shards (the DistributedSampler equivalent
    for a device-resident index). Deterministic in (seed, epoch), so a restarted epoch repeats exactly."""
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


class StageTimer:
    """Accumulates wall time per stage (``input``, ``augment``, ``features``, ``model``) in seconds.

    With ``sync=True`` the device is synchronised before each reading, so GPU time lands in the right stage.
    """

    def __init__(self, device: torch.device, sync: bool = False) -> None:
        self.device = torch.device(device)
        self.sync = sync
        self.totals: dict[str, float] = defaultdict(float)
        self._t = time.perf_counter()

    def _now(self) -> float:
        if self.sync and self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        elif self.sync and self.device.type == "mps":
            torch.mps.synchronize()
        return time.perf_counter()

    def start(self) -> None:
        self._t = self._now()

    def lap(self, stage: str) -> None:
        t = self._now()
        self.totals[stage] += t - self._t
        self._t = t

    def shares(self) -> dict[str, float]:
        """Each stage's fraction (0..1) of the total time."""
        total = sum(self.totals.values()) or 1.0
        return {k: v / total for k, v in self.totals.items()}

    def reset(self) -> None:
        self.totals.clear()
        self.start()
