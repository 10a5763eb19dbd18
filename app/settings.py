"""Where the app finds things: the data folders, the run store and the checkpoints.

They come from the command line (``python -m app``, passed on as environment variables) and from the run store's
saved settings.
"""

from __future__ import annotations

import os
from pathlib import Path

from core.paths import checkpoints_dir

DATA_DIRS_KEY = "app:data_dirs"
"""Run-store setting: the folders a user added in the app (a list of paths)."""

UPLOAD_LIMIT_MB = 50
"""The largest upload (MB) the Gradio tab and the Embeddings page accept; a larger one is refused."""

TOKEN_ENV = "CLAR_APP_TOKEN"
"""The access token required when the app serves beyond the loopback address (``--allow-remote``)."""


def runs_db() -> Path | None:
    """The run store file given on the command line (``$CLAR_RUNS_DB``), or None for the default."""
    env = os.environ.get("CLAR_RUNS_DB")
    return Path(env).expanduser() if env else None


def checkpoint_root() -> Path:
    """Where runs keep their checkpoints: ``$CLAR_CHECKPOINT_DIR``, else ``./checkpoints``."""
    return checkpoints_dir()


def data_dir() -> Path:
    """The data folder: ``--data-dir``, else ``$CLAR_DATA_DIR``, else ``./data``."""
    return Path(os.environ.get("CLAR_DATA_DIR") or "data").expanduser()


def checkpoint_arg() -> Path | None:
    """The checkpoint root if one was given (``--checkpoint-dir``, ``$CLAR_CHECKPOINT_DIR``), else None.

    The commands the app builds name it; None leaves the default (``./checkpoints`` of the app's working folder).
    """
    env = os.environ.get("CLAR_CHECKPOINT_DIR")
    return Path(env).expanduser() if env else None
