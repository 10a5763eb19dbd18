"""The run database connection.

The run database connection: one SQLite file in WAL mode, a connection per thread and process, and writes retried on
``SQLITE_BUSY``.

Every write is one ``BEGIN IMMEDIATE`` transaction. SQLite's busy timeout waits for the write lock, and on
``SQLITE_BUSY`` the whole transaction is retried with jittered exponential backoff until ``lock_timeout_s`` has
passed, so several processes and threads can write at once without "database is locked" errors. Readers never
block writers (WAL). Each thread and each process (after a fork) gets its own connection. ``synchronous=FULL``
makes every committed transaction survive a crash of the process (SIGKILL) and of the machine.

WAL needs shared memory between the processes that open the file, so the database must live on a local disk,
not on NFS or another network file system.
"""

from __future__ import annotations

import os
import random
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import TypeVar

from core.errors import RunStoreError
from core.runs.schema import migrate

T = TypeVar("T")


class _Connection(sqlite3.Connection):
    """A connection that can be weakly referenced and remembers the process that opened it."""

    owner_pid: int = -1


def _is_busy(e: sqlite3.OperationalError) -> bool:
    msg = str(e).lower()
    return "locked" in msg or "busy" in msg


class Database:
    """A handle on the run database file (thread-safe, fork-safe; cheap to create).

    Args:
        path: the database file. Its folder is created if missing.
        busy_timeout_s: SQLite busy timeout per attempt, in seconds.
        lock_timeout_s: total seconds a write keeps retrying on ``SQLITE_BUSY`` before giving up.
        synchronous: SQLite ``synchronous`` level, ``"FULL"`` (default: durable across power loss) or
            ``"NORMAL"`` (durable across process crashes only; faster).
    """

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        busy_timeout_s: float = 5.0,
        lock_timeout_s: float = 120.0,
        synchronous: str = "FULL",
    ) -> None:
        self.path = Path(path).expanduser()
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
        self._write(lambda conn: migrate(conn, self.path))

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
                if not _is_busy(e):
                    raise RunStoreError(f"{self.path}: {e}") from e
                if time.monotonic() > deadline:
                    raise RunStoreError(
                        f"{self.path}: the run database stayed locked for {self.lock_timeout_s:g} s ({e})"
                    ) from e
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
        except sqlite3.DatabaseError as e:
            raise RunStoreError(f"{self.path}: {e}") from e

    def _read(self, sql: str, params: tuple = ()) -> list[sqlite3.Row]:
        conn = self._conn()
        try:
            return self._retry(lambda: conn.execute(sql, params).fetchall())
        except sqlite3.DatabaseError as e:
            raise RunStoreError(f"{self.path}: {e}") from e

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

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def integrity_check(self) -> str:
        """``PRAGMA integrity_check``: ``"ok"`` for a sound database, else SQLite's first complaint."""
        return str(self._read("PRAGMA integrity_check")[0][0])
