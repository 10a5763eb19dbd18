"""The splits a run uses (core.data.prepare): validation modes, leave-one-speaker-out, split seeds independent of
the training seed, the real labelled counts, and datasets larger than memory."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.data import list_clips
from core.data.base import AudioDataset
from core.data.config import DataConfig
from core.data.prepare import plan_splits, prepare_splits
from core.data.rows import IndexedRows
from core.errors import ConfigError
from tests.hostile.bounded import run_bounded


def _plan(name: str, **kw):
    cfg = DataConfig(dataset=name, **kw)
    return plan_splits(list_clips(name, fold=cfg.test_fold, seed=cfg.split_seed), cfg), cfg


def test_esc_default_holds_out_part_of_the_four_training_folds(data_dir: Path):
    plan, _ = _plan("esc10", test_fold=3)
    clips = list_clips("esc10", fold=3)
    assert set(clips.folds[plan["test"]].tolist()) == {3} and len(plan["test"]) == 80
    used = np.concatenate([plan["train"], plan["valid"]])
    assert set(clips.folds[used].tolist()) == {1, 2, 4, 5} and len(used) == 320  # all four folds are used
    assert np.bincount(clips.labels[plan["valid"]], minlength=10).tolist() == [3] * 10  # round(10 % of 32)
    assert plan["sizes"] == {"train": 290, "train_labelled": 290, "labelled_fraction": 1.0, "valid": 30, "test": 80}
    assert "holdout" in plan["protocol"]["valid"] and "fold 3" in plan["protocol"]["test"]


def test_esc_fold_validation_and_none(data_dir: Path):
    clips = list_clips("esc10", fold=3)
    fold, _ = _plan("esc10", test_fold=3, validation="fold")
    assert set(clips.folds[fold["valid"]].tolist()) == {4} and set(clips.folds[fold["train"]].tolist()) == {1, 2, 5}
    chosen, _ = _plan("esc10", test_fold=3, validation="fold", valid_fold=1)
    assert set(clips.folds[chosen["valid"]].tolist()) == {1}
    none, _ = _plan("esc10", test_fold=3, validation="none")
    assert len(none["train"]) == 320 and len(none["valid"]) == 0  # the literature's "train on 4 folds"


def test_only_the_split_seed_changes_the_data(data_dir: Path):
    a, _ = _plan("esc10", split_seed=0)
    b, _ = _plan("esc10", split_seed=0)
    c, _ = _plan("esc10", split_seed=1)
    np.testing.assert_array_equal(a["train"], b["train"])
    assert not np.array_equal(a["train"], c["train"])
    # the runtime seed is not an input of the data plan at all: a config differing only in it gives the same data
    from core.config import TrainConfig

    one = TrainConfig().with_overrides(["data.dataset=esc10", "runtime.seed=1"])
    two = TrainConfig().with_overrides(["data.dataset=esc10", "runtime.seed=2"])
    assert one.data == two.data


def test_fsdd_holdout_and_leave_one_speaker_out(data_dir: Path):
    plan, _ = _plan("fsdd")
    assert plan["sizes"]["train"] == 2430 and plan["sizes"]["valid"] == 270 and plan["sizes"]["test"] == 300
    clips = list_clips("fsdd")
    assert np.bincount(clips.labels[plan["valid"]], minlength=10).tolist() == [27] * 10
    loso, _ = _plan("fsdd", test_group="george")
    speakers = np.asarray(clips.speakers)
    assert set(speakers[loso["test"]].tolist()) == {"george"} and len(loso["test"]) == 500
    assert "george" not in set(speakers[np.concatenate([loso["train"], loso["valid"]])].tolist())
    assert len(loso["train"]) + len(loso["valid"]) == 2500  # the other speakers' takes, test takes included
    with pytest.raises(ConfigError, match="'nobody' is not a group of fsdd"):
        _plan("fsdd", test_group="nobody")
    with pytest.raises(ConfigError, match="no official validation split"):
        _plan("fsdd", validation="official")


def test_labelled_counts_are_the_real_ones(data_dir: Path):
    plan, _ = _plan("esc10", label_fraction=0.1)
    s = plan["sizes"]
    assert s["train"] == 290 and s["train_labelled"] == 30  # 29 per class, round(2.9) = 3 labelled each
    assert s["labelled_fraction"] == pytest.approx(30 / 290)
    assert (plan["train_labels"] >= 0).sum() == 30


def test_prepared_splits_describe_themselves(data_dir: Path):
    seen = {}
    splits = prepare_splits(DataConfig(dataset="esc10", num_samples=1600), progress=False, check=seen.update)
    assert seen == splits.sizes and len(splits.train) == 290 and len(splits.valid) == 30
    line = splits.describe()
    assert "train 290 clips (290 labelled, 100.0%)" in line and "valid 30" in line and "test 80" in line
    assert isinstance(splits.train.waveforms, IndexedRows)  # a split of the cache is not copied into memory
    np.testing.assert_array_equal(splits.train.waveforms[3], np.asarray(splits.train.waveforms)[3])


def test_a_memmap_larger_than_the_memory_limit_trains_from_disk(tmp_path: Path):
    """Two GiB of waveforms, a 1 GiB memory cap: resident 'cpu' streams batches from the memory map."""
    path = tmp_path / "big.npy"
    n, t = 8192, 65536
    mm = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n, t))  # sparse: nothing written
    mm[:, :100] = np.random.default_rng(0).standard_normal((n, 100)).astype(np.float32) * 0.1
    mm.flush()
    del mm
    imports = """
