"""The run store: one SQLite file in WAL mode that training processes, the CLI and the app share.

Tables:

- ``runs``: id, name, config (JSON), status, host, pid, proc_start (process start token, see
  :mod:`core.runs.procinfo`), heartbeat, created, started, ended (Unix seconds, UTC), final_metrics (JSON),
  cancel_requested, status_reason.
- ``metrics``: run_id, step, epoch, key, value, time. One row per (run, key, step): logging a key again at a
  step replaces it, and :meth:`RunStore.truncate_metrics` drops the rows after a resumed checkpoint.
- ``artifacts``: id, run_id, kind, path, meta (JSON), created.

Concurrency: every write is one ``BEGIN IMMEDIATE`` transaction. SQLite's busy timeout waits for the write
lock, and on ``SQLITE_BUSY`` the whole transaction is retried with jittered exponential backoff until
``lock_timeout_s`` has passed, so several processes and threads can write at once without
"database is locked" errors. Readers never block writers (WAL). Each thread and each process (after a
fork) gets its own connection. ``synchronous=FULL`` makes every committed transaction survive a crash of
the process (SIGKILL) and of the machine.

WAL needs shared memory between the processes that open the file, so the database must live on a local
disk, not on NFS or another network file system.

Stale runs: every read (:meth:`RunStore.get_run`, :meth:`RunStore.list_runs`) marks ``interrupted`` a run
still ``running`` whose heartbeat is older than ``stale_after_s``; on the run's own host, a run whose process
is gone (or a zombie), or whose PID now belongs to a process with another start time (PID reuse), is marked
at once. Runs on other hosts are judged by their heartbeat alone.
"""

from __future__ import annotations

import json
import math
import os
import random
import secrets
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from core.errors import RunStoreError
from core.runs import procinfo

T = TypeVar("T")

