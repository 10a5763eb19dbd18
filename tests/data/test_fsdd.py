"""FSDD: the official 2700/300 split with speakers, on the real data and on the official ``recordings/`` layout.
(A run's validation split and the leave-one-speaker-out test are made in ``core.data.prepare``: test_prepare.py.)"""

from __future__ import annotations

import csv
import os
import re
from pathlib import Path

import numpy as np

from core.audio import load_audio_numpy
from core.data import load_dataset


def test_real_fsdd_splits(data_dir: Path) -> None:
    ds = load_dataset("fsdd", progress=False)
    assert len(ds) == 3000 and ds.waveforms.shape == (3000, 16000) and ds.meta["seconds"] == 1.0
    takes = np.array([int(re.match(r"\d_[a-z]+_(\d+)", Path(p).stem)[1]) for p in ds.paths])
    assert ((ds.split == "test") == (takes < 5)).all()
    assert (ds.split == "test").sum() == 300 and (ds.split == "train").sum() == 2700
    assert set(ds.speakers[ds.split == "train"].tolist()) == set(ds.speakers[ds.split == "test"].tolist())
    assert len(set(ds.speakers.tolist())) == 6
    assert np.bincount(ds.labels[ds.split == "train"], minlength=10).tolist() == [270] * 10
    # labels from the file names (<digit>_<speaker>_<take>)
    assert all(int(Path(p).name[0]) == lab for p, lab in zip(ds.paths, ds.labels, strict=True))
    # 1 s: long clips are cropped, short ones zero-padded
    with open(data_dir / "fsdd" / "metadata.csv", newline="") as f:
        lengths = {os.path.abspath(data_dir / "fsdd" / r["path"]): int(r["samples"]) for r in csv.DictReader(f)}
    long, short = max(lengths, key=lengths.get), min(lengths, key=lengths.get)
    assert lengths[long] > 16000 > lengths[short]
    for p in (long, short):
        i, x = ds.paths.index(p), load_audio_numpy(p)
        np.testing.assert_array_equal(ds.waveforms[i, : len(x)], x[:16000])
        assert np.all(ds.waveforms[i, len(x) :] == 0)


def test_official_layout(fsdd_official: Path) -> None:
    for root in (fsdd_official, fsdd_official.parent):
        ds = load_dataset("fsdd", root, progress=False)
        assert ds.meta["layout"] == "official" and len(ds) == 160
        assert (ds.split == "test").sum() == 80  # takes 0 and 1
        assert set(ds.speakers.tolist()) == {"george", "jackson", "lucas", "theo"}
        assert set(ds.split.tolist()) == {"train", "test"}
        # 8 kHz WAV upsampled to 16 kHz: nothing above 4 kHz but resampling leakage
        x = ds.waveforms[ds.split == "train"][:, :8000]
        spec = np.abs(np.fft.rfft(x, axis=1)) ** 2
        assert spec[:, 4200:].sum() < 1e-6 * spec.sum()
