"""Hostile archives and servers: nothing is written outside the root, nothing at all when a member is unsafe, and
no download or extraction runs past its size or time bound."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from core.data.archives import Archive
from core.data.download import download_dataset
from core.data.extract import safe_extract
from core.data.http import TransientDownloadError, fetch
from core.errors import DownloadError
from tests.hostile.bounded import assert_typed_and_bounded, run_bounded
from tests.hostile.generate import ATTACKS

LIMIT = 50 << 20

EXPECTED = {
    "zip_symlink_chain": "is a symbolic link",
    "tar_long_path_links": "is a symbolic link",
    "tar_hardlink_out": "is a hard link",
    "tar_device": "device or FIFO",
    "zip_duplicate_name": "appears twice",
    "zip_file_and_folder": "both a file and a folder",
    "zip_bomb": "unpacks to more than",
    "zip_lying_size": "corrupt archive|more bytes than",
}


def _everything(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


@pytest.mark.parametrize("name", sorted(ATTACKS["archive"]))
def test_hostile_archive_writes_nothing(tmp_path: Path, name: str):
    src = tmp_path / "src"
    src.mkdir()
    archive = ATTACKS["archive"][name](src)
    root = tmp_path / "root"
    root.mkdir()
    with pytest.raises(DownloadError, match=EXPECTED[name]) as e:
        safe_extract(archive, root / "out", max_bytes=LIMIT)
    assert str(archive) in str(e.value) and "\n" not in str(e.value)
    assert _everything(root) == set()  # no member, no temporary folder
    assert _everything(tmp_path) == {"src", "root", *(f"src/{p}" for p in _everything(src))}


def test_every_archive_attack_has_an_expected_refusal():
    assert set(EXPECTED) == set(ATTACKS["archive"])


@pytest.mark.parametrize("name", ["zip_bomb", "zip_lying_size"])
def test_bombs_are_refused_in_bounded_time_and_memory(tmp_path: Path, name: str):
    archive = ATTACKS["archive"][name](tmp_path)
    body = f"def attack():\n    return safe_extract({str(archive)!r}, {str(tmp_path / 'out')!r}, max_bytes={LIMIT})\n"
    report = run_bounded("from core.data.extract import safe_extract", body)
    assert_typed_and_bounded(report, "DownloadError")


# ----------------------------------------------------------------------------------------------------------
# Hostile servers
# ----------------------------------------------------------------------------------------------------------
class _Server:
    """Streams ``total`` bytes with no Content-Length (so the client cannot know the size in advance), at
    ``rate`` bytes per 10 ms, optionally pausing ``stall`` seconds after the first chunk; counts what it sent."""

    def __init__(self, total: int, rate: int = 1 << 20, stall: float = 0.0) -> None:
        self.sent = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def log_message(self, *args):
                pass

            def do_GET(self):
                self.send_response(200)
                self.end_headers()
                try:
                    while outer.sent < total:
                        n = min(rate, total - outer.sent)
                        self.wfile.write(b"\0" * n)
                        self.wfile.flush()
                        outer.sent += n
                        if stall and outer.sent == n:
                            time.sleep(stall)
                        time.sleep(0.01)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/a.tar.gz"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def test_a_server_streaming_past_the_pin_is_cut_off_at_the_pin(tmp_path: Path):
    pin = 2 << 20
    server = _Server(total=100 << 20)
    try:
        archive = Archive(url=server.url, filename="a.tar.gz", sha256="0" * 64, size=pin)
        with pytest.raises(DownloadError, match=f"more than the pinned size of {pin} bytes"):
            download_dataset("fsdd", tmp_path, archives=[archive], progress=False, retries=0)
        assert server.sent < 20 << 20  # it stopped reading at the pin, not after the server's 100 MB
        assert not (tmp_path / ".downloads" / "a.tar.gz.part").exists()
    finally:
        server.stop()


def test_unpinned_size_is_bounded_too(tmp_path: Path):
    server = _Server(total=100 << 20)
    try:
        with pytest.raises(DownloadError, match="more than the bound of 1048576 bytes"):
            fetch(server.url, tmp_path / "x.part", max_bytes=1 << 20, progress=False)
        assert server.sent < 20 << 20
    finally:
        server.stop()


def test_a_stalled_connection_is_given_up(tmp_path: Path):
    server = _Server(total=4 << 20, stall=30)
    try:
        t0 = time.monotonic()
        with pytest.raises(TransientDownloadError, match="stalled after 1048576 bytes"):
            fetch(server.url, tmp_path / "x.part", progress=False, stall_s=0.5)
        assert time.monotonic() - t0 < 10
        assert (tmp_path / "x.part").stat().st_size == 1 << 20  # kept for a resume
    finally:
        server.stop()


def test_the_deadline_stops_a_slow_download(tmp_path: Path):
    server = _Server(total=100 << 20, rate=64 << 10)
    try:
        t0 = time.monotonic()
        with pytest.raises(DownloadError, match="deadline"):
            fetch(server.url, tmp_path / "x.part", progress=False, deadline=time.monotonic() + 0.5)
        assert time.monotonic() - t0 < 5
    finally:
        server.stop()


def test_official_hosts_are_https():
    from core.data.archives import ARCHIVES

    assert all(a.url.startswith("https://") for archives in ARCHIVES.values() for a in archives)
    assert all(a.size is not None or a.max_size is not None for archives in ARCHIVES.values() for a in archives)
