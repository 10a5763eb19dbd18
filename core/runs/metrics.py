"""Metrics of a run: one row per (run, key, step), replaced when logged again, truncated on resume, exported."""

from __future__ import annotations

import math
import os
import sqlite3
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from core.errors import OwnershipLost, RunStoreError


class MetricsTable:
    """The ``metrics`` table's operations; mixed into :class:`core.runs.RunStore`."""

    path: Path

    def log_metrics(
        self, run_id: str, step: int, epoch: int | None, metrics: Mapping[str, float], *, owner: str | None = None
    ) -> None:
        """Record ``metrics`` at ``step`` in one transaction; a key already logged at that step is replaced.

        Values are stored as floats; NaN is stored as NULL (SQLite has no NaN) and reads back as NaN. With
        ``owner`` (the token from ``claim``), nothing is written once another process owns the run
        (OwnershipLost).
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
            if owner is not None:
                found = conn.execute("SELECT owner FROM runs WHERE id = ?", (run_id,)).fetchone()
                if found is None or found[0] != owner:
                    raise OwnershipLost(f"run {run_id} was taken over by another process; this process stops")
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
            run_id: the run.
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

    def epoch_history(self, run_id: str) -> list[dict[str, Any]]:
        """One dict per finished epoch.

        One dict per finished epoch (the rows logged at an epoch's end, recognised by ``train/epoch_s``): ``epoch``,
        ``step`` and every metric logged at that step.
        """
        ends = self._read(
            "SELECT step, epoch FROM metrics WHERE run_id = ? AND key = 'train/epoch_s' ORDER BY step", (run_id,)
        )
        out = []
        for end in ends:
            row: dict[str, Any] = {"epoch": end["epoch"], "step": end["step"]}
            for r in self._read("SELECT key, value FROM metrics WHERE run_id = ? AND step = ?", (run_id, end["step"])):
                if end["epoch"] is not None:
                    row[r["key"]] = math.nan if r["value"] is None else r["value"]
            out.append(row)
        return out

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
