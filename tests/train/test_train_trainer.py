"""The trainer on real FSDD clips: one step of every regime and input kind, seeded views, the normaliser's sample,
step budgets (schedule.steps, epochs=0), runs without validation, cancel requests and the run-store record, and CUDA
AMP / channels_last / compile steps (``gpu``)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

from core.config import TrainConfig
from core.data.prepare import prepare_splits
from core.runs import RunStore
from core.train.loop import run_epoch
from core.train.run import run_training
from core.train.timing import StageTimer
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
    yield prepare_splits(tiny().data, progress=False)
    torch.set_num_threads(threads)


def _step(trainer: Trainer, index: np.ndarray) -> dict[str, float]:
    idx = torch.as_tensor(index)
    timer = StageTimer(trainer.device)
    timer.start()
    parts = trainer.step(trainer.train_store.batch(idx), trainer.train_labels[idx], trainer.global_step, timer)
    trainer.global_step += 1
    return parts


def test_splits_subsets_and_labelled_fraction(data):
    assert len(data.train) == 40 and len(data.valid) == 20 and len(data.test) == 20
    assert (data.train.labels >= 0).sum() == 20  # 50% labelled
    assert set(data.valid.labels) <= set(range(10)) and (data.valid.labels >= 0).all()
    # valid was held out of FSDD's train split (FSDD has none); test stays the official test split
    assert not set(data.valid.paths) & set(data.train.paths)
    assert all("_" in Path(p).stem and int(Path(p).stem.split("_")[-1]) < 5 for p in data.test.paths)
    assert data.sizes["train_labelled"] == 20 and data.sizes["labelled_fraction"] == 0.5


@pytest.mark.parametrize(
    ("regime", "encoder"),
    [("clar", "small_cnn_2d"), ("simclr", "small_cnn_2d"), ("supervised", "small_cnn_2d"), ("clar", "small_cnn_1d")],
)
def test_one_step_of_each_regime_changes_weights_and_logs_parts(data, regime, encoder):
    trainer = Trainer(tiny(regime, encoder), data=data, progress=False)
    trainer.fit_frontend()
    before = [p.detach().clone() for p in trainer.net.parameters()]
    parts = _step(trainer, trainer.train_index[:8])
    assert np.isfinite(parts["loss"]) and parts["lr"] > 0
    if regime != "supervised":
        assert 0.0 <= parts["contrastive_acc"] <= 1.0
    if regime == "clar":
        assert parts["loss"] == pytest.approx(parts["nt_xent"] + parts["ce"], rel=1e-5)
    changed = sum(not torch.equal(a, b) for a, b in zip(before, trainer.net.parameters(), strict=True))
    assert changed > 0 and trainer.global_step == 1
    # an epoch of supervised training is the labelled clips only; of the contrastive regimes, every clip
    expected = 20 if regime == "supervised" else 40
    assert len(trainer.train_index) == expected and trainer.steps_per_epoch == expected // 8
    if regime == "supervised":
        assert (data.train.labels[trainer.train_index] >= 0).all()


def test_views_are_seeded_by_step_and_differ(data):
    trainer = Trainer(tiny(), data=data, progress=False)
    x = trainer.train_store.batch(torch.arange(4))
    a = trainer.step.views(x, step=7)
    b = trainer.step.views(x, step=7)
    c = trainer.step.views(x, step=8)
    assert a.shape == (8, x.shape[1])  # two views of each clip
    assert torch.equal(a, b)
    assert not torch.equal(a[:4], a[4:]) and not torch.equal(a, c)


def test_normaliser_is_fitted_on_a_seeded_random_sample_of_every_class(data, monkeypatch):
    trainer = Trainer(tiny(), data=data, progress=False)
    seen = []
    real = trainer.train_store.batch

    def spy(index):
        seen.append(index.clone())
        return real(index)

    monkeypatch.setattr(trainer.train_store, "batch", spy)
    trainer.fit_frontend()
    picked = torch.cat(seen).numpy()
    assert len(picked) == 16 and len(set(picked.tolist())) == 16
    assert not np.array_equal(picked, np.arange(16))  # not the first clips in listing order (sorted by class)
    assert len(set(data.train.labels[picked].tolist()) | {-1}) > 4  # many digits, not only the first few


def test_step_budget_and_partial_last_epoch(data):
    trainer = Trainer(tiny().with_overrides(["schedule.steps=7"]), data=data, progress=False)
    assert trainer.steps_per_epoch == 5 and trainer.total_steps == 7 and trainer.total_epochs == 2
    trainer.fit_frontend()
    run_epoch(trainer, max_steps=trainer.total_steps - trainer.global_step)
    run_epoch(trainer, max_steps=trainer.total_steps - trainer.global_step)
    assert trainer.global_step == 7 and trainer.epoch == 2


def test_random_encoder_and_no_validation_runs(data, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("CLAR_CHECKPOINT_DIR", str(tmp_path / "ckpt"))
    import core.train.trainer as tr

    monkeypatch.setattr(tr, "prepare_splits", lambda *a, **k: data)
    store = RunStore(tmp_path / "runs.sqlite")
    untrained = run_training(tiny().with_overrides(["schedule.epochs=0"]), store=store, progress=False)
    assert untrained.status == "completed" and untrained.global_step == 0
    fm = store.get_run(untrained.run_id)["final_metrics"]
    assert {"test/last/head_acc", "test/last/linear_acc", "test/last/knn_acc"} <= set(fm)
    assert (tmp_path / "ckpt" / untrained.run_id / "last.pt").is_file()  # the random encoder, scorable offline

    no_valid = run_training(tiny().with_overrides(["data.validation=none"]), store=store, progress=False)
    fm = store.get_run(no_valid.run_id)["final_metrics"]
    assert no_valid.status == "completed" and "best_epoch" not in fm and "test/last/head_acc" in fm
    assert not (tmp_path / "ckpt" / no_valid.run_id / "best.pt").exists()
    assert fm["data/train"] == 40 and fm["data/train_labelled"] == 20 and fm["data/labelled_fraction"] == 0.5


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
    parts = _step(trainer, trainer.train_index[:8])
    assert np.isfinite(parts["loss"])
    assert trainer.scaler.is_enabled() == (amp == "fp16")
    assert trainer.score(splits=("valid",))["valid/head_acc"] >= 0


@pytest.mark.gpu
def test_cuda_compiled_step(data):
    trainer = Trainer(tiny(device="cuda", compile=True), data=data, progress=False)
    trainer.fit_frontend()
    for i in range(2):
        parts = _step(trainer, trainer.train_index[8 * i : 8 * i + 8])
        assert np.isfinite(parts["loss"])
