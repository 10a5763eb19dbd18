"""HTTP downloads that resume, stop at a size limit, give up on a stalled connection and respect a deadline.

:func:`fetch` streams one URL into a ``.part`` file, resuming a partial file with an HTTP ``Range`` request (a
server that ignores ``Range`` answers 200 and the download restarts from byte 0; a 416 answer means the part is
complete or unusable and is checked or restarted). Whatever a server announces or sends, no more than
``max_bytes`` are written: a hostile or broken server cannot fill the disk.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Callable
from http.client import HTTPException
from pathlib import Path

from core.errors import DownloadError

CHUNK_BYTES = 1 << 20
STALL_S = 60.0
"""Seconds without a single byte after which a connection counts as stalled (retried, then reported)."""
DEADLINE_S = 48 * 3600.0
"""Default overall deadline of one download, in seconds (a slow line still finishes NSynth's 22 GB)."""

Progress = Callable[[int, int | None], None]
"""``on_progress(bytes_done, bytes_total_or_None)``: called as bytes arrive (the app's progress bar)."""


class TransientDownloadError(DownloadError):
    """A network failure worth retrying (connection refused or dropped, stall, HTTP 5xx)."""


def _content_range(header: str | None) -> tuple[int | None, int | None]:
    """(first byte, total size) from a ``Content-Range`` header (``bytes 10-99/100`` or ``bytes */100``)."""
    if not header or not header.startswith("bytes "):
        return None, None
    spec, _, total = header[6:].partition("/")
    try:
        first = None if spec.strip() == "*" else int(spec.split("-")[0])
    except ValueError:
        return None, None
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
    max_bytes: int | None = None,
    progress: bool = True,
    stall_s: float = STALL_S,
    deadline: float | None = None,
    on_progress: Progress | None = None,
) -> None:
    """Download ``url`` into ``part``, resuming from its current length.

    Args:
        url: what to fetch.
        part: the partial file (created, appended to, or restarted).
        expected_size: the pinned size in bytes, if one is published: a server announcing another size is
            refused at once, and no byte beyond it is written.
        max_bytes: a bound in bytes where no size is pinned; the download is cut off there.
        progress: show a tqdm bar.
        stall_s: seconds a read may wait for data before the connection counts as stalled.
        deadline: ``time.monotonic()`` value after which the download stops (resume it by running again).
        on_progress: called with (bytes in the part file, total or None) as bytes arrive.

    Raises:
        TransientDownloadError: a network failure or a stall (worth retrying; the part file keeps every byte).
        DownloadError: an HTTP error, a size over the limit, or the deadline.
    """
    limit = expected_size if expected_size is not None else max_bytes
    part.parent.mkdir(parents=True, exist_ok=True)
    have = part.stat().st_size if part.exists() else 0
    if limit is not None and have > limit:
        part.unlink()
        have = 0
    if expected_size is not None and have == expected_size:
        return
    headers = {"User-Agent": "clar-studio-download/1", "Accept-Encoding": "identity"}
    if have:
        headers["Range"] = f"bytes={have}-"
    request = urllib.request.Request(url, headers=headers)
    try:
        response = urllib.request.urlopen(request, timeout=stall_s)
    except urllib.error.HTTPError as e:
        if e.code == 416 and have:
            _, total = _content_range(e.headers.get("Content-Range"))
            e.close()
            if have == (total if total is not None else expected_size):
                return  # the part file was already complete
            part.unlink()  # the part is longer than the file, or unusable: start again
            return fetch(
                url,
                part,
                expected_size=expected_size,
                max_bytes=max_bytes,
                progress=progress,
                stall_s=stall_s,
                deadline=deadline,
                on_progress=on_progress,
            )
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
        if max_bytes is not None and total is not None and total > max_bytes:
            raise DownloadError(f"{url}: server reports {total} bytes, more than the {max_bytes}-byte bound")
        received = 0
        with (
            open(part, mode) as f,
            _progress_bar(total or limit, have, part.name.removesuffix(".part"), progress) as bar,
        ):
            try:
                while True:
                    want = CHUNK_BYTES if limit is None else min(CHUNK_BYTES, limit - have - received + 1)
                    chunk = response.read(want)
                    if not chunk:
                        break
                    if limit is not None and have + received + len(chunk) > limit:
                        f.close()
                        part.unlink()
                        what = "the pinned size of" if expected_size is not None else "the bound of"
                        raise DownloadError(f"{url}: the server sent more than {what} {limit} bytes; stopped there")
                    f.write(chunk)
                    received += len(chunk)
                    bar.update(len(chunk))
                    if on_progress is not None:
                        on_progress(have + received, total or limit)
                    if deadline is not None and time.monotonic() > deadline:
                        f.flush()
                        raise DownloadError(
                            f"{url}: stopped at the download deadline after {have + received} bytes; "
                            "run the command again to resume"
                        )
            except (OSError, HTTPException) as e:
                f.flush()
                stalled = "stalled" if "timed out" in str(e) else "connection lost"
                raise TransientDownloadError(
                    f"{url}: {stalled} after {have + received} bytes ({e.__class__.__name__}); "
                    "run the command again to resume"
                ) from e
    if length is not None and received < length:
        raise TransientDownloadError(
            f"{url}: connection closed after {have + received} of {have + length} bytes; run again"
        )
