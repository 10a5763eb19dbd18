"""State the app keeps beside the runs, so that it survives restarts.

State the app keeps beside the runs, so that it survives restarts: settings (user data folders) and the queue of runs
waiting for a busy device.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

from core.runs.runs import check_run_id, to_json


class AppStateTables:
    """The ``settings`` and ``queue`` tables; mixed into :class:`core.runs.RunStore`."""

    path: Path

    def get_setting(self, key: str, default: Any = None) -> Any:
        """The JSON value stored under ``key``, or ``default``."""
        rows = self._read("SELECT value FROM settings WHERE key = ?", (key,))
        if not rows:
            return default
        try:
            return json.loads(rows[0][0])
        except ValueError:
            return default

    def set_setting(self, key: str, value: Any) -> None:
        """Store a JSON-able ``value`` under ``key`` (replacing any earlier one)."""
        text = to_json(value, f"setting {key!r}")
        self._write(
            lambda conn: conn.execute("INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)", (key, text))
        )

    def enqueue(self, device: str, argv: list[str], run_id: str, name: str | None = None) -> int:
        """Queue the command ``argv`` (which trains run ``run_id``) until ``device`` is free; returns its id."""
        check_run_id(run_id)
        text = to_json(list(argv), "queued command")

        def insert(conn: sqlite3.Connection) -> int:
            cur = conn.execute(
                "INSERT INTO queue (device, argv, run_id, name, created) VALUES (?, ?, ?, ?, ?)",
                (device, text, run_id, name, time.time()),
            )
            return int(cur.lastrowid)

        return self._write(insert)

    def queued(self, device: str | None = None) -> list[dict[str, Any]]:
        """Queued commands, oldest first: ``{id, device, argv, run_id, name, created}``."""
        sql, params = "SELECT * FROM queue", ()
        if device is not None:
            sql, params = sql + " WHERE device = ?", (device,)
        out = []
        for r in self._read(sql + " ORDER BY id", params):
            d = dict(r)
            d["argv"] = json.loads(d["argv"])
            out.append(d)
        return out

    def dequeue(self, queue_id: int) -> bool:
        """Remove one queued command; True if it was still there (so exactly one caller starts it)."""
        return self._write(lambda conn: conn.execute("DELETE FROM queue WHERE id = ?", (int(queue_id),)).rowcount == 1)
