"""Safe extraction of untrusted tar and zip archives: all or nothing, inside the destination, bounded in size.

The rules, checked for every member before a single byte is written:

* only regular files and folders: symbolic links, hard links, devices and FIFOs are refused (the official
  dataset archives hold none, and a chain of links is how an archive writes outside its root);
* relative paths only: no absolute path, drive letter, ``..``, NUL byte, empty name, or path longer than
  :data:`MAX_NAME` characters or :data:`MAX_DEPTH` folders deep;
* no name twice (two members that would land on one path, or a file that another member treats as a folder);
* at most ``max_members`` members and ``max_bytes`` bytes declared in all.

Extraction then writes into a fresh temporary folder beside the destination, creating every file itself with
``O_EXCL | O_NOFOLLOW`` (never through a path an archive member made), counts the bytes actually decompressed
against ``max_bytes`` (headers can lie), and renames the folder into place only when everything succeeded. On any
failure the temporary folder is deleted: the destination is never half-written.
"""

from __future__ import annotations

import os
import shutil
import tarfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from core.errors import DownloadError

MAX_NAME = 1024
MAX_DEPTH = 64
MAX_MEMBERS = 2_000_000
COPY_CHUNK = 1 << 20


@dataclass(frozen=True)
class Member:
    """One checked archive member: its relative path, whether it is a folder, and its declared size."""

    path: PurePosixPath
    is_dir: bool
    size: int
    ref: object  # the tarfile.TarInfo or zipfile.ZipInfo


def _clean_path(name: str, archive: Path) -> PurePosixPath:
    """The member's relative path; DownloadError for anything that is not a plain relative path."""
    clean = name.replace("\\", "/")
    p = PurePosixPath(clean)
    unsafe = (
        not clean.strip("/")
        or "\x00" in clean
        or p.is_absolute()
        or (len(clean) > 1 and clean[1] == ":")
        or ".." in p.parts
        or len(clean) > MAX_NAME
        or len(p.parts) > MAX_DEPTH
    )
    if unsafe:
        raise DownloadError(f"{archive}: unsafe member path {name[:200]!r} (absolute, escapes the root, or too long)")
    return PurePosixPath(*[part for part in p.parts if part not in (".", "")])


def _zip_members(zf: zipfile.ZipFile, archive: Path) -> Iterator[Member]:
    for info in zf.infolist():
        mode = info.external_attr >> 16
        path = _clean_path(info.filename, archive)
        if mode and mode & 0o170000 not in (0, 0o100000, 0o040000):  # 0: not set by the archiver
            kind = "symbolic link" if mode & 0o170000 == 0o120000 else "special file"
            raise DownloadError(f"{archive}: member {info.filename!r} is a {kind}; archives with links are refused")
        yield Member(path, info.is_dir(), info.file_size, info)


def _tar_members(tf: tarfile.TarFile, archive: Path, max_members: int) -> Iterator[Member]:
    count = 0
    while (m := tf.next()) is not None:
        count += 1
        if count > max_members:
            raise DownloadError(f"{archive}: more than {max_members} members")
        path = _clean_path(m.name, archive)
        if m.issym() or m.islnk():
            kind = "symbolic" if m.issym() else "hard"
            raise DownloadError(
                f"{archive}: member {m.name!r} is a {kind} link (-> {m.linkname!r}); archives with links are refused"
            )
        if not (m.isfile() or m.isdir()):
            raise DownloadError(f"{archive}: member {m.name!r} is a device or FIFO; refused")
        yield Member(path, m.isdir(), m.size if m.isfile() else 0, m)


