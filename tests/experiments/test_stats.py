"""Summaries and paired comparisons over seeds, against numpy and scipy's paired t statistic."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from experiments.stats import paired, summarise


def test_summary_matches_numpy():
    values = [0.91, 0.88, 0.95, 0.90]
    s = summarise(values)
    assert s.n == 4
    assert s.mean == pytest.approx(np.mean(values))
    assert s.sd == pytest.approx(np.std(values, ddof=1))
    assert s.se == pytest.approx(np.std(values, ddof=1) / 2)


def test_one_value_has_no_spread():
    s = summarise([0.5])
    assert s.mean == 0.5 and math.isnan(s.sd) and math.isnan(s.se)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ({0: 0.90, 1: 0.85, 2: 0.93}, {0: 0.80, 1: 0.79, 2: 0.82}),
        ({0: 0.70, 1: 0.85, 2: 0.60}, {0: 0.72, 1: 0.80, 2: 0.66}),
        ({0: 0.50, 1: 0.52, 2: 0.49, 3: 0.55}, {0: 0.60, 1: 0.63, 2: 0.58, 3: 0.64}),
        ({0: 0.85, 1: 0.82, 2: 0.79}, {0: 0.80, 1: 0.80, 2: 0.80}),  # t = 1.15: a tie, not a verdict
    ],
)
def test_paired_difference_and_verdict_follow_the_paired_t_statistic(a, b):
    p = paired(a, b)
    seeds = sorted(a)
    t = sps.ttest_rel([a[k] for k in seeds], [b[k] for k in seeds]).statistic
    assert p.diff == pytest.approx(np.mean([a[k] - b[k] for k in seeds]))
    assert p.diff / p.se == pytest.approx(t)  # the SE is the paired one
    assert p.verdict == ("a" if t > 2 else "b" if t < -2 else "tie")


def test_pairs_only_the_seeds_both_arms_have():
    p = paired({0: 0.9, 1: 0.8, 2: 0.7}, {1: 0.5, 2: 0.6, 3: 0.1})
    assert p.seeds == (1, 2)
    assert p.diff == pytest.approx(0.2)


def test_fewer_than_two_seeds_gives_no_verdict():
    assert paired({0: 0.9}, {0: 0.1}).verdict == "too few seeds"
    assert paired({0: 0.9}, {1: 0.1}).verdict == "too few seeds"


def test_identical_differences_are_a_clear_verdict():
    assert paired({0: 0.6, 1: 0.7}, {0: 0.5, 1: 0.6}).verdict == "a"
    assert paired({0: 0.6, 1: 0.7}, {0: 0.6, 1: 0.7}).verdict == "tie"
