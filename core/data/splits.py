"""Validation and test splits where a dataset has no official one.

- :func:`which_set`: the Speech Commands hashing rule (from the dataset's README), speaker-stable.
- :func:`stratified_holdout`: a seeded, class-stratified hold-out.
- :func:`group_stratified_holdout`: a seeded hold-out of whole groups (speakers, instruments), as close to
  class-stratified as whole groups allow.
"""

from __future__ import annotations

import hashlib
import re

import numpy as np

MAX_NUM_WAVS_PER_CLASS = 2**27 - 1
"""Constant of the Speech Commands ``which_set`` rule (about 134M)."""


def which_set(filename: str, validation_percentage: float = 10.0, testing_percentage: float = 10.0) -> str:
    """The Speech Commands split of a file: ``"train"``, ``"valid"`` or ``"test"``.

    This is the rule in the dataset's README (and TensorFlow's ``input_data.which_set``): the part of the base
    name before ``_nohash_`` (the speaker id) is hashed with SHA-1, so every clip of a speaker falls into the same
    set, and the set stays stable as files are added. Percentages are in percent (10 means 10 %).
    """
    base_name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    hash_name = re.sub(r"_nohash_.*$", "", base_name)
    hash_name_hashed = hashlib.sha1(hash_name.encode("utf-8")).hexdigest()
    percentage_hash = (int(hash_name_hashed, 16) % (MAX_NUM_WAVS_PER_CLASS + 1)) * (100.0 / MAX_NUM_WAVS_PER_CLASS)
    if percentage_hash < validation_percentage:
        return "valid"
    if percentage_hash < testing_percentage + validation_percentage:
        return "test"
    return "train"


def stratified_holdout(labels: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """A seeded, class-stratified hold-out: boolean mask [N] of about ``fraction`` of each class.

    Each class keeps at least one clip outside the hold-out; a class with two or more clips gives at least one.
    """
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    out = np.zeros(labels.shape[0], dtype=bool)
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        if idx.size < 2:
            continue
        k = min(idx.size - 1, max(1, round(fraction * idx.size)))
        out[rng.permutation(idx)[:k]] = True
    return out


def group_stratified_holdout(labels: np.ndarray, groups: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """A seeded hold-out of whole groups: boolean mask [N]; no group is on both sides.

    Uses scikit-learn's ``StratifiedGroupKFold`` with ``round(1 / fraction)`` folds (fewer if there are fewer
    groups, never fewer than 2) and returns its first fold, so the class mix of the hold-out is as close to the
    whole's as whole groups allow. With 6 speakers (FSDD) this holds out one speaker.
    """
    from sklearn.model_selection import StratifiedGroupKFold

    labels = np.asarray(labels)
    groups = np.asarray(groups)
    n_groups = np.unique(groups).size
    if n_groups < 2:
        raise ValueError(f"a group hold-out needs at least 2 groups, got {n_groups}")
    n_splits = int(min(max(2, round(1.0 / fraction)), n_groups))
    # StratifiedGroupKFold shuffles groups with a seeded RNG; it warns when a class has fewer members than folds.
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        kfold = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
        _, held = next(kfold.split(np.zeros(labels.shape[0]), labels, groups))
    out = np.zeros(labels.shape[0], dtype=bool)
    out[held] = True
    return out


def seeded_splits(labels: np.ndarray, seed: int, valid_fraction: float = 0.1, test_fraction: float = 0.1) -> np.ndarray:
    """Split names [N] for a dataset with no official split: seeded, class-stratified train/valid/test.

    ``test_fraction`` of each class goes to ``test``, then ``valid_fraction`` (of the whole) to ``valid``. A class
    with one clip stays in ``train``; with two, one goes to ``test``; with three or more, each split gets one
    or more.
    """
    labels = np.asarray(labels)
    split = np.full(labels.shape[0], "train", dtype="<U5")
    test = stratified_holdout(labels, test_fraction, seed)
    split[test] = "test"
    rest = np.flatnonzero(~test)
    scale = valid_fraction / max(1e-9, 1.0 - test_fraction)
    valid = stratified_holdout(labels[rest], scale, seed + 1)
    split[rest[valid]] = "valid"
    return split
