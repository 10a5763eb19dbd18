"""The checkpoints of a training run.

The checkpoints of a training run: ``last``, ``previous``, ``best`` and numbered ones, with the RNG states that make a
resumed run repeat an uninterrupted one.

A run keeps its checkpoints in ``checkpoints/<run_id>/``:

* ``last.pt``: after every epoch (the previous one is kept as ``previous.pt`` until the new one is safely written);
* ``epoch_NNNN.pt``: every ``runtime.checkpoint_every`` epochs;
* ``best.pt``: the epoch with the best validation metric.

The file format is :mod:`core.checkpoint`'s.
"""

from __future__ import annotations

import os
import random
import re
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from core.checkpoint import FORMAT_VERSION, atomic_save, load_checkpoint, state_checksum
from core.errors import CheckpointError

# -- RNG states as tensors / plain lists --------------------------------------------------------------------


def capture_rng() -> dict[str, Any]:
    """Every global RNG state as tensors and plain lists: torch CPU, torch CUDA (all devices), NumPy, Python."""
    np_state = np.random.get_state()
    py_version, py_state, py_gauss = random.getstate()
    return {
        "torch_cpu": torch.get_rng_state(),
        "torch_cuda": list(torch.cuda.get_rng_state_all()) if torch.cuda.is_available() else [],
        "numpy": {
            "kind": str(np_state[0]),
            "keys": torch.from_numpy(np.asarray(np_state[1], dtype=np.int64)),
            "pos": int(np_state[2]),
            "has_gauss": int(np_state[3]),
            "cached_gaussian": float(np_state[4]),
        },
        "python": {"version": int(py_version), "state": [int(v) for v in py_state], "gauss_next": py_gauss},
    }


def restore_rng(state: dict[str, Any]) -> None:
    """Restore what :func:`capture_rng` captured (CUDA states only where CUDA is present)."""
    torch.set_rng_state(state["torch_cpu"].to(torch.uint8).cpu())
    cuda = state.get("torch_cuda") or []
    if cuda and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all([s.to(torch.uint8).cpu() for s in cuda])
    n = state["numpy"]
    np.random.set_state(
        (n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached_gaussian"])
    )
    p = state["python"]
    random.setstate((p["version"], tuple(p["state"]), p["gauss_next"]))


class CheckpointManager:
    """Saves and finds the checkpoints of one run in ``root/<run_id>/``."""

    def __init__(
        self, run_dir: str | os.PathLike, every: int = 0, before_commit: Callable[[], None] | None = None
    ) -> None:
        self.dir = Path(run_dir)
        self.every = int(every)
        self.before_commit = before_commit
        """Called before each file is committed; the trainer passes its run-ownership check."""

    @property
    def last(self) -> Path:
        """``last.pt``: written after every epoch."""
        return self.dir / "last.pt"

    @property
    def previous(self) -> Path:
        """``previous.pt``: the last checkpoint before the newest."""
        return self.dir / "previous.pt"

    @property
    def best(self) -> Path:
        """``best.pt``: the epoch with the best validation metric."""
        return self.dir / "best.pt"

    def numbered(self, epoch: int) -> Path:
        """``epoch_NNNN.pt`` of ``epoch``."""
        return self.dir / f"epoch_{epoch:04d}.pt"

    def save(self, state: dict[str, Any], is_best: bool = False) -> list[Path]:
        """Write ``last`` (keeping the old one as ``previous``), plus ``epoch_NNNN`` and ``best`` when due.

        Returns the paths written.
        """
        state = {"format_version": FORMAT_VERSION, **state}
        state["checksum"] = state_checksum(state)
        self.dir.mkdir(parents=True, exist_ok=True)
        if self.before_commit is not None:
            self.before_commit()
        if self.last.exists():
            os.replace(self.last, self.previous)
        written = [atomic_save(state, self.last, self.before_commit)]
        epoch = int(state["epoch"])
        if self.every and epoch % self.every == 0:
            written.append(atomic_save(state, self.numbered(epoch), self.before_commit))
        if is_best:
            written.append(atomic_save(state, self.best, self.before_commit))
        return written

    def candidates(self) -> list[Path]:
        """Checkpoints to resume from, newest first: ``last``, ``previous``, then ``epoch_NNNN`` descending."""
        numbered = []
        for p in self.dir.glob("epoch_*.pt"):
            m = re.fullmatch(r"epoch_(\d+)\.pt", p.name)
            if m:
                numbered.append((int(m.group(1)), p))
        out = [p for p in (self.last, self.previous) if p.exists()]
        return out + [p for _, p in sorted(numbered, reverse=True)]

    def load_latest(self, map_location: str | torch.device = "cpu") -> tuple[dict[str, Any], Path] | None:
        """The newest loadable checkpoint and its path, warning about each corrupt one skipped; None if none.

        Raises CheckpointError when checkpoints exist but none of them loads.
        """
        candidates = self.candidates()
        errors = []
        for p in candidates:
            try:
                state = load_checkpoint(p, map_location)
            except CheckpointError as e:
                errors.append(str(e))
                warnings.warn(f"{e}; falling back to the previous checkpoint", RuntimeWarning, stacklevel=2)
                continue
            return state, p
        if errors:
            raise CheckpointError(f"{self.dir}: no usable checkpoint ({'; '.join(errors)})")
        return None
