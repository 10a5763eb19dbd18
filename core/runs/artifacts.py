"""Artifacts of a run: files and folders it produced (checkpoints, embeddings, probes, reports)."""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from core.errors import RunStoreError
from core.runs.runs import to_json


class ArtifactsTable:
    """The ``artifacts`` table's operations; mixed into :class:`core.runs.RunStore`."""

    path: Path

    def add_artifact(
        self, run_id: str, kind: str, path: str | os.PathLike, meta: Mapping[str, Any] | None = None
    ) -> int:
        """Record a file or folder (checkpoint, embeddings, ...) produced by the run; returns its id."""
        m = None if meta is None else to_json(dict(meta), f"artifact meta of run {run_id}")

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
            try:
                d["meta"] = json.loads(d["meta"]) if d["meta"] else None
            except ValueError:
                d["meta"] = None
            out.append(d)
        return out
