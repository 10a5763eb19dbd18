"""Split helpers: the Speech Commands hashing rule and seeded (group-)stratified hold-outs."""

from __future__ import annotations

import numpy as np

from core.data.splits import group_stratified_holdout, seeded_splits, stratified_holdout, which_set


def test_which_set_depends_only_on_the_speaker() -> None:
    for speaker in ("0a7c2a8d", "ffd2ba2f", "c1d39ce8", "3bfd30e6"):
        sets = {which_set(f"{w}/{speaker}_nohash_{n}.wav") for w in ("yes", "no") for n in range(3)}
        assert len(sets) == 1
    assert which_set("a/b/x_nohash_0.wav") == which_set("x_nohash_1.flac")


def test_which_set_proportions() -> None:
    rng = np.random.default_rng(0)
    names = [f"{rng.integers(2**32):08x}_nohash_0.wav" for _ in range(20000)]
    counts = {s: 0 for s in ("train", "valid", "test")}
    for n in names:
        counts[which_set(n)] += 1
    assert abs(counts["valid"] / 20000 - 0.1) < 0.01 and abs(counts["test"] / 20000 - 0.1) < 0.01
    assert which_set(names[0], 0, 0) == "train" and which_set(names[0], 100, 0) == "valid"


def test_stratified_holdout() -> None:
    labels = np.repeat(np.arange(5), [100, 50, 10, 2, 1])
    held = stratified_holdout(labels, 0.2, seed=0)
    assert np.bincount(labels[held], minlength=5).tolist() == [20, 10, 2, 1, 0]
    np.testing.assert_array_equal(held, stratified_holdout(labels, 0.2, seed=0))


def test_group_holdout_is_group_disjoint() -> None:
    rng = np.random.default_rng(1)
    groups = np.repeat(np.arange(12), 20)
    labels = rng.integers(0, 4, size=groups.size)
    for seed in range(3):
        held = group_stratified_holdout(labels, groups, 0.25, seed)
        assert not set(groups[held]) & set(groups[~held])
        assert 0.1 < held.mean() < 0.4


def test_seeded_splits_cover_every_clip() -> None:
    labels = np.repeat(np.arange(4), [40, 10, 2, 1])
    split = seeded_splits(labels, seed=0)
    assert set(split.tolist()) == {"train", "valid", "test"}
    assert split[labels == 3].tolist() == ["train"]
    assert sorted(split[labels == 2].tolist()) == ["test", "train"]
    for c in (0, 1):
        assert {"train", "valid", "test"} == set(split[labels == c].tolist())
    assert (split[labels == 0] == "test").sum() == 4 and (split[labels == 0] == "valid").sum() == 4
