"""``python -m core data download``: fetch, verify and unpack the official dataset archives.

Every archive is pinned in :data:`core.data.archives.ARCHIVES` by its official URL, its published digest and,
where one is published, its size in bytes (else a bound). The source of each pin is cited beside it. A download:

1. streams into ``<root>/.downloads/<file>.part`` (:func:`core.data.http.fetch`: resumable, stopped at the pinned
   size or bound, at a stall and at the deadline), with a tqdm bar;
2. is verified against the pinned size and digest before anything is extracted (a mismatch deletes the part
   file and raises :class:`~core.errors.DownloadError` naming the expected and actual values);
3. is extracted safely (:func:`core.data.extract.safe_extract`: no links, no paths outside the root, bounded
   size, all or nothing) into a staging folder, then moved into the official layout under ``<root>/<name>/``.

Layouts produced (what the dataset loaders read):

- ``esc50``: ``<root>/esc50/audio/*.wav`` and ``<root>/esc50/meta/esc50.csv`` (ESC-50 repository, top folder
  ``ESC-50-master/`` removed).
- ``speech_commands``: ``<root>/speech_commands/<word>/*.wav``, ``validation_list.txt``,
  ``testing_list.txt``, ``_background_noise_/`` (v0.02 archive, as published).
- ``nsynth``: ``<root>/nsynth/nsynth-{train,valid,test}/examples.json`` and ``.../audio/*.wav``.
- ``fsdd``: ``<root>/fsdd/recordings/*.wav`` plus the repository files such as ``metadata.py`` (v1.0.10,
  3000 clips; top folder ``free-spoken-digit-dataset-1.0.10/`` removed).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from core.data.archives import ALIASES, ARCHIVES, MIRROR_ENV, Archive, mirror_url
from core.data.extract import safe_extract
from core.data.http import CHUNK_BYTES, DEADLINE_S, Progress, TransientDownloadError, _progress_bar, fetch
from core.errors import DownloadError

MARKER = ".clar-download.json"

__all__ = ["ALIASES", "ARCHIVES", "MARKER", "MIRROR_ENV", "Archive", "download_dataset", "mirror_url", "safe_extract"]


def file_digests(path: Path, progress: bool = False) -> dict[str, str]:
    """SHA-256 and MD5 hex digests of ``path``, in one pass."""
    sha, md5 = hashlib.sha256(), hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f, _progress_bar(path.stat().st_size, 0, f"verify {path.name}", progress) as bar:
        while chunk := f.read(CHUNK_BYTES):
            sha.update(chunk)
            md5.update(chunk)
            bar.update(len(chunk))
    return {"sha256": sha.hexdigest(), "md5": md5.hexdigest()}


def verify(path: Path, archive: Archive, url: str, progress: bool = False) -> dict[str, str]:
    """Check ``path`` against the pinned size and digests; returns the digests computed.

    Raises:
        DownloadError: naming the URL and the expected and actual size or digest.
    """
    size = path.stat().st_size
    if archive.size is not None and size != archive.size:
        raise DownloadError(f"{url}: size mismatch: expected {archive.size} bytes, got {size} bytes")
    digests = file_digests(path, progress)
    for algo in ("sha256", "md5"):
        want = getattr(archive, algo)
        if want and digests[algo] != want.lower():
            raise DownloadError(f"{url}: {algo} mismatch: expected {want.lower()}, got {digests[algo]}")
    return digests


def _merge_move(src: Path, dst: Path) -> None:
    """Move ``src`` to ``dst``, merging folders that already exist and replacing files."""
    if dst.is_dir() and not dst.is_symlink() and src.is_dir() and not src.is_symlink():
        for child in src.iterdir():
            _merge_move(child, dst / child.name)
        src.rmdir()
        return
    if dst.exists() or dst.is_symlink():
        if dst.is_dir() and not dst.is_symlink():
            shutil.rmtree(dst)
        else:
            dst.unlink()
    dst.parent.mkdir(parents=True, exist_ok=True)
    os.replace(src, dst)


def _install(archive_path: Path, archive: Archive, target: Path, staging: Path) -> None:
    """Extract into ``staging``, strip the archive's top folder and move the contents into ``target``."""
    if staging.exists():
        shutil.rmtree(staging)
    try:
        safe_extract(archive_path, staging, max_bytes=archive.extracted_limit)
        top = staging / archive.strip if archive.strip else staging
        if not top.is_dir():
            raise DownloadError(f"{archive_path}: expected a top folder {archive.strip!r} in the archive; not found")
        out = target / archive.dest if archive.dest else target
        out.mkdir(parents=True, exist_ok=True)
        for child in list(top.iterdir()):
            _merge_move(child, out / child.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


# ----------------------------------------------------------------------------------------------------------
# Locking and disk space
# ----------------------------------------------------------------------------------------------------------
@contextmanager
def _exclusive(lock_path: Path, url: str) -> Iterator[None]:
    """Hold an exclusive, non-blocking lock so that two processes never append to one part file."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks; concurrent downloads of one archive are the user's risk
        yield
        return
    with open(lock_path, "w") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            raise DownloadError(f"{url}: another process is downloading into {lock_path.parent}; wait for it") from e
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)
            lock_path.unlink(missing_ok=True)


def _check_free_space(root: Path, archive: Archive, part: Path, url: str) -> None:
    """Refuse early when the disk cannot hold the rest of the archive plus (at least) its extracted size."""
    if archive.size is None:
        return
    have = part.stat().st_size if part.exists() else 0
    need = (archive.size - have) + archive.size
    free = shutil.disk_usage(root).free
    if free < need:
        raise DownloadError(
            f"{url}: not enough disk space in {root}: {free / 1e9:.2f} GB free, at least {need / 1e9:.2f} GB needed "
            "(the rest of the archive plus its extracted contents)"
        )


# ----------------------------------------------------------------------------------------------------------
# Public entry points
# ----------------------------------------------------------------------------------------------------------
def _read_marker(target: Path) -> dict:
    try:
        return json.loads((target / MARKER).read_text())
    except (OSError, ValueError):
        return {}


def _fetch_with_retries(
    url: str, part: Path, archive: Archive, progress: bool, retries: int, backoff_s: float, deadline: float,
    on_progress: Progress | None,
) -> None:  # fmt: skip
    for attempt in range(retries + 1):
        try:
            return fetch(
                url,
                part,
                expected_size=archive.size,
                max_bytes=archive.max_size,
                progress=progress,
                deadline=deadline,
                on_progress=on_progress,
            )
        except TransientDownloadError:
            if attempt == retries or time.monotonic() > deadline:
                raise
            time.sleep(backoff_s * 2**attempt)
    return None


def download_dataset(
    name: str,
    root: str | os.PathLike,
    *,
    mirror: str | None = None,
    progress: bool = True,
    keep_archive: bool = False,
    archives: Sequence[Archive] | None = None,
    parts: Sequence[str] | None = None,
    retries: int = 2,
    backoff_s: float = 1.0,
    deadline_s: float = DEADLINE_S,
    on_progress: Progress | None = None,
) -> Path:
    """Download, verify and unpack dataset ``name`` into ``<root>/<name>/``; returns that folder.

    An alias downloads its parent dataset into ``<root>/<parent>/`` and returns that folder.

    Args:
        name: a key of :data:`ARCHIVES` (``esc50``, ``speech_commands``, ``nsynth``, ``fsdd``) or of
            :data:`ALIASES` (``esc10`` fetches ``esc50``, ``sc09`` fetches ``speech_commands``).
        root: folder receiving ``<name>/`` and the partial downloads (``<root>/.downloads/``).
        mirror: base URL replacing the official scheme and host (default ``$CLAR_DOWNLOAD_MIRROR``).
        progress: show tqdm bars for download and verification.
        keep_archive: keep the verified archive in ``<root>/.downloads/`` after extraction.
        archives: pinned archives to use instead of ``ARCHIVES[name]`` (tests, private mirrors).
        parts: only these parts (e.g. ``["test"]`` for NSynth); default all.
        retries: extra attempts, each resuming, after a network failure.
        backoff_s: seconds before the first retry; doubled at each further retry.
        deadline_s: overall seconds allowed for the whole download (a stalled connection is given up after
            :data:`core.data.http.STALL_S` seconds without data, and retried).
        on_progress: called with (bytes done, total bytes or None) of the archive being fetched.

    Raises:
        DownloadError: unknown name, network failure, size or digest mismatch, unsafe archive.
    """
    if archives is None:
        if name in ALIASES:
            if progress:
                print(f"{name} is part of {ALIASES[name]}: downloading {ALIASES[name]}")
            name = ALIASES[name]
        if name not in ARCHIVES:
            raise DownloadError(f"unknown dataset {name!r}; downloadable: {', '.join(sorted(ARCHIVES))}")
        archives = ARCHIVES[name]
    archives = list(archives)
    if parts:
        known = {a.part for a in archives}
        unknown = sorted(set(parts) - known)
        if unknown:
            raise DownloadError(f"{name}: unknown part(s) {unknown}; available: {sorted(known)}")
        archives = [a for a in archives if a.part in parts]
    mirror = mirror or os.environ.get(MIRROR_ENV) or None
    deadline = time.monotonic() + deadline_s
    root = Path(root).expanduser()
    target = root / name
    downloads = root / ".downloads"
    target.mkdir(parents=True, exist_ok=True)
    try:
        marker = _read_marker(target)
        for archive in archives:
            done = marker.get(archive.filename, {})
            if done and all(done.get(k) == getattr(archive, k) for k in ("sha256", "md5") if getattr(archive, k)):
                if progress:
                    print(f"{name}: {archive.filename} already installed in {target}")
                continue
            url = mirror_url(archive.url, mirror)
            part = downloads / f"{archive.filename}.part"
            final = downloads / archive.filename
            with _exclusive(downloads / f"{archive.filename}.lock", url):
                if final.exists():  # kept from an earlier run (--keep-archive): verify it instead of downloading
                    os.replace(final, part)
                _check_free_space(root, archive, part, url)
                resumed = part.exists() and part.stat().st_size > 0
                _fetch_with_retries(url, part, archive, progress, retries, backoff_s, deadline, on_progress)
                try:
                    digests = verify(part, archive, url, progress)
                except DownloadError as e:
                    part.unlink(missing_ok=True)  # a complete but wrong file cannot be resumed into a right one
                    if not resumed:
                        raise
                    # The bytes kept from an earlier attempt may be the culprit (e.g. a changed upstream file):
                    # download the whole archive once more before giving up.
                    if progress:
                        print(f"{e}; the resumed file is discarded and downloaded again from the start")
                    _fetch_with_retries(url, part, archive, progress, retries, backoff_s, deadline, on_progress)
                    try:
                        digests = verify(part, archive, url, progress)
                    except DownloadError:
                        part.unlink(missing_ok=True)
                        raise
                os.replace(part, final)
            _install(final, archive, target, root / f".{name}.{archive.part}.staging")
            marker[archive.filename] = {
                "url": url,
                "size": final.stat().st_size,
                "sha256": digests["sha256"],
                "md5": digests["md5"],
                "source": archive.source,
            }
            (target / MARKER).write_text(json.dumps(marker, indent=1, sort_keys=True))
            if not keep_archive:
                final.unlink()
            if progress:
                print(f"{name}: {archive.filename} verified (sha256 {digests['sha256']}) and extracted to {target}")
    finally:
        for folder in (downloads, target):  # leave no empty folders behind after a failure
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
    return target
