"""The dataset registry: names, default lengths, where datasets are looked for, and argument checks."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from core.data import DATASET_NAMES, DEFAULT_SECONDS, find_root, list_clips
from core.data.config import DataConfig
from core.data.prepare import plan_splits
from core.errors import ConfigError, DatasetError


def test_names_and_default_lengths() -> None:
    assert set(DATASET_NAMES) == {
        "esc10",
        "esc50",
        "sc09",
        "speech_commands",
        "nsynth",
        "fsdd",
        "demo",
        "folder",
        "csv",
    }
    assert set(DEFAULT_SECONDS) == set(DATASET_NAMES)
    assert DEFAULT_SECONDS["esc10"] == DEFAULT_SECONDS["esc50"] == 5.0 and DEFAULT_SECONDS["nsynth"] == 4.0
    assert DEFAULT_SECONDS["fsdd"] == DEFAULT_SECONDS["sc09"] == DEFAULT_SECONDS["speech_commands"] == 1.0
    assert DEFAULT_SECONDS["demo"] == 1.0


def test_find_root_order(data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert find_root("fsdd") == data_dir / "fsdd"
    assert find_root("sc09") == data_dir / "speech_commands"
    assert find_root("fsdd", tmp_path) == tmp_path
    # without $CLAR_DATA_DIR: ./data/<name>
    monkeypatch.delenv("CLAR_DATA_DIR")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data" / "nsynth").mkdir(parents=True)
    assert find_root("nsynth").resolve() == (tmp_path / "data" / "nsynth").resolve()
    # $CLAR_DATA_DIR first
    monkeypatch.setenv("CLAR_DATA_DIR", str(data_dir))
    assert find_root("nsynth") == data_dir / "nsynth"


def test_missing_dataset_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLAR_DATA_DIR", str(tmp_path / "env"))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DatasetError) as info:
        find_root("esc50")
    msg = str(info.value)
    assert str(tmp_path / "env" / "esc50") in msg and os.path.join("data", "esc50") in msg
    assert "python -m core data download esc50 --root" in msg
    with pytest.raises(DatasetError, match=r"download speech_commands --root .*env$"):
        find_root("sc09")
    with pytest.raises(DatasetError, match=r"download esc50 --root .*env$"):
        find_root("esc10")
    with pytest.raises(DatasetError, match=r"does not exist.*download fsdd --root .*nope$"):
        find_root("fsdd", tmp_path / "nope")
    with pytest.raises(DatasetError, match=r"does not exist.*download fsdd --root .*somewhere$"):
        find_root("fsdd", tmp_path / "somewhere" / "fsdd")


def test_bad_arguments() -> None:
    with pytest.raises(DatasetError, match="unknown dataset 'audioset'"):
        list_clips("audioset")
    with pytest.raises(DatasetError, match="root="):
        find_root("folder")
    with pytest.raises(ConfigError, match="fold"):
        list_clips("fsdd", fold=2)
    with pytest.raises(ConfigError, match="version"):
        list_clips("nsynth", version="v0.02")
    with pytest.raises(ConfigError, match="unknown task"):
        list_clips("fsdd", task="speaker")


def test_every_shared_dataset_has_three_splits(data_dir: Path) -> None:
    for name in ("esc10", "sc09", "speech_commands", "nsynth", "fsdd"):
        clips = list_clips(name)
        assert {"train", "test"} <= set(clips.split.tolist()), name  # valid where the dataset defines one
        plan = plan_splits(clips, DataConfig(dataset=name))
        assert all(len(plan[s]) for s in ("train", "valid", "test")), name
        assert all(Path(p).is_absolute() and Path(p).is_file() for p in clips.paths[:5])
