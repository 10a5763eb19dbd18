"""The checkpoint file format.

The checkpoint file format: what a checkpoint holds, how it is written atomically, and how an untrusted one is loaded
(and an old one migrated).

Format (``FORMAT_VERSION`` = 2), a dict of only tensors and plain Python data (no pickled objects), so that
``torch.load(path, weights_only=True)`` loads it without executing code:

``format_version`` int; ``model``, ``frontend`` (state dicts of the bare model and of the waveform->input frontend);
``optimizer``, ``scheduler``, ``scaler`` (state dicts; ``scaler`` is ``{}`` without fp16); ``rng`` (every global RNG
state); ``epoch`` (epochs completed), ``global_step`` (optimiser steps done); ``config`` (the
``TrainConfig.to_dict()``); ``provenance`` (git commit, packages, device, host); ``class_names`` list[str];
``num_classes`` int; ``feature_config`` (dict, or None for 1D encoders); ``input_kind`` str; ``best`` (dict:
``metric``, ``value``, ``epoch``); ``bad_evals`` (evaluations since the last improvement); ``run_id`` str;
``metrics`` (the last epoch's metrics, floats); ``checksum`` (SHA-256 over every tensor's bytes and every other
value, see :func:`state_checksum`), verified on load so that a flipped byte is detected rather than trained on.

Loading treats the file as untrusted: ``weights_only=True`` (no code runs), then the non-tensor data is bounded in
size (:func:`core.limits.check_plain`), the checksum is verified, and the class count is checked against
:data:`core.limits.MAX_CLASSES`. The model it describes is size-checked before it is built
(:func:`core.regimes.build_model`).

Version 1 files (written before the regimes were modules) load through :func:`migrate`: their CLAR projection had
2 layers, their ESC validation was one whole fold chosen by the seed, their data subsets were seeded by the run's
seed, and ``data.fold`` is now ``data.test_fold``; the migration writes all of that into the config explicitly.
"""

from __future__ import annotations

import copy
import hashlib
import os
import pickle
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from core.errors import CheckpointError
from core.limits import MAX_CLASSES, check_plain

FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)
REQUIRED_KEYS = ("format_version", "model", "frontend", "epoch", "global_step", "config", "class_names")
ESC_FOLDS = 5


# -- integrity --------------------------------------------------------------------------------------------


def state_checksum(state: dict[str, Any]) -> str:
    """SHA-256 hex digest of a checkpoint dict.

    SHA-256 hex digest of a checkpoint dict (its ``checksum`` entry excluded): every tensor's key path, dtype, shape and
    bytes, and every other value's ``repr``, in a fixed order (dict keys sorted).
    """
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


TRAINING_STATE_KEYS = ("optimizer", "scheduler", "scaler", "rng", "bad_evals")
"""What only a resumed training run needs; a model for inference (a shipped one) leaves it out."""


def weights_only(state: dict[str, Any]) -> dict[str, Any]:
    """A checkpoint for inference only: ``state`` without the training state, with its own checksum.

    It loads like any checkpoint (:func:`load_checkpoint`, ``torch.load(weights_only=True)``) but cannot be
    resumed: the optimiser, scheduler, scaler and random states are gone.
    """
    out = {k: v for k, v in state.items() if k not in TRAINING_STATE_KEYS and k != "checksum"}
    out["checksum"] = state_checksum(out)
    return out


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
    """Load a checkpoint as untrusted input.

    Load a checkpoint as untrusted input; raise CheckpointError naming the file if it is missing, truncated, corrupt
    (checksum mismatch), holds anything but tensors and bounded plain data, is of another format version, lacks a
    required entry, or declares an implausible number of classes.
    """
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
    if state["format_version"] not in READABLE_VERSIONS:
        raise CheckpointError(
            f"{path}: checkpoint format version {state['format_version']!r} "
            f"(this code reads {', '.join(map(str, READABLE_VERSIONS))})"
        )
    if state["format_version"] >= 2 and "checksum" not in state:
        raise CheckpointError(f"{path}: a version-{state['format_version']} checkpoint without its checksum")
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
    return migrate(state)


# -- migration --------------------------------------------------------------------------------------------


def migrate(state: dict[str, Any]) -> dict[str, Any]:
    """A version-1 checkpoint dict brought to version 2 (a new dict; tensors are shared, not copied)."""
    if state["format_version"] == FORMAT_VERSION:
        return state
    out = dict(state)
    config = copy.deepcopy(state["config"])
    data = config.setdefault("data", {})
    model = config.setdefault("model", {})
    runtime = config.get("runtime") or {}
    if "fold" in data:
        data["test_fold"] = data.pop("fold")
    if model.get("regime") == "clar":
        model.setdefault("proj_layers", 2)  # the authors' 2-layer CLAR projection, which v1 always built
    seed = int(runtime.get("seed", 0))
    data.setdefault("split_seed", seed)  # v1 seeded its holdouts and subsets with the run's seed
    if data.get("dataset") in ("esc10", "esc50"):
        test = int(data.get("test_fold") or 1)
        others = [(test - 1 + i) % ESC_FOLDS + 1 for i in range(1, ESC_FOLDS)]
        data.setdefault("validation", "fold")
        data.setdefault("valid_fold", others[seed % len(others)])  # v1's rule: the seed chose the fold
    out["config"] = config
    out["format_version"] = FORMAT_VERSION
    return out
