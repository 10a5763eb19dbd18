"""End to end on real FSDD clips: a 2-epoch CLAR run (10% labels, small CNN) on the CPU, SIGKILLed mid-epoch and
resumed with ``--resume``, ends with the same metrics as an uninterrupted run with the same seed (within 1e-6).

Also: the run store rows after the checkpoint are replaced, a corrupt ``last`` checkpoint falls back to the previous
one, and the trained checkpoint loads into ``build_from_config`` for inference.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from core.checkpoint import load_checkpoint
from core.config import load_config
from core.config.build import build_from_config, load_model_from_checkpoint
from core.runs import RunStore
from core.train.checkpoints import CheckpointManager
from core.train.run import run_training

REPO = Path(__file__).resolve().parents[2]
DATA_DIR = os.environ.get("CLAR_DATA_DIR")
if not DATA_DIR:
    raise RuntimeError("CLAR_DATA_DIR is not set: these tests train on the real FSDD clips in $CLAR_DATA_DIR/fsdd")

# 160 training clips (16 labelled), 40 valid / 40 test clips of 0.5 s; batch 32 -> 5 steps per epoch.
OVERRIDES = [
    "data.max_train_clips=160",
    "data.max_eval_clips=40",
    "data.num_samples=8000",
    "data.batch_size=32",
    "data.eval_batch_size=64",
    "features.fit_clips=64",
    "augment.names=fade,time_mask,time_shift,noise",
    "schedule.epochs=2",
    "schedule.warmup_epochs=0.4",
    "runtime.num_threads=1",
    "runtime.checkpoint_every=1",
    "runtime.seed=3",
    "eval.knn_k=5",
]
STEPS_PER_EPOCH = 5


def _env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        CLAR_CHECKPOINT_DIR=str(tmp_path / "ckpt"),
        CLAR_RUNS_DB=str(tmp_path / "runs.sqlite"),
        OMP_NUM_THREADS="1",
        PYTHONPATH=str(REPO),
    )
    return env


def _train_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "core", "train", "--no-progress", *args]


def _rows(store: RunStore, run_id: str) -> dict[tuple[int, str], float]:
    return {(r["step"], r["key"]): r["value"] for r in store.metrics(run_id) if not r["key"].startswith("time/")}


def _close(a: dict, b: dict, what: str) -> None:
    skip = ("train/clips_per_s", "train/epoch_s")
    keys = {k for k in a if not str(k[-1] if isinstance(k, tuple) else k).startswith(skip)}
    keys_b = {k for k in b if not str(k[-1] if isinstance(k, tuple) else k).startswith(skip)}
    assert keys == keys_b, f"{what}: different keys {sorted(keys ^ keys_b)[:5]}"
    for k in keys:
        assert abs(a[k] - b[k]) <= 1e-6, f"{what}: {k}: {a[k]} vs {b[k]}"


@pytest.mark.slow
def test_sigkill_mid_epoch_then_resume_matches_uninterrupted(tmp_path: Path, monkeypatch):
    env = _env(tmp_path)
    for k in ("CLAR_CHECKPOINT_DIR", "CLAR_RUNS_DB"):
        monkeypatch.setenv(k, env[k])

    # 1) the reference: uninterrupted, in this process
    threads = torch.get_num_threads()
    try:
        ref = run_training(load_config("smoke", OVERRIDES), progress=False)
    finally:
        torch.set_num_threads(threads)
    assert ref.status == "completed" and ref.epochs_done == 2 and ref.global_step == 2 * STEPS_PER_EPOCH
    store = RunStore(env["CLAR_RUNS_DB"])
    ref_run = store.get_run(ref.run_id)
    assert ref_run["status"] == "completed"
    for key in ("test/best/head_acc", "test/last/head_acc", "test/best/linear_acc", "test/last/knn_acc"):
        assert 0.0 <= ref_run["final_metrics"][key] <= 1.0

    # 2) the same run in a subprocess, SIGKILLed after the first step of epoch 2
    proc = subprocess.Popen(
        _train_cmd("--config", "smoke", *[a for o in OVERRIDES for a in ("--set", o)]),
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        run_id = proc.stdout.readline().strip()  # the run id comes first
        assert run_id and run_id != ref.run_id
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and proc.poll() is None:
            steps = [r["step"] for r in store.metrics(run_id, "train/loss")]
            if steps and max(steps) > STEPS_PER_EPOCH:
                break
            time.sleep(0.05)
        assert proc.poll() is None, f"training ended before it could be killed: {proc.stderr.read()[-2000:]}"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    killed_steps = [r["step"] for r in store.metrics(run_id, "train/loss")]
    assert STEPS_PER_EPOCH < max(killed_steps) < 2 * STEPS_PER_EPOCH, "the kill should land mid-epoch 2"
    assert load_checkpoint(tmp_path / "ckpt" / run_id / "last.pt")["epoch"] == 1

    # 3) resume; the store's stale-run check has marked it interrupted (its process is gone)
    assert store.get_run(run_id)["status"] == "interrupted"
    out = subprocess.run(
        _train_cmd("--resume", run_id), cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.splitlines()[0] == run_id
    resumed = store.get_run(run_id)
    assert resumed["status"] == "completed"
    _close(ref_run["final_metrics"], resumed["final_metrics"], "final metrics")
    # every metric row (per step and per epoch) equals the uninterrupted run's: rows after the checkpoint
    # were replaced, none is duplicated or left over from the killed attempt
    _close(_rows(store, ref.run_id), _rows(store, run_id), "metric rows")

    # each checkpoint file is recorded once as an artifact of the run
    paths = [a["path"] for a in store.artifacts(run_id, "checkpoint")]
    assert len(paths) == len(set(paths))
    assert {Path(p).name for p in paths} == {"last.pt", "best.pt", "epoch_0001.pt", "epoch_0002.pt"}

    # the checkpoints load for inference and carry everything the format promises
    ckpt = load_checkpoint(tmp_path / "ckpt" / run_id / "best.pt")
    assert len(ckpt["class_names"]) == 10 and ckpt["num_classes"] == 10
    assert ckpt["feature_config"] and ckpt["input_kind"] == "features" and ckpt["run_id"] == run_id
    assert set(ckpt["rng"]) == {"torch_cpu", "torch_cuda", "numpy", "python"}
    model, frontend, _ = load_model_from_checkpoint(tmp_path / "ckpt" / run_id / "last.pt")
    ref_model, _ = build_from_config(ckpt["config"], 10)
    ref_model.load_state_dict(load_checkpoint(tmp_path / "ckpt" / ref.run_id / "last.pt")["model"])
    for (name, a), b in zip(model.state_dict().items(), ref_model.state_dict().values(), strict=True):
        assert torch.allclose(a.float(), b.float(), atol=1e-6), name
    with torch.no_grad():
        out = model(frontend(torch.randn(2, 8000) * 0.1))
    assert out["logits"].shape == (2, 10) and out["h"].shape[0] == 2


def test_corrupt_last_checkpoint_falls_back_when_resuming(tmp_path: Path, monkeypatch):
    """Resume picks the previous checkpoint, with a warning, when ``last`` is truncated."""
    env = _env(tmp_path)
    for k in ("CLAR_CHECKPOINT_DIR", "CLAR_RUNS_DB"):
        monkeypatch.setenv(k, env[k])
    cfg = load_config("smoke", [*OVERRIDES, "schedule.epochs=1", "data.max_train_clips=64", "eval.linear_probe=false"])
    threads = torch.get_num_threads()
    try:
        first = run_training(cfg, progress=False)
        manager = CheckpointManager(tmp_path / "ckpt" / first.run_id)
        assert manager.last.exists()
        # fake a second epoch's checkpoint, then truncate it: resume must fall back to epoch 1's
        manager.save(load_checkpoint(manager.last))
        data = manager.last.read_bytes()
        manager.last.write_bytes(data[: len(data) // 3])
        with sqlite3.connect(env["CLAR_RUNS_DB"]) as con:  # as if it had been killed during that second epoch
            con.execute("UPDATE runs SET status = 'interrupted' WHERE id = ?", (first.run_id,))
        with pytest.warns(RuntimeWarning, match=r"last\.pt: corrupt or truncated"):
            again = run_training(resume=first.run_id, progress=False)
    finally:
        torch.set_num_threads(threads)
    assert again.status == "completed" and again.epochs_done == 1
