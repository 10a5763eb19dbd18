"""ESC-10 on the real data (folds, splits, labels, waveforms) and ESC-50/ESC-10 on the official layout."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np
import pytest

from core.audio import load_audio_numpy
from core.data import list_clips, load_dataset
from core.errors import ConfigError, DatasetError


@pytest.mark.parametrize("fold", [1, 2, 3, 4, 5])
def test_esc10_fold_logic(data_dir: Path, fold: int) -> None:
    clips = list_clips("esc10", fold=fold)
    assert len(clips) == 400 and clips.class_names[0] == "dog" and len(clips.class_names) == 10
    np.testing.assert_array_equal(clips.split == "test", clips.folds == fold)
    # the literature's protocol: the four other folds train (a run's validation is its own choice, see prepare)
    assert set(clips.folds[clips.split == "train"].tolist()) == set(range(1, 6)) - {fold}
    assert "valid" not in clips.split and "valid_fold" not in clips.meta
    for s, n in (("train", 320), ("test", 80)):
        assert (clips.split == s).sum() == n
        assert np.bincount(clips.labels[clips.split == s], minlength=10).tolist() == [n // 10] * 10
    assert np.array_equal(list_clips("esc10", fold=fold, seed=7).split, clips.split)  # no seed changes the split


def test_esc10_labels_match_metadata(data_dir: Path) -> None:
    clips = list_clips("esc10")
    with open(data_dir / "esc10" / "metadata.csv", newline="") as f:
        rows = {os.path.abspath(data_dir / "esc10" / r["path"]): r for r in csv.DictReader(f)}
    for path, label in zip(clips.paths, clips.labels, strict=True):
        row = rows[str(path)]
        assert int(row["label"]) == label and clips.class_names[label] == row["category"]


def test_esc10_waveforms(data_dir: Path) -> None:
    ds = load_dataset("esc10", progress=False)
    assert ds.waveforms.shape == (400, 80000) and ds.waveforms.dtype == np.float32
    assert ds.sample_rate == 16000 and ds.meta["seconds"] == 5.0
    for i in (0, 123, 399):
        np.testing.assert_array_equal(ds.waveforms[i], load_audio_numpy(ds.paths[i], 16000, 80000))
    assert np.abs(ds.waveforms).max() <= 1.0
    train = ds.subset("train")
    assert len(train) == 320 and set(train.split.tolist()) == {"train"} and train.folds is not None


def test_bad_fold_and_task() -> None:
    with pytest.raises(DatasetError, match=r"fold must be 1\.\.5"):
        list_clips("esc10", fold=6)
    with pytest.raises(ConfigError, match="task"):
        list_clips("esc10", task="pitch")


def read_meta(root: Path) -> list[dict[str, str]]:
    with open(root / "meta" / "esc50.csv", newline="") as f:
        return list(csv.DictReader(f))


def test_esc50_official_layout(esc50_official: Path) -> None:
    rows = read_meta(esc50_official)
    # the archive folder itself, or the folder it was extracted into
    for root in (esc50_official, esc50_official.parent):
        ds = load_dataset("esc50", root, fold=2, num_samples=8000, progress=False)
        assert ds.meta["layout"] == "official" and len(ds) == len(rows) == 90
        assert ds.num_classes == 50 and ds.class_names[0] == "dog" and ds.class_names[49] == "hand_saw"
        by_file = {r["filename"]: r for r in rows}
        for path, label, fold, split in zip(ds.paths, ds.labels, ds.folds, ds.split, strict=True):
            row = by_file[Path(path).name]
            assert label == int(row["target"]) and ds.class_names[label] == row["category"]
            assert fold == int(row["fold"]) and (split == "test") == (fold == 2)
        assert ds.waveforms.shape == (90, 8000)
        # 44.1 kHz WAV resampled to 16 kHz: the first 0.5 s matches the same clip loaded directly
        np.testing.assert_array_equal(ds.waveforms[5], load_audio_numpy(ds.paths[5], 16000, 8000))


def test_esc10_official_layout(esc50_official: Path) -> None:
    ds = load_dataset("esc10", esc50_official, num_samples=1600, progress=False)
    assert len(ds) == 50 and ds.num_classes == 10
    assert ds.class_names == [
        "dog",
        "rooster",
        "rain",
        "sea_waves",
        "crackling_fire",
        "crying_baby",
        "sneezing",
        "clock_tick",
        "helicopter",
        "chainsaw",
    ]
    assert np.bincount(ds.labels).tolist() == [5] * 10
    assert all(Path(p).name.split("-")[0] == str(f) for p, f in zip(ds.paths, ds.folds, strict=True))


def test_esc50_refuses_an_esc10_folder(data_dir: Path) -> None:
    with pytest.raises(DatasetError, match="needs 50 classes"):
        list_clips("esc50", data_dir / "esc10")


def test_missing_clip_is_named(tmp_path: Path, esc50_official: Path) -> None:
    root = tmp_path / "esc"
    (root / "meta").mkdir(parents=True)
    (root / "audio").mkdir()
    (root / "meta" / "esc50.csv").write_bytes((esc50_official / "meta" / "esc50.csv").read_bytes())
    wavs = sorted((esc50_official / "audio").iterdir())
    for wav in wavs[1:]:
        (root / "audio" / wav.name).symlink_to(wav)
    with pytest.raises(DatasetError, match=f"lists 'audio/{wavs[0].name}', but .* does not exist"):
        list_clips("esc50", root)
