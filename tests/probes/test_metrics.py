"""Metrics against scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn import metrics as skm
from sklearn.metrics import accuracy_score, balanced_accuracy_score, recall_score
from sklearn.metrics import confusion_matrix as sk_confusion_matrix

from core.probes.metrics import (
    balanced_accuracy,
    classification_report,
    confusion_matrix,
    per_class_accuracy,
    top1,
    topk_accuracy,
)


@pytest.mark.filterwarnings("ignore:y_pred contains classes not in y_true")
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_against_sklearn(seed):
    rng = np.random.default_rng(seed)
    c = 7
    y = rng.integers(0, c, 300)
    y[y == 3] = 4  # class 3 absent from the truth
    scores = rng.normal(size=(300, c)) + 2.0 * np.eye(c)[y] * rng.random((300, 1))
    pred = scores.argmax(1)
    labels = list(range(c))
    assert top1(y, pred) == pytest.approx(skm.accuracy_score(y, pred))
    assert top1(torch.from_numpy(y), torch.from_numpy(scores)) == pytest.approx(skm.accuracy_score(y, pred))
    np.testing.assert_array_equal(confusion_matrix(y, pred, c), skm.confusion_matrix(y, pred, labels=labels))
    pca = per_class_accuracy(y, pred, c)
    present = np.isin(labels, y)
    ref = skm.recall_score(y, pred, labels=labels, average=None, zero_division=0)
    np.testing.assert_allclose(pca[present], ref[present])
    assert np.isnan(pca[3])
    assert balanced_accuracy(y, pred, c) == pytest.approx(skm.balanced_accuracy_score(y, pred))
    assert topk_accuracy(y, scores, 3) == pytest.approx(skm.top_k_accuracy_score(y, scores, k=3, labels=labels))
    m = classification_report(y, scores, c)
    assert m["clips"] == 300 and m["top1"] == pytest.approx(skm.accuracy_score(y, pred))
    assert m["top5"] == pytest.approx(skm.top_k_accuracy_score(y, scores, k=5, labels=labels))
    assert m["balanced_accuracy"] == pytest.approx(skm.balanced_accuracy_score(y, pred))
    np.testing.assert_array_equal(m["confusion_matrix"], skm.confusion_matrix(y, pred, labels=labels))
    assert m["per_class_accuracy"]["3"] is None and m["per_class_accuracy"]["0"] == pytest.approx(ref[0])


def test_errors():
    with pytest.raises(ValueError, match="predictions"):
        top1([0, 1, 2], [0, 1])
    with pytest.raises(ValueError, match="labels must lie"):
        confusion_matrix([0, 5], [0, 1], num_classes=3)
    with pytest.raises(ValueError, match="no examples"):
        top1([], [])


@pytest.mark.filterwarnings("ignore:y_pred contains classes not in y_true")
def test_classification_report_matches_sklearn():
    rng = np.random.default_rng(0)
    names = [f"c{i}" for i in range(5)]
    y = rng.integers(0, 4, 200)  # class 4 never occurs
    p = np.where(rng.random(200) < 0.6, y, rng.integers(0, 5, 200))
    r = classification_report(y, p, names)
    np.testing.assert_array_equal(r["confusion_matrix"], sk_confusion_matrix(y, p, labels=range(5)))
    assert r["top1"] == pytest.approx(accuracy_score(y, p))
    assert r["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(y, p))
    recall = recall_score(y, p, labels=range(4), average=None)
    assert [r["per_class_accuracy"][n] for n in names[:4]] == pytest.approx(list(recall))
    assert r["per_class_accuracy"]["c4"] is None
    with pytest.raises(ValueError, match="labels must lie"):
        classification_report(y, p + 1, names)
