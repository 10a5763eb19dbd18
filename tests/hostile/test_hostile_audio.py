"""Hostile audio files: each is refused with a typed one-line error, or loads, within 10 s and 1 GiB."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from core.audio import load_audio_numpy
from core.errors import AudioLoadError
from tests.hostile.bounded import assert_typed_and_bounded, run_bounded
from tests.hostile.generate import ATTACKS, VALID_EXTREMES

IMPORTS = "from core.audio import load_audio_numpy"


@pytest.mark.parametrize("name", sorted(ATTACKS["audio"]))
@pytest.mark.parametrize("num_samples", [None, 16000])
def test_hostile_audio_is_refused_in_bounded_time_and_memory(tmp_path: Path, name: str, num_samples):
    path = ATTACKS["audio"][name](tmp_path)
    body = f"def attack():\n    return load_audio_numpy({str(path)!r}, num_samples={num_samples})\n"
    report = run_bounded(IMPORTS, body)
    assert_typed_and_bounded(report, "AudioLoadError")
    assert str(path) in report["message"]


def test_flac_bomb_is_refused_before_decoding(tmp_path: Path):
    path = ATTACKS["audio"]["flac_header_bomb"](tmp_path)
    assert sf.info(str(path)).frames == 599 * 655_350  # the lie is in the header
    with pytest.raises(AudioLoadError, match=r"too large to decode: .* 8 channels at 655350 Hz"):
        load_audio_numpy(path)
    # with a crop, only the frames needed are decoded, and the missing ones are reported as truncation
    with pytest.raises(AudioLoadError, match="truncated or corrupt audio"):
        load_audio_numpy(path, num_samples=16000)


def test_ten_minutes_of_96k_stereo_still_loads_in_bounds(tmp_path: Path):
    path = VALID_EXTREMES["audio"]["long_hires_stereo"](tmp_path)
    body = f"def attack():\n    x = load_audio_numpy({str(path)!r})\n    return (x.shape, float(abs(x).max()))\n"
    report = run_bounded(IMPORTS, body)
    assert report["error"] is None, report["message"]
    assert report["value"] == repr(((600 * 16000,), 0.0))
    assert report["seconds"] < 10 and report["rss_delta_bytes"] < 2**30


def test_huge_finite_samples_never_become_nan(tmp_path: Path):
    path = VALID_EXTREMES["audio"]["huge_float_samples"](tmp_path)
    x = load_audio_numpy(path)
    assert np.isfinite(x).all() and np.abs(x).max() == 1.0
    assert load_audio_numpy(path, num_samples=8000).shape == (8000,)


def test_messages_name_the_real_problem(tmp_path: Path, monkeypatch):
    with pytest.raises(AudioLoadError, match="symbolic link loop"):
        load_audio_numpy(ATTACKS["audio"]["symlink_loop"](tmp_path))
    with pytest.raises(AudioLoadError, match="broken symbolic link"):
        load_audio_numpy(ATTACKS["audio"]["broken_symlink"](tmp_path))
    # a permission error is not "not audio" (tests run as root, which can read anything, so fake the refusal)
    ok = tmp_path / "ok.wav"
    sf.write(ok, np.zeros(1600, dtype=np.float32), 16000)
    real_open = open

    def deny(file, *args, **kwargs):
        if str(file) == str(ok):
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr("builtins.open", deny)
    with pytest.raises(AudioLoadError, match="permission denied"):
        load_audio_numpy(ok)


def test_crop_reads_only_what_it_needs_and_equals_the_full_load(tmp_path: Path):
    rng = np.random.default_rng(0)
    path = tmp_path / "n.wav"
    sf.write(path, (rng.standard_normal((44100 * 3, 2)) * 0.3).astype(np.float32), 44100, subtype="FLOAT")
    np.testing.assert_array_equal(load_audio_numpy(path, num_samples=16000), load_audio_numpy(path)[:16000])


def test_non_finite_clip_is_never_cached(tmp_path: Path):
    """A cache build stops at the NaN clip and leaves no cache file behind."""
    from core.data.cache import load_waveforms, waveform_cache_dir

    good = tmp_path / "good.wav"
    sf.write(good, np.zeros(1600, dtype=np.float32), 16000)
    bad = ATTACKS["audio"]["nan_samples"](tmp_path)
    with pytest.raises(AudioLoadError, match="NaN or infinite"):
        load_waveforms("t", tmp_path, [good, bad], 16000, progress=False)
    assert not any(p.name.startswith("t-") for p in waveform_cache_dir().iterdir())
