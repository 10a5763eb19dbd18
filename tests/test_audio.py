"""core.audio: every format and bit depth, down-mixing, resampling, fixed length, and every bad-input case."""

from __future__ import annotations

import struct
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from core.audio import audio_info, fix_length, load_audio, save_audio
from core.errors import AudioLoadError

SR = 16000


def sine(freq: float, seconds: float, sr: int, amp: float = 0.5) -> np.ndarray:
    t = np.arange(round(seconds * sr)) / sr
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def peak_hz(x: np.ndarray, sr: int) -> float:
    """Frequency of the largest FFT bin (Hann window), refined by parabolic interpolation of the log magnitude."""
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    k = int(np.argmax(spec[1:-1])) + 1
    a, b, c = np.log(spec[k - 1 : k + 2] + 1e-12)
    return (k + 0.5 * (a - c) / (a - 2 * b + c)) * sr / len(x)


# --- formats and bit depths ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("subtype", "tol"),
    [("PCM_U8", 1 / 64), ("PCM_16", 1 / 2**14), ("PCM_24", 1 / 2**22), ("PCM_32", 1e-6), ("FLOAT", 0), ("DOUBLE", 0)],
)
def test_wav_bit_depths(tmp_path: Path, subtype: str, tol: float) -> None:
    x = sine(440, 0.25, SR)
    path = tmp_path / f"{subtype}.wav"
    sf.write(path, x, SR, subtype=subtype)
    assert sf.info(path).subtype == subtype
    y = load_audio(path)
    assert y.dtype == torch.float32 and y.shape == (len(x),)
    assert np.max(np.abs(y.numpy() - x)) <= tol + 1e-7


@pytest.mark.parametrize(("fmt", "ext"), [("FLAC", "flac"), ("OGG", "ogg"), ("MP3", "mp3")])
def test_compressed_formats(tmp_path: Path, fmt: str, ext: str) -> None:
    assert fmt in sf.available_formats(), f"this libsndfile cannot handle {fmt}"
    x = sine(440, 1.0, SR)
    path = tmp_path / f"a.{ext}"
    subtype = {"FLAC": "PCM_16", "OGG": "VORBIS", "MP3": "MPEG_LAYER_III"}[fmt]
    sf.write(path, x, SR, format=fmt, subtype=subtype)
    y = load_audio(path).numpy()
    assert abs(len(y) - len(x)) <= 1152  # MP3 is framed
    assert abs(peak_hz(y, SR) - 440) < 1.0
    # lossy codecs keep the level to within 1 dB
    assert abs(20 * np.log10(np.sqrt(np.mean(y**2)) / np.sqrt(np.mean(x**2)))) < 1.0
    if fmt == "FLAC":
        assert np.max(np.abs(y - x)) < 1 / 2**14


def test_stereo_is_averaged(tmp_path: Path) -> None:
    left, right = sine(300, 0.5, SR, 0.4), sine(700, 0.5, SR, 0.2)
    path = tmp_path / "stereo.wav"
    sf.write(path, np.stack([left, right], axis=1), SR, subtype="FLOAT")
    y = load_audio(path).numpy()
    np.testing.assert_allclose(y, (left + right) / 2, atol=1e-7)


def test_resample_44100_to_16000(tmp_path: Path) -> None:
    sr_in = 44100
    path = tmp_path / "cd.wav"
    sf.write(path, sine(1000, 1.0, sr_in), sr_in, subtype="FLOAT")
    y = load_audio(path).numpy()
    assert y.shape == (SR,)
    assert abs(peak_hz(y, SR) - 1000) < 0.1
    # Independent reference: the same sine sampled directly at 16 kHz (no delay, same amplitude), away from the edges.
    ref = sine(1000, 1.0, SR)
    inner = slice(400, SR - 400)
    assert np.max(np.abs(y[inner] - ref[inner])) < 1e-4  # measured 3e-7; a half-sample delay would give 0.1


