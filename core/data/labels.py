"""Label fractions for semi-supervised experiments (1 %, 5 %, 10 %, 20 %, 50 %, 100 % of the labels)."""

from __future__ import annotations

import numpy as np

from core.errors import ConfigError

UNLABELLED = -1
"""The label of a clip whose label is hidden."""


def labelled_fraction(labels: np.ndarray, fraction: float, seed: int = 0) -> np.ndarray:
    """Keep a class-stratified ``fraction`` of the labels and mark the rest unlabelled (-1).

    Args:
        labels: int [N] class indices (typically of the training split); entries already -1 stay -1.
        fraction: share of each class to keep, in (0, 1] (0.05 means 5 %). Each class keeps
            ``max(1, round(fraction * n_class))`` labels, so every class keeps at least one.
        seed: the choice is reproducible from it. For one seed the kept sets are nested: the 1 % labels are
            among the 5 % ones, and so on.

    Returns:
        A new int64 array [N]: the kept labels, and -1 elsewhere. No clip is dropped; only labels are hidden.
    """
    labels = np.asarray(labels)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise ConfigError(f"labelled_fraction: labels must be a 1-D integer array, got {labels.dtype} {labels.shape}")
    if not 0.0 < float(fraction) <= 1.0:
        raise ConfigError(f"labelled_fraction: fraction must be in (0, 1] (0.05 means 5 %), got {fraction}")
    out = np.full(labels.shape, UNLABELLED, dtype=np.int64)
    rng = np.random.default_rng(seed)
    for c in np.unique(labels[labels >= 0]):
        idx = np.flatnonzero(labels == c)
        order = rng.permutation(idx.size)
        k = min(idx.size, max(1, round(fraction * idx.size)))
        keep = idx[order[:k]]
        out[keep] = c
    return out
