"""The run database's tables, and the migrations that bring an older file up to date.

- ``runs``: id, name, config (JSON), status, host, pid, proc_start (process start token, see
  :mod:`core.runs.procinfo`), heartbeat, created, started, ended (Unix seconds, UTC), final_metrics (JSON),
  cancel_requested, status_reason; since schema 2 also owner (the token of the process that owns the run),
  heartbeat_s and stale_after_s (the run's own heartbeat interval and staleness limit, in seconds) and
  checkpoint_dir (the run's checkpoint folder).
- ``metrics``: run_id, step, epoch, key, value, time. One row per (run, key, step).
- ``artifacts``: id, run_id, kind, path, meta (JSON), created.
- ``settings`` (schema 2): key, value (JSON): app state that must survive restarts (user data folders).
- ``queue`` (schema 2): id, device, argv (JSON), run_id, name, created: runs waiting for a device.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from core.errors import RunStoreError

STATUSES = ("created", "running", "completed", "failed", "cancelled", "interrupted")
FINAL_STATUSES = ("completed", "failed", "cancelled", "interrupted")
SCHEMA_VERSION = 2

_V1 = f"""
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

_V2_COLUMNS = (
    ("owner", "TEXT"),
    ("heartbeat_s", "REAL"),
    ("stale_after_s", "REAL"),
    ("checkpoint_dir", "TEXT"),
)
_V2_TABLES = """
CREATE TABLE IF NOT EXISTS settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS queue (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    device  TEXT NOT NULL,
    argv    TEXT NOT NULL,
    run_id  TEXT NOT NULL,
    name    TEXT,
    created REAL NOT NULL
);
"""


def _script(conn: sqlite3.Connection, sql: str) -> None:
    for statement in sql.split(";"):
        if statement.strip():
            conn.execute(statement)


def migrate(conn: sqlite3.Connection, path: Path) -> None:
    """Create the tables, or upgrade an older database in place (inside the caller's transaction)."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise RunStoreError(f"{path}: run database schema {version} is newer than this CLAR Studio ({SCHEMA_VERSION})")
    _script(conn, _V1)
    have = {row[1] for row in conn.execute("PRAGMA table_info(runs)")}
    for name, kind in _V2_COLUMNS:
        if name not in have:
            conn.execute(f"ALTER TABLE runs ADD COLUMN {name} {kind}")
    _script(conn, _V2_TABLES)
    if version != SCHEMA_VERSION:
        conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
