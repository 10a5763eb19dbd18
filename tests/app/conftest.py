"""Fixtures for the app's tests: a private run store and checkpoint root, and a Streamlit page runner."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def app_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data_dir: Path) -> Iterator[dict[str, Path]]:
    """``$CLAR_RUNS_DB`` and ``$CLAR_CHECKPOINT_DIR`` in a temporary folder, as ``python -m app`` would set them."""
    where = {"runs_db": tmp_path / "runs.sqlite", "checkpoints": tmp_path / "ckpt", "tmp": tmp_path}
    monkeypatch.setenv("CLAR_RUNS_DB", str(where["runs_db"]))
    monkeypatch.setenv("CLAR_CHECKPOINT_DIR", str(where["checkpoints"]))
    monkeypatch.setenv("CLAR_DATA_DIR", str(data_dir))
    yield where


@pytest.fixture
def page() -> Callable[[str], AppTest]:
    """``page("train")``: the page's script, run once by Streamlit's test runner."""

    def run(name: str) -> AppTest:
        at = AppTest.from_file(str(REPO / "pages" / f"{name}.py"), default_timeout=120)
        at.run()
        return at

    return run
