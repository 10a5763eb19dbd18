"""The user's own sounds: a class-per-subfolder tree and a path,label[,split] CSV list."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from core.data import list_clips, load_dataset
from core.errors import DatasetError


@pytest.fixture
def sounds(tmp_path: Path, data_dir: Path) -> Path:
    """Three classes of real clips (5 each, nested folders, mixed formats) plus files that are not clips."""
    root = tmp_path / "my_sounds"
    sources = {
        "digits": sorted((data_dir / "fsdd" / "audio").glob("3_theo_*.flac"))[:5],
        "dogs": sorted((data_dir / "esc10" / "audio").glob("*-0.flac"))[:5],
        "yes": sorted((data_dir / "speech_commands" / "audio" / "yes").glob("*.flac"))[:5],
    }
    for cls, files in sources.items():
        for i, src in enumerate(files):
            dest = root / cls / ("take2" if i == 4 else "") / src.name
            dest.parent.mkdir(parents=True, exist_ok=True)
            if cls == "yes" and i < 2:
                x, sr = sf.read(src)
                sf.write(dest.with_suffix(".wav"), x, sr)
            else:
                shutil.copy2(src, dest)
    (root / "dogs" / "notes.txt").write_text("not audio")
    (root / "dogs" / ".hidden.wav").write_bytes(b"")
    (root / ".trash").mkdir()
    (root / "empty_class").mkdir()
    return root


def test_folder(sounds: Path) -> None:
    clips = list_clips("folder", sounds)
    assert clips.class_names == ["digits", "dogs", "yes"]
    assert np.bincount(clips.labels).tolist() == [5, 5, 5]
    for path, label in zip(clips.paths, clips.labels, strict=True):
        assert Path(path).relative_to(sounds).parts[0] == clips.class_names[label]
    for c in range(3):
        assert sorted(clips.split[clips.labels == c].tolist()) == ["test", "train", "train", "train", "valid"]
    assert list_clips("folder", sounds, seed=0).split.tolist() == clips.split.tolist()


def test_folder_default_length_is_the_median(sounds: Path, data_dir: Path) -> None:
    ds = load_dataset("folder", sounds, progress=False)
    durations = sorted(sf.info(p).duration for p in ds.paths)
    median = durations[len(durations) // 2]
    assert ds.meta["seconds"] == pytest.approx(np.ceil(median * 10) / 10)
    assert ds.waveforms.shape == (15, round(ds.meta["seconds"] * 16000))


def test_folder_errors(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    with pytest.raises(DatasetError, match="no audio files"):
        list_clips("folder", tmp_path)
    with pytest.raises(DatasetError, match="does not exist"):
        list_clips("folder", tmp_path / "nowhere")


def write_csv(path: Path, header: str, rows: list[str]) -> Path:
    path.write_text(header + "\n" + "".join(r + "\n" for r in rows))
    return path


def test_csv_with_split(sounds: Path) -> None:
    files = sorted(p for p in sounds.rglob("*") if p.suffix in (".wav", ".flac") and not p.name.startswith("."))
    rows = []
    for i, f in enumerate(files):
        rel = os.path.relpath(f, sounds) if i % 2 else str(f)  # relative and absolute paths
        rows.append(f"{rel},{f.relative_to(sounds).parts[0]},{('train', 'validation', 'TEST')[i % 3]}")
    listed = write_csv(sounds / "list.csv", "path,label,split", rows)
    for root in (listed, sounds):
        ds = load_dataset("csv", root, num_samples=4000, progress=False)
        assert ds.class_names == ["digits", "dogs", "yes"] and len(ds) == 15
        assert ds.split.tolist() == [("train", "valid", "test")[i % 3] for i in range(15)]
        assert ds.meta["split_source"] == "split column"
        assert ds.paths == [os.path.abspath(f) for f in files]


def test_csv_without_split_or_valid(sounds: Path) -> None:
    files = sorted(p for p in sounds.rglob("*.flac") if not p.name.startswith("."))
    rows = [f"{os.path.relpath(f, sounds)},{f.relative_to(sounds).parts[0]}" for f in files]
    clips = list_clips("csv", write_csv(sounds / "metadata.csv", "path,label", rows))
    assert set(clips.split.tolist()) == {"train", "valid", "test"}
    rows = [r + ("," + ("train" if i % 4 else "test")) for i, r in enumerate(rows)]
    clips = list_clips("csv", write_csv(sounds / "metadata.csv", "path,label,split", rows))
    assert "valid carved" in clips.meta["split_source"] and (clips.split == "valid").any()
    assert ((clips.split == "test") == [i % 4 == 0 for i in range(len(rows))]).all()


def test_csv_errors(sounds: Path, tmp_path: Path) -> None:
    f = next(sounds.rglob("*.flac"))
    with pytest.raises(DatasetError, match="missing column"):
        list_clips("csv", write_csv(tmp_path / "a.csv", "file,label", [f"{f},x"]))
    with pytest.raises(DatasetError, match="unknown split"):
        list_clips("csv", write_csv(tmp_path / "a.csv", "path,label,split", [f"{f},x,train", f"{f},y,holdout"]))
    with pytest.raises(DatasetError, match=r"gone\.wav"):
        list_clips("csv", write_csv(tmp_path / "a.csv", "path,label", [f"{f},x", "gone.wav,y"]))
    write_csv(tmp_path / "b.csv", "path,label", [f"{f},x"])
    with pytest.raises(DatasetError, match="exactly one"):
        list_clips("csv", tmp_path)
