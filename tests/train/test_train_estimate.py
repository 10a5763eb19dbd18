"""The run estimate: the shape of the run it predicts is the trainer's own, its total adds up, and it prices each
augmentation of the run and the features. (How close it comes to real epoch times is measured in bench/app.py.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.config import load_config
from core.train.estimate import estimate_run
from core.train.trainer import Trainer

REPO = Path(__file__).resolve().parents[2]


def test_estimate_matches_the_trainers_plan_and_adds_up():
    cfg = load_config(
        "demo", ["schedule.epochs=3", "eval.every=2", "augment.names=fade+noise+time_mask", "data.batch_size=48"]
    )
    est = estimate_run(cfg, timed_steps=2)
    # the demo's 224 training clips in batches of 48, the last partial batch dropped: 4 steps an epoch
    assert (est.steps_per_epoch, est.total_steps, est.epochs) == (224 // 48, 3 * (224 // 48), 3)
    trainer = Trainer(cfg, progress=False)  # the run's own plan
    assert (trainer.steps_per_epoch, trainer.total_steps) == (est.steps_per_epoch, est.total_steps)
    assert est.eval_passes == 2  # epoch 2, and the last (3)
    test_s = est.total_seconds - est.total_steps * est.seconds_per_step - est.eval_passes * est.eval_seconds
    assert test_s > 0 and est.epoch_seconds == pytest.approx(4 * est.seconds_per_step)
    assert list(est.augment_ms_per_clip) == ["fade", "time_mask", "noise"]  # the canonical order
    assert all(ms > 0 for ms in est.augment_ms_per_clip.values()) and est.features_ms_per_clip > 0
    assert "2 optimiser steps of 48 clips timed on cpu" in est.basis and "twice" in est.basis


def test_a_waveform_encoder_has_no_feature_cost():
    cfg = load_config("demo", ["schedule.epochs=1", "model.encoder=small_cnn_1d", "augment.names=none"])
    est = estimate_run(cfg, timed_steps=1)
    assert est.features_ms_per_clip == 0.0 and est.augment_ms_per_clip == {}


def test_cli_json():
    env = dict(os.environ, PYTHONPATH=str(REPO))
    cmd = [
        sys.executable,
        "-m",
        "core",
        "estimate",
        "--config",
        "demo",
        "--set",
        "schedule.epochs=2",
        "--steps",
        "1",
        "--device",
        "cpu",
    ]
    out = subprocess.run([*cmd, "--json"], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    got = json.loads(out.stdout)
    assert got["total_steps"] == 14 and got["epoch_seconds"] == pytest.approx(7 * got["seconds_per_step"])
    assert "timed on cpu" in got["basis"]
    bad = subprocess.run([*cmd, "--set", "augment.names=echo"], cwd=REPO, env=env, capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.startswith("error: ") and "augment.names" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
