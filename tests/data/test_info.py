"""``python -m core data info``: counts per class and split, total duration, cache state."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from core.cli import main


def test_info_sc09(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "info", "sc09", "--no-cache"]) == 0
    out = capsys.readouterr().out
    assert "clips     100 in 10 of 10 classes" in out
    with open(data_dir / "speech_commands" / "metadata.csv", newline="") as f:
        seconds = sum(int(r["samples"]) for r in csv.DictReader(f) if r["sc09"] == "True") / 16000
    assert f"duration  {seconds:.1f} s" in out
    assert re.search(r"^zero\s+\d+\s+\d+\s+\d+\s+10$", out, re.M)
    assert re.search(r"^total\s+62\s+16\s+22\s+100$", out, re.M)
    assert "cache     missing (not built: --no-cache)" in out
    assert main(["data", "info", "sc09"]) == 0
    assert "cache     built (was missing)" in capsys.readouterr().out
    assert main(["data", "info", "sc09", "--no-cache"]) == 0
    assert "cache     hit" in capsys.readouterr().out


def test_info_fsdd_counts(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "info", "fsdd", "--no-cache", "--seconds", "0.5"]) == 0
    out = capsys.readouterr().out
    assert "duration  1312.3 s" in out  # the shared README's total
    assert "0.5 s per clip (8000 samples" in out
    assert re.search(r"^total\s+2700\s+0\s+300\s+3000$", out, re.M)


def test_info_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "info", "esc50", "--root", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: esc50:") and err.count("\n") == 1
    assert main(["data", "info", "esc10", "--fold", "9", "--no-cache"]) == 2
