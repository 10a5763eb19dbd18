"""labelled_fraction: class-stratified, at least one label per class, reproducible, never drops a clip."""

from __future__ import annotations

import numpy as np
import pytest

from core.data import labelled_fraction, list_clips
from core.errors import ConfigError

FRACTIONS = (0.01, 0.05, 0.10, 0.20, 0.50, 1.00)


@pytest.fixture(scope="module")
def fsdd_train_labels(data_dir) -> np.ndarray:
    clips = list_clips("fsdd")
    return clips.labels[clips.split == "train"]


@pytest.mark.parametrize("fraction", FRACTIONS)
def test_fractions_on_fsdd(fsdd_train_labels: np.ndarray, fraction: float) -> None:
    labels = fsdd_train_labels  # 2700 clips, 270 per digit
    out = labelled_fraction(labels, fraction, seed=0)
    assert out.shape == labels.shape and out.dtype == np.int64
    kept = out >= 0
    assert np.all(out[kept] == labels[kept]) and np.all(out[~kept] == -1)
    per_class = np.bincount(out[kept], minlength=10)
    assert per_class.tolist() == [max(1, round(fraction * 270))] * 10
    np.testing.assert_array_equal(out, labelled_fraction(labels, fraction, seed=0))
    if fraction < 1:
        assert not np.array_equal(out, labelled_fraction(labels, fraction, seed=1))


def test_unbalanced_classes_keep_one_each() -> None:
    labels = np.array([0] * 500 + [1] * 30 + [2] * 3 + [3])
    out = labelled_fraction(labels, 0.01, seed=5)
    assert np.bincount(out[out >= 0], minlength=4).tolist() == [5, 1, 1, 1]
    out = labelled_fraction(labels, 0.5, seed=5)
    assert np.bincount(out[out >= 0], minlength=4).tolist() == [250, 15, 2, 1]  # round(1.5) == 2


def test_nested_across_fractions(fsdd_train_labels: np.ndarray) -> None:
    previous = None
    for fraction in FRACTIONS:
        kept = labelled_fraction(fsdd_train_labels, fraction, seed=3) >= 0
        if previous is not None:
            assert np.all(kept[previous])
        previous = kept


def test_already_unlabelled_stay_unlabelled() -> None:
    labels = np.array([0, 0, -1, 1, 1, -1])
    out = labelled_fraction(labels, 1.0, seed=0)
    np.testing.assert_array_equal(out, labels)


@pytest.mark.parametrize("fraction", [0, -0.1, 1.5, 5])
def test_bad_fraction(fraction: float) -> None:
    with pytest.raises(ConfigError, match="fraction"):
        labelled_fraction(np.array([0, 1]), fraction, seed=0)


def test_dataset_method_hides_train_labels_only(data_dir) -> None:
    from core.data.base import AudioDataset

    clips = list_clips("esc10")
    ds = AudioDataset(
        name="esc10",
        waveforms=np.zeros((len(clips), 4), np.float32),
        labels=clips.labels,
        class_names=clips.class_names,
        split=clips.split,
        paths=[str(p) for p in clips.paths],
    )
    semi = ds.with_labelled_fraction(0.05, seed=0)
    assert len(semi) == len(ds) and semi.meta["labelled_fraction"] == 0.05
    train = ds.split == "train"
    np.testing.assert_array_equal(semi.labels[~train], ds.labels[~train])
    assert np.bincount(semi.labels[train & (semi.labels >= 0)], minlength=10).tolist() == [2] * 10  # 5 % of 32
