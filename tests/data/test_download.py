"""Downloads against a loopback HTTP server that honours Range; nothing here touches the internet."""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
import threading
import urllib.parse
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from core.cli import main as cli_main
from core.data import download as dl
from core.data.download import ARCHIVES, Archive, download_dataset, mirror_url, safe_extract
from core.errors import DownloadError


# ----------------------------------------------------------------------------------------------------------
# A loopback server: serves bytes by path, honours Range, can drop the connection after N bytes.
# ----------------------------------------------------------------------------------------------------------
class Loopback:
    def __init__(self, files: dict[str, bytes], *, honour_range: bool = True, drop_after: int | None = None):
        self.files = files
        self.honour_range = honour_range
        self.drop_after = drop_after
        self.requests: list[dict] = []
        self.server: ThreadingHTTPServer | None = None
        self.port = 0

    def start(self, port: int = 0) -> Loopback:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep pytest output clean
                pass

            def do_GET(self):
                outer.requests.append({"path": self.path, "range": self.headers.get("Range")})
                body = outer.files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                first, status = 0, 200
                rng = self.headers.get("Range")
                if rng and outer.honour_range:
                    first = int(rng.removeprefix("bytes=").split("-")[0])
                    if first >= len(body):
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(body)}")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    status = 206
                payload = body[first:]
                self.send_response(status)
                self.send_header("Content-Length", str(len(payload)))
                if status == 206:
                    self.send_header("Content-Range", f"bytes {first}-{len(body) - 1}/{len(body)}")
                self.send_header("Connection", "close")
                self.end_headers()
                if outer.drop_after is not None:
                    self.wfile.write(payload[: outer.drop_after])
                    self.wfile.flush()
                    self.close_connection = True
                    return  # the handler returns: the socket closes with bytes still owed
                self.wfile.write(payload)

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


@pytest.fixture
def servers():
    started: list[Loopback] = []

    def make(files, **kw) -> Loopback:
        s = Loopback(files, **kw).start()
        started.append(s)
        return s

    yield make
    for s in started:
        s.stop()


