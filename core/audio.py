"""Audio file I/O: every waveform in CLAR Studio enters through :func:`load_audio`.

Files are decoded with soundfile (libsndfile: WAV 8/16/24/32-bit integer and 32/64-bit float, FLAC, OGG/Vorbis,
MP3 and more), down-mixed to mono by averaging the channels, resampled with soxr (``HQ`` quality: a linear-phase
filter with about 144 dB stop-band rejection below 0.01 dB pass-band ripple) and padded with zeros or cropped on
the right to a fixed number of samples.

Every problem with an input file raises :class:`core.errors.AudioLoadError`, whose message names the file and the
problem. Nothing here waits on anything but the file itself, so a bad file cannot hang a load, and the samples to
decode are bounded from the header (:data:`core.limits.MAX_AUDIO_SAMPLES`) before any are decoded.
"""

from __future__ import annotations

import errno
import math
import os
import stat
import struct
import tempfile
from pathlib import Path
from typing import TypeVar

import numpy as np
import soundfile as sf
import torch

from core import SAMPLE_RATE
from core.errors import AudioLoadError
from core.limits import MAX_AUDIO_SAMPLES

MIN_SECONDS = 0.010
"""Shortest clip accepted, in seconds (10 ms)."""

MAX_SECONDS = 600.0
"""Default longest clip accepted, in seconds (10 minutes). Longer files are refused from the header."""

RESAMPLE_QUALITY = "HQ"
"""soxr quality recipe used for every sample-rate conversion."""

RESAMPLE_MARGIN_S = 1.0
"""Seconds of source audio decoded beyond a crop point, so that resampling the crop equals cropping the resampled
whole (the soxr filter spans far less than this)."""

PRE_RESAMPLE_LIMIT = 16.0
"""Float samples are clipped to +-16 before resampling (the output is clipped to +-1 afterwards anyway), so that
finite but huge values cannot overflow the resampler."""

DECODE_BLOCK_SAMPLES = 1 << 20
"""Samples x channels decoded per block (4 MiB of float32), down-mixed before the next block is read."""

_MP3_FRAME = 1152
"""Samples per MPEG-1 Layer III frame: the slack allowed between an MP3 header's length and its decoded length."""

ArrayLike = TypeVar("ArrayLike", np.ndarray, torch.Tensor)


def fix_length(x: ArrayLike, num_samples: int) -> ArrayLike:
    """Zero-pad or crop ``x`` on the right along its last axis to ``num_samples`` samples.

    Works on numpy arrays and torch tensors of any rank and returns the same kind (on the same device for tensors).
    An input that already has the right length is returned unchanged (not copied).
    """
    if num_samples < 0:
        raise ValueError(f"num_samples must be >= 0, got {num_samples}")
    n = x.shape[-1]
    if n == num_samples:
        return x
    if n > num_samples:
        return x[..., :num_samples]
    pad = num_samples - n
    if isinstance(x, torch.Tensor):
        return torch.nn.functional.pad(x, (0, pad))
    widths = [(0, 0)] * (x.ndim - 1) + [(0, pad)]
    return np.pad(x, widths)


def resample(x: np.ndarray, orig_sr: int, target_sr: int) -> np.ndarray:
    """Resample ``x`` (float32 [T] or [T, C]) from ``orig_sr`` to ``target_sr`` Hz with soxr (``HQ``)."""
    if orig_sr == target_sr:
        return x
    import soxr

    return soxr.resample(x, orig_sr, target_sr, quality=RESAMPLE_QUALITY).astype(np.float32, copy=False)


