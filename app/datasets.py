"""Which datasets this server has, where, and how to get the others; the user's own folders, kept in the run store.

Everything is ``core.data``'s: finding a dataset (:func:`core.data.find_root`), listing its clips without
decoding them (:func:`core.data.list_clips`) and the download command. A folder a user adds is checked the same
way before it is kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import streamlit as st

from app.settings import DATA_DIRS_KEY, data_dir
from core.data import DATASET_NAMES, family, list_clips
from core.errors import ClarError, DatasetError
from core.runs import RunStore

MAX_USER_DATASETS = 100


@dataclass
class DatasetState:
    """One dataset on this server.

    Attributes:
        name: its name (``fsdd``, ``demo``, or a user folder's name).
        description: one line; the demo's says it is synthetic.
        root: where it was found, or None.
        clips: its clip count when found.
        classes: its class count when found.
        problem: one line when it is missing or unreadable.
        download: the command that downloads it, where there is one.
    """

    name: str
    description: str
    root: str | None = None
    clips: int | None = None
    classes: int | None = None
    problem: str | None = None
    download: str | None = None


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split())


def download_command(name: str, root: Path | None = None) -> str | None:
    """``python -m core data download <name> --root <data dir>`` for a downloadable dataset, else None."""
    target = family(name).download
    return None if target is None else f"python -m core data download {target} --root {root or data_dir()}"


def dataset_state(name: str) -> DatasetState:
    """Where dataset ``name`` is, and its size, or why it cannot be used (never raises for a missing dataset)."""
    fam = family(name)
    state = DatasetState(name, fam.description, download=download_command(name))
    try:
        clips = list_clips(name)
    except ClarError as e:
        state.problem = _one_line(e).split("; download it with")[0]
        return state
    state.root, state.clips, state.classes = str(clips.root), len(clips.paths), len(clips.class_names)
    return state


def builtin_states() -> list[DatasetState]:
    """Every named dataset (not ``folder``/``csv``, which need a location), found or not."""
    return [dataset_state(n) for n in DATASET_NAMES if not family(n).needs_root]


@st.cache_data(ttl=60, show_spinner="Looking for datasets…")
def cached_builtin_states() -> list[DatasetState]:
    """:func:`builtin_states`, kept for a minute: it reads every dataset's metadata.

    The pages share it; ``cached_builtin_states.clear()`` forgets it (after a download).
    """
    return builtin_states()


def check_user_dataset(kind: str, root: str) -> DatasetState:
    """List a user's ``folder`` or ``csv`` dataset at ``root``; raises DatasetError (one line) if it is unusable."""
    if kind not in ("folder", "csv"):
        raise DatasetError(f"{kind!r}: a user dataset is a 'folder' (one subfolder per class) or a 'csv' list")
    path = Path(root).expanduser()
    clips = list_clips(kind, root=path)
    return DatasetState(
        path.name or str(path), family(kind).description, str(clips.root), len(clips.paths), len(clips.class_names)
    )


def user_datasets(store: RunStore) -> list[dict[str, Any]]:
    """The folders users added (``{"kind", "root"}``), as kept in the run store; malformed entries are skipped."""
    saved = store.get_setting(DATA_DIRS_KEY, [])
    if not isinstance(saved, list):
        return []
    return [
        {"kind": e["kind"], "root": e["root"]}
        for e in saved[:MAX_USER_DATASETS]
        if isinstance(e, dict) and e.get("kind") in ("folder", "csv") and isinstance(e.get("root"), str)
    ]


def add_user_dataset(store: RunStore, kind: str, root: str) -> DatasetState:
    """Check and keep a user's dataset (once); returns its state. Raises DatasetError naming the problem."""
    state = check_user_dataset(kind, root)
    entries = user_datasets(store)
    resolved = str(Path(root).expanduser().resolve())
    if not any(e["root"] == resolved and e["kind"] == kind for e in entries):
        if len(entries) >= MAX_USER_DATASETS:
            raise DatasetError(f"already {MAX_USER_DATASETS} user datasets; remove one first")
        store.set_setting(DATA_DIRS_KEY, [*entries, {"kind": kind, "root": resolved}])
    return state


def remove_user_dataset(store: RunStore, kind: str, root: str) -> None:
    """Forget a user's dataset (its files are left alone)."""
    kept = [e for e in user_datasets(store) if not (e["kind"] == kind and e["root"] == root)]
    store.set_setting(DATA_DIRS_KEY, kept)