def check_members(members: Iterator[Member], archive: Path, max_members: int, max_bytes: int) -> list[Member]:
    """Every member, checked: duplicates, file/folder conflicts, member count and declared size."""
    out: list[Member] = []
    files: set[PurePosixPath] = set()
    dirs: set[PurePosixPath] = set()
    total = 0
    for m in members:
        out.append(m)
        if len(out) > max_members:
            raise DownloadError(f"{archive}: more than {max_members} members")
        parents = set(m.path.parents) - {PurePosixPath(".")}
        if m.is_dir:
            if m.path in files:
                raise DownloadError(f"{archive}: {str(m.path)!r} is both a file and a folder")
            dirs.add(m.path)
        else:
            if m.path in files:
                raise DownloadError(f"{archive}: member {str(m.path)!r} appears twice")
            if m.path in dirs:
                raise DownloadError(f"{archive}: {str(m.path)!r} is both a file and a folder")
            files.add(m.path)
            total += m.size
            if total > max_bytes:
                raise DownloadError(f"{archive}: unpacks to more than {max_bytes} bytes (the bound for this archive)")
        clash = parents & files
        if clash:
            raise DownloadError(f"{archive}: {str(next(iter(clash)))!r} is both a file and a folder")
        dirs |= parents
    return out


@contextmanager
def _open(archive: Path) -> Iterator[tuple[str, object]]:
    if zipfile.is_zipfile(archive):
        try:
            with zipfile.ZipFile(archive) as zf:
                yield "zip", zf
        except zipfile.BadZipFile as e:
            raise DownloadError(f"{archive}: corrupt zip archive ({e})") from None
        return
    try:
        with tarfile.open(archive) as tf:
            yield "tar", tf
    except tarfile.TarError as e:
        raise DownloadError(f"{archive}: unreadable tar archive ({e})") from None


def _copy(src: BinaryIO, out: Path, archive: Path, name: str, budget: list[int]) -> None:
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    with os.fdopen(fd, "wb") as f:
        while chunk := src.read(COPY_CHUNK):
            budget[0] -= len(chunk)
            if budget[0] < 0:
                raise DownloadError(f"{archive}: member {name!r} unpacks to more bytes than the archive's bound")
            f.write(chunk)


def safe_extract(
    archive_path: str | os.PathLike, dest: str | os.PathLike, *, max_bytes: int | None = None,
    max_members: int = MAX_MEMBERS,
) -> Path:  # fmt: skip
    """Extract a tar (any compression) or zip archive into ``dest`` (which must not exist yet), or nothing at all.

    Args:
        archive_path: the archive.
        dest: the folder to create with the archive's contents.
        max_bytes: most bytes the members may unpack to (declared and actual); default 20 times the archive's
            size plus 1 GiB.
        max_members: most members.

    Raises:
        DownloadError: naming the archive and the member at fault (see the module docstring for the rules).
    """
    archive, dest = Path(archive_path), Path(dest)
    if dest.exists():
        raise DownloadError(f"{dest}: the extraction folder already exists")
    if max_bytes is None:
        max_bytes = 20 * archive.stat().st_size + (1 << 30)
    tmp = dest.with_name(f".{dest.name}.extract-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    with _open(archive) as (kind, handle):
        listed = _zip_members(handle, archive) if kind == "zip" else _tar_members(handle, archive, max_members)
        members = check_members(listed, archive, max_members, max_bytes)
        tmp.mkdir(parents=True)
        budget = [max_bytes]
        try:
            for m in members:
                out = tmp.joinpath(*m.path.parts)
                if m.is_dir:
                    out.mkdir(parents=True, exist_ok=True)
                    continue
                out.parent.mkdir(parents=True, exist_ok=True)
                if kind == "zip":
                    with handle.open(m.ref) as src:
                        _copy(src, out, archive, str(m.path), budget)
                else:
                    src = handle.extractfile(m.ref)
                    if src is None:
                        raise DownloadError(f"{archive}: member {str(m.path)!r} has no data")
                    with src:
                        _copy(src, out, archive, str(m.path), budget)
            os.replace(tmp, dest)
        except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError) as e:
            shutil.rmtree(tmp, ignore_errors=True)
            raise DownloadError(f"{archive}: corrupt archive ({type(e).__name__}: {e})") from None
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return dest
