"""Checkpoints: atomic writes, safe loading (``weights_only=True``), and fallback past corrupt files.

A run keeps its checkpoints in ``checkpoints/<run_id>/``:

* ``last.pt``: after every epoch (the previous one is kept as ``previous.pt`` until the new one is safely written);
* ``epoch_NNNN.pt``: every ``runtime.checkpoint_every`` epochs;
* ``best.pt``: the epoch with the best validation metric.

Format (``FORMAT_VERSION`` = 1), a dict of only tensors and plain Python data (no pickled objects), so that
``torch.load(path, weights_only=True)`` loads it without executing code:

``format_version`` int; ``model``, ``frontend`` (state dicts of the bare model and of the waveform->input frontend);
``optimizer``, ``scheduler``, ``scaler`` (state dicts; ``scaler`` is ``{}`` without fp16); ``rng`` (see
:func:`capture_rng`); ``epoch`` (epochs completed), ``global_step`` (optimiser steps done); ``config`` (the
``TrainConfig.to_dict()``); ``provenance`` (git commit, packages, device, host); ``class_names`` list[str];
``num_classes`` int; ``feature_config`` (dict, or None for 1D encoders); ``input_kind`` str; ``best`` (dict:
``metric``, ``value``, ``epoch``); ``bad_evals`` (evaluations since the last improvement); ``run_id`` str;
``metrics`` (the last epoch's metrics, floats); ``checksum`` (SHA-256 over every tensor's bytes and every other
value, see :func:`state_checksum`), verified on load so that a flipped byte is detected rather than trained on.

Loading treats the file as untrusted: ``weights_only=True`` (no code runs), then the non-tensor data is bounded in
size (:func:`core.limits.check_plain`), the checksum is verified, and the class count is checked against
:data:`core.limits.MAX_CLASSES`. The model it describes is size-checked before it is built
(:func:`core.models.build_model`).
"""

from __future__ import annotations

import hashlib
import os
import pickle
import random
import re
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from core.errors import CheckpointError
from core.limits import MAX_CLASSES, check_plain

FORMAT_VERSION = 1
REQUIRED_KEYS = ("format_version", "model", "frontend", "epoch", "global_step", "config", "class_names")


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


# -- integrity --------------------------------------------------------------------------------------------


def state_checksum(state: dict[str, Any]) -> str:
    """SHA-256 hex digest of a checkpoint dict (its ``checksum`` entry excluded): every tensor's key path, dtype,
    shape and bytes, and every other value's ``repr``, in a fixed order (dict keys sorted)."""
    h = hashlib.sha256()

    def walk(x: Any, path: str) -> None:
        if isinstance(x, torch.Tensor):
            t = x.detach().cpu().contiguous()
            h.update(f"{path}|{t.dtype}|{tuple(t.shape)}|".encode())
            if t.numel():
                h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
        elif isinstance(x, dict):
            keys = sorted((k for k in x if not (path == "" and k == "checksum")), key=str)
            h.update(f"{path}|dict{len(keys)}|".encode())
            for k in keys:
                walk(x[k], f"{path}/{k}")
        elif isinstance(x, list | tuple):
            h.update(f"{path}|seq{len(x)}|".encode())
            for i, v in enumerate(x):
                walk(v, f"{path}/{i}")
        else:
            h.update(f"{path}|{x!r}|".encode())

    walk(state, "")
    return h.hexdigest()


# -- writing ----------------------------------------------------------------------------------------------


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_save(obj: dict[str, Any], path: str | os.PathLike, before_commit: Callable[[], None] | None = None) -> Path:
    """Write ``obj`` with ``torch.save`` to a temporary file beside ``path``, fsync it, then rename over ``path``.

    A reader sees either the old file or the complete new one, never a partial write. ``before_commit`` is called
    just before the rename; if it raises (e.g. :class:`core.errors.OwnershipLost`), nothing is replaced.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        if before_commit is not None:
            before_commit()
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)
    return path


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
        return self.dir / "last.pt"

    @property
    def previous(self) -> Path:
        return self.dir / "previous.pt"

    @property
    def best(self) -> Path:
        return self.dir / "best.pt"

    def numbered(self, epoch: int) -> Path:
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


# -- reading ----------------------------------------------------------------------------------------------


_GLOBAL = re.compile(r"GLOBAL ([\w.]+)")


def safe_torch_load(path: Path, map_location: str | torch.device = "cpu", what: str = "checkpoint") -> Any:
    """``torch.load(path, weights_only=True)`` with every failure as a one-line CheckpointError.

    A file that holds pickled code or objects other than tensors and plain data is refused without repeating
    PyTorch's advice to load it with ``weights_only=False``: that advice is exactly what an attacker wants.
    """
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        found = _GLOBAL.search(str(e))
        if found:
            raise CheckpointError(
                f"{path}: refused: the {what} holds a pickled object other than tensors and plain data "
                f"({found.group(1)}); CLAR Studio files never do, so it may be malicious or come from another program"
            ) from None
        raise CheckpointError(f"{path}: corrupt or truncated {what} (not a valid pickle)") from None
    except Exception as e:  # truncated zip, bad pickle opcode, bad storage: all mean "not a usable file"
        reason = " ".join(str(e).split())[:300]
        raise CheckpointError(f"{path}: corrupt or truncated {what} ({type(e).__name__}: {reason})") from None


def _is_tensor(x: Any) -> bool:
    return isinstance(x, torch.Tensor)


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load a checkpoint as untrusted input; raise CheckpointError naming the file if it is missing, truncated,
    corrupt (checksum mismatch), holds anything but tensors and bounded plain data, is of another format
    version, lacks a required entry, or declares an implausible number of classes."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint not found")
    state = safe_torch_load(path, map_location)
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: not a CLAR Studio checkpoint (top level is {type(state).__name__})")
    check_plain(state, str(path), leaf=_is_tensor, error=CheckpointError)
    missing = [k for k in REQUIRED_KEYS if k not in state]
    if missing:
        raise CheckpointError(f"{path}: not a CLAR Studio checkpoint (missing {', '.join(missing)})")
    if state["format_version"] != FORMAT_VERSION:
        raise CheckpointError(
            f"{path}: checkpoint format version {state['format_version']} (this code reads {FORMAT_VERSION})"
        )
    if "checksum" in state and state_checksum(state) != state["checksum"]:
        raise CheckpointError(f"{path}: corrupt checkpoint (its checksum does not match its contents)")
    names = state["class_names"]
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise CheckpointError(f"{path}: class_names must be a list of strings")
    count = state.get("num_classes", len(names))
    if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= MAX_CLASSES or count != len(names):
        raise CheckpointError(
            f"{path}: num_classes={count!r} with {len(names)} class names (must agree, at most {MAX_CLASSES})"
        )
    if not isinstance(state["config"], dict):
        raise CheckpointError(f"{path}: its config is not a mapping")
    return state
