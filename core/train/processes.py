"""A launched run's process: started in its own session with a log file, recorded in the run store, signalled.

What :func:`spawn` started is recorded under the run store setting ``launch:<run_id>`` (pid, process start token,
command, device, log, host), so that any later process (the app after a restart) can tell whether it still runs
and signal its whole process group.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from typing import Any

from core.runs import RunStore, procinfo

REPO = Path(__file__).resolve().parents[2]
LOG_NAME = "train.log"
LAUNCH_KEY = "launch:"


def spawn(argv: list[str], log_path: Path) -> int:
    """Start ``argv`` in its own session (it outlives the app), output appended to ``log_path``; returns its pid."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=REPO,
            env=env,
            start_new_session=True,
        )
    return proc.pid


def record_launch(store: RunStore, run_id: str, pid: int, argv: list[str], device: str, log: Path) -> None:
    """Record what was started for ``run_id`` (see the module docstring)."""
    info = {
        "pid": pid,
        "start": procinfo.process_start_token(pid),
        "argv": argv,
        "device": device,
        "log": str(log),
        "host": procinfo.hostname(),
        "time": time.time(),
    }
    store.set_setting(LAUNCH_KEY + run_id, info)


def launch_info(store: RunStore, run_id: str) -> dict[str, Any] | None:
    """What :func:`start` recorded about the run's process (pid, command, device, log), or None."""
    return store.get_setting(LAUNCH_KEY + run_id)


def alive(info: dict[str, Any] | None) -> bool:
    """Whether the recorded process still runs on this host (the same process: its start token matches)."""
    if not info or info.get("host") != procinfo.hostname():
        return False
    pid = int(info["pid"])
    token = procinfo.process_start_token(pid)
    return bool(procinfo.pid_alive(pid)) and (not info.get("start") or token == info.get("start"))


def signal_group(info: dict[str, Any] | None, sig: int) -> bool:
    """Send ``sig`` to the recorded process's group; False if it is gone or cannot be signalled."""
    if not alive(info):
        return False
    try:
        os.killpg(int(info["pid"]), sig)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def read_log(path: str | os.PathLike, max_bytes: int = 20_000) -> str:
    """The last ``max_bytes`` of a run's log (whole lines), or an empty string when there is none yet."""
    p = Path(path)
    try:
        with open(p, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - max_bytes))
            data = f.read()
    except OSError:
        return ""
    text = data.decode("utf-8", "replace")
    return text.split("\n", 1)[1] if size > max_bytes and "\n" in text else text
