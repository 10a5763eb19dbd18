"""Where CLAR Studio keeps caches and looks for data."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """The cache root: ``$CLAR_CACHE_DIR``, else ``~/.cache/clar-studio``. Created on first use."""
    root = Path(os.environ.get("CLAR_CACHE_DIR") or Path.home() / ".cache" / "clar-studio").expanduser()
    root.mkdir(parents=True, exist_ok=True)
    return root


def data_dirs() -> list[Path]:
    """Folders searched for datasets, in order: ``$CLAR_DATA_DIR`` (if set), then ``./data``."""
    dirs = []
    env = os.environ.get("CLAR_DATA_DIR")
    if env:
        dirs.append(Path(env).expanduser())
    dirs.append(Path("data"))
    return dirs


def checkpoints_dir() -> Path:
    """Where runs keep checkpoints: ``$CLAR_CHECKPOINT_DIR``, else ``./checkpoints``."""
    return Path(os.environ.get("CLAR_CHECKPOINT_DIR") or "checkpoints")
