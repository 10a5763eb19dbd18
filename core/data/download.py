"""``python -m core data download``: fetch, verify and unpack the official dataset archives.

Every archive is pinned in :data:`ARCHIVES` by its official URL, its published digest and, where one is
published, its size in bytes. The source of each pin is cited beside it. A download:

1. streams into ``<root>/.downloads/<file>.part`` with a tqdm bar, resuming a partial file with an HTTP
   ``Range`` request (a server that ignores ``Range`` answers 200 and the download restarts from byte 0;
   a 416 answer means the part is complete or unusable and is checked or restarted);
2. is verified against the pinned size and digest before anything is extracted (a mismatch deletes the
   part file and raises :class:`~core.errors.DownloadError` naming the expected and actual values);
3. is extracted safely into a staging folder (no absolute paths, no ``..``, no links that leave the root,
   no device files), then moved into the official layout under ``<root>/<name>/``.

``mirror`` (or ``$CLAR_DOWNLOAD_MIRROR``) replaces the scheme, host and port of every official URL and
prefixes its path: with mirror ``http://host:8000/m`` the URL ``http://download.tensorflow.org/data/x.tgz``
becomes ``http://host:8000/m/data/x.tgz``.

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

import argparse
import hashlib
import json
import os
import shutil
import stat
import tarfile
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from http.client import HTTPException
from pathlib import Path, PurePosixPath

from core.errors import DownloadError

CHUNK_BYTES = 1 << 20
TIMEOUT_S = 60.0
MIRROR_ENV = "CLAR_DOWNLOAD_MIRROR"
MARKER = ".clar-download.json"


class TransientDownloadError(DownloadError):
    """A network failure worth retrying (connection refused or dropped, timeout, HTTP 5xx)."""


@dataclass(frozen=True)
class Archive:
    """One pinned archive.

    Attributes:
        url: official download URL.
        filename: name of the archive file on disk.
        sha256: published SHA-256 hex digest, or None where none is published.
        size: published size in bytes, or None where none is published.
        md5: published MD5 hex digest, used only where no SHA-256 is published (it still detects corruption
            and truncation; it is not collision resistant).
        part: short name of this archive within its dataset (e.g. ``"train"``).
        strip: leading folder inside the archive to remove (e.g. ``"ESC-50-master"``); "" keeps paths as is.
        dest: sub-folder of ``<root>/<name>/`` that receives the archive's contents.
        source: where the pinned values were published (cited in reports).
    """

    url: str
    filename: str
    sha256: str | None = None
    size: int | None = None
    md5: str | None = None
    part: str = "all"
    strip: str = ""
    dest: str = ""
    source: str = ""

    def __post_init__(self) -> None:
        if not (self.sha256 or self.md5):
            raise DownloadError(f"{self.url}: no published digest pinned (sha256 or md5); refusing to define it")


# ----------------------------------------------------------------------------------------------------------
# Pinned archives. NEVER edit a digest or size without citing where it was published.
# ----------------------------------------------------------------------------------------------------------
_TFDS = "tensorflow/datasets"
ARCHIVES: dict[str, list[Archive]] = {
    # ESC-50: no SHA-256 or size is published for the official archive. The MD5 below is published twice,
    # identically: soundata (soundata/datasets/esc50.py, REMOTES["all"]) and HEAR
    # (hearbenchmark/hear-preprocess, hearpreprocess/secrettasks/hearsecrettasks/esc50.py, download_urls).
    # GitHub builds this zip from the master branch: if upstream ever changes master, the digest changes and
    # the download is refused rather than silently accepted.
    "esc50": [
        Archive(
            url="https://github.com/karoldvl/ESC-50/archive/master.zip",
            filename="ESC-50-master.zip",
            md5="7771e4b9d86d0945acce719c7a59305a",
            strip="ESC-50-master",
            source="soundata esc50.py REMOTES; hear-preprocess hearsecrettasks/esc50.py (MD5 only)",
        )
    ],
    # Speech Commands v0.02: size and SHA-256 from TensorFlow Datasets,
    # tensorflow_datasets/url_checksums/speech_commands.txt (commit 333639b37af6c6fedf3610a4a2d42f1c6ef6f7d5).
    "speech_commands": [
        Archive(
            url="http://download.tensorflow.org/data/speech_commands_v0.02.tar.gz",
            filename="speech_commands_v0.02.tar.gz",
            size=2428923189,
            sha256="af14739ee7dc311471de98f5f9d2c9191b18aedfe957f4a6ff791c709868ff58",
            source=f"{_TFDS} url_checksums/speech_commands.txt",
        )
    ],
    # NSynth json/wav archives: no SHA-256 or size is published (TensorFlow Datasets pins only the TFRecord
    # archives). The MD5s are published by HEAR: hearbenchmark/hear-preprocess, hearpreprocess/nsynth_pitch.py,
    # generic_task_config["download_urls"].
    "nsynth": [
        Archive(
            url=f"http://download.magenta.tensorflow.org/datasets/nsynth/nsynth-{split}.jsonwav.tar.gz",
            filename=f"nsynth-{split}.jsonwav.tar.gz",
            md5=md5,
            part=split,
            source="hear-preprocess hearpreprocess/nsynth_pitch.py (MD5 only)",
        )
        for split, md5 in (
            ("train", "fde6665a93865503ba598b9fac388660"),
            ("valid", "87e94a00a19b6dbc99cf6d4c0c0cae87"),
            ("test", "5e6f8719bf7e16ad0a00d518b78af77d"),
        )
    ],
    # FSDD v1.0.10, the release with 6 speakers x 10 digits x 50 takes = 3000 clips (the official 2700/300
    # split: takes 0-4 are test). Size and SHA-256 of the GitHub tag archive (tag v1.0.10 = commit
    # d6938f9bf1545aa66d8489fc9f1385a7abd64282) as published by ryan-voitiskis/lossytrace,
    # research/sources/evidence/fsdd-v1.0.10-observed-20260802.json ("archive_binding"; commit
    # cc456127dc45cce80778184367b4447857758c6c). TensorFlow Datasets pins only the older v1.0.9 tarball
    # (tensorflow_datasets/audio/spoken_digit/checksums.tsv: 11975353 bytes, sha256 8bc44cde...100c0), which
    # TFDS describes as 5 speakers and 2500 recordings, so it would not give the 2700/300 split.
    "fsdd": [
        Archive(
            url="https://github.com/Jakobovski/free-spoken-digit-dataset/archive/refs/tags/v1.0.10.zip",
            filename="free-spoken-digit-dataset-1.0.10.zip",
            size=16419872,
            sha256="c680098f5d2355ba7cc4bd8b0ca9e0a24c00ebe3b4c552208889a4d28d4fbc2b",
            strip="free-spoken-digit-dataset-1.0.10",
            source="ryan-voitiskis/lossytrace research/sources/evidence/fsdd-v1.0.10-observed-20260802.json",
        )
    ],
}


# Datasets that ship inside another dataset's archive: downloading them fetches (and lays out) the parent.
ALIASES = {"esc10": "esc50", "sc09": "speech_commands"}


# ----------------------------------------------------------------------------------------------------------
# URLs
# ----------------------------------------------------------------------------------------------------------
def mirror_url(url: str, mirror: str | None) -> str:
    """``url`` with its scheme and host replaced by ``mirror``'s, and ``mirror``'s path prefixed to its path."""
    if not mirror:
        return url
    m = urllib.parse.urlsplit(mirror)
    if m.scheme not in ("http", "https") or not m.netloc:
        raise DownloadError(f"mirror {mirror!r}: expected an http(s) URL such as http://host:8000/prefix")
    u = urllib.parse.urlsplit(url)
    path = m.path.rstrip("/") + u.path
    return urllib.parse.urlunsplit((m.scheme, m.netloc, path, u.query, ""))


# ----------------------------------------------------------------------------------------------------------
# Fetch with resume
# ----------------------------------------------------------------------------------------------------------
def _content_range(header: str | None) -> tuple[int | None, int | None]:
    """(first byte, total size) from a ``Content-Range`` header (``bytes 10-99/100`` or ``bytes */100``)."""
    if not header or not header.startswith("bytes "):
        return None, None
    spec, _, total = header[6:].partition("/")
    first = None if spec.strip() == "*" else int(spec.split("-")[0])
    return first, (int(total) if total.strip().isdigit() else None)


def _progress_bar(total: int | None, initial: int, desc: str, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(
        total=total, initial=initial, unit="B", unit_scale=True, unit_divisor=1024, desc=desc, disable=not enabled
    )


def fetch(
    url: str,
    part: Path,
    *,
    expected_size: int | None = None,
    progress: bool = True,
    timeout: float = TIMEOUT_S,
) -> None:
    """Download ``url`` into ``part``, resuming from its current length with an HTTP ``Range`` request.

    A server that ignores ``Range`` (status 200) restarts the file from byte 0; a 416 answer keeps a part
    whose length equals the server's total (or ``expected_size``) and otherwise restarts. A connection that
    drops mid-file leaves ``part`` holding every byte received, so the next call resumes.

    Raises:
        DownloadError: on any HTTP or network failure, or when fewer bytes arrive than announced.
    """
    part.parent.mkdir(parents=True, exist_ok=True)
    have = part.stat().st_size if part.exists() else 0
    if expected_size is not None and have > expected_size:
        part.unlink()
        have = 0
    if expected_size is not None and have == expected_size:
        return
    headers = {"User-Agent": "clar-studio-download/1", "Accept-Encoding": "identity"}
    if have:
        headers["Range"] = f"bytes={have}-"
    request = urllib.request.Request(url, headers=headers)
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as e:
        if e.code == 416 and have:
            _, total = _content_range(e.headers.get("Content-Range"))
            e.close()
            if have == (total if total is not None else expected_size):
                return  # the part file was already complete
            part.unlink()  # the part is longer than the file, or unusable: start again
            return fetch(url, part, expected_size=expected_size, progress=progress, timeout=timeout)
        error = TransientDownloadError if e.code >= 500 or e.code in (408, 429) else DownloadError
        raise error(f"{url}: HTTP {e.code} {e.reason}") from e
    except (urllib.error.URLError, OSError, HTTPException) as e:
        raise TransientDownloadError(f"{url}: {getattr(e, 'reason', e)}") from e

    with response:
        status = response.status
        length = response.headers.get("Content-Length")
        length = int(length) if length and length.isdigit() else None
        if status == 206:
            first, total = _content_range(response.headers.get("Content-Range"))
            if first != have:
                raise DownloadError(f"{url}: asked for bytes from {have}, server sent a range starting at {first}")
            mode = "ab"
        elif status == 200:
            have, total, mode = 0, length, "wb"  # no Range asked, or the server ignored it: restart
        else:
            raise DownloadError(f"{url}: unexpected HTTP status {status}")
        if total is None and length is not None:
            total = have + length
        if expected_size is not None and total is not None and total != expected_size:
            raise DownloadError(f"{url}: server reports {total} bytes, pinned size is {expected_size} bytes")
        received = 0
        with (
            open(part, mode) as f,
            _progress_bar(total or expected_size, have, part.name.removesuffix(".part"), progress) as bar,
        ):
            try:
                while True:
                    chunk = response.read(CHUNK_BYTES)
                    if not chunk:
                        break
                    f.write(chunk)
                    received += len(chunk)
                    bar.update(len(chunk))
            except (OSError, HTTPException) as e:
                f.flush()
                raise TransientDownloadError(
                    f"{url}: connection lost after {have + received} bytes ({e.__class__.__name__}); "
                    "run the command again to resume"
                ) from e
    if length is not None and received < length:
        raise TransientDownloadError(
            f"{url}: connection closed after {have + received} of {have + length} bytes; run again"
        )


def _fetch_with_retries(url: str, part: Path, archive: Archive, progress: bool, retries: int, backoff_s: float):
    for attempt in range(retries + 1):
        try:
            return fetch(url, part, expected_size=archive.size, progress=progress)
        except TransientDownloadError:
            if attempt == retries:
                raise
            time.sleep(backoff_s * 2**attempt)
    return None


# ----------------------------------------------------------------------------------------------------------
# Verification
# ----------------------------------------------------------------------------------------------------------
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


# ----------------------------------------------------------------------------------------------------------
# Safe extraction
# ----------------------------------------------------------------------------------------------------------
def _safe_member(name: str, archive_path: Path) -> PurePosixPath:
    """The member's relative path; refuses absolute paths, drive letters, ``..`` and empty names."""
    clean = name.replace("\\", "/")
    p = PurePosixPath(clean)
    if not clean or p.is_absolute() or (len(clean) > 1 and clean[1] == ":") or ".." in p.parts:
        raise DownloadError(f"{archive_path}: unsafe member path {name!r} (absolute or escapes the root)")
    return p


