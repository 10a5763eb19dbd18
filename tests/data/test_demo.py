"""The synthetic demo dataset: deterministic, plainly synthetic, fixed splits, and learnable: a small CNN reaches
at least 90 % test accuracy within 2 CPU-minutes."""

from __future__ import annotations

import resource
from pathlib import Path

import numpy as np
import soundfile as sf

from core.config import TrainConfig
from core.data import demo, list_clips, load_dataset
from core.runs import RunStore
from core.train.run import run_training


def test_listing_splits_and_labels_say_synthetic():
    clips = list_clips("demo")
    assert len(clips) == 320 and clips.class_names == list(demo.CLASSES)
    assert clips.meta["synthetic"] is True and "synthetic" in clips.meta["description"]
    for split, n in (("train", 28), ("valid", 6), ("test", 6)):
        assert np.bincount(clips.labels[clips.split == split], minlength=8).tolist() == [n] * 8
    assert clips.root.name == f"demo-v{demo.VERSION}"


def test_clips_are_deterministic_and_decoded_as_written(tmp_path: Path):
    a, b = demo.synthesize(3, 7), demo.synthesize(3, 7)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, demo.synthesize(3, 8)) and a.shape == (16000,) and np.abs(a).max() <= 1
    peak_db = 20 * np.log10(np.abs(a).max())
    assert -21 < peak_db < -2
    again = demo.generate(tmp_path / "again")
    clips = list_clips("demo")
    first = clips.paths[0]
    np.testing.assert_array_equal(sf.read(first)[0], sf.read(again / first.relative_to(clips.root))[0])
    ds = load_dataset("demo", progress=False)
    np.testing.assert_allclose(ds.waveforms[5], demo.synthesize(0, 5), atol=1 / 32767)  # 16-bit WAV


def test_a_small_cnn_learns_it_within_two_cpu_minutes(tmp_path: Path):
    cfg = TrainConfig().with_overrides(
        ["data.dataset=demo", "model.regime=supervised", "model.encoder=small_cnn_2d", "data.batch_size=32",
         "schedule.epochs=20", "schedule.warmup_epochs=1", "optim.lr=0.003", "augment.names=time_shift,noise",
         "runtime.device=cpu", "eval.linear_probe=false", "eval.knn=false", "runtime.checkpoint_every=0"]
    )  # fmt: skip
    before = resource.getrusage(resource.RUSAGE_SELF)
    result = run_training(cfg, store=RunStore(tmp_path / "runs.sqlite"), checkpoint_root=tmp_path, progress=False)
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    assert result.final_metrics["test/best/head_acc"] >= 0.9
    assert cpu < 120, f"{cpu:.0f} CPU-seconds"
