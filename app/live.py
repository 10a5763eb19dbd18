"""The live state of a run, read from the run store: progress, the latest metrics, speed and ETA.

Everything comes from the run store (never from the process that started the run), so a run launched from the
command line, another browser tab or before an app restart shows the same.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from core.runs import RunStore

SPEED_WINDOW = 50
"""Speed is measured over the last this many logged steps of the current process."""


@dataclass
class RunStatus:
    """What the Train page shows for an active run.

    Attributes:
        step: the last step with a logged metric.
        total_steps: steps in the whole run (None until the trainer has planned it).
        epoch: the epoch in progress (1-based; the last one once the run has finished).
        total_epochs: epochs in the whole run (None until planned).
        fraction: ``step / total_steps`` in [0, 1], or None.
        loss: the last logged training loss.
        contrastive_acc: the last logged contrastive top-1 (SimCLR and CLAR).
        valid: the last validation metrics (``head_acc``, ``linear_acc``, ``knn_acc``).
        clips_per_s: training clips per second over the last logged steps.
        eta_s: seconds to the end of training at that speed (validation not included).
    """

    step: int = 0
    total_steps: int | None = None
    epoch: int = 0
    total_epochs: int | None = None
    fraction: float | None = None
    loss: float | None = None
    contrastive_acc: float | None = None
    valid: dict[str, float] = field(default_factory=dict)
    clips_per_s: float | None = None
    eta_s: float | None = None


def _value(latest: dict[str, dict[str, Any]], key: str) -> float | None:
    row = latest.get(key)
    if row is None or row["value"] is None or math.isnan(row["value"]):
        return None
    return float(row["value"])


def _speed(store: RunStore, run: dict[str, Any]) -> float | None:
    """Steps per second over the last :data:`SPEED_WINDOW` logged steps since the process started."""
    since = run.get("started") or 0.0
    rows = [r for r in store.step_series(run["id"], "train/loss", last=SPEED_WINDOW) if r["time"] >= since]
    if len(rows) < 2:
        return None
    steps, seconds = rows[-1]["step"] - rows[0]["step"], rows[-1]["time"] - rows[0]["time"]
    return steps / seconds if steps > 0 and seconds > 0 else None


def run_status(store: RunStore, run: dict[str, Any]) -> RunStatus:
    """The live state of ``run`` (a row of :meth:`RunStore.list_runs`)."""
    rid = run["id"]
    progress = store.progress([rid])[rid]
    latest = store.latest_metrics(rid)
    status = RunStatus()
    status.step = int(progress["step"] or 0)
    status.total_steps = progress["total_steps"]
    per_epoch = progress["steps_per_epoch"]
    if status.total_steps is not None and per_epoch:
        status.total_epochs = -(-status.total_steps // per_epoch)
        status.fraction = min(1.0, status.step / status.total_steps) if status.total_steps else 1.0
        status.epoch = min(status.total_epochs, progress["epochs_done"] + (status.step < status.total_steps))
    status.loss = _value(latest, "train/loss")
    status.contrastive_acc = _value(latest, "train/contrastive_acc")
    status.valid = {
        k.removeprefix("valid/"): v
        for k in ("valid/head_acc", "valid/linear_acc", "valid/knn_acc")
        if (v := _value(latest, k)) is not None
    }
    steps_per_s = _speed(store, run)
    batch = ((run.get("config") or {}).get("data") or {}).get("batch_size")
    if steps_per_s is not None:
        status.clips_per_s = steps_per_s * batch if batch else None
        if status.total_steps is not None:
            status.eta_s = max(0, status.total_steps - status.step) / steps_per_s
    elif status.total_steps is not None and status.step >= status.total_steps:
        status.eta_s = 0.0
    return status
