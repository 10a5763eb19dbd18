"""All output of a training run goes through one reporter: plain lines on stdout, metrics into the run store.

Lines, each printed whole and flushed (the app's launcher tails them from ``train.log``; the format is stable):

* ``run <id>: <regime summary>; an epoch is <what>`` and ``splits: ...`` at the start;
* ``epoch E/N step S/T loss L lr R <valid metrics> time Xs ETA HhMMmSSs`` after every epoch, with or without
  ``--no-progress``;
* ``run <id> <status>: <test metrics>`` at the end (printed by the CLI).

A tqdm bar shows the steps of an epoch only when progress is on and stdout is a terminal, so a log file never
holds carriage returns.
"""

from __future__ import annotations

import sys
import time
from typing import IO, Any

from core.runs import RunStore

EPOCH_KEYS = ("train/loss", "train/contrastive_acc", "valid/head_acc", "valid/linear_acc", "valid/knn_acc")


def format_duration(seconds: float) -> str:
    """``1h02m03s``, ``2m03s`` or ``3s``."""
    s = max(0, round(seconds))
    h, m, s = s // 3600, s % 3600 // 60, s % 60
    if h:
        return f"{h}h{m:02d}m{s:02d}s"
    return f"{m}m{s:02d}s" if m else f"{s}s"


class Reporter:
    """Prints a run's progress and logs its metrics.

    Args:
        store: the run store (metrics go there), or None (a benchmark).
        run_id: the run.
        owner: the owner token; with it, a lost run raises OwnershipLost at the next write.
        total_steps: optimiser steps the run will take in all.
        steps_per_epoch: steps of one full epoch.
        start_step: the run's step when this process started (a resumed run's ETA counts from it).
        progress: show a tqdm bar within epochs (only when ``stream`` is a terminal).
        stream: where lines go (stdout).
    """

    def __init__(
        self,
        store: RunStore | None,
        run_id: str,
        owner: str | None,
        *,
        total_steps: int,
        steps_per_epoch: int,
        start_step: int = 0,
        progress: bool = True,
        stream: IO[str] | None = None,
    ) -> None:
        self.store, self.run_id, self.owner = store, run_id, owner
        self.total_steps, self.steps_per_epoch = int(total_steps), max(1, int(steps_per_epoch))
        self.stream = stream or sys.stdout
        self.progress = progress and bool(getattr(self.stream, "isatty", lambda: False)())
        self._t0 = time.monotonic()
        self._start_step = int(start_step)

    @property
    def total_epochs(self) -> int:
        """Epochs in the whole run (the last may be partial)."""
        return -(-self.total_steps // self.steps_per_epoch)

    def line(self, text: str) -> None:
        """Print one whole line."""
        print(text, file=self.stream, flush=True)

    def start(self, summary: str, splits: str, device: str) -> None:
        """The run's opening lines: what it trains, on which splits, for how long.

        The plan also goes to the run store (``plan/total_steps``, ``plan/steps_per_epoch``, logged at step 0) so
        that a progress bar knows the run's length before its first epoch ends.
        """
        if self.store is not None:
            plan = {"plan/total_steps": self.total_steps, "plan/steps_per_epoch": self.steps_per_epoch}
            self.store.log_metrics(self.run_id, 0, None, plan, owner=self.owner)
        self.line(f"run {self.run_id}: {summary}")
        self.line(splits)
        self.line(
            f"plan: {self.total_epochs} epoch(s), {self.total_steps} step(s) of {self.steps_per_epoch} per epoch, "
            f"on {device}"
        )

    def bar(self, total: int, desc: str) -> Any:
        """A tqdm bar for an epoch's steps, or None."""
        if not self.progress:
            return None
        from tqdm import tqdm

        return tqdm(total=total, desc=desc, unit="step", dynamic_ncols=True, leave=False, file=self.stream)

    def step(self, step: int, epoch: int, parts: dict[str, float]) -> None:
        """Log a step's parts (``train/<name>``) to the run store."""
        if self.store is not None:
            metrics = {f"train/{k}": v for k, v in parts.items()}
            self.store.log_metrics(self.run_id, step, epoch, metrics, owner=self.owner)

    def epoch(self, epoch: int, step: int, metrics: dict[str, float]) -> None:
        """Log an epoch's metrics and print its line, with the time it took and the run's ETA."""
        if self.store is not None:
            self.store.log_metrics(self.run_id, step, epoch, metrics, owner=self.owner)
        elapsed = time.monotonic() - self._t0
        done = max(1, step - self._start_step)
        eta = elapsed / done * max(0, self.total_steps - step)
        shown = [f"{k.removeprefix('train/')} {metrics[k]:.4f}" for k in EPOCH_KEYS if k in metrics]
        lr = metrics.get("train/lr")
        seconds = metrics.get("train/epoch_s")
        parts = [f"epoch {epoch}/{self.total_epochs}", f"step {step}/{self.total_steps}", *shown]
        if lr is not None:
            parts.append(f"lr {lr:.3g}")
        if seconds is not None:
            parts.append(f"time {seconds:.1f}s")
        parts.append(f"ETA {format_duration(eta)}")
        self.line("  ".join(parts))
