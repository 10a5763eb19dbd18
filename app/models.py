"""The models the Gradio tab offers, and the loaded ones, kept in memory (a few at a time).

Choices come from :func:`core.inference.catalog.model_choices`: the shipped models, then every completed run of
the run store whose checkpoint is still on disk. A loaded model is kept until its file changes, so classifying
twice with one model loads it once (a probe fitted beside it since, or a new neighbour index, reloads it).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path

from core.errors import CheckpointError, ClarError
from core.inference import PROBE_FILENAME, Trained, load_trained
from core.inference.catalog import DEFAULT_MODEL, ModelChoice, model_choices
from core.inference.neighbours import NeighbourIndex

MAX_LOADED = 4
_loaded: OrderedDict[tuple, tuple[Trained, NeighbourIndex | None]] = OrderedDict()
_lock = threading.Lock()


def choices() -> list[ModelChoice]:
    """Every model to pick from (the run store's runs only when it can be read)."""
    from app.ui import open_store

    try:
        store = open_store()
    except ClarError:
        store = None
    return model_choices(store)


def dropdown_choices() -> list[tuple[str, str]]:
    """``(label, key)`` pairs for a dropdown, the default first."""
    return [(c.label, c.key) for c in choices()]


def default_key() -> str | None:
    """The shipped ESC-10 model's key where it is present, else the first model, else None."""
    keys = [c.key for c in choices()]
    return DEFAULT_MODEL if DEFAULT_MODEL in keys else (keys[0] if keys else None)


def resolve(key: str | None) -> ModelChoice:
    """The model for ``key``. Raises CheckpointError in one line: an unknown key, a deleted run, a missing file."""
    key = key or default_key()
    if key is None:
        raise CheckpointError("no model to use: neither a shipped model nor a completed run with a checkpoint")
    for choice in choices():
        if choice.key == key:
            return choice
    if key.startswith("run:"):
        raise CheckpointError(f"run {key[4:]}: not a completed run with a checkpoint any more (deleted?)")
    raise CheckpointError(f"model {key!r}: unknown (choose one of the listed models)")


def load(key: str | None) -> tuple[Trained, NeighbourIndex | None, ModelChoice]:
    """The loaded model for ``key`` (from memory when its file is unchanged), with its neighbour index if any."""
    choice = resolve(key)
    trained, index = load_file(Path(choice.path), choice.neighbours)
    return trained, index, choice


def load_file(path: Path, neighbours: Path | None = None) -> tuple[Trained, NeighbourIndex | None]:
    """The checkpoint at ``path`` loaded on the CPU (and ``neighbours``' index), kept in memory until they change.

    Raises:
        CheckpointError: the file is gone or cannot be loaded (one line).
    """
    try:
        st = path.stat()
    except OSError as e:
        raise CheckpointError(f"{path}: {e.strerror or e}") from None
    companions = []  # a probe fitted (or an index built) since the model was loaded changes what it can do
    for other in (path.parent / PROBE_FILENAME, neighbours):
        try:
            companions.append(other.stat().st_mtime_ns if other is not None else None)
        except OSError:
            companions.append(None)
    cache_key = (str(path), st.st_mtime_ns, st.st_size, *companions)
    with _lock:
        if cache_key in _loaded:
            _loaded.move_to_end(cache_key)
            return _loaded[cache_key]
    trained = load_trained(path, device="cpu")
    index = NeighbourIndex.load(neighbours) if neighbours is not None else None
    with _lock:
        _loaded[cache_key] = (trained, index)
        while len(_loaded) > MAX_LOADED:
            _loaded.popitem(last=False)
    return trained, index
