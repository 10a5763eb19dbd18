"""Slow actions the pages start and then watch: a cancel (up to 25 s), an estimate, an evaluation, a download.

A :class:`Job` runs in a background thread of the app's process, so a page returns at once and shows the job's
progress on its next refresh; jobs are shared by every browser tab (a second tab sees the same cancel in flight)
and keyed, so pressing a button twice does not start a second one. Commands run as subprocesses of ``python -m
core``: a Streamlit script cannot be stopped, but a subprocess can, and the engine's own progress bars (tqdm)
give the progress. Jobs live as long as the app; what must outlive it (training runs) is not a job.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[1]
_PERCENT = re.compile(r"(\d{1,3})%\|")
_OUTPUT_LIMIT = 200_000


@dataclass
class Job:
    """One background action and what it has reported so far.

    Attributes:
        key: what it is for (``cancel:<run>``, ``estimate:<form>``, ...); one job per key at a time.
        title: one line for the page.
        started: wall-clock start (Unix seconds).
        ended: wall-clock end, or None while it runs.
        result: what it returned (a sentence, a parsed report, ...).
        error: one line when it failed.
        progress: a fraction in [0, 1] when known.
        output: a subprocess's output so far (its last 200 kB).
    """

    key: str
    title: str
    started: float = field(default_factory=time.time)
    ended: float | None = None
    result: Any = None
    error: str | None = None
    progress: float | None = None
    output: str = ""
    process: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def running(self) -> bool:
        """Not finished yet."""
        return self.ended is None

    @property
    def seconds(self) -> float:
        """How long it has run (or ran)."""
        return (self.ended or time.time()) - self.started

    def stop(self) -> None:
        """Terminate its subprocess, if it has one that still runs."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()


_jobs: dict[str, Job] = {}
_lock = threading.Lock()


def get(key: str) -> Job | None:
    """The job for ``key`` (running or finished), or None."""
    with _lock:
        return _jobs.get(key)


def forget(key: str) -> None:
    """Drop a finished job (its result has been shown)."""
    with _lock:
        job = _jobs.get(key)
        if job is not None and not job.running:
            del _jobs[key]


def submit(key: str, title: str, fn: Callable[[Job], Any]) -> Job:
    """Start ``fn(job)`` in a thread unless a job for ``key`` is running; returns the job for ``key``.

    ``fn`` returns the result; an exception becomes the job's one-line ``error`` (and the traceback goes to the
    server log, never to the page).
    """
    with _lock:
        old = _jobs.get(key)
        if old is not None and old.running:
            return old
        job = _jobs[key] = Job(key, title)

    def work() -> None:
        try:
            job.result = fn(job)
        except Exception as e:
            log.exception("job %s failed", key)
            job.error = " ".join(str(e).split()) or type(e).__name__
        finally:
            job.ended = time.time()

    threading.Thread(target=work, name=f"job:{key}", daemon=True).start()
    return job


def core_command(*args: str) -> list[str]:
    """``python -m core ARGS`` with this interpreter."""
    return [sys.executable, "-m", "core", *args]


def run_command(job: Job, argv: list[str], timeout_s: float = 3600.0) -> str:
    """Run a command for ``job``: its output streams into ``job.output``, tqdm's percentages into ``job.progress``.

    Returns the whole output; raises RuntimeError with the command's last error line when it fails.
    """
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        argv, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
    )
    job.process = proc
    deadline = time.monotonic() + timeout_s
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    while True:
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        job.output = (job.output + chunk.decode("utf-8", "replace"))[-_OUTPUT_LIMIT:]
        found = _PERCENT.findall(job.output[-2000:])
        if found:
            job.progress = min(1.0, int(found[-1]) / 100)
        if time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"stopped after {timeout_s:g} s")
    code = proc.wait()
    if code != 0:
        lines = [ln.strip() for ln in re.split(r"[\r\n]", job.output) if ln.strip()]
        errors = [ln for ln in lines if ln.startswith("error:")]
        raise RuntimeError((errors or lines or [f"exit status {code}"])[-1].removeprefix("error: "))
    job.progress = 1.0
    return job.output