def _wav_truncation(path: Path, size: int) -> str | None:
    """For a RIFF/WAVE file, a description of the truncation if its ``data`` chunk runs past the end of the file.

    libsndfile silently shortens such files, so this reads the chunk headers (a few bytes) itself. Streamed
    WAVs whose data size is written as 0 or 0xFFFFFFFF are not judged. At most 4096 chunks are walked.
    """
    with open(path, "rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return None
        pos = 12
        for _ in range(4096):
            if pos + 8 > size:
                return None
            f.seek(pos)
            chunk = f.read(8)
            if len(chunk) < 8:
                return None
            cid, csize = chunk[:4], struct.unpack("<I", chunk[4:])[0]
            if cid == b"data":
                if csize in (0, 0xFFFFFFFF):
                    return None
                have = size - (pos + 8)
                if have < csize:
                    return f"truncated WAV: the data chunk declares {csize} bytes but only {have} are present"
                return None
            pos += 8 + csize + (csize & 1)
    return None


def _check_file(path: Path) -> int:
    """The size in bytes of a readable regular file, or AudioLoadError saying exactly what is wrong."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        if os.path.islink(path):
            raise AudioLoadError(path, f"broken symbolic link (it points to {os.readlink(path)!r})") from None
        raise AudioLoadError(path, "file not found") from None
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise AudioLoadError(path, "symbolic link loop (the link points back to itself)") from None
        if e.errno == errno.EACCES:
            raise AudioLoadError(path, "permission denied (a folder on the path cannot be searched)") from None
        raise AudioLoadError(path, f"cannot access the file ({e.strerror or e})") from None
    if not stat.S_ISREG(st.st_mode):
        raise AudioLoadError(path, "not a regular file")
    try:
        with open(path, "rb"):
            pass
    except PermissionError:
        raise AudioLoadError(path, "permission denied (the file is not readable)") from None
    except OSError as e:
        raise AudioLoadError(path, f"cannot open the file ({e.strerror or e})") from None
    return st.st_size


def audio_info(path: str | os.PathLike, max_seconds: float | None = MAX_SECONDS) -> sf._SoundFileInfo:
    """Read and check a file's header without decoding it; return soundfile's info.

    Raises:
        AudioLoadError: the file is missing (or a broken or looping link), unreadable, empty, not audio, has no
            frames, is shorter than 10 ms, or is longer than ``max_seconds`` seconds (``None``: no limit).
    """
    path = Path(path)
    size = _check_file(path)
    if size == 0:
        raise AudioLoadError(path, "empty file (0 bytes)")
    try:
        info = sf.info(str(path))
    except (sf.SoundFileError, RuntimeError) as e:
        reason = _clean(e)
        if "malformed" in reason or "sync" in reason:
            raise AudioLoadError(path, f"truncated or corrupt audio ({reason})") from None
        raise AudioLoadError(path, f"not audio, or a format libsndfile cannot read ({reason})") from None
    if info.samplerate <= 0 or info.channels <= 0:
        raise AudioLoadError(path, f"invalid header (sample rate {info.samplerate} Hz, {info.channels} channels)")
    if info.frames <= 0:
        raise AudioLoadError(path, "zero-length audio (0 frames)")
    seconds = info.frames / info.samplerate
    if max_seconds is not None and seconds > max_seconds:
        raise AudioLoadError(path, f"too long: {seconds:.1f} s exceeds the limit of {max_seconds:g} s")
    if seconds < MIN_SECONDS:
        raise AudioLoadError(path, f"too short: {seconds * 1000:.2f} ms, the minimum is {MIN_SECONDS * 1000:g} ms")
    if info.format in ("WAV", "WAVEX"):
        problem = _wav_truncation(path, size)
        if problem:
            raise AudioLoadError(path, problem)
    return info


def _clean(e: BaseException) -> str:
    return " ".join(str(e).split()).replace(" : ", ": ")


def frames_to_decode(info: sf._SoundFileInfo, sample_rate: int, num_samples: int | None) -> int:
    """Source frames needed for ``num_samples`` output samples at ``sample_rate`` Hz (all frames when None).

    A crop reads :data:`RESAMPLE_MARGIN_S` seconds beyond the crop point, so that the resampling filter sees
    the same input as it would for the whole file and the kept samples are unchanged.
    """
    if num_samples is None:
        return int(info.frames)
    need = math.ceil(num_samples * info.samplerate / sample_rate)
    if info.samplerate != sample_rate:
        need += math.ceil(RESAMPLE_MARGIN_S * info.samplerate)
    return int(min(info.frames, need))


def load_audio(
    path: str | os.PathLike,
    sample_rate: int = SAMPLE_RATE,
    num_samples: int | None = None,
    max_seconds: float | None = MAX_SECONDS,
) -> torch.Tensor:
    """Load an audio file as a float32 mono waveform.

    Args:
        path: the file (any format libsndfile reads: WAV, FLAC, OGG/Vorbis, MP3, AIFF, ...).
        sample_rate: output rate in Hz; the file is resampled with soxr when its own rate differs.
        num_samples: if given, zero-pad or crop on the right to this many samples (at ``sample_rate``); only
            the source frames needed for them are decoded.
        max_seconds: refuse files longer than this many seconds, judged from the header before decoding
            (``None``: no limit).

    Returns:
        A float32 tensor of shape [T] with finite values in [-1, 1] (float files and resampling overshoot are
        clipped).

    Raises:
        AudioLoadError: missing, empty or zero-length file, not audio, truncated or corrupt, NaN or infinite
            samples, shorter than 10 ms, longer than ``max_seconds``, or more than
            :data:`core.limits.MAX_AUDIO_SAMPLES` samples x channels to decode (checked from the header).
    """
    return torch.from_numpy(load_audio_numpy(path, sample_rate, num_samples, max_seconds))


def _decode_mono(path: Path, info: sf._SoundFileInfo, frames: int) -> np.ndarray:
    """The first ``frames`` frames of ``path`` averaged over channels (float64 sums: no overflow), in blocks."""
    channels = int(info.channels)
    block = max(1024, DECODE_BLOCK_SAMPLES // channels)
    mono = np.empty(frames, dtype=np.float32)
    got = 0
    with sf.SoundFile(str(path)) as f:
        while got < frames:
            data = f.read(min(block, frames - got), dtype="float32", always_2d=True)
            n = data.shape[0]
            if n == 0:
                break
            if not np.isfinite(data).all():
                bad = int((~np.isfinite(data)).sum())
                raise AudioLoadError(path, f"{bad} NaN or infinite samples in frames {got}-{got + n}")
            if channels == 1:
                mono[got : got + n] = data[:, 0]
            else:
                mono[got : got + n] = data.mean(axis=1, dtype=np.float64)
            got += n
    return mono[:got]


def load_audio_numpy(
    path: str | os.PathLike,
    sample_rate: int = SAMPLE_RATE,
    num_samples: int | None = None,
    max_seconds: float | None = MAX_SECONDS,
) -> np.ndarray:
    """:func:`load_audio` returning a float32 numpy array [T] (what the dataset cache stores)."""
    path = Path(path)
    if sample_rate <= 0:
        raise ValueError(f"sample_rate must be positive, got {sample_rate}")
    if num_samples is not None and num_samples < 0:
        raise ValueError(f"num_samples must be >= 0, got {num_samples}")
    info = audio_info(path, max_seconds)
    frames = frames_to_decode(info, sample_rate, num_samples)
    if frames * info.channels > MAX_AUDIO_SAMPLES:
        raise AudioLoadError(
            path,
            f"too large to decode: {frames} frames x {info.channels} channels at {info.samplerate} Hz is "
            f"{frames * info.channels / 1e6:.0f} M samples (the limit is {MAX_AUDIO_SAMPLES / 1e6:.1f} M, "
            "10 minutes of 96 kHz stereo)",
        )
    try:
        mono = _decode_mono(path, info, frames)
    except (sf.SoundFileError, RuntimeError) as e:
        raise AudioLoadError(path, f"truncated or corrupt audio ({_clean(e)})") from None
    got = mono.shape[0]
    slack = max(2 * _MP3_FRAME, info.frames // 100) if info.format == "MP3" else 0
    if got < frames - slack:
        raise AudioLoadError(path, f"truncated or corrupt audio: decoded {got} of {frames} frames")
    if got == 0:
        raise AudioLoadError(path, "zero-length audio (0 frames decoded)")
    if frames == info.frames and got / info.samplerate < MIN_SECONDS:  # a crop may be short on purpose
        raise AudioLoadError(
            path, f"too short: {got / info.samplerate * 1000:.2f} ms, the minimum is {MIN_SECONDS * 1000:g} ms"
        )
    # Huge but finite float samples (|x| near 3e38) would overflow inside the resampling filter: bound them first.
    np.clip(mono, -PRE_RESAMPLE_LIMIT, PRE_RESAMPLE_LIMIT, out=mono)
    mono = resample(mono, info.samplerate, sample_rate)
    if not np.isfinite(mono).all():
        raise AudioLoadError(path, "resampling produced NaN or infinite samples")
    np.clip(mono, -1.0, 1.0, out=mono)
    if num_samples is not None:
        mono = fix_length(mono, num_samples)
    return np.ascontiguousarray(mono, dtype=np.float32)


SILENCE_DBFS = -90.0
"""A clip whose peak is below this level (dB full scale) is silence: nothing to hear, augment or classify."""


def check_audible(wave: torch.Tensor | np.ndarray, source: str | os.PathLike) -> None:
    """Raise AudioLoadError naming ``source`` when the clip is empty or silent (peak below :data:`SILENCE_DBFS`)."""
    x = np.asarray(wave)
    if x.size == 0:
        raise AudioLoadError(source, "the clip has no samples")
    peak = float(np.abs(x).max())
    if peak <= 10 ** (SILENCE_DBFS / 20):
        level = "digital silence" if peak == 0 else f"its peak is {20 * np.log10(peak):.0f} dBFS"
        raise AudioLoadError(source, f"the clip is silent ({level}): there is nothing to hear or classify")


def save_audio(
    path: str | os.PathLike,
    x: np.ndarray | torch.Tensor,
    sample_rate: int = SAMPLE_RATE,
    subtype: str | None = None,
) -> Path:
    """Write a waveform to ``path`` (format from the extension: .wav, .flac, .ogg, .mp3, ...), atomically.

    Args:
        path: the file to write; its folder is created.
        x: [T] mono or [C, T] multi-channel, float in [-1, 1] (values beyond are clipped) or integer PCM.
        sample_rate: Hz.
        subtype: libsndfile subtype, e.g. ``"PCM_16"`` (the default for WAV and FLAC), ``"PCM_24"``, ``"FLOAT"``.

    Raises:
        AudioLoadError: the waveform is empty or has NaN/inf samples, or the format cannot be written.
    """
    path = Path(path)
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    x = np.asarray(x)
    if x.ndim not in (1, 2) or x.shape[-1] == 0:
        raise AudioLoadError(path, f"cannot save: expected a non-empty [T] or [C, T] waveform, got shape {x.shape}")
    if np.issubdtype(x.dtype, np.floating):
        if not np.isfinite(x).all():
            raise AudioLoadError(path, "cannot save: the waveform has NaN or infinite samples")
        x = np.clip(x, -1.0, 1.0)
    data = x.T if x.ndim == 2 else x
    ext = path.suffix.lower().lstrip(".")
    fmt = {"oga": "OGG", "opus": "OGG"}.get(ext, ext.upper())
    if fmt not in sf.available_formats():
        raise AudioLoadError(path, f"cannot save: unknown audio format {path.suffix!r}")
    if subtype is None and fmt == "OGG":
        subtype = "OPUS" if ext == "opus" else "VORBIS"
    if subtype is None and fmt == "MP3":
        subtype = "MPEG_LAYER_III"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as e:
        raise AudioLoadError(path, f"cannot save: cannot write into {path.parent} ({e.strerror or e})") from None
    os.close(fd)
    try:
        sf.write(tmp, data, sample_rate, subtype=subtype, format=fmt)
        os.replace(tmp, path)
    except (sf.SoundFileError, RuntimeError, ValueError, TypeError, OSError) as e:
        raise AudioLoadError(path, f"cannot save: {_clean(e)}") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path
