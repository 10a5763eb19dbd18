"""Trainer pieces on real FSDD clips: one step of every regime and input kind, clean evaluation, cancel requests,
the run-store record (config + provenance), and CUDA AMP / channels_last / compile steps (``gpu``)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

from core.runs import RunStore
from core.config import TrainConfig
from core.train.pipeline import StageTimer, prepare_splits
from core.train.run import run_training
from core.train.trainer import Trainer

if not os.environ.get("CLAR_DATA_DIR"):
    raise RuntimeError("CLAR_DATA_DIR is not set: these tests train on the real FSDD clips in $CLAR_DATA_DIR/fsdd")


def tiny(regime: str = "clar", encoder: str = "small_cnn_2d", **runtime) -> TrainConfig:
    return TrainConfig.from_dict(
        {
            "data": {
                "dataset": "fsdd",
                "num_samples": 4000,
                "max_train_clips": 40,
                "max_eval_clips": 20,
                "label_fraction": 0.5,
                "batch_size": 8,
                "eval_batch_size": 20,
            },
            "augment": {"names": "fade,time_mask,time_shift,noise"},
            "features": {"fit_clips": 16},
            "model": {"regime": regime, "encoder": encoder},
            "schedule": {"epochs": 2, "warmup_epochs": 0.5},
            "eval": {"knn_k": 3},
            "runtime": {"device": "cpu", "num_threads": 1, "checkpoint_every": 0, **runtime},
        }
    )


@pytest.fixture(scope="module")
def data():
    threads = torch.get_num_threads()
    yield prepare_splits(tiny().data, seed=0, progress=False)
    torch.set_num_threads(threads)


def test_splits_subsets_and_labelled_fraction(data):
    assert len(data.train) == 40 and len(data.valid) == 20 and len(data.test) == 20
    assert (data.train.labels >= 0).sum() == 20  # 50% labelled
    assert set(data.valid.labels) <= set(range(10)) and (data.valid.labels >= 0).all()
    # valid was carved out of FSDD's train split (FSDD has none); test stays the official test split
    assert not set(data.valid.paths) & set(data.train.paths)
    assert all("_" in Path(p).stem and int(Path(p).stem.split("_")[-1]) < 5 for p in data.test.paths)


@pytest.mark.parametrize(
    ("regime", "encoder"),
    [("clar", "small_cnn_2d"), ("simclr", "small_cnn_2d"), ("supervised", "small_cnn_2d"), ("clar", "small_cnn_1d")],
)
def test_one_step_of_each_regime_changes_weights_and_logs_parts(data, regime, encoder):
    trainer = Trainer(tiny(regime, encoder), data=data, progress=False)
    trainer.fit_frontend()
    before = [p.detach().clone() for p in trainer.net.parameters()]
    index = torch.as_tensor(trainer.train_index[:8])
    parts = trainer.train_step(index, StageTimer(trainer.device))
    assert np.isfinite(parts["loss"]) and parts["lr"] > 0
    if regime != "supervised":
        assert 0.0 <= parts["contrastive_acc"] <= 1.0
    if regime == "clar":
        assert parts["loss"] == pytest.approx(parts["nt_xent"] + parts["ce"], rel=1e-5)
    changed = sum(not torch.equal(a, b) for a, b in zip(before, trainer.net.parameters(), strict=True))
    assert changed > 0 and trainer.global_step == 1
    # supervised trains on the labelled clips only
    if regime == "supervised":
        assert (data.train.labels[trainer.train_index] >= 0).all() and len(trainer.train_index) == 20


def test_views_are_seeded_by_step_and_differ(data):
    trainer = Trainer(tiny(), data=data, progress=False)
    x = trainer.train_store.batch(torch.arange(4))
    a1, a2 = trainer.make_views(x, step=7)
    b1, b2 = trainer.make_views(x, step=7)
    c1, _ = trainer.make_views(x, step=8)
    assert torch.equal(a1, b1) and torch.equal(a2, b2)
    assert not torch.equal(a1, a2) and not torch.equal(a1, c1)


def test_evaluation_uses_clean_audio_and_only_labelled_clips(data, monkeypatch):
    trainer = Trainer(tiny(), data=data, progress=False)
    trainer.fit_frontend()
    seen = {}
    import core.evaluate as ev

    real = ev.linear_probe

    def spy(x, y, eval_sets, **kw):
        seen["train_y"], seen["sets"] = np.asarray(y), {k: len(v[1]) for k, v in eval_sets.items()}
        return real(x, y, eval_sets, **kw)

    monkeypatch.setattr(ev, "linear_probe", spy)
    trainer.pipeline = None  # any augmentation during evaluation would now raise
    m = trainer.score(splits=("valid",))
    assert (seen["train_y"] >= 0).all() and len(seen["train_y"]) == 20
    assert seen["sets"] == {"valid": 20} and "test/linear_acc" not in m
    assert {"valid/head_acc", "valid/linear_acc", "valid/knn_acc"} <= set(m)
    h1, _ = trainer.embed(trainer.valid_store)
    h2, _ = trainer.embed(trainer.valid_store)
    assert torch.equal(h1, h2)  # deterministic: eval mode, no augmentation


def test_cancel_request_stops_the_run_and_store_keeps_config(data, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("CLAR_CHECKPOINT_DIR", str(tmp_path / "ckpt"))
    store = RunStore(tmp_path / "runs.sqlite")
    cfg = tiny(heartbeat_s=0.05).with_overrides(["schedule.epochs=50"])
    import core.train.trainer as tr

    monkeypatch.setattr(tr, "prepare_splits", lambda *a, **k: data)
    result = run_training(cfg, store=store, progress=False, on_run_id=store.request_cancel)
    run = store.get_run(result.run_id)
    assert result.status == "cancelled" and run["status"] == "cancelled"
    assert result.epochs_done < 50
    assert run["config"]["model"] == cfg.to_dict()["model"]
    prov = run["config"]["provenance"]
    assert prov["device"] == "cpu" and prov["host"] and prov["packages"]["torch"] and "git_commit" in prov


@pytest.mark.gpu
@pytest.mark.parametrize("amp", ["bf16", "fp16"])
def test_cuda_amp_channels_last_step(data, amp):
    trainer = Trainer(tiny(device="cuda", amp=amp, channels_last=True), data=data, progress=False)
    trainer.fit_frontend()
    assert trainer.train_store.data.is_cuda and trainer.train_store.resident
    parts = trainer.train_step(torch.as_tensor(trainer.train_index[:8]), StageTimer(trainer.device, sync=True))
    assert np.isfinite(parts["loss"])
    assert trainer.scaler.is_enabled() == (amp == "fp16")
    assert trainer.score(splits=("valid",))["valid/head_acc"] >= 0


@pytest.mark.gpu
def test_cuda_compiled_step(data):
    trainer = Trainer(tiny(device="cuda", compile=True), data=data, progress=False)
    trainer.fit_frontend()
    for i in range(2):
        parts = trainer.train_step(torch.as_tensor(trainer.train_index[8 * i : 8 * i + 8]), StageTimer(trainer.device))
        assert np.isfinite(parts["loss"])
