"""``python -m core cv``: one run per fold, each scored on its own fold, resumable, refused without folds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.cli import main
from core.runs import RunStore

TINY = [
    "model.encoder=small_cnn_1d",
    "model.regime=supervised",
    "data.num_samples=4000",
    "data.max_train_clips=20",
    "data.max_eval_clips=10",
    "data.batch_size=10",
    "data.eval_batch_size=40",
    "augment.names=none",
    "schedule.epochs=1",
    "schedule.warmup_epochs=0",
    "eval.knn_k=3",
    "runtime.device=cpu",
    "runtime.num_threads=1",
    "runtime.checkpoint_every=0",
]


def _args(tmp_path: Path, folds: str) -> list[str]:
    sets = [a for s in TINY for a in ("--set", s)]
    where = ["--out", str(tmp_path / "cv"), "--runs-db", str(tmp_path / "runs.sqlite")]
    where += ["--checkpoint-dir", str(tmp_path / "ckpt")]
    return ["cv", "--config", "paper/esc10/supervised_1d", "--folds", folds, *where, "--quiet", *sets]


def test_cv_trains_a_run_per_fold_and_resumes(tmp_path: Path, capsys, monkeypatch):
    monkeypatch.setenv("CLAR_CACHE_DIR", str(tmp_path / "cache"))
    assert main(_args(tmp_path, "1,3")) == 0
    report = json.loads((tmp_path / "cv" / "cv.json").read_text())
    assert report["folds_done"] == [1, 3]
    store = RunStore(tmp_path / "runs.sqlite")
    runs = {f: report["folds"][str(f)]["run_id"] for f in (1, 3)}
    for fold, run_id in runs.items():
        run = store.get_run(run_id)
        assert run["status"] == "completed" and run["config"]["data"]["test_fold"] == fold
        assert run["name"].endswith(f"-fold{fold}")
    tops = [report["folds"][str(f)]["evaluation"]["test_top1"] for f in (1, 3)]
    assert report["summary"]["evaluation/test_top1"]["mean"] == pytest.approx(sum(tops) / 2)
    out = capsys.readouterr().out
    assert "fold 1:" in out and "fold 3:" in out and "+-" in out
    # run again with one more fold: the finished folds are not trained again
    assert main(_args(tmp_path, "1,3,5")) == 0
    report = json.loads((tmp_path / "cv" / "cv.json").read_text())
    assert {f: report["folds"][str(f)]["run_id"] for f in (1, 3)} == runs
    assert report["folds_done"] == [1, 3, 5] and len(store.list_runs()) == 3


def test_cv_needs_folds(tmp_path: Path, capsys):
    assert main(["cv", "--config", "smoke", "--out", str(tmp_path / "cv"), "--quiet"]) == 2
    assert "has no official folds" in capsys.readouterr().err
