"""Learning curves: the mean over seeds, and where a curve levels off."""

from __future__ import annotations

import pytest

from experiments.curves import LATE, TOLERANCE, level_off, mean_curve


def test_the_mean_curve_averages_the_seeds_that_evaluated_at_each_step():
    curves = [
        [{"step": 10, "valid/linear_acc": 0.5}, {"step": 20, "valid/linear_acc": 0.7, "valid/head_acc": 0.1}],
        [{"step": 10, "valid/linear_acc": 0.3}, {"step": 30, "valid/linear_acc": 0.9}],
    ]
    assert mean_curve(curves, "valid/linear_acc") == ([10, 20, 30], [pytest.approx(0.4), 0.7, 0.9])
    assert mean_curve(curves, "valid/head_acc") == ([20], [0.1])
    assert mean_curve(curves, "valid/knn_acc") == ([], [])


def test_a_curve_levels_off_at_its_first_step_within_the_tolerance_of_its_best():
    steps = [100, 200, 300, 400, 500, 600, 700, 800, 900, 1000]
    values = [0.2, 0.5, 0.7, 0.8, 0.85, 0.86, 0.87, 0.87, 0.86, 0.865]
    lv = level_off(steps, values)
    assert (lv.best, lv.best_step, lv.last_step) == (0.87, 700, 1000)
    # 0.85 is exactly 2 points under the best: within; 0.8 is not
    assert lv.level_step == 500 and not lv.still_climbing
    assert level_off(steps, values, tolerance=0.015).level_step == 600


def test_a_curve_that_gets_near_its_best_only_in_the_last_fifth_is_still_climbing():
    steps = [100 * i for i in range(1, 11)]
    climbing = [0.1 * i for i in range(1, 11)]  # 10 points a step: only the last evaluation is within 2
    lv = level_off(steps, climbing)
    assert lv.level_step == 1000 and lv.still_climbing
    late = [0.5] * 8 + [0.9, 0.91]  # near its best from step 900 > 0.8 * 1000
    assert level_off(steps, late).still_climbing
    edge = [0.5] * 7 + [0.9, 0.91, 0.91]  # from step 800 = 0.8 * 1000: not after the last fifth's start
    assert LATE * 1000 == 800 and not level_off(steps, edge).still_climbing
    assert TOLERANCE == 0.02


def test_a_single_evaluation_or_none():
    assert level_off([], []) is None
    lv = level_off([50], [0.4])
    assert (lv.level_step, lv.still_climbing) == (50, False)