def test_resample_rejects_above_nyquist(tmp_path: Path) -> None:
    """A 10 kHz tone at 44.1 kHz lies above the 8 kHz Nyquist limit of 16 kHz: it must be filtered out, not aliased
    to 6 kHz."""
    sr_in = 44100
    path = tmp_path / "high.wav"
    sf.write(path, sine(10000, 1.0, sr_in), sr_in, subtype="FLOAT")
    y = load_audio(path).numpy()
    assert np.sqrt(np.mean(y[400:-400] ** 2)) < 1e-3


def test_sample_rate_and_num_samples(tmp_path: Path) -> None:
    path = tmp_path / "a.wav"
    sf.write(path, sine(440, 0.5, SR), SR)
    assert load_audio(path, sample_rate=8000).shape == (4000,)
    y = load_audio(path, num_samples=SR)
    assert y.shape == (SR,) and torch.all(y[8000:] == 0) and torch.any(y[:8000] != 0)
    assert load_audio(path, num_samples=100).shape == (100,)


def test_float_wav_is_clipped_to_unit_range(tmp_path: Path) -> None:
    path = tmp_path / "hot.wav"
    sf.write(path, sine(440, 0.1, SR, amp=1.5), SR, subtype="FLOAT")
    y = load_audio(path)
    assert y.max() == 1.0 and y.min() == -1.0


def test_exactly_10_ms_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "10ms.wav"
    sf.write(path, sine(440, 0.010, SR), SR)
    assert load_audio(path).shape == (160,)


# --- bad input ----------------------------------------------------------------------------------------------


def expect_error(path: Path, fragment: str, **kwargs) -> AudioLoadError:
    with pytest.raises(AudioLoadError) as info:
        load_audio(path, **kwargs)
    err = info.value
    assert isinstance(err, ValueError)
    assert str(path) in str(err), f"message does not name the file: {err}"
    assert fragment in str(err), f"expected {fragment!r} in {err}"
    return err


def test_missing_file(tmp_path: Path) -> None:
    expect_error(tmp_path / "nope.wav", "not found")


def test_directory(tmp_path: Path) -> None:
    expect_error(tmp_path, "not a regular file")


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")
    expect_error(path, "empty file")


def test_zero_frame_wav(tmp_path: Path) -> None:
    path = tmp_path / "zero.wav"
    sf.write(path, np.zeros(0, np.float32), SR)
    assert path.stat().st_size > 0
    expect_error(path, "zero-length")


@pytest.mark.parametrize("ext", ["wav", "flac", "ogg", "mp3", "bin"])
def test_random_bytes(tmp_path: Path, ext: str) -> None:
    path = tmp_path / f"noise.{ext}"
    path.write_bytes(np.random.default_rng(0).bytes(20000))
    start = time.perf_counter()
    with pytest.raises(AudioLoadError, match="noise"):
        load_audio(path)
    assert time.perf_counter() - start < 5.0


def test_text_file(tmp_path: Path) -> None:
    path = tmp_path / "notes.wav"
    path.write_text("this is not audio\n" * 100)
    expect_error(path, "not audio")


