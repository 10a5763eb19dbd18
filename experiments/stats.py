"""Means, spreads and paired comparisons over seeds (pure arithmetic; no I/O).

A claim "a beats b" holds when the mean paired difference over seeds exceeds twice its standard error; the
reverse when it is below minus twice; otherwise the two tie. Pairing is by seed: within a seed both arms saw the
same labelled clips and the same data splits, so the label draw's luck cancels out of the difference.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Summary:
    """Scores of one arm over seeds: ``n``, ``mean``, sample standard deviation ``sd`` (ddof 1) and ``se``."""

    n: int
    mean: float
    sd: float
    se: float

    def as_dict(self) -> dict[str, float]:
        """The summary as a plain dict (for JSON)."""
        return asdict(self)


def summarise(values: Sequence[float]) -> Summary:
    """Mean, sample SD and standard error of ``values`` (SD and SE are NaN for fewer than 2 values)."""
    n = len(values)
    if n == 0:
        return Summary(0, math.nan, math.nan, math.nan)
    mean = math.fsum(values) / n
    if n < 2:
        return Summary(n, mean, math.nan, math.nan)
    sd = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (n - 1))
    return Summary(n, mean, sd, sd / math.sqrt(n))


@dataclass(frozen=True)
class Paired:
    """Arm ``a`` minus arm ``b`` over the seeds both have.

    Attributes:
        seeds: the seeds used.
        diff: mean of the per-seed differences (a - b).
        se: its standard error (SD of the differences / sqrt(n)).
        verdict: ``a`` (a better by more than 2 SE), ``b`` (b better), ``tie``, or ``too few seeds`` (< 2).
    """

    seeds: tuple[int, ...]
    diff: float
    se: float
    verdict: str

    def as_dict(self) -> dict:
        """The comparison as a plain dict (for JSON)."""
        return asdict(self)


def paired(a: Mapping[int, float], b: Mapping[int, float]) -> Paired:
    """Compare per-seed scores ``a`` and ``b`` (``{seed: score}``), paired by seed."""
    seeds = tuple(sorted(set(a) & set(b)))
    s = summarise([a[k] - b[k] for k in seeds])
    if s.n < 2:
        return Paired(seeds, s.mean, s.se, "too few seeds")
    if s.mean > 2 * s.se:
        verdict = "a"
    elif s.mean < -2 * s.se:
        verdict = "b"
    else:
        verdict = "tie"
    return Paired(seeds, s.mean, s.se, verdict)