# ----------------------------------------------------------------------------------------------------------
# Archives the tests build. Random payloads keep gzip from shrinking them, so "mid-file" is well inside.
# ----------------------------------------------------------------------------------------------------------
def _tar_gz(members: dict[str, bytes], top: str = "pkg-1.0") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(f"{top}/{name}" if top else name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _zip(members: dict[str, bytes], top: str = "pkg-master") -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(f"{top}/{name}" if top else name, data)
    return buf.getvalue()


def _pin(url: str, data: bytes, **kw) -> Archive:
    return Archive(
        url=url, filename=url.rsplit("/", 1)[-1], sha256=hashlib.sha256(data).hexdigest(), size=len(data), **kw
    )


MEMBERS = {
    "recordings/0_alice_0.wav": os.urandom(300_000),
    "recordings/1_bob_3.wav": os.urandom(200_000),
    "README.md": b"test fixture\n",
}


def test_download_tar_gz_verify_and_layout(servers, tmp_path):
    data = _tar_gz(MEMBERS)
    srv = servers({"/files/fsdd-1.0.tar.gz": data})
    pin = _pin(f"{srv.base}/files/fsdd-1.0.tar.gz", data, strip="pkg-1.0")
    out = download_dataset("fsdd", tmp_path, archives=[pin], progress=False)
    assert out == tmp_path / "fsdd"
    for name, body in MEMBERS.items():
        assert (out / name).read_bytes() == body
    assert not (tmp_path / ".downloads").exists()  # archive removed without keep_archive
    # A second call finds the marker and downloads nothing.
    n = len(srv.requests)
    download_dataset("fsdd", tmp_path, archives=[pin], progress=False)
    assert len(srv.requests) == n


def test_download_zip_keep_archive_and_md5_pin(servers, tmp_path):
    data = _zip(MEMBERS)
    srv = servers({"/esc.zip": data})
    pin = Archive(
        url=f"{srv.base}/esc.zip",
        filename="esc.zip",
        md5=hashlib.md5(data).hexdigest(),
        strip="pkg-master",
    )
    out = download_dataset("esc50", tmp_path, archives=[pin], progress=False, keep_archive=True)
    assert (out / "recordings/1_bob_3.wav").read_bytes() == MEMBERS["recordings/1_bob_3.wav"]
    assert (tmp_path / ".downloads" / "esc.zip").read_bytes() == data


def test_resume_after_server_killed_mid_file(servers, tmp_path):
    data = _tar_gz(MEMBERS)
    cut = len(data) // 3
    first = servers({"/a/fsdd.tar.gz": data}, drop_after=cut)
    port = first.port
    pin = _pin(f"{first.base}/a/fsdd.tar.gz", data, strip="pkg-1.0")
    with pytest.raises(DownloadError, match="run"):
        download_dataset("fsdd", tmp_path, archives=[pin], progress=False, retries=0)
    part = tmp_path / ".downloads" / "fsdd.tar.gz.part"
    assert part.stat().st_size == cut  # every byte received was kept
    assert first.requests[0]["range"] is None
    first.stop()  # the server is gone: a retry cannot connect
    with pytest.raises(DownloadError):
        download_dataset("fsdd", tmp_path, archives=[pin], progress=False, retries=0)
    assert part.stat().st_size == cut

    second = Loopback({"/a/fsdd.tar.gz": data}).start(port)  # restarted on the same address
    try:
        out = download_dataset("fsdd", tmp_path, archives=[pin], progress=False)
    finally:
        second.stop()
    assert second.requests == [{"path": "/a/fsdd.tar.gz", "range": f"bytes={cut}-"}]
    assert (out / "recordings/0_alice_0.wav").read_bytes() == MEMBERS["recordings/0_alice_0.wav"]


def test_server_ignoring_range_restarts(servers, tmp_path):
    data = _tar_gz(MEMBERS)
    srv = servers({"/x.tar.gz": data}, honour_range=False)
    pin = _pin(f"{srv.base}/x.tar.gz", data, strip="pkg-1.0")
    part = tmp_path / ".downloads" / "x.tar.gz.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(b"garbage that must not be kept")  # wrong prefix: a naive append would corrupt the file
    out = download_dataset("fsdd", tmp_path, archives=[pin], progress=False)
    assert srv.requests[0]["range"] == f"bytes={len(b'garbage that must not be kept')}-"
    assert (out / "README.md").read_bytes() == b"test fixture\n"


def test_416_on_complete_part_is_accepted(servers, tmp_path):
    data = _tar_gz(MEMBERS)
    srv = servers({"/y.tar.gz": data})
    pin = Archive(url=f"{srv.base}/y.tar.gz", filename="y.tar.gz", sha256=hashlib.sha256(data).hexdigest())
    part = tmp_path / ".downloads" / "y.tar.gz.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(data)  # complete, but no size pinned: the server's 416 tells us so
    download_dataset("fsdd", tmp_path, archives=[pin], progress=False)
    assert srv.requests[0]["range"] == f"bytes={len(data)}-"
    assert (tmp_path / "fsdd" / "pkg-1.0" / "README.md").exists()  # strip="" keeps the archive's paths


def test_checksum_mismatch_raises_and_extracts_nothing(servers, tmp_path):
    data = _tar_gz(MEMBERS)
    srv = servers({"/z.tar.gz": data})
    wrong = "0" * 64
    pin = Archive(url=f"{srv.base}/z.tar.gz", filename="z.tar.gz", sha256=wrong, size=len(data), strip="pkg-1.0")
    with pytest.raises(DownloadError) as e:
        download_dataset("fsdd", tmp_path, archives=[pin], progress=False)
    msg = str(e.value)
    assert wrong in msg and hashlib.sha256(data).hexdigest() in msg and "/z.tar.gz" in msg
    assert not any(p.is_file() for p in tmp_path.rglob("*"))  # no extracted files, no stale part


def test_size_mismatch_is_reported(servers, tmp_path):
    data = _tar_gz(MEMBERS)
    srv = servers({"/s.tar.gz": data})
    pin = Archive(url=f"{srv.base}/s.tar.gz", filename="s.tar.gz", sha256="1" * 64, size=len(data) + 5)
    with pytest.raises(DownloadError, match=f"pinned size is {len(data) + 5}"):
        download_dataset("fsdd", tmp_path, archives=[pin], progress=False)


@pytest.mark.parametrize(
    "evil",
    [
        {"../escape.txt": b"x"},
        {"/abs/escape.txt": b"x"},
    ],
)
def test_path_escape_archive_refused(servers, tmp_path, evil):
    data = _tar_gz({"ok.txt": b"fine", **evil}, top="")
    srv = servers({"/evil.tar.gz": data})
    pin = _pin(f"{srv.base}/evil.tar.gz", data)
    with pytest.raises(DownloadError, match="unsafe member path"):
        download_dataset("fsdd", tmp_path / "root", archives=[pin], progress=False)
    assert not (tmp_path / "escape.txt").exists()
    assert not (tmp_path / "root" / "fsdd" / "ok.txt").exists()  # checked before anything is written
    assert sorted(p.name for p in (tmp_path / "root").iterdir()) == [".downloads"]  # only the verified archive


def test_symlink_escape_refused(tmp_path):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        link = tarfile.TarInfo("pkg/link")
        link.type, link.linkname = tarfile.SYMTYPE, "../../outside"
        tf.addfile(link)
    (tmp_path / "evil.tar.gz").write_bytes(buf.getvalue())
    with pytest.raises(DownloadError, match=r"symbolic link .*archives with links are refused"):
        safe_extract(tmp_path / "evil.tar.gz", tmp_path / "out")
    assert not (tmp_path / "out").exists()

    zbuf = io.BytesIO()
    with zipfile.ZipFile(zbuf, "w") as zf:
        info = zipfile.ZipInfo("pkg/link")
        info.external_attr = (0o120777 << 16) | 0
        zf.writestr(info, "/etc/passwd")
        zf.writestr("../up.txt", b"x")
    (tmp_path / "evil.zip").write_bytes(zbuf.getvalue())
    with pytest.raises(DownloadError, match=r"is a symbolic link|unsafe member"):
        safe_extract(tmp_path / "evil.zip", tmp_path / "zout")
    assert not (tmp_path / "zout" / "pkg").exists()


def test_mirror_url_rewrites_scheme_host_and_prefix():
    official = "http://download.tensorflow.org/data/speech_commands_v0.02.tar.gz"
    assert mirror_url(official, None) == official
    assert (
        mirror_url(official, "https://m.example:8443/pub/")
        == "https://m.example:8443/pub/data/speech_commands_v0.02.tar.gz"
    )
    with pytest.raises(DownloadError, match="mirror"):
        mirror_url(official, "ftp://nope")


def test_pins_are_complete_and_cited():
    assert set(ARCHIVES) == {"esc50", "speech_commands", "nsynth", "fsdd"}
    for name, archives in ARCHIVES.items():
        for a in archives:
            assert a.url.startswith(("http://", "https://")), name
            assert a.source, f"{name}: pin without a cited source"
            if a.sha256:
                assert len(a.sha256) == 64 and int(a.sha256, 16) >= 0
            if a.md5:
                assert len(a.md5) == 32 and int(a.md5, 16) >= 0
    assert {a.part for a in ARCHIVES["nsynth"]} == {"train", "valid", "test"}
    with pytest.raises(DownloadError, match="no published digest"):
        Archive(url="http://x/y", filename="y")


def test_cli_download_with_mirror(servers, tmp_path, monkeypatch, capsys):
    data = _zip(MEMBERS, top="free-spoken-digit-dataset-1.0.10")
    official = ARCHIVES["fsdd"][0].url
    path = "/mirror/Jakobovski/free-spoken-digit-dataset/archive/refs/tags/v1.0.10.zip"
    srv = servers({path: data})
    pin = _pin(official, data, strip="free-spoken-digit-dataset-1.0.10")
    monkeypatch.setitem(dl.ARCHIVES, "fsdd", [pin])  # test-only pin; the URL stays the official one
    monkeypatch.delenv(dl.MIRROR_ENV, raising=False)
    rc = cli_main(["data", "download", "fsdd", "--root", str(tmp_path), "--mirror", f"{srv.base}/mirror"])
    assert rc == 0
    assert (tmp_path / "fsdd" / "recordings" / "1_bob_3.wav").read_bytes() == MEMBERS["recordings/1_bob_3.wav"]
    assert str(tmp_path / "fsdd") in capsys.readouterr().out

    rc = cli_main(["data", "download", "nosuch", "--root", str(tmp_path)])
    assert rc == 2
    assert "unknown dataset 'nosuch'" in capsys.readouterr().err


def test_env_mirror_and_http_error(servers, tmp_path, monkeypatch):
    srv = servers({})
    monkeypatch.setenv(dl.MIRROR_ENV, srv.base)
    pin = Archive(url="http://official.invalid/missing.tar.gz", filename="missing.tar.gz", sha256="2" * 64)
    with pytest.raises(DownloadError, match=r"127\.0\.0\.1.*/missing\.tar\.gz: HTTP 404"):
        download_dataset("fsdd", tmp_path, archives=[pin], progress=False, retries=0)
    assert srv.requests[0]["path"] == "/missing.tar.gz"


def test_parts_selection(servers, tmp_path):
    files = {f"/{s}.tar.gz": _tar_gz({"examples.json": s.encode()}, top=f"nsynth-{s}") for s in ("test", "valid")}
    srv = servers(files)
    pins = [_pin(f"{srv.base}/{s}.tar.gz", files[f"/{s}.tar.gz"], part=s) for s in ("test", "valid")]
    out = download_dataset("nsynth", tmp_path, archives=pins, parts=["test"], progress=False)
    assert (out / "nsynth-test" / "examples.json").read_bytes() == b"test"
    assert not (out / "nsynth-valid").exists()
    with pytest.raises(DownloadError, match="unknown part"):
        download_dataset("nsynth", tmp_path, archives=pins, parts=["train"], progress=False)


def test_kept_archive_is_reused_and_reverified(servers, tmp_path):
    data = _tar_gz(MEMBERS)
    srv = servers({"/k.tar.gz": data})
    pin = _pin(f"{srv.base}/k.tar.gz", data, strip="pkg-1.0")
    download_dataset("fsdd", tmp_path, archives=[pin], progress=False, keep_archive=True)
    (tmp_path / "fsdd" / dl.MARKER).unlink()  # forget the install, keep the archive
    n = len(srv.requests)
    download_dataset("fsdd", tmp_path, archives=[pin], progress=False)
    assert len(srv.requests) == n  # verified from disk, not downloaded again
    assert not (tmp_path / ".downloads").exists()


def test_disk_space_and_concurrent_download_refused(servers, tmp_path, monkeypatch):
    import fcntl
    import shutil

    data = _tar_gz(MEMBERS)
    srv = servers({"/d.tar.gz": data})
    pin = _pin(f"{srv.base}/d.tar.gz", data)
    real = shutil.disk_usage
    monkeypatch.setattr(dl.shutil, "disk_usage", lambda p: real(p)._replace(free=len(data)))
    with pytest.raises(DownloadError, match="not enough disk space"):
        download_dataset("fsdd", tmp_path, archives=[pin], progress=False)
    monkeypatch.setattr(dl.shutil, "disk_usage", real)

    lock = tmp_path / ".downloads" / "d.tar.gz.lock"
    lock.parent.mkdir(exist_ok=True)
    with open(lock, "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)  # another process is downloading this archive
        with pytest.raises(DownloadError, match="another process is downloading"):
            download_dataset("fsdd", tmp_path, archives=[pin], progress=False)
    assert srv.requests == []


def test_alias_downloads_parent(servers, tmp_path, monkeypatch):
    data = _zip({"meta/esc50.csv": b"filename,fold\n"}, top="ESC-50-master")
    srv = servers({"/esc.zip": data})
    pin = Archive(
        url=f"{srv.base}/esc.zip", filename="esc.zip", md5=hashlib.md5(data).hexdigest(), strip="ESC-50-master"
    )
    monkeypatch.setitem(dl.ARCHIVES, "esc50", [pin])
    out = download_dataset("esc10", tmp_path, progress=False)
    assert out == tmp_path / "esc50" and (out / "meta" / "esc50.csv").exists()


def test_bad_resumed_prefix_is_discarded_and_fetched_again(servers, tmp_path):
    data = _tar_gz(MEMBERS)
    srv = servers({"/r.tar.gz": data})
    pin = _pin(f"{srv.base}/r.tar.gz", data, strip="pkg-1.0")
    part = tmp_path / ".downloads" / "r.tar.gz.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(b"\0" * 1000)  # a stale prefix: resuming after it gives the right size, the wrong digest
    out = download_dataset("fsdd", tmp_path, archives=[pin], progress=False)
    assert [r["range"] for r in srv.requests] == ["bytes=1000-", None]
    assert (out / "README.md").read_bytes() == b"test fixture\n"


def test_downloaded_layout_is_what_the_fsdd_loader_reads(servers, tmp_path, monkeypatch):
    """Real FSDD clips (from ../shared/data) packed as the official v1.0.10 archive, downloaded, then listed."""
    import csv

    import soundfile as sf

    from core.data import list_clips

    shared = Path(os.environ["CLAR_DATA_DIR"]) / "fsdd"  # KeyError here means CLAR_DATA_DIR is unset
    with open(shared / "metadata.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["speaker"] in ("george", "theo") and int(r["take"]) in (0, 7)]
    members = {}
    for r in rows:
        audio, sr = sf.read(shared / r["path"], dtype="int16")
        buf = io.BytesIO()
        sf.write(buf, audio, sr, format="WAV", subtype="PCM_16")
        members[r["source_file"]] = buf.getvalue()  # recordings/<digit>_<speaker>_<take>.wav
    data = _zip(members, top="free-spoken-digit-dataset-1.0.10")
    official = ARCHIVES["fsdd"][0]
    srv = servers({urllib.parse.urlsplit(official.url).path: data})
    monkeypatch.setitem(dl.ARCHIVES, "fsdd", [_pin(official.url, data, strip=official.strip)])
    assert cli_main(["data", "download", "fsdd", "--root", str(tmp_path), "--mirror", srv.base]) == 0

    monkeypatch.setenv("CLAR_DATA_DIR", str(tmp_path))  # the loader finds <data dir>/fsdd by itself
    clips = list_clips("fsdd")
    assert len(clips.paths) == len(rows) == 40
    by_name = {p.name: (int(lab), str(s)) for p, lab, s in zip(clips.paths, clips.labels, clips.split, strict=True)}
    for r in rows:
        name = Path(r["source_file"]).name
        assert clips.class_names[by_name[name][0]] in (r["label"], r["label_name"])
        assert (by_name[name][1] == "test") == (int(r["take"]) < 5)