def _link_inside(member: PurePosixPath, target: str, archive_path: Path, hard: bool) -> None:
    """Refuse a link whose target would resolve outside the extraction root."""
    t = target.replace("\\", "/")
    if not t or t.startswith("/") or (len(t) > 1 and t[1] == ":"):
        raise DownloadError(f"{archive_path}: link {member} -> {target!r} points outside the root")
    base = PurePosixPath() if hard else member.parent
    depth = 0
    for part in (base / t).parts:
        if part == "..":
            depth -= 1
        elif part not in (".", ""):
            depth += 1
        if depth < 0:
            raise DownloadError(f"{archive_path}: link {member} -> {target!r} escapes the root")


def safe_extract(archive_path: Path, dest: Path) -> None:
    """Extract a tar (any compression) or zip archive into ``dest``, refusing every unsafe member first.

    Nothing is written when any member is unsafe: the whole member list is checked before extraction.
    Refused: absolute paths, ``..`` components, links (symbolic or hard) resolving outside ``dest``,
    device files and FIFOs.
    """
    dest.mkdir(parents=True, exist_ok=True)
    if zipfile.is_zipfile(archive_path):
        with zipfile.ZipFile(archive_path) as zf:
            infos = zf.infolist()
            links = {}
            for info in infos:
                member = _safe_member(info.filename, archive_path)
                mode = info.external_attr >> 16
                if stat.S_ISLNK(mode):
                    target = zf.read(info).decode("utf-8", "replace")
                    _link_inside(member, target, archive_path, hard=False)
                    links[info.filename] = target
            for info in infos:
                if info.filename in links:
                    out = dest / _safe_member(info.filename, archive_path)
                    out.parent.mkdir(parents=True, exist_ok=True)
                    os.symlink(links[info.filename], out)
                else:
                    zf.extract(info, dest)
        return
    try:
        with tarfile.open(archive_path) as tf:
            members = tf.getmembers()
            for m in members:
                member = _safe_member(m.name, archive_path)
                if m.issym() or m.islnk():
                    _link_inside(member, m.linkname, archive_path, hard=m.islnk())
                elif not (m.isfile() or m.isdir()):
                    raise DownloadError(f"{archive_path}: member {m.name!r} is a device or FIFO; refused")
            # The 'data' filter (Python >= 3.11.4) re-checks all of the above and drops unsafe permission bits.
            kwargs = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
            tf.extractall(dest, members=members, **kwargs)
    except tarfile.TarError as e:
        raise DownloadError(f"{archive_path}: unreadable or refused tar archive: {e}") from e


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
        safe_extract(archive_path, staging)
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
                _fetch_with_retries(url, part, archive, progress, retries, backoff_s)
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
                    _fetch_with_retries(url, part, archive, progress, retries, backoff_s)
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


def main(args: argparse.Namespace) -> int:
    """CLI handler for ``python -m core data download NAME --root DIR [--mirror URL] [--keep-archive]``."""
    parts = getattr(args, "parts", None)
    path = download_dataset(
        args.name,
        args.root,
        mirror=args.mirror,
        keep_archive=args.keep_archive,
        parts=parts.split(",") if isinstance(parts, str) else parts,
    )
    print(path)
    return 0
