"""Metric export: CSV (always available) and TensorBoard event files (needs the optional ``tensorboard``)."""

from __future__ import annotations

import csv
import importlib.util
import json
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from core.errors import RunStoreError

CSV_COLUMNS = ("run_id", "step", "epoch", "key", "value", "time")


def write_csv(run_id: str, rows: Sequence[dict[str, Any]], path: Path) -> Path:
    """Write metric ``rows`` to ``path`` (columns :data:`CSV_COLUMNS`; NaN written as ``nan``), atomically."""
    path = Path(path).expanduser()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with open(tmp, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(CSV_COLUMNS)
            for r in rows:
                writer.writerow(
                    [
                        run_id,
                        r["step"],
                        "" if r["epoch"] is None else r["epoch"],
                        r["key"],
                        repr(float(r["value"])),
                        f"{r['time']:.3f}",
                    ]
                )
        os.replace(tmp, path)
    except OSError as e:
        raise RunStoreError(f"{path}: cannot write the CSV export of run {run_id} ({e})") from e
    return path


def write_tensorboard(run: dict[str, Any], rows: Sequence[dict[str, Any]], logdir: Path) -> Path:
    """Write ``rows`` as TensorBoard scalars (and the config as text) into ``logdir/<run id>``."""
    missing = RunStoreError(
        "TensorBoard export needs the optional 'tensorboard' package, which is not installed "
        "(pip install tensorboard); CSV export works without it"
    )
    if importlib.util.find_spec("tensorboard") is None:
        raise missing
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as e:
        raise missing from e
    out = Path(logdir).expanduser() / run["id"]
    writer = SummaryWriter(log_dir=str(out))
    try:
        writer.add_text("config", "```\n" + json.dumps(run["config"], indent=2, sort_keys=True) + "\n```", 0)
        for r in rows:
            if not math.isnan(r["value"]):
                writer.add_scalar(r["key"], r["value"], global_step=r["step"], walltime=r["time"])
    finally:
        writer.close()
    return out