import numpy as np
from core.config import TrainConfig
from core.data.base import AudioDataset
from core.data.prepare import SplitData
from core.train.loop import run_epoch
from core.train.trainer import Trainer
"""
    body = f"""
def attack():
    waves = np.load({str(path)!r}, mmap_mode="r")
    labels = np.arange({n}) % 4
    names = [str(i) for i in range({n})]
    ds = AudioDataset("big", waves, labels, ["a", "b", "c", "d"], np.array(["train"] * {n}), names)
    small = ds.subset(np.arange(16))
    data = SplitData(ds.subset(np.arange({n})), small, small, ["a", "b", "c", "d"],
                     sizes={{"train": {n}, "train_labelled": {n}, "valid": 16, "test": 16}})
    cfg = TrainConfig().with_overrides(["model.encoder=small_cnn_1d", "data.resident=cpu", "data.batch_size=8",
                                        "schedule.epochs=1", "runtime.device=cpu", "augment.names=none"])
    trainer = Trainer(cfg, progress=False, data=data)
    metrics = run_epoch(trainer, max_steps=2)
    return (trainer.train_store.resident, trainer.global_step, round(metrics["train/loss"], 3) > 0)
"""
    report = run_bounded(imports, body, extra_gib=1.0, wall_s=300)
    assert report["error"] is None, report.get("message")
    assert report["value"] == repr((False, 2, True))
    assert report["rss_delta_bytes"] < 2**30


def test_the_data_config_refuses_contradictions():
    def bad(key: str, problem: str) -> ConfigError:
        return ConfigError(f"{key}: {problem}")

    with pytest.raises(ConfigError, match=r"data\.valid_fold: applies only with data\.validation: fold"):
        DataConfig(dataset="esc10", valid_fold=2).validate(bad)
    with pytest.raises(ConfigError, match=r"data\.valid_fold: 1 is the test fold"):
        DataConfig(dataset="esc10", validation="fold", valid_fold=1).validate(bad)
    with pytest.raises(ConfigError, match=r"data\.validation"):
        DataConfig(validation="sometimes").validate(bad)
    ds = AudioDataset("x", np.zeros((4, 2), np.float32), np.zeros(4, int), ["a"], np.array(["train"] * 4), list("abcd"))
    assert isinstance(ds.subset([0, 1]).waveforms, np.ndarray)  # an in-memory array is simply indexed