STATUSES = ("created", "running", "completed", "failed", "cancelled", "interrupted")
FINAL_STATUSES = ("completed", "failed", "cancelled", "interrupted")
DB_ENV = "CLAR_RUNS_DB"
SCHEMA_VERSION = 1

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS runs (
    id               TEXT PRIMARY KEY,
    name             TEXT NOT NULL,
    config           TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ({", ".join(repr(s) for s in STATUSES)})),
    host             TEXT,
    pid              INTEGER,
    proc_start       TEXT,
    heartbeat        REAL,
    created          REAL NOT NULL,
    started          REAL,
    ended            REAL,
    final_metrics    TEXT,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    status_reason    TEXT
);
CREATE INDEX IF NOT EXISTS runs_status ON runs(status);
CREATE TABLE IF NOT EXISTS metrics (
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    key    TEXT NOT NULL,
    step   INTEGER NOT NULL,
    epoch  INTEGER,
    value  REAL,
    time   REAL NOT NULL,
    PRIMARY KEY (run_id, key, step)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS metrics_step ON metrics(run_id, step);
CREATE TABLE IF NOT EXISTS artifacts (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id  TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    kind    TEXT NOT NULL,
    path    TEXT NOT NULL,
    meta    TEXT,
    created REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS artifacts_run ON artifacts(run_id);
"""


def default_db_path() -> Path:
    """``$CLAR_RUNS_DB`` if set, else ``core.paths.checkpoints_dir()/runs.sqlite``."""
    env = os.environ.get(DB_ENV)
    if env:
        return Path(env).expanduser()
    from core.paths import checkpoints_dir

    return checkpoints_dir() / "runs.sqlite"


def new_run_id(now: float | None = None) -> str:
    """A sortable run id: ``YYYYmmdd-HHMMSS-xxxx`` (UTC time, then 4 random hex digits)."""
    stamp = datetime.fromtimestamp(time.time() if now is None else now, UTC).strftime("%Y%m%d-%H%M%S")
    return f"{stamp}-{secrets.token_hex(2)}"


def _to_json(obj: Any, what: str) -> str:
    try:
        return json.dumps(obj, sort_keys=True, allow_nan=True)
    except (TypeError, ValueError) as e:
        raise RunStoreError(f"{what} is not JSON-serialisable: {e}") from e


class _Connection(sqlite3.Connection):
    """A connection that can be weakly referenced and remembers the process that opened it."""

    owner_pid: int = -1


def _is_busy(e: sqlite3.OperationalError) -> bool:
    msg = str(e).lower()
    return "locked" in msg or "busy" in msg


class RunStore:
    """A handle on the run database (thread-safe, fork-safe; cheap to create).

    Args:
        path: database file; default :func:`default_db_path`. Its folder is created if missing.
        stale_after_s: seconds without a heartbeat after which a ``running`` run is ``interrupted``.
        busy_timeout_s: SQLite busy timeout per attempt, in seconds.
        lock_timeout_s: total seconds a write keeps retrying on ``SQLITE_BUSY`` before giving up.
        synchronous: SQLite ``synchronous`` level, ``"FULL"`` (default: durable across power loss) or
            ``"NORMAL"`` (durable across process crashes only; faster).
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
        self.path = Path(path).expanduser() if path is not None else default_db_path()
        self.stale_after_s = float(stale_after_s)
        self.busy_timeout_s = float(busy_timeout_s)
        self.lock_timeout_s = float(lock_timeout_s)
        if synchronous.upper() not in ("FULL", "NORMAL", "EXTRA"):
            raise RunStoreError(f"synchronous={synchronous!r}: expected FULL, NORMAL or EXTRA")
        self.synchronous = synchronous.upper()
        self._local = threading.local()
        # Weak: a thread's connection closes when the thread ends (its thread-local goes), so short-lived
        # threads (web apps) do not pile up open connections.
        self._all: weakref.WeakSet[_Connection] = weakref.WeakSet()
        self._all_lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise RunStoreError(f"{self.path}: cannot create the folder of the run database ({e})") from e
        self._init_schema()

    # ------------------------------------------------------------------------------------------------------
    # Connections and transactions
    # ------------------------------------------------------------------------------------------------------
    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is not None and self._local.pid == os.getpid():
            return conn
        try:
            conn = sqlite3.connect(
                self.path,
                timeout=self.busy_timeout_s,
                isolation_level=None,
                check_same_thread=False,
                factory=_Connection,
            )
            conn.owner_pid = os.getpid()
            conn.row_factory = sqlite3.Row
            mode = self._retry(lambda: conn.execute("PRAGMA journal_mode=WAL").fetchone()[0])
            if str(mode).lower() != "wal":
                raise RunStoreError(
                    f"{self.path}: SQLite refused WAL mode (got {mode!r}); put the run database on a local disk"
                )
            conn.execute(f"PRAGMA synchronous={self.synchronous}")
            conn.execute("PRAGMA foreign_keys=ON")
        except sqlite3.DatabaseError as e:
            raise RunStoreError(f"{self.path}: cannot open the run database ({e})") from e
        self._local.conn, self._local.pid = conn, os.getpid()
        with self._all_lock:
            self._all.add(conn)
        return conn

    def _retry(self, fn: Callable[[], T]) -> T:
        """Run ``fn``, retrying on SQLITE_BUSY with jittered exponential backoff for ``lock_timeout_s``."""
        deadline = time.monotonic() + self.lock_timeout_s
        delay = 0.005
        while True:
            try:
                return fn()
            except sqlite3.OperationalError as e:
                if not _is_busy(e) or time.monotonic() > deadline:
                    raise RunStoreError(f"{self.path}: {e}") from e
            time.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 0.5)

    def _write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn(conn)`` inside one ``BEGIN IMMEDIATE`` transaction, retried as a whole when busy."""
        conn = self._conn()

        def attempt() -> T:
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = fn(conn)
                conn.execute("COMMIT")
                return result
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

        try:
            return self._retry(attempt)
        except sqlite3.IntegrityError as e:
            raise RunStoreError(f"{self.path}: {e}") from e
        except sqlite3.DatabaseError as e:
            raise RunStoreError(f"{self.path}: {e}") from e

    def _read(self, sql: str, params: tuple = ()) -> list[sqlite3.Row]:
        conn = self._conn()
        try:
            return self._retry(lambda: conn.execute(sql, params).fetchall())
        except sqlite3.DatabaseError as e:
            raise RunStoreError(f"{self.path}: {e}") from e

    def _init_schema(self) -> None:
        def create(conn: sqlite3.Connection) -> None:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise RunStoreError(
                    f"{self.path}: run database schema {version} is newer than this CLAR Studio ({SCHEMA_VERSION})"
                )
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

        self._write(create)

    def close(self) -> None:
        """Close every connection this handle opened in this process (never one inherited across a fork)."""
        pid = os.getpid()
        with self._all_lock:
            conns = [c for c in self._all if c.owner_pid == pid]
            for c in conns:
                self._all.discard(c)
        for conn in conns:
            with suppress(sqlite3.Error):
                conn.close()
        self._local = threading.local()

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def integrity_check(self) -> str:
        """``PRAGMA integrity_check``: ``"ok"`` for a sound database, else SQLite's first complaint."""
        return str(self._read("PRAGMA integrity_check")[0][0])

    # ------------------------------------------------------------------------------------------------------
    # Runs: lifecycle
    # ------------------------------------------------------------------------------------------------------
    def create_run(self, name: str, config: Mapping[str, Any], run_id: str | None = None) -> str:
        """Record a new run (status ``created``); returns its id (:func:`new_run_id` unless given)."""
        cfg = _to_json(dict(config), f"config of run {name!r}")
        now = time.time()

        def insert(conn: sqlite3.Connection) -> str:
            for _ in range(20):
                rid = run_id or new_run_id(now)
                try:
                    conn.execute(
                        "INSERT INTO runs (id, name, config, status, created) VALUES (?, ?, ?, 'created', ?)",
                        (rid, name, cfg, now),
                    )
                    return rid
                except sqlite3.IntegrityError as e:
                    if run_id is not None:
                        raise RunStoreError(f"run {run_id!r} already exists in {self.path}") from e
            raise RunStoreError(f"{self.path}: could not find a free run id")

        return self._write(insert)

    def mark_running(self, run_id: str, pid: int | None = None) -> None:
        """Mark ``run_id`` running in this process (or ``pid``): records host, pid, start token, heartbeat.

        Also used on resume: the previous end time and any cancel request are cleared.

        Raises:
            RunStoreError: no such run, or the run is already running in another live process.
        """
        pid = os.getpid() if pid is None else int(pid)
        host, token, now = procinfo.hostname(), procinfo.process_start_token(pid), time.time()
        self.get_run(run_id)  # reaps a stale owner first; raises if missing

        def update(conn: sqlite3.Connection) -> None:
            row = conn.execute("SELECT status, host, pid FROM runs WHERE id = ?", (run_id,)).fetchone()
            if row is None:
                raise RunStoreError(f"no run {run_id!r} in {self.path}")
            if row["status"] == "running" and (row["host"], row["pid"]) != (host, pid):
                raise RunStoreError(f"run {run_id} is already running (pid {row['pid']} on {row['host']})")
            conn.execute(
                "UPDATE runs SET status = 'running', host = ?, pid = ?, proc_start = ?, heartbeat = ?, "
                "started = COALESCE(started, ?), ended = NULL, cancel_requested = 0, status_reason = NULL "
                "WHERE id = ?",
                (host, pid, token, now, now, run_id),
            )

        self._write(update)

    def heartbeat(self, run_id: str) -> bool:
        """Refresh the heartbeat of a run owned by this process; returns False if another process owns it.

        A run of this process that a reader had marked ``interrupted`` because its heartbeat was late is
        ``running`` again after this call; a run finished explicitly is never revived.
        """
        host, pid = procinfo.hostname(), os.getpid()

        def beat(conn: sqlite3.Connection) -> bool:
            cur = conn.execute(
                "UPDATE runs SET heartbeat = ?, status = 'running', status_reason = NULL "
                "WHERE id = ? AND host = ? AND pid = ? "
                "AND (status = 'running' OR (status = 'interrupted' AND status_reason LIKE 'stale:%'))",
                (time.time(), run_id, host, pid),
            )
            if cur.rowcount == 0 and conn.execute("SELECT 1 FROM runs WHERE id = ?", (run_id,)).fetchone() is None:
                raise RunStoreError(f"no run {run_id!r} in {self.path}")
            return cur.rowcount == 1

        return self._write(beat)

    def start_heartbeat(self, run_id: str, interval_s: float = 10.0) -> HeartbeatThread:
        """Start a daemon thread calling :meth:`heartbeat` every ``interval_s`` seconds; ``.stop()`` it."""
        thread = HeartbeatThread(self, run_id, interval_s)
        thread.start()
        return thread

    def finish(self, run_id: str, status: str, final_metrics: Mapping[str, float] | None = None) -> None:
        """End a run with ``status`` (completed, failed, cancelled or interrupted) and its final metrics."""
        if status not in FINAL_STATUSES:
            raise RunStoreError(f"finish({run_id!r}): status {status!r} is not one of {', '.join(FINAL_STATUSES)}")
        fm = None if final_metrics is None else _to_json(dict(final_metrics), f"final metrics of run {run_id}")

        def update(conn: sqlite3.Connection) -> None:
            cur = conn.execute(
                "UPDATE runs SET status = ?, ended = ?, final_metrics = COALESCE(?, final_metrics), "
                "status_reason = NULL WHERE id = ?",
                (status, time.time(), fm, run_id),
            )
            if cur.rowcount == 0:
                raise RunStoreError(f"no run {run_id!r} in {self.path}")

        self._write(update)

    def request_cancel(self, run_id: str) -> None:
        """Ask the process running ``run_id`` to stop (it polls :meth:`cancel_requested`)."""

        def update(conn: sqlite3.Connection) -> None:
            if conn.execute("UPDATE runs SET cancel_requested = 1 WHERE id = ?", (run_id,)).rowcount == 0:
                raise RunStoreError(f"no run {run_id!r} in {self.path}")

        self._write(update)

    def cancel_requested(self, run_id: str) -> bool:
        """True once :meth:`request_cancel` was called for ``run_id`` (and it was not resumed since)."""
        rows = self._read("SELECT cancel_requested FROM runs WHERE id = ?", (run_id,))
        if not rows:
            raise RunStoreError(f"no run {run_id!r} in {self.path}")
        return bool(rows[0][0])

    # ------------------------------------------------------------------------------------------------------
    # Runs: reading, with stale detection
    # ------------------------------------------------------------------------------------------------------
    def _stale_reason(self, row: sqlite3.Row, now: float) -> str | None:
        if row["status"] != "running":
            return None
        recorded = row["proc_start"]
        # Same host name and (on Linux) the same boot: the PID can be checked here. After a reboot, or for a
        # machine that merely shares the host name, only the heartbeat counts.
        local = row["host"] == procinfo.hostname() and (
            not recorded or procinfo.same_boot(recorded, procinfo.process_start_token(os.getpid()))
        )
        if local and row["pid"] is not None:
            alive = procinfo.pid_alive(row["pid"])
            if alive is False:
                return f"process {row['pid']} is gone"
            token = procinfo.process_start_token(row["pid"]) if alive else None
            if token and recorded and procinfo.same_boot(token, recorded) and token != recorded:
                return f"pid {row['pid']} now belongs to another process (start {token}, run's {recorded})"
        heartbeat = row["heartbeat"] if row["heartbeat"] is not None else row["created"]
        if now - heartbeat > self.stale_after_s:
            return f"no heartbeat for {now - heartbeat:.0f} s (timeout {self.stale_after_s:g} s)"
        return None

    def _reap(self, rows: list[sqlite3.Row]) -> bool:
        """Mark stale running runs ``interrupted``; True if any row changed."""
        now = time.time()
        stale = [(row, reason) for row in rows if (reason := self._stale_reason(row, now))]
        if not stale:
            return False

        def update(conn: sqlite3.Connection) -> None:
            for row, reason in stale:
                # Conditional on the row being unchanged since it was read: a fresh heartbeat or a resume wins.
                conn.execute(
                    "UPDATE runs SET status = 'interrupted', ended = ?, status_reason = ? "
                    "WHERE id = ? AND status = 'running' AND pid IS ? AND heartbeat IS ?",
                    (now, f"stale: {reason}", row["id"], row["pid"], row["heartbeat"]),
                )

        self._write(update)
        return True

    @staticmethod
    def _run_dict(row: sqlite3.Row) -> dict[str, Any]:
        d = dict(row)
        d["config"] = json.loads(d["config"]) if d["config"] else {}
        d["final_metrics"] = json.loads(d["final_metrics"]) if d["final_metrics"] else None
        d["cancel_requested"] = bool(d["cancel_requested"])
        return d

    def get_run(self, run_id: str) -> dict[str, Any]:
        """The run's row as a dict (config and final_metrics decoded from JSON; times in Unix seconds)."""
        rows = self._read("SELECT * FROM runs WHERE id = ?", (run_id,))
        if not rows:
            raise RunStoreError(f"no run {run_id!r} in {self.path}")
        if self._reap(rows):
            rows = self._read("SELECT * FROM runs WHERE id = ?", (run_id,))
        return self._run_dict(rows[0])

    def list_runs(self, status: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        """All runs, newest first, optionally only those with ``status`` and at most ``limit`` of them."""
        if status is not None and status not in STATUSES:
            raise RunStoreError(f"status {status!r} is not one of {', '.join(STATUSES)}")
        self._reap(self._read("SELECT * FROM runs WHERE status = 'running'"))
        where, params = ("", ()) if status is None else ("WHERE status = ?", (status,))
        tail = "" if limit is None else f" LIMIT {int(limit)}"
        rows = self._read(f"SELECT * FROM runs {where} ORDER BY created DESC, id DESC{tail}", params)
        return [self._run_dict(r) for r in rows]

    # ------------------------------------------------------------------------------------------------------
    # Metrics
    # ------------------------------------------------------------------------------------------------------
    def log_metrics(self, run_id: str, step: int, epoch: int | None, metrics: Mapping[str, float]) -> None:
        """Record ``metrics`` at ``step`` in one transaction; a key already logged at that step is replaced.

        Values are stored as floats; NaN is stored as NULL (SQLite has no NaN) and reads back as NaN.
        """
        now = time.time()
        rows = []
        for key, value in metrics.items():
            try:
                v = float(value)
            except (TypeError, ValueError) as e:
                raise RunStoreError(f"run {run_id}: metric {key!r} = {value!r} is not a number") from e
            rows.append((run_id, str(key), int(step), None if epoch is None else int(epoch), v, now))

        def insert(conn: sqlite3.Connection) -> None:
            try:
                conn.executemany(
                    "INSERT OR REPLACE INTO metrics (run_id, key, step, epoch, value, time) VALUES (?, ?, ?, ?, ?, ?)",
                    rows,
                )
            except sqlite3.IntegrityError as e:
                raise RunStoreError(f"no run {run_id!r} in {self.path} (cannot log metrics)") from e

        self._write(insert)

    def truncate_metrics(self, run_id: str, after_step: int) -> int:
        """Delete the run's metric rows with step > ``after_step`` (used on resume); returns how many."""
        return self._write(
            lambda conn: (
                conn.execute("DELETE FROM metrics WHERE run_id = ? AND step > ?", (run_id, int(after_step))).rowcount
            )
        )

    def metrics(self, run_id: str, key: str | None = None, after_step: int | None = None) -> list[dict[str, Any]]:
        """Metric rows ``{step, epoch, key, value, time}`` ordered by step then key.

        Args:
            key: only this metric.
            after_step: only rows with step > after_step (for polling a live run).
        """
        sql = "SELECT step, epoch, key, value, time FROM metrics WHERE run_id = ?"
        params: tuple = (run_id,)
        if key is not None:
            sql += " AND key = ?"
            params += (key,)
        if after_step is not None:
            sql += " AND step > ?"
            params += (int(after_step),)
        out = []
        for r in self._read(sql + " ORDER BY step, key", params):
            d = dict(r)
            if d["value"] is None:
                d["value"] = math.nan
            out.append(d)
        return out

    def metrics_frame(self, run_id: str, key: str | None = None, wide: bool = False):
        """Metrics as a pandas DataFrame: long (step, epoch, key, value, time) or ``wide`` (one column per key)."""
        import pandas as pd

        frame = pd.DataFrame(self.metrics(run_id, key), columns=["step", "epoch", "key", "value", "time"])
        if wide:
            frame = frame.pivot_table(index=["step"], columns="key", values="value", aggfunc="last").reset_index()
            frame.columns.name = None
        return frame

    # ------------------------------------------------------------------------------------------------------
    # Artifacts
    # ------------------------------------------------------------------------------------------------------
    def add_artifact(
        self, run_id: str, kind: str, path: str | os.PathLike, meta: Mapping[str, Any] | None = None
    ) -> int:
        """Record a file or folder (checkpoint, embeddings, ...) produced by the run; returns its id."""
        m = None if meta is None else _to_json(dict(meta), f"artifact meta of run {run_id}")

        def insert(conn: sqlite3.Connection) -> int:
            try:
                cur = conn.execute(
                    "INSERT INTO artifacts (run_id, kind, path, meta, created) VALUES (?, ?, ?, ?, ?)",
                    (run_id, kind, str(Path(path).absolute()), m, time.time()),
                )
            except sqlite3.IntegrityError as e:
                raise RunStoreError(f"no run {run_id!r} in {self.path} (cannot add artifact)") from e
            return int(cur.lastrowid)

        return self._write(insert)

    def artifacts(self, run_id: str, kind: str | None = None) -> list[dict[str, Any]]:
        """Artifacts of the run ``{id, run_id, kind, path, meta, created}``, oldest first."""
        sql, params = "SELECT * FROM artifacts WHERE run_id = ?", (run_id,)
        if kind is not None:
            sql, params = sql + " AND kind = ?", (run_id, kind)
        out = []
        for r in self._read(sql + " ORDER BY id", params):
            d = dict(r)
            d["meta"] = json.loads(d["meta"]) if d["meta"] else None
            out.append(d)
        return out

    # ------------------------------------------------------------------------------------------------------
    # Deletion and export
    # ------------------------------------------------------------------------------------------------------
    def delete_run(self, run_id: str, delete_files: bool = False, force: bool = False) -> list[str]:
        """Delete the run and its metrics and artifact records; returns the artifact paths removed from disk.

        Args:
            delete_files: also delete the artifact files and folders on disk.
            force: delete even while the run is ``running`` (otherwise cancel it first).
        """
        import shutil

        run = self.get_run(run_id)
        if run["status"] == "running" and not force:
            raise RunStoreError(f"run {run_id} is running; cancel it first (or force the deletion)")
        paths = [a["path"] for a in self.artifacts(run_id)]
        self._write(lambda conn: conn.execute("DELETE FROM runs WHERE id = ?", (run_id,)))
        removed = []
        if delete_files:
            for p in map(Path, paths):
                try:
                    if p.is_dir() and not p.is_symlink():
                        shutil.rmtree(p)
                    elif p.exists() or p.is_symlink():
                        p.unlink()
                    else:
                        continue
                    removed.append(str(p))
                except OSError as e:
                    raise RunStoreError(f"run {run_id} deleted, but its artifact {p} could not be removed: {e}") from e
        return removed

    def export_csv(self, run_id: str, path: str | os.PathLike) -> Path:
        """Write the run's metrics to ``path`` as CSV (columns run_id, step, epoch, key, value, time)."""
        from core.runs.export import write_csv

        self.get_run(run_id)
        return write_csv(run_id, self.metrics(run_id), Path(path))

    def export_tensorboard(self, run_id: str, logdir: str | os.PathLike) -> Path:
        """Write the run's metrics (and config as text) as TensorBoard scalars under ``logdir/<run_id>``.

        Needs the optional ``tensorboard`` package.
        """
        from core.runs.export import write_tensorboard

        run = self.get_run(run_id)
        return write_tensorboard(run, self.metrics(run_id), Path(logdir))


class HeartbeatThread(threading.Thread):
    """Calls ``store.heartbeat(run_id)`` every ``interval_s`` seconds until :meth:`stop`."""

    def __init__(self, store: RunStore, run_id: str, interval_s: float = 10.0) -> None:
        super().__init__(name=f"heartbeat-{run_id}", daemon=True)
        self.store, self.run_id, self.interval_s = store, run_id, float(interval_s)
        self._stop_event = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        while not self._stop_event.wait(self.interval_s):
            try:
                self.store.heartbeat(self.run_id)
            except Exception as e:  # keep beating through a transient failure; report the last one
                self.error = e

    def stop(self, timeout: float | None = 5.0) -> None:
        self._stop_event.set()
        if self.is_alive():
            self.join(timeout)


@contextmanager
def running(store: RunStore, run_id: str, heartbeat_s: float = 10.0) -> Iterator[HeartbeatThread]:
    """Mark ``run_id`` running, heartbeat in the background, and finish it ``failed`` on an exception.

    The caller finishes the run (completed / cancelled) itself; an exception escaping the block marks it
    ``failed`` (``interrupted`` for KeyboardInterrupt) and is re-raised.
    """
    store.mark_running(run_id)
    beat = store.start_heartbeat(run_id, heartbeat_s)
    try:
        yield beat
    except KeyboardInterrupt:
        beat.stop()
        store.finish(run_id, "interrupted")
        raise
    except BaseException:
        beat.stop()
        store.finish(run_id, "failed")
        raise
    finally:
        beat.stop()
