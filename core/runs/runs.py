"""Runs: their lifecycle (created, running, finished), exclusive ownership, cancel requests, reads and deletion.

Ownership: a process takes a run with :meth:`RunsTable.claim`, which returns a random owner token and records it
with the process's host and PID. Every heartbeat, metric write, checkpoint commit and finish of that process
passes the token; once another process has claimed the run (a ``train --resume`` after the run was judged stale),
the token no longer matches, the call returns False or raises :class:`~core.errors.OwnershipLost`, and the old
process stops without writing anything more.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import sqlite3
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.errors import OwnershipLost, RunStoreError
from core.runs import procinfo
from core.runs.liveness import reap
from core.runs.schema import FINAL_STATUSES, STATUSES


def to_json(obj: Any, what: str) -> str:
    """``obj`` as JSON text (NaN allowed), or RunStoreError naming ``what``."""
    try:
        return json.dumps(obj, sort_keys=True, allow_nan=True)
    except (TypeError, ValueError, RecursionError) as e:
        raise RunStoreError(f"{what} is not JSON-serialisable: {e}") from e


class RunsTable:
    """The ``runs`` table's operations; mixed into :class:`core.runs.RunStore` (needs its ``_read``/``_write``)."""

    path: Path
    stale_after_s: float

    # -- creating and claiming ------------------------------------------------------------------------------
    def create_run(self, name: str, config: Mapping[str, Any], run_id: str | None = None) -> str:
        """Record a new run (status ``created``); returns its id (:func:`core.runs.new_run_id` unless given)."""
        if run_id is not None:
            check_run_id(run_id)
        cfg = to_json(dict(config), f"config of run {name!r}")
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

    def set_config(self, run_id: str, config: Mapping[str, Any]) -> None:
        """Replace the stored config of a run (the trainer records the validated config and provenance)."""
        cfg = to_json(dict(config), f"config of run {run_id}")
        self._update_one(run_id, "UPDATE runs SET config = ? WHERE id = ?", (cfg, run_id))

    def claim(
        self,
        run_id: str,
        *,
        pid: int | None = None,
        heartbeat_s: float = 10.0,
        stale_after_s: float | None = None,
        checkpoint_dir: str | os.PathLike | None = None,
    ) -> str:
        """Make this process (or ``pid``) the run's only owner and mark it ``running``; returns the owner token.

        Also used on resume: the previous end time, reason and cancel request are cleared, and any earlier
        owner loses the run. ``heartbeat_s`` and ``stale_after_s`` are stored with the run (readers judge it
        by them); ``checkpoint_dir`` is recorded so that a resume finds the checkpoints.

        Raises:
            RunStoreError: no such run, or the run is ``running`` in another process that is still alive.
        """
        pid = os.getpid() if pid is None else int(pid)
        host, proc, now = procinfo.hostname(), procinfo.process_start_token(pid), time.time()
        token = secrets.token_hex(16)
        stale = float(stale_after_s) if stale_after_s else None
        folder = None if checkpoint_dir is None else str(Path(checkpoint_dir).absolute())
        self.get_run(run_id)  # reaps a stale owner first; raises if missing

        def update(conn: sqlite3.Connection) -> None:
            row = conn.execute("SELECT status, host, pid FROM runs WHERE id = ?", (run_id,)).fetchone()
            if row is None:
                raise RunStoreError(f"no run {run_id!r} in {self.path}")
            if row["status"] == "running" and (row["host"], row["pid"]) != (host, pid):
                raise RunStoreError(f"run {run_id} is already running (pid {row['pid']} on {row['host']})")
            conn.execute(
                "UPDATE runs SET status = 'running', host = ?, pid = ?, proc_start = ?, heartbeat = ?, "
                "started = COALESCE(started, ?), ended = NULL, cancel_requested = 0, status_reason = NULL, "
                "owner = ?, heartbeat_s = ?, stale_after_s = ?, checkpoint_dir = COALESCE(?, checkpoint_dir) "
                "WHERE id = ?",
                (host, pid, proc, now, now, token, float(heartbeat_s), stale, folder, run_id),
            )

        self._write(update)
        return token

    def mark_running(self, run_id: str, pid: int | None = None) -> str:
        """:meth:`claim` with the default heartbeat settings (kept for callers that need no options)."""
        return self.claim(run_id, pid=pid)

    def set_checkpoint_dir(self, run_id: str, folder: str | os.PathLike) -> None:
        """Record where the run keeps its checkpoints (an absolute path)."""
        self._update_one(
            run_id, "UPDATE runs SET checkpoint_dir = ? WHERE id = ?", (str(Path(folder).absolute()), run_id)
        )

    # -- while running ------------------------------------------------------------------------------------
    def heartbeat(self, run_id: str, owner: str | None = None) -> bool:
        """Refresh the heartbeat; returns False when this process no longer owns the run.

        With ``owner`` (the token from :meth:`claim`) ownership is judged by the token, else by host and PID.
        A run that a reader marked ``interrupted`` only because its heartbeat was late is ``running`` again after
        this call, as long as nobody claimed it since; a run finished explicitly is never revived.
        """
        who, params = ("owner = ?", (owner,)) if owner else ("host = ? AND pid = ?", (procinfo.hostname(), os.getpid()))

        def beat(conn: sqlite3.Connection) -> bool:
            cur = conn.execute(
                "UPDATE runs SET heartbeat = ?, status = 'running', status_reason = NULL "
                f"WHERE id = ? AND {who} "
                "AND (status = 'running' OR (status = 'interrupted' AND status_reason LIKE 'stale:%'))",
                (time.time(), run_id, *params),
            )
            if cur.rowcount == 0 and conn.execute("SELECT 1 FROM runs WHERE id = ?", (run_id,)).fetchone() is None:
                raise RunStoreError(f"no run {run_id!r} in {self.path}")
            return cur.rowcount == 1

        return self._write(beat)

    def assert_owner(self, run_id: str, owner: str) -> None:
        """Raise OwnershipLost when ``owner`` is no longer the run's owner token (another process claimed it)."""
        rows = self._read("SELECT owner, pid, host, status FROM runs WHERE id = ?", (run_id,))
        if not rows:
            raise OwnershipLost(f"run {run_id} was deleted from {self.path}; this process stops")
        row = rows[0]
        if row["owner"] != owner:
            raise OwnershipLost(
                f"run {run_id} was taken over by pid {row['pid']} on {row['host']}; this process stops without "
                "writing anything more"
            )

    def finish(
        self,
        run_id: str,
        status: str,
        final_metrics: Mapping[str, float] | None = None,
        *,
        owner: str | None = None,
        reason: str | None = None,
    ) -> None:
        """End a run with ``status`` (completed, failed, cancelled or interrupted), its final metrics, and a reason.

        With ``owner``, only the owner may finish the run (else OwnershipLost).
        """
        if status not in FINAL_STATUSES:
            raise RunStoreError(f"finish({run_id!r}): status {status!r} is not one of {', '.join(FINAL_STATUSES)}")
        fm = None if final_metrics is None else to_json(dict(final_metrics), f"final metrics of run {run_id}")
        text = None if reason is None else " ".join(str(reason).split())[:1000]

        def update(conn: sqlite3.Connection) -> None:
            sql = (
                "UPDATE runs SET status = ?, ended = ?, final_metrics = COALESCE(?, final_metrics), "
                "status_reason = ? WHERE id = ?"
            )
            params: tuple = (status, time.time(), fm, text, run_id)
            if owner is not None:
                sql, params = sql + " AND owner = ?", (*params, owner)
            if conn.execute(sql, params).rowcount == 0:
                if conn.execute("SELECT 1 FROM runs WHERE id = ?", (run_id,)).fetchone() is None:
                    raise RunStoreError(f"no run {run_id!r} in {self.path}")
                raise OwnershipLost(f"run {run_id} was taken over by another process; its status is left to it")

        self._write(update)

    def request_cancel(self, run_id: str) -> None:
        """Ask the process running ``run_id`` to stop (it polls :meth:`cancel_requested`)."""
        self._update_one(run_id, "UPDATE runs SET cancel_requested = 1 WHERE id = ?", (run_id,))

    def cancel_requested(self, run_id: str) -> bool:
        """True once :meth:`request_cancel` was called for ``run_id`` (and it was not resumed since)."""
        rows = self._read("SELECT cancel_requested FROM runs WHERE id = ?", (run_id,))
        if not rows:
            raise RunStoreError(f"no run {run_id!r} in {self.path}")
        return bool(rows[0][0])

    # -- reading ------------------------------------------------------------------------------------------
    @staticmethod
    def _run_dict(row: sqlite3.Row) -> dict[str, Any]:
        d = dict(row)
        try:
            d["config"] = json.loads(d["config"]) if d["config"] else {}
        except ValueError:
            d["config"] = {}
        try:
            d["final_metrics"] = json.loads(d["final_metrics"]) if d["final_metrics"] else None
        except ValueError:
            d["final_metrics"] = None
        d["cancel_requested"] = bool(d["cancel_requested"])
        d.pop("owner", None)  # the token is a capability: it never leaves the store
        return d

    def get_run(self, run_id: str) -> dict[str, Any]:
        """The run's row as a dict (config and final_metrics decoded from JSON; times in Unix seconds)."""
        rows = self._read("SELECT * FROM runs WHERE id = ?", (run_id,))
        if not rows:
            raise RunStoreError(f"no run {run_id!r} in {self.path}")
        if reap(rows, time.time(), self.stale_after_s, self._write):
            rows = self._read("SELECT * FROM runs WHERE id = ?", (run_id,))
        return self._run_dict(rows[0])

    def list_runs(self, status: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        """All runs, newest first, optionally only those with ``status`` and at most ``limit`` of them."""
        if status is not None and status not in STATUSES:
            raise RunStoreError(f"status {status!r} is not one of {', '.join(STATUSES)}")
        reap(self._read("SELECT * FROM runs WHERE status = 'running'"), time.time(), self.stale_after_s, self._write)
        where, params = ("", ()) if status is None else ("WHERE status = ?", (status,))
        tail = "" if limit is None else f" LIMIT {int(limit)}"
        rows = self._read(f"SELECT * FROM runs {where} ORDER BY created DESC, id DESC{tail}", params)
        return [self._run_dict(r) for r in rows]

    # -- deleting -----------------------------------------------------------------------------------------
    def delete_run(self, run_id: str, delete_files: bool = False, force: bool = False) -> list[str]:
        """Delete the run, its metrics and its artifact records; returns what was removed from disk.

        Args:
            run_id: the run.
            delete_files: also delete the run's own checkpoint folder (the recorded ``checkpoint_dir``, whose
                name must be the run id). Nothing outside it is touched: an evaluation report written elsewhere
                with ``--out`` stays where the user put it.
            force: delete even while the run is ``running`` (otherwise cancel it first).
        """
        run = self.get_run(run_id)
        if run["status"] == "running" and not force:
            raise RunStoreError(f"run {run_id} is running; cancel it first (or force the deletion)")
        folder = run.get("checkpoint_dir")
        if not folder:  # a run from before schema 2: the folder holding its checkpoint files, if named after it
            for (path,) in self._read("SELECT path FROM artifacts WHERE run_id = ? AND kind = 'checkpoint'", (run_id,)):
                if Path(path).parent.name == run_id:
                    folder = str(Path(path).parent)
                    break
        self._write(lambda conn: conn.execute("DELETE FROM runs WHERE id = ?", (run_id,)))
        removed: list[str] = []
        if delete_files and folder:
            path = Path(folder)
            if path.name != run_id:
                raise RunStoreError(
                    f"run {run_id} deleted, but its recorded folder {path} is not named after it; left in place"
                )
            if path.is_dir() and not path.is_symlink():
                try:
                    shutil.rmtree(path)
                except OSError as e:
                    raise RunStoreError(f"run {run_id} deleted, but its folder {path} could not be removed: {e}") from e
                removed.append(str(path))
        return removed

    def _update_one(self, run_id: str, sql: str, params: tuple) -> None:
        def update(conn: sqlite3.Connection) -> None:
            if conn.execute(sql, params).rowcount == 0:
                raise RunStoreError(f"no run {run_id!r} in {self.path}")

        self._write(update)


def new_run_id(now: float | None = None) -> str:
    """A sortable run id: ``YYYYmmdd-HHMMSS-xxxx`` (UTC time, then 4 random hex digits)."""
    stamp = datetime.fromtimestamp(time.time() if now is None else now, UTC).strftime("%Y%m%d-%H%M%S")
    return f"{stamp}-{secrets.token_hex(2)}"


def check_run_id(run_id: str) -> str:
    """A run id names a folder: 1 to 64 letters, digits, ``-``, ``_`` or ``.``, not starting with ``.``."""
    ok = 0 < len(run_id) <= 64 and not run_id.startswith(".")
    if not ok or any(not (c.isascii() and (c.isalnum() or c in "-_.")) for c in run_id):
        raise RunStoreError(f"run id {run_id!r}: use 1-64 letters, digits, '-', '_' or '.' (not starting with '.')")
    return run_id
