"""Speech Commands: the real v0.01 sample (hashing split, sc09 subset) and an official v0.02 tree with lists."""

from __future__ import annotations

import csv
import hashlib
import os
import re
from pathlib import Path

import numpy as np
import pytest

from core.data import list_clips, load_dataset
from core.data.speech_commands import DIGITS, V1_WORDS, V2_WORDS
from core.errors import ConfigError, DatasetError


def readme_which_set(filename: str, validation_percentage: float, testing_percentage: float) -> str:
    """The rule as printed in the Speech Commands README (TensorFlow names), written out independently."""
    base_name = Path(filename).name
    hash_name = re.sub(r"_nohash_.*$", "", base_name)
    hash_name_hashed = hashlib.sha1(hash_name.encode()).hexdigest()
    max_num_wavs_per_class = 2**27 - 1
    percentage_hash = (int(hash_name_hashed, 16) % (max_num_wavs_per_class + 1)) * (100.0 / max_num_wavs_per_class)
    if percentage_hash < validation_percentage:
        return "validation"
    if percentage_hash < (testing_percentage + validation_percentage):
        return "testing"
    return "training"


def metadata(data_dir: Path) -> list[dict[str, str]]:
    with open(data_dir / "speech_commands" / "metadata.csv", newline="") as f:
        return list(csv.DictReader(f))


def test_words_task_on_the_sample(data_dir: Path) -> None:
    clips = list_clips("speech_commands")
    assert clips.meta["version"] == "v0.01" and clips.meta["layout"] == "shared"
    assert len(clips) == 300 and clips.class_names == sorted(V1_WORDS)
    assert np.bincount(clips.labels).tolist() == [10] * 30
    rows = {os.path.abspath(data_dir / "speech_commands" / r["path"]): r for r in metadata(data_dir)}
    for path, label, speaker in zip(clips.paths, clips.labels, clips.speakers, strict=True):
        assert clips.class_names[label] == rows[str(path)]["label"]
        assert speaker == rows[str(path)]["speaker"]


def test_hashing_split_on_the_sample(data_dir: Path) -> None:
    clips = list_clips("speech_commands")
    names = {"training": "train", "validation": "valid", "testing": "test"}
    expected = [names[readme_which_set(str(p), 10, 10)] for p in clips.paths]
    assert clips.split.tolist() == expected
    assert "which_set" in clips.meta["split_source"]
    # speakers never straddle splits, and each split is used
    for s in ("train", "valid", "test"):
        assert (clips.split == s).sum() >= 20
    for speaker in set(clips.speakers.tolist()):
        assert len(set(clips.split[clips.speakers == speaker].tolist())) == 1


def test_sc09_subset(data_dir: Path) -> None:
    ds = load_dataset("sc09", progress=False)
    assert ds.name == "sc09" and len(ds) == 100 and ds.class_names == list(DIGITS)
    rows = {os.path.abspath(data_dir / "speech_commands" / r["path"]): r for r in metadata(data_dir)}
    assert all(
        rows[p]["sc09"] == "True" and int(rows[p]["digit"]) == lab for p, lab in zip(ds.paths, ds.labels, strict=True)
    )
    assert ds.waveforms.shape == (100, 16000)
    # clips shorter than 1 s are zero-padded on the right
    short = [i for i, p in enumerate(ds.paths) if int(rows[p]["samples"]) < 16000]
    assert short
    for i in short:
        n = int(rows[ds.paths[i]]["samples"])
        assert np.all(ds.waveforms[i, n:] == 0) and np.any(ds.waveforms[i, :n] != 0)
    same = list_clips("speech_commands", task="sc09")
    assert same.paths == [Path(p) for p in ds.paths] and same.split.tolist() == ds.split.tolist()


def test_v002_official_layout(speech_commands_v2_official: Path) -> None:
    root = speech_commands_v2_official
    clips = list_clips("speech_commands", root)
    assert clips.meta["version"] == "v0.02" and clips.meta["layout"] == "official"
    assert clips.class_names == list(V2_WORDS) and len(clips.class_names) == 35
    rels = [p.relative_to(os.path.abspath(root)).as_posix() for p in clips.paths]
    assert not any(r.startswith("_background_noise_") for r in rels)
    valid = set((root / "validation_list.txt").read_text().split())
    test = set((root / "testing_list.txt").read_text().split())
    assert clips.split.tolist() == ["valid" if r in valid else "test" if r in test else "train" for r in rels]
    assert "official" in clips.meta["split_source"]
    assert list_clips("speech_commands", root, version="v0.02").meta["version"] == "v0.02"
    with pytest.raises(DatasetError, match=r"holds v0\.02"):
        list_clips("speech_commands", root, version="v0.01")


def test_v002_sc09_and_waveforms(speech_commands_v2_official: Path) -> None:
    ds = load_dataset("sc09", speech_commands_v2_official, progress=False)
    assert ds.class_names == list(DIGITS) and np.bincount(ds.labels).tolist() == [2] * 10
    assert ds.waveforms.shape == (20, 16000) and ds.meta["version"] == "v0.02"
    assert [Path(p).parent.name for p in ds.paths] == [DIGITS[k] for k in ds.labels]


def test_bad_arguments() -> None:
    with pytest.raises(ConfigError, match="unknown task"):
        list_clips("speech_commands", task="digits")
    with pytest.raises(DatasetError, match="unknown version"):
        list_clips("speech_commands", version="v3")
    with pytest.raises(ConfigError, match="fold"):
        list_clips("sc09", fold=1)
