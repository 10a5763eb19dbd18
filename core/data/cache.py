"""Decoded waveform cache: one memory-mapped float32 ``.npy`` per dataset, clip length and file set.

A cache file lives at ``cache_dir()/waveforms/<name>-<num_samples>-<root hash>-<content hash>.npy``. The content
hash covers the sample rate, the clip length and the (absolute path, size in bytes, mtime in ns) of every source
file in order, so any added, removed, replaced or touched file gives a new key; the cache for the old key is then
stale, and is deleted when the new one is written. Files are written to a temporary name and renamed into place,
so a crash or a concurrent reader never sees half a cache.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from core import SAMPLE_RATE
from core.audio import load_audio_numpy
from core.errors import AudioLoadError
from core.paths import cache_dir

CACHE_VERSION = 1
"""Bumped when the decoding pipeline changes in a way that alters cached samples."""


@dataclass(frozen=True)
class CacheKey:
    """Where the cache of one (dataset, clip length, file set) lives."""

    prefix: str
    digest: str

    @property
    def path(self) -> Path:
        """The cache file of this key."""
        return waveform_cache_dir() / f"{self.prefix}-{self.digest}.npy"


def waveform_cache_dir() -> Path:
    """``cache_dir()/waveforms``, created on first use."""
    d = cache_dir() / "waveforms"
    d.mkdir(parents=True, exist_ok=True)
    return d


def cache_key(name: str, root: Path, paths: Sequence[Path], num_samples: int, sample_rate: int) -> CacheKey:
    """The cache key of a file list: stats every file (no reads)."""
    h = hashlib.sha1(f"v{CACHE_VERSION}|{sample_rate}|{num_samples}|{len(paths)}".encode())
    for p in paths:
        st = os.stat(p)
        h.update(f"\n{p}|{st.st_size}|{st.st_mtime_ns}".encode())
    root_hash = hashlib.sha1(str(Path(root).resolve()).encode()).hexdigest()[:8]
    safe = "".join(ch if ch.isalnum() or ch in "_." else "_" for ch in name)
    return CacheKey(prefix=f"{safe}-{num_samples}-{root_hash}", digest=h.hexdigest()[:16])


def cache_state(key: CacheKey) -> str:
    """Whether the cache of a key is a hit, stale or missing.

    ``"hit"`` (a cache for exactly these files exists), ``"stale"`` (one for an older version of the files exists) or
    ``"missing"``.
    """
    if key.path.is_file():
        return "hit"
    if any(waveform_cache_dir().glob(f"{key.prefix}-*.npy")):
        return "stale"
    return "missing"


def decode_all(
    paths: Sequence[Path],
    out: np.ndarray,
    num_samples: int,
    sample_rate: int = SAMPLE_RATE,
    progress: bool = True,
    workers: int = 2,
    desc: str = "decoding",
) -> None:
    """Decode, resample and fix the length of every file into ``out[i]`` (float32 [N, num_samples]).

    The first file that fails raises its :class:`~core.errors.AudioLoadError`; files not yet started are skipped.
    """

    def job(i: int) -> int:
        x = load_audio_numpy(paths[i], sample_rate, num_samples)
        if not np.isfinite(x).all():  # load_audio never returns such a clip; the cache must never hold one
            raise AudioLoadError(paths[i], "decoded to NaN or infinite samples; not cached")
        out[i] = x
        return i

    bar = tqdm(total=len(paths), desc=desc, unit="clip", disable=not progress, leave=False)
    try:
        if workers <= 1:
            for i in range(len(paths)):
                job(i)
                bar.update()
        else:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                futures = [pool.submit(job, i) for i in range(len(paths))]
                try:
                    for future in as_completed(futures):
                        future.result()
                        bar.update()
                except BaseException:
                    # stop at the first bad file (or Ctrl-C) instead of decoding the rest first
                    for future in futures:
                        future.cancel()
                    raise
    finally:
        bar.close()


def load_waveforms(
    name: str,
    root: Path,
    paths: Sequence[Path],
    num_samples: int,
    sample_rate: int = SAMPLE_RATE,
    *,
    use_cache: bool = True,
    progress: bool = True,
    workers: int | None = None,
) -> np.ndarray:
    """Waveforms float32 [N, num_samples] of ``paths``: from the cache when it is fresh, else decoded once.

    With ``use_cache`` the result is a read-only memory map of the cache file; without, an in-memory array.
    ``workers``: decoding threads (default: 2, or 1 on a one-core machine).
    """
    if workers is None:
        workers = min(2, os.cpu_count() or 1)
    if not use_cache:
        out = np.zeros((len(paths), num_samples), dtype=np.float32)
        decode_all(paths, out, num_samples, sample_rate, progress, workers, desc=f"decoding {name}")
        return out
    key = cache_key(name, root, paths, num_samples, sample_rate)
    final = key.path
    if final.is_file():
        try:
            arr = np.load(final, mmap_mode="r")
            if arr.shape == (len(paths), num_samples) and arr.dtype == np.float32:
                return arr
        except (OSError, ValueError):
            pass  # unreadable cache: rebuild it below
    tmp = final.with_name(f".{final.stem}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp.npy")
    try:
        mm = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=(len(paths), num_samples))
        decode_all(paths, mm, num_samples, sample_rate, progress, workers, desc=f"decoding {name}")
        mm.flush()
        del mm
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            tmp.unlink()
    for old in waveform_cache_dir().glob(f"{key.prefix}-*.npy"):
        if old != final:
            old.unlink(missing_ok=True)
    return np.load(final, mmap_mode="r")
