"""The waveform cache: built once, memory-mapped on a hit, rebuilt when a file changes, written atomically."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

import core.data.cache as cache_mod
from core.audio import load_audio_numpy
from core.data import list_clips, load_dataset
from core.data.cache import cache_key, cache_state, waveform_cache_dir


@pytest.fixture
def small_folder(tmp_path: Path, data_dir: Path) -> Path:
    """Two classes of real clips (ESC-10 dogs and roosters), 4 each."""
    root = tmp_path / "sounds"
    for cls, pattern in (("dog", "*-0.flac"), ("rooster", "*-1.flac")):
        (root / cls).mkdir(parents=True)
        for src in sorted((data_dir / "esc10" / "audio").glob(pattern))[:4]:
            shutil.copy2(src, root / cls / src.name)
    return root


def count_decodes(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    calls: list[Path] = []

    def counting(path, *args, **kwargs):
        calls.append(Path(path))
        return load_audio_numpy(path, *args, **kwargs)

    monkeypatch.setattr(cache_mod, "load_audio_numpy", counting)
    return calls


def key_of(root: Path, num_samples: int):
    clips = list_clips("folder", root)
    return cache_key("folder", clips.root, clips.paths, num_samples, 16000)


def test_hit_stale_rebuild(small_folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = count_decodes(monkeypatch)
    key = key_of(small_folder, 16000)
    assert cache_state(key) == "missing"

    start = time.perf_counter()
    first = load_dataset("folder", small_folder, num_samples=16000, progress=False)
    cold = time.perf_counter() - start
    assert len(calls) == 8 and cache_state(key) == "hit"
    assert isinstance(first.waveforms, np.memmap) and not first.waveforms.flags.writeable
    assert Path(first.meta["cache"]) == key.path and key.path.parent == waveform_cache_dir()
    assert str(key.path).startswith(os.environ["CLAR_CACHE_DIR"])
    for i, p in enumerate(first.paths):
        np.testing.assert_array_equal(first.waveforms[i], load_audio_numpy(p, 16000, 16000))

    start = time.perf_counter()
    second = load_dataset("folder", small_folder, num_samples=16000, progress=False)
    warm = time.perf_counter() - start
    assert len(calls) == 8, "a cache hit must not decode"
    np.testing.assert_array_equal(second.waveforms, first.waveforms)
    print(f"cold load {cold * 1000:.0f} ms, cached load {warm * 1000:.0f} ms")

    # touching one file makes the cache stale; the next load decodes again and replaces the old file
    victim = Path(first.paths[3])
    st = victim.stat()
    os.utime(victim, ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))
    assert cache_state(key) == "hit" and cache_state(key_of(small_folder, 16000)) == "stale"
    third = load_dataset("folder", small_folder, num_samples=16000, progress=False)
    assert len(calls) == 16
    assert not key.path.exists() and Path(third.meta["cache"]).exists()
    np.testing.assert_array_equal(third.waveforms, first.waveforms)

    # a different clip length is a different cache, and both stay
    load_dataset("folder", small_folder, num_samples=8000, progress=False)
    assert Path(third.meta["cache"]).exists() and key_of(small_folder, 8000).path.exists()
    assert not list(waveform_cache_dir().glob(".*tmp*")), "temporary files left behind"


def test_replaced_content_same_size_is_stale(small_folder: Path) -> None:
    a, b = sorted((small_folder / "dog").iterdir())[:2]
    before = key_of(small_folder, 1600)
    load_dataset("folder", small_folder, num_samples=1600, progress=False)
    data = b.read_bytes()
    time.sleep(0.01)
    a.write_bytes(data)  # new mtime (and size)
    assert cache_state(key_of(small_folder, 1600)) == "stale" and before.path.exists()


def test_corrupt_cache_is_rebuilt(small_folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ds = load_dataset("folder", small_folder, num_samples=4000, progress=False)
    path = Path(ds.meta["cache"])
    expected = np.array(ds.waveforms)
    del ds
    path.write_bytes(b"not an npy file")
    calls = count_decodes(monkeypatch)
    again = load_dataset("folder", small_folder, num_samples=4000, progress=False)
    assert len(calls) == 8
    np.testing.assert_array_equal(again.waveforms, expected)


def test_no_cache(small_folder: Path) -> None:
    ds = load_dataset("folder", small_folder, num_samples=2000, progress=False, use_cache=False)
    assert not isinstance(ds.waveforms, np.memmap) and "cache" not in ds.meta
    assert cache_state(key_of(small_folder, 2000)) == "missing"


def test_failed_build_leaves_nothing(small_folder: Path) -> None:
    bad = small_folder / "dog" / "broken.wav"
    bad.write_bytes(b"RIFF....WAVEjunk")
    from core.errors import AudioLoadError

    with pytest.raises(AudioLoadError, match=r"broken\.wav"):
        load_dataset("folder", small_folder, num_samples=3000, progress=False)
    assert cache_state(key_of(small_folder, 3000)) == "missing"
    assert not list(waveform_cache_dir().glob(".*tmp*"))


def test_first_bad_file_stops_decoding(tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from core.data.cache import decode_all
    from core.errors import AudioLoadError

    good = sorted((data_dir / "fsdd" / "audio").glob("1_*.flac"))[:200]
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"garbage")
    calls = count_decodes(monkeypatch)
    out = np.zeros((201, 100), np.float32)
    with pytest.raises(AudioLoadError, match="bad"):
        decode_all([bad, *good], out, 100, progress=False, workers=2)
    assert len(calls) < 100, f"decoded {len(calls)} files after the first one failed"
