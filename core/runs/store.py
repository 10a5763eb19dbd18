"""The run store: one SQLite file (WAL) that training processes, the CLI and the app share.

:class:`RunStore` joins the pieces: the connection and retry logic (:mod:`core.runs.connection`), the tables
(:mod:`core.runs.schema`), runs with exclusive ownership (:mod:`core.runs.runs`), stale-run detection
(:mod:`core.runs.liveness`), metrics (:mod:`core.runs.metrics`), artifacts (:mod:`core.runs.artifacts`) and
app state (:mod:`core.runs.app_state`).
"""

from __future__ import annotations

import os
from pathlib import Path

from core.runs.app_state import AppStateTables
from core.runs.artifacts import ArtifactsTable
from core.runs.connection import Database
from core.runs.heartbeat import HeartbeatThread
from core.runs.metrics import MetricsTable
from core.runs.runs import RunsTable

DB_ENV = "CLAR_RUNS_DB"


def default_db_path() -> Path:
    """``$CLAR_RUNS_DB`` if set, else ``core.paths.checkpoints_dir()/runs.sqlite``."""
    env = os.environ.get(DB_ENV)
    if env:
        return Path(env).expanduser()
    from core.paths import checkpoints_dir

    return checkpoints_dir() / "runs.sqlite"


class RunStore(RunsTable, MetricsTable, ArtifactsTable, AppStateTables, Database):
    """A handle on the run database (thread-safe, fork-safe; cheap to create).

    Args:
        path: database file; default :func:`default_db_path`. Its folder is created if missing.
        stale_after_s: seconds without a heartbeat after which a ``running`` run is ``interrupted``, for runs that
            did not record their own limit.
        busy_timeout_s: SQLite busy timeout per attempt, in seconds.
        lock_timeout_s: total seconds a write keeps retrying on ``SQLITE_BUSY`` before giving up.
        synchronous: SQLite ``synchronous`` level, ``"FULL"`` or ``"NORMAL"``.
    """

    def __init__(
        self,
        path: str | os.PathLike | None = None,
        *,
        stale_after_s: float = 60.0,
        busy_timeout_s: float = 5.0,
        lock_timeout_s: float = 120.0,
        synchronous: str = "FULL",
    ) -> None:
        self.stale_after_s = float(stale_after_s)
        super().__init__(
            path if path is not None else default_db_path(),
            busy_timeout_s=busy_timeout_s,
            lock_timeout_s=lock_timeout_s,
            synchronous=synchronous,
        )

    def start_heartbeat(self, run_id: str, interval_s: float = 10.0, owner: str | None = None) -> HeartbeatThread:
        """Start a daemon thread calling :meth:`heartbeat` every ``interval_s`` seconds; ``.stop()`` it."""
        thread = HeartbeatThread(self, run_id, interval_s, owner)
        thread.start()
        return thread
