"""CI smoke run: ``python -m core train --config configs/smoke.yaml`` (1 epoch of CLAR at 10% labels on an FSDD
subset with the small 2D CNN, every paper augmentation) completes, prints its run id first, and reports test
accuracies for the best and the last checkpoint. Its wall time is printed (the target is < 2 min on 2 cores)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from core.runs import RunStore
from core.runs.reports import read_report

REPO = Path(__file__).resolve().parents[2]
if not os.environ.get("CLAR_DATA_DIR"):
    raise RuntimeError("CLAR_DATA_DIR is not set: the smoke run trains on $CLAR_DATA_DIR/fsdd")


@pytest.mark.slow
def test_smoke_config_trains_one_epoch(tmp_path: Path):
    env = dict(
        os.environ,
        CLAR_CHECKPOINT_DIR=str(tmp_path / "ckpt"),
        CLAR_RUNS_DB=str(tmp_path / "runs.sqlite"),
        PYTHONPATH=str(REPO),
    )
    t0 = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "core", "train", "--config", "smoke", "--no-progress"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    elapsed = time.perf_counter() - t0
    assert out.returncode == 0, out.stderr[-3000:]
    lines = out.stdout.splitlines()
    run_id = lines[0].strip()
    # The reporter's lines, which the app's launcher tails: stable, whole, no carriage returns in a log.
    assert "\r" not in out.stdout
    assert lines[1].startswith(f"run {run_id}: clar (") and "an epoch is one pass over the training clips" in lines[1]
    assert re.fullmatch(
        r"splits: train 512 clips \(\d+ labelled, \d+\.\d%\), valid 100 \(.+\), test 100 \(.+\)", lines[2]
    )
    assert re.fullmatch(r"plan: 1 epoch\(s\), 8 step\(s\) of 8 per epoch, on cpu", lines[3])
    assert re.fullmatch(
        r"epoch 1/1  step 8/8  loss \d+\.\d{4}  contrastive_acc [\d.]+  valid/head_acc [\d.]+  "
        r"valid/linear_acc [\d.]+  valid/knn_acc [\d.]+  lr \S+  time [\d.]+s  ETA 0s",
        lines[4],
    ), lines[4]
    assert lines[-1].startswith(f"run {run_id} completed: test/best/head_acc=")
    run = RunStore(tmp_path / "runs.sqlite").get_run(run_id)
    assert run["status"] == "completed"
    final = run["final_metrics"]
    for key in ("test/best/head_acc", "test/last/head_acc", "test/best/linear_acc", "test/best/knn_acc"):
        assert 0.0 <= final[key] <= 1.0
    assert final["epochs"] == 1 and final["best_epoch"] == 1
    assert (tmp_path / "ckpt" / run_id / "best.pt").exists() and (tmp_path / "ckpt" / run_id / "last.pt").exists()
    # The test report (per-class accuracy and confusion matrix, for the Runs page) agrees with the final metrics.
    (artifact,) = RunStore(tmp_path / "runs.sqlite").artifacts(run_id, "report")
    report = read_report(artifact["path"])
    assert report["class_names"] == ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    for scorer, key in (("head", "test/last/head_acc"), ("linear", "test/last/linear_acc")):
        rep = report["last"][scorer]
        cm = np.asarray(rep["confusion_matrix"])
        assert cm.sum() == final["data/test"] == 100
        assert rep["top1"] == pytest.approx(final[key]) == pytest.approx(np.trace(cm) / cm.sum())
        assert list(rep["per_class_accuracy"]) == report["class_names"]
    print(f"smoke run: {elapsed:.1f} s wall")
