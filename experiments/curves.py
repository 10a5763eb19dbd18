"""Validation curves of a sweep's runs: the mean over seeds, and where a curve levels off.

A curve is a run's list of evaluations, ``{"step": optimiser step, "valid/linear_acc": top-1, ...}``. The level-off
step is the first evaluation whose mean validation top-1 comes within ``tolerance`` (2 points by default) of the
best the curve ever reaches: training beyond it bought less than that. A curve that levels off only in the last
fifth of its run was still climbing: there the learning rate has decayed (cosine, to under 10 % of its peak), so
the curve flattens whether or not the model has converged, and a comparison at that length tests it below its
own minimum. Runs several times longer (``fsdd_curve``) say how much more it would have gained.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np

TOLERANCE = 0.02
"""Within this much top-1 (2 percentage points) of its best, a curve counts as levelled off."""
LATE = 0.8
"""Levelling off after this share of the run's steps counts as still climbing."""


def mean_curve(curves: list[list[dict[str, Any]]], metric: str) -> tuple[list[int], list[float]]:
    """Steps and the mean of ``metric`` over the seeds that evaluated at each step (top-1 in [0, 1])."""
    by_step: dict[int, list[float]] = defaultdict(list)
    for curve in curves:
        for point in curve:
            if metric in point:
                by_step[int(point["step"])].append(float(point[metric]))
    steps = sorted(by_step)
    return steps, [float(np.mean(by_step[s])) for s in steps]


@dataclass(frozen=True)
class LevelOff:
    """Where a mean curve levels off.

    Attributes:
        best: the best mean validation top-1 (in [0, 1]).
        best_step: the step it was reached at.
        level_step: the first step within ``tolerance`` of ``best``.
        last_step: the curve's last evaluation.
        still_climbing: it levelled off only after ``LATE`` of its steps (and had earlier evaluations).
    """

    best: float
    best_step: int
    level_step: int
    last_step: int
    still_climbing: bool


def level_off(steps: list[int], values: list[float], tolerance: float = TOLERANCE) -> LevelOff | None:
    """The level-off of a curve (None for an empty one)."""
    if not steps:
        return None
    i_best = int(np.argmax(values))
    level = next(i for i, v in enumerate(values) if v >= values[i_best] - tolerance)
    late = level > 0 and steps[level] > LATE * steps[-1]
    return LevelOff(values[i_best], steps[i_best], steps[level], steps[-1], late)