@pytest.mark.parametrize(
    ("fmt", "ext", "subtype"),
    [("WAV", "wav", "PCM_16"), ("FLAC", "flac", "PCM_16"), ("OGG", "ogg", "VORBIS"), ("MP3", "mp3", "MPEG_LAYER_III")],
)
def test_truncated(tmp_path: Path, fmt: str, ext: str, subtype: str) -> None:
    full = tmp_path / f"full.{ext}"
    sf.write(full, sine(440, 1.0, SR), SR, format=fmt, subtype=subtype)
    data = full.read_bytes()
    cut = tmp_path / f"cut.{ext}"
    cut.write_bytes(data[: len(data) // 2])
    expect_error(cut, "truncated")


def test_nan_and_inf(tmp_path: Path) -> None:
    for bad in (np.nan, np.inf, -np.inf):
        x = sine(440, 0.1, SR)
        x[100] = bad
        path = tmp_path / f"bad_{bad}.wav"
        sf.write(path, x, SR, subtype="FLOAT")
        expect_error(path, "NaN or infinite")


def test_too_short(tmp_path: Path) -> None:
    path = tmp_path / "5ms.wav"
    sf.write(path, sine(440, 0.005, SR), SR)
    expect_error(path, "too short")


def test_too_long_is_refused_from_the_header(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "long.flac"
    sf.write(path, sine(440, 3.0, SR), SR)

    def no_decoding(*args, **kwargs):
        raise AssertionError("the file was decoded")

    monkeypatch.setattr(sf, "read", no_decoding)
    monkeypatch.setattr(sf.SoundFile, "read", no_decoding)
    expect_error(path, "too long", max_seconds=2.0)


def test_twelve_minute_file_is_refused_quickly(tmp_path: Path) -> None:
    """A real 12-minute WAV (a sparse file of zeros after a valid header) is refused by the default 10-minute limit
    from its header, without decoding 23 MB of samples."""
    nbytes = 12 * 60 * SR * 2
    fmt = struct.pack("<HHIIHH", 1, 1, SR, SR * 2, 2, 16)
    header = b"RIFF" + struct.pack("<I", 36 + nbytes) + b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt
    path = tmp_path / "long.wav"
    with open(path, "wb") as f:
        f.write(header + b"data" + struct.pack("<I", nbytes))
        f.truncate(44 + nbytes)
    assert sf.info(path).duration == pytest.approx(720.0)
    start = time.perf_counter()
    expect_error(path, "too long: 720.0 s")
    assert time.perf_counter() - start < 1.0


# --- fix_length and save_audio ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["numpy", "torch"])
def test_fix_length(kind: str) -> None:
    x = np.arange(1, 11, dtype=np.float32).reshape(2, 5)
    t = torch.from_numpy(x) if kind == "torch" else x
    padded = fix_length(t, 8)
    cropped = fix_length(t, 3)
    assert type(padded) is type(t) and padded.shape == (2, 8) and cropped.shape == (2, 3)
    np.testing.assert_array_equal(np.asarray(padded)[:, :5], x)
    np.testing.assert_array_equal(np.asarray(padded)[:, 5:], 0)
    np.testing.assert_array_equal(np.asarray(cropped), x[:, :3])
    assert fix_length(t, 5) is t
    assert fix_length(t[0], 7).shape == (7,)


def test_save_round_trip(tmp_path: Path) -> None:
    x = sine(440, 0.5, SR)
    for name in ("a.wav", "a.flac"):
        save_audio(tmp_path / name, torch.from_numpy(x))
        np.testing.assert_allclose(load_audio(tmp_path / name).numpy(), x, atol=1 / 2**14)
    save_audio(tmp_path / "f.wav", x, subtype="FLOAT")
    np.testing.assert_array_equal(load_audio(tmp_path / "f.wav").numpy(), x)
    save_audio(tmp_path / "st.wav", np.stack([x, -x]), sample_rate=8000)
    assert audio_info(tmp_path / "st.wav").channels == 2 and audio_info(tmp_path / "st.wav").samplerate == 8000
    assert not list(tmp_path.glob("*.tmp"))


def test_save_refuses_bad_waveforms(tmp_path: Path) -> None:
    x = sine(440, 0.1, SR)
    x[3] = np.nan
    with pytest.raises(AudioLoadError, match="NaN"):
        save_audio(tmp_path / "nan.wav", x)
    with pytest.raises(AudioLoadError, match="unknown audio format"):
        save_audio(tmp_path / "a.xyz", sine(440, 0.1, SR))
    with pytest.raises(AudioLoadError, match="shape"):
        save_audio(tmp_path / "e.wav", np.zeros(0, np.float32))
    assert not any(tmp_path.iterdir())
