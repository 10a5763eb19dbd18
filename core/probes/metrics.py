"""Classification metrics on integer labels.

Classification metrics on integer labels: top-1, top-k, per-class accuracy, confusion matrix, and the report that
gathers them (:func:`classification_report`).

Every function takes ``y_true`` first and ``y_pred`` second (as scikit-learn does). ``y_pred`` may be
predicted labels [N] or scores/logits [N, C] (then the arg-max is the prediction). Inputs may be numpy
arrays, torch tensors (any device) or sequences. Results are plain numpy/Python numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def _as_numpy(x: Any) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def predicted_labels(y_pred: Any) -> np.ndarray:
    """Labels [N] from labels [N] or from scores [N, C] (arg-max over C)."""
    p = _as_numpy(y_pred)
    if p.ndim == 2:
        return p.argmax(axis=1).astype(np.int64)
    if p.ndim != 1:
        raise ValueError(f"predictions must be labels [N] or scores [N, C], got shape {p.shape}")
    return p.astype(np.int64)


def _pair(y_true: Any, y_pred: Any, num_classes: int | None = None) -> tuple[np.ndarray, np.ndarray, int]:
    t = _as_numpy(y_true).astype(np.int64).reshape(-1)
    p = predicted_labels(y_pred)
    if t.shape != p.shape:
        raise ValueError(f"metrics: {t.shape[0]} true labels but {p.shape[0]} predictions")
    if t.size == 0:
        raise ValueError("metrics: no examples")
    if num_classes is None:
        num_classes = int(max(t.max(), p.max())) + 1
    lo, hi = int(min(t.min(), p.min())), int(max(t.max(), p.max()))
    if lo < 0 or hi >= num_classes:
        raise ValueError(f"metrics: labels must lie in [0, {num_classes}), got [{lo}, {hi}]")
    return t, p, int(num_classes)


def top1(y_true: Any, y_pred: Any) -> float:
    """Fraction of examples whose prediction equals the true label."""
    t, p, _ = _pair(y_true, y_pred)
    return float((t == p).mean())


def topk_accuracy(y_true: Any, scores: Any, k: int = 5) -> float:
    """Fraction of examples whose true label is among the ``k`` highest ``scores`` [N, C]."""
    s = _as_numpy(scores)
    t = _as_numpy(y_true).astype(np.int64).reshape(-1)
    if s.ndim != 2 or s.shape[0] != t.shape[0] or t.size == 0:
        raise ValueError(f"topk_accuracy: scores {s.shape} must be [N, C] with N = {t.shape[0]} > 0")
    k = min(int(k), s.shape[1])
    top = np.argpartition(-s, k - 1, axis=1)[:, :k]
    return float((top == t[:, None]).any(axis=1).mean())


def confusion_matrix(y_true: Any, y_pred: Any, num_classes: int | None = None) -> np.ndarray:
    """int64 [C, C] counts; row = true class, column = predicted class (scikit-learn's convention)."""
    t, p, c = _pair(y_true, y_pred, num_classes)
    return np.bincount(t * c + p, minlength=c * c).reshape(c, c).astype(np.int64)


def per_class_accuracy(y_true: Any, y_pred: Any, num_classes: int | None = None) -> np.ndarray:
    """The recall of each class.

    float64 [C]: for each class, the fraction of its examples predicted correctly (recall); NaN for a class with no
    example.
    """
    cm = confusion_matrix(y_true, y_pred, num_classes)
    support = cm.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(support > 0, np.diag(cm) / np.maximum(support, 1), np.nan)


def balanced_accuracy(y_true: Any, y_pred: Any, num_classes: int | None = None) -> float:
    """Mean of :func:`per_class_accuracy` over the classes that have examples."""
    return float(np.nanmean(per_class_accuracy(y_true, y_pred, num_classes)))


def recall_by_class(cm: Any, class_names: Sequence[str]) -> dict[str, float | None]:
    """Recall of each class (by name) from a confusion matrix ``cm[true][pred]``; None where a class has no clip."""
    cm = np.asarray(cm)
    support = cm.sum(axis=1)
    return {n: (float(cm[i, i] / support[i]) if support[i] else None) for i, n in enumerate(class_names)}


def classification_report(y_true: Any, y_pred: Any, classes: Sequence[str] | int | None = None) -> dict[str, Any]:
    """Every score of a classification, JSON-able: the one metrics function of CLAR Studio.

    Args:
        y_true: true labels [N] (ints in [0, C)).
        y_pred: predicted labels [N], or scores / logits [N, C] (then the arg-max is the prediction).
        classes: the class names (C of them), or the number of classes C (names are then "0" .. "C-1"), or
            None (C is 1 + the largest label seen).

    Returns:
        ``top1`` and ``balanced_accuracy`` (floats, 0..1), ``clips`` (N), ``per_class_accuracy`` (class name ->
        recall, None for a class absent from ``y_true``), ``confusion_matrix`` (``cm[true][pred]``, nested lists
        of ints) and, when scores with C > 5 are given, ``top5``. With no clip at all, the scores are None.
    """
    if classes is None or isinstance(classes, int):
        num = classes
        names = None
    else:
        names = [str(c) for c in classes]
        num = len(names)
    t = _as_numpy(y_true).astype(np.int64).reshape(-1)
    if t.size == 0:
        return {"top1": None, "balanced_accuracy": None, "clips": 0, "per_class_accuracy": {}, "confusion_matrix": []}
    t, p, c = _pair(t, y_pred, num)
    names = names or [str(i) for i in range(c)]
    cm = np.bincount(t * c + p, minlength=c * c).reshape(c, c).astype(np.int64)
    recall = recall_by_class(cm, names)
    present = [v for v in recall.values() if v is not None]
    out: dict[str, Any] = {
        "top1": float(np.trace(cm) / t.size),
        "balanced_accuracy": float(np.mean(present)),
        "clips": int(t.size),
        "per_class_accuracy": recall,
        "confusion_matrix": cm.tolist(),
    }
    scores = _as_numpy(y_pred)
    if scores.ndim == 2 and scores.shape[1] > 5:
        out["top5"] = topk_accuracy(t, scores, 5)
    return out
