"""The Runs page's table: one row per run, from the run store alone, read tolerantly.

A run's stored config may come from an older version, the command line or a hand-edited file; a value the table
cannot read shows as empty rather than breaking the page (the run's detail view shows the config as stored).
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

import pandas as pd

from core.regimes import get_regime

COLUMNS = (
    "id",
    "name",
    "status",
    "dataset",
    "regime",
    "input",
    "encoder",
    "augment",
    "label fraction",
    "epochs",
    "best valid",
    "valid metric",
    "test (best)",
    "test (last)",
    "started",
)
GROUP_AXES = {
    "run": "id",
    "regime": "regime",
    "input kind": "input",
    "augmentation set": "augment",
    "label fraction": "label fraction",
    "dataset": "dataset",
    "encoder": "encoder",
}
"""Groupings for colour and line style: each run, or CLAR's own axes."""


def _section(config: Any, name: str) -> dict[str, Any]:
    part = config.get(name) if isinstance(config, dict) else None
    return part if isinstance(part, dict) else {}


def monitor_of(config: Any) -> str:
    """The validation metric that picks a run's best checkpoint (``valid/head_acc`` or ``valid/linear_acc``)."""
    ev, model = _section(config, "eval"), _section(config, "model")
    chosen = ev.get("monitor")
    if isinstance(chosen, str) and chosen.startswith("valid/"):
        return chosen
    try:
        return get_regime(str(model.get("regime"))).default_monitor
    except Exception:
        return "valid/head_acc"


def input_of(encoder: Any) -> str | None:
    """``waveform`` or ``features`` for an encoder name (None if unknown)."""
    from core.models.factory import ENCODER_INPUT

    return ENCODER_INPUT.get(str(encoder)) if encoder is not None else None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(float(value)):
        return None
    return float(value)


def _text(value: Any) -> str | None:
    return None if value is None or isinstance(value, dict | list) else str(value)


def run_row(run: dict[str, Any], progress: dict[str, Any] | None = None) -> dict[str, Any]:
    """The table's row for one run (``progress`` from :meth:`core.runs.RunStore.progress`)."""
    config = run.get("config") or {}
    data, model, aug, sched = (_section(config, k) for k in ("data", "model", "augment", "schedule"))
    final = run.get("final_metrics") if isinstance(run.get("final_metrics"), dict) else {}
    monitor = monitor_of(config)
    scorer = monitor.removeprefix("valid/")
    progress = progress or {}
    planned = None
    if progress.get("total_steps") is not None and progress.get("steps_per_epoch"):
        planned = -(-progress["total_steps"] // progress["steps_per_epoch"])
    elif isinstance(sched.get("epochs"), int) and sched.get("steps") is None:
        planned = sched["epochs"]
    done = progress.get("epochs_done", 0)
    return {
        "id": run["id"],
        "name": _text(run.get("name")),
        "status": _text(run.get("status")),
        "dataset": _text(data.get("dataset")),
        "regime": _text(model.get("regime")),
        "input": input_of(model.get("encoder")),
        "encoder": _text(model.get("encoder")),
        "augment": _text(aug.get("names")),
        "label fraction": _number(data.get("label_fraction")),
        "epochs": f"{done}/{planned if planned is not None else '?'}",
        "best valid": _number(final.get(f"best/{monitor}")),
        "valid metric": scorer,
        "test (best)": _number(final.get(f"test/best/{scorer}")),
        "test (last)": _number(final.get(f"test/last/{scorer}")),
        "started": datetime.fromtimestamp(run["started"]) if run.get("started") else None,
    }


def runs_frame(runs: list[dict[str, Any]], progress: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """The table of all runs, newest first."""
    rows = [run_row(r, progress.get(r["id"])) for r in runs]
    return pd.DataFrame(rows, columns=list(COLUMNS))


def filter_frame(frame: pd.DataFrame, text: str = "", **choices: list[Any]) -> pd.DataFrame:
    """Rows whose name or id contains ``text`` and whose columns take one of the chosen values (empty: any)."""
    keep = pd.Series(True, index=frame.index)
    if text:
        needle = text.lower()
        keep &= frame["name"].fillna("").str.lower().str.contains(needle, regex=False) | frame["id"].str.contains(
            needle, regex=False
        )
    for column, values in choices.items():
        if values:
            keep &= frame[column.replace("_", " ")].isin(values)
    return frame[keep]
