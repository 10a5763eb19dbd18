"""NSynth: the real 60-note sample (shared layout) and an official nsynth-{train,valid,test} tree."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from core.data import list_clips, load_dataset
from core.data.nsynth import FAMILIES
from core.errors import ConfigError


def test_sample_instrument_family(data_dir: Path) -> None:
    ds = load_dataset("nsynth", progress=False)
    assert ds.meta["task"] == "instrument_family" and ds.meta["layout"] == "shared"
    assert len(ds) == 60 and ds.class_names == list(FAMILIES) and len(FAMILIES) == 11
    counts = dict(zip(ds.class_names, np.bincount(ds.labels, minlength=11).tolist(), strict=True))
    assert counts == {
        "bass": 8,
        "brass": 7,
        "flute": 1,
        "guitar": 9,
        "keyboard": 6,
        "mallet": 2,
        "organ": 11,
        "reed": 8,
        "string": 5,
        "synth_lead": 0,
        "vocal": 3,
    }  # from the sample's README
    assert ds.waveforms.shape == (60, 64000) and ds.meta["seconds"] == 4.0
    # the sample holds only nsynth-test notes: it is split instrument-disjoint, seeded
    assert "no official train split" in ds.meta["split_source"]
    for s in ("train", "valid", "test"):
        assert (ds.split == s).sum() > 0
    for inst in set(ds.speakers.tolist()):
        assert len(set(ds.split[ds.speakers == inst].tolist())) == 1
    other = list_clips("nsynth", seed=1)
    assert other.split.tolist() != ds.split.tolist()
    assert list_clips("nsynth", seed=0).split.tolist() == ds.split.tolist()


def test_sample_pitch(data_dir: Path) -> None:
    clips = list_clips("nsynth", task="pitch")
    assert len(clips.class_names) == 128 and set(clips.labels.tolist()) == {60}
    assert clips.class_names[60] == "60"


def test_official_layout(nsynth_official: Path) -> None:
    ds = load_dataset("nsynth", nsynth_official, num_samples=16000, progress=False)
    assert ds.meta["layout"] == "official" and ds.meta["split_source"].startswith("official")
    expected = {}
    for folder, split in (("nsynth-train", "train"), ("nsynth-valid", "valid"), ("nsynth-test", "test")):
        for note_str, note in json.loads((nsynth_official / folder / "examples.json").read_text()).items():
            expected[os.path.abspath(nsynth_official / folder / "audio" / f"{note_str}.wav")] = (note, split)
    assert sorted(ds.paths) == sorted(expected)
    for path, label, split in zip(ds.paths, ds.labels, ds.split, strict=True):
        note, want = expected[path]
        assert split == want and label == note["instrument_family"]
        assert ds.class_names[label] == note["instrument_family_str"]
    assert ds.waveforms.shape == (len(expected), 16000)


def test_official_pitch(nsynth_official: Path) -> None:
    clips = list_clips("nsynth", nsynth_official, task="pitch")
    assert set(clips.labels[clips.split == "train"].tolist()) == {60, 64, 67}
    for path, label in zip(clips.paths, clips.labels, strict=True):
        assert int(path.stem.split("-")[-2]) == label  # note_str = <instrument>-<pitch>-<velocity>


def test_official_without_valid(tmp_path: Path, nsynth_official: Path) -> None:
    for folder in ("nsynth-train", "nsynth-test"):
        (tmp_path / folder).symlink_to(nsynth_official / folder)
    clips = list_clips("nsynth", tmp_path)
    assert "valid carved" in clips.meta["split_source"]
    assert (clips.split == "valid").any() and (clips.split == "train").any()
    train_insts = set(clips.speakers[clips.split == "train"].tolist())
    assert not train_insts & set(clips.speakers[clips.split == "valid"].tolist())


def test_unknown_task() -> None:
    with pytest.raises(ConfigError, match="instrument_family, pitch"):
        list_clips("nsynth", task="velocity")
