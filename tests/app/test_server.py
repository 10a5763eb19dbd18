"""``python -m app``: loopback by default, a non-loopback address only with --allow-remote and then a token on
every request, a busy port in one line, Ctrl-C stops it cleanly; and the pages never import librosa, numba or
umap (numba compiles for seconds on first use)."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "CLAR_RUNS_DB": str(tmp_path / "runs.sqlite"),
            "CLAR_CHECKPOINT_DIR": str(tmp_path / "ckpt")}  # fmt: skip


def _app(tmp_path: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "app", *args], cwd=tmp_path, env=_env(tmp_path), stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


def _get(url: str, cookie: str | None = None) -> tuple[int, dict]:
    req = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers)


def _wait_healthy(url: str, proc: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
        try:
            if _get(url)[0] in (200, 403):
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"{url} never answered")


def test_a_non_loopback_host_needs_allow_remote(tmp_path):
    out = subprocess.run([sys.executable, "-m", "app", "--host", "0.0.0.0"], cwd=tmp_path, env=_env(tmp_path),
                         capture_output=True, text=True, timeout=60)  # fmt: skip
    assert out.returncode == 2 and out.stderr.count("\n") == 1
    assert "--allow-remote" in out.stderr and "SSH tunnel" in out.stderr


def test_a_busy_port_is_one_line_naming_it(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        out = subprocess.run([sys.executable, "-m", "app", "--port", str(port)], cwd=tmp_path, env=_env(tmp_path),
                             capture_output=True, text=True, timeout=60)  # fmt: skip
    assert out.returncode == 2 and out.stderr.strip() == (
        f"error: port {port} on 127.0.0.1 is in use (another CLAR Studio?); choose --port"
    )


@pytest.mark.slow
def test_remote_access_needs_the_token_then_its_cookie_and_ctrl_c_stops_cleanly(tmp_path):
    port = _free_port()
    proc = _app(tmp_path, "--host", "0.0.0.0", "--allow-remote", "--port", str(port))
    try:
        first = proc.stdout.readline()
        token = re.search(r"\?token=([\w-]+)", first).group(1)
        base = f"http://127.0.0.1:{port}"
        _wait_healthy(base + "/_stcore/health", proc)
        assert _get(base + "/")[0] == 403 and _get(base + "/_stcore/health")[0] == 403
        assert _get(base + "/?token=wrong")[0] == 403
        status, headers = _get(f"{base}/?token={token}")
        assert status == 200 and "httponly" in headers["set-cookie"].lower()
        cookie = headers["set-cookie"].split(";")[0]
        assert _get(base + "/runs", cookie)[0] == 200 and _get(base + "/_stcore/health", cookie)[0] == 200
    finally:
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=30)
    assert code == 0


def test_the_pages_never_import_librosa_numba_or_umap(tmp_path):
    script = (
        "import sys\nfrom streamlit.testing.v1 import AppTest\n"
        f"for name in ('train', 'runs', 'data'):\n"
        f"    at = AppTest.from_file({str(REPO / 'pages')!r} + '/' + name + '.py', default_timeout=120)\n"
        "    at.run()\n    assert not at.exception, (name, at.exception)\n"
        "heavy = sorted(m for m in ('librosa', 'numba', 'umap') if m in sys.modules)\n"
        "print('heavy:', heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=_env(tmp_path), capture_output=True,
                         text=True, timeout=300)  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    assert "heavy: []" in out.stdout, out.stdout
