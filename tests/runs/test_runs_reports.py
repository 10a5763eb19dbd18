"""The test report a run leaves in its folder: written atomically, read back with every bad file refused in one
line naming the file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from core.errors import RunStoreError
from core.probes.metrics import classification_report
from core.runs.reports import MAX_REPORT_BYTES, REPORT_NAME, read_report, write_report


def _report() -> dict:
    y = np.array([0, 0, 1, 1, 2, 2])
    p = np.array([0, 1, 1, 1, 2, 0])
    rep = classification_report(y, p, ["a", "b", "c"])
    return {"class_names": ["a", "b", "c"], "epoch": 2, "best_epoch": 2, "split": "test", "last": {"head": rep}}


def test_round_trip(tmp_path: Path):
    path = write_report(tmp_path, _report())
    assert path == tmp_path / REPORT_NAME and not list(tmp_path.glob("*.tmp"))
    back = read_report(path)
    assert back == json.loads(json.dumps(_report()))
    assert back["last"]["head"]["confusion_matrix"] == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"\xff\xfe", "not a JSON test report"),
        (b"{", "not a JSON test report"),
        (b"[" * 200_000 + b"]" * 200_000, "nested"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"class_names": []}', "class_names must be a list"),
        (b'{"class_names": ["a", 3]}', "class_names must be a list"),
        (b'{"class_names": ["a"], "last": 5}', "last is not an object"),
        (b'{"class_names": ["a", "b"], "last": {"head": {"confusion_matrix": [[1, 2]]}}}', "2x2 matrix"),
        (b'{"class_names": ["a"], "last": {"head": {"confusion_matrix": [[-1]]}}}', "1x1 matrix"),
        (b'{"class_names": ["a"], "last": {"head": {"top1": 7}}}', "not an accuracy"),
    ],
)
def test_bad_reports_are_refused_in_one_line(tmp_path: Path, content: bytes, problem: str):
    path = tmp_path / REPORT_NAME
    path.write_bytes(content)
    with pytest.raises(RunStoreError) as e:
        read_report(path)
    assert str(e.value).startswith(f"{path}: ") and problem in str(e.value) and "\n" not in str(e.value)


def test_missing_and_oversized(tmp_path: Path):
    with pytest.raises(RunStoreError, match="no such file"):
        read_report(tmp_path / REPORT_NAME)
    big = tmp_path / "big.json"
    with open(big, "wb") as f:
        f.truncate(MAX_REPORT_BYTES + 1)  # sparse: no 64 MB written
    with pytest.raises(RunStoreError, match="over the"):
        read_report(big)
