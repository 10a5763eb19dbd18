"""Shared fixtures: the real data folder and a private waveform cache for the whole test session."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(scope="session", autouse=True)
def clar_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Point ``$CLAR_CACHE_DIR`` at a fresh temporary folder for the session, so no test reads or writes the
    user's cache (and every cache test starts empty)."""
    path = tmp_path_factory.mktemp("clar-cache")
    old = os.environ.get("CLAR_CACHE_DIR")
    os.environ["CLAR_CACHE_DIR"] = str(path)
    yield path
    if old is None:
        os.environ.pop("CLAR_CACHE_DIR", None)
    else:
        os.environ["CLAR_CACHE_DIR"] = old


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """``$CLAR_DATA_DIR``: the real datasets (esc10, fsdd, speech_commands, nsynth). Fails loudly when unset."""
    env = os.environ.get("CLAR_DATA_DIR")
    if not env:
        pytest.fail("CLAR_DATA_DIR is not set; point it at the shared data, e.g. CLAR_DATA_DIR=../shared/data")
    path = Path(env).expanduser()
    if not path.is_dir():
        pytest.fail(f"CLAR_DATA_DIR={env} is not a directory")
    return path
