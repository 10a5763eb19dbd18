"""Metrics of a run: one row per (run, key, step), replaced when logged again, truncated on resume, exported."""

from __future__ import annotations

import math
import os
import sqlite3
import time
from collections.abc import Iterable, Mapping
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

    def latest_metrics(self, run_id: str) -> dict[str, dict[str, Any]]:
        """The last logged row of every metric of the run: ``{key: {step, epoch, value, time}}`` (one query)."""
        rows = self._read(
            "SELECT key, MAX(step) AS step, epoch, value, time FROM metrics WHERE run_id = ? GROUP BY key", (run_id,)
        )
        return {
            r["key"]: {
                "step": r["step"],
                "epoch": r["epoch"],
                "value": math.nan if r["value"] is None else r["value"],
                "time": r["time"],
            }
            for r in rows
        }

    def step_series(
        self, run_id: str, key: str, max_points: int = 2000, last: int | None = None
    ) -> list[dict[str, Any]]:
        """The per-step values of a training metric, without the epoch means logged at each epoch's last step.

        The reporter logs a step's own value at every ``log_every`` steps and, at an epoch's last step, the epoch's
        mean under the same key; this returns only the former (``epoch_history`` has the latter). With more than
        ``max_points`` rows, consecutive steps are averaged in equal bins so that a plot of a long run stays light.
        With ``last``, only the last ``last`` rows, unbinned (a live speed measurement).

        Returns:
            ``{step, value, time}`` dicts ordered by step (``step`` is the first of its bin, ``time`` the last).
        """
        where = (
            "run_id = ? AND key = ? AND step NOT IN "
            "(SELECT step FROM metrics WHERE run_id = ? AND key = 'train/epoch_s')"
        )
        params = (run_id, key, run_id)
        if last is not None:
            sql = f"SELECT step, value, time FROM metrics WHERE {where} ORDER BY step DESC LIMIT ?"
            rows = self._read(sql, (*params, int(last)))[::-1]
            return [{"step": r["step"], "value": r["value"], "time": r["time"]} for r in rows]
        (count,) = self._read(f"SELECT COUNT(*) AS n FROM metrics WHERE {where}", params)
        n = int(count["n"])
        if n <= max_points:
            sql = f"SELECT step, value, time FROM metrics WHERE {where} ORDER BY step"
            rows = self._read(sql, params)
        else:
            (span,) = self._read(f"SELECT MIN(step) AS lo, MAX(step) AS hi FROM metrics WHERE {where}", params)
            width = max(1, -(-(int(span["hi"]) - int(span["lo"]) + 1) // max_points))
            sql = (
                f"SELECT MIN(step) AS step, AVG(value) AS value, MAX(time) AS time FROM metrics WHERE {where} "
                "GROUP BY (step - ?) / ? ORDER BY step"
            )
            rows = self._read(sql, (*params, int(span["lo"]), width))
        return [
            {"step": r["step"], "value": math.nan if r["value"] is None else r["value"], "time": r["time"]}
            for r in rows
        ]

    def progress(self, run_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Runs' progress: ``{run_id: {step, epochs_done, total_steps, steps_per_epoch}}``, by indexed lookups only.

        ``step`` is the last step with a logged metric (None before any), ``epochs_done`` the number of finished
        epochs (rows of ``train/epoch_s``); the plan (``plan/total_steps``, ``plan/steps_per_epoch``, logged by the
        trainer at start) is None for a run that has not started training yet.
        """
        out: dict[str, dict[str, Any]] = {}
        for rid in run_ids:
            (last,) = self._read("SELECT MAX(step) AS step FROM metrics WHERE run_id = ?", (rid,))
            (done,) = self._read("SELECT COUNT(*) AS n FROM metrics WHERE run_id = ? AND key = 'train/epoch_s'", (rid,))
            row: dict[str, Any] = {"step": last["step"], "epochs_done": int(done["n"])}
            for key in ("total_steps", "steps_per_epoch"):
                found = self._read(
                    "SELECT value FROM metrics WHERE run_id = ? AND key = ? AND step = 0", (rid, f"plan/{key}")
                )
                row[key] = int(found[0]["value"]) if found and found[0]["value"] is not None else None
            out[rid] = row
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
