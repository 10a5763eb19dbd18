"""Probes on frozen features (linear, kNN) and classification metrics: the maths of evaluation, free of training.

>>> from core.probes import linear_probe, knn_probe
>>> linear_probe(train_x, train_y, {"test": (test_x, test_y)})["test"]["top1"]
"""

from core.probes.knn import knn_predict, knn_probe
from core.probes.linear import (
    DEFAULT_WEIGHT_DECAYS,
    LinearProbe,
    fit_linear_probe,
    linear_probe,
    select_linear_probe,
)
from core.probes.metrics import (
    balanced_accuracy,
    classification_report,
    confusion_matrix,
    per_class_accuracy,
    predicted_labels,
    top1,
    topk_accuracy,
)

__all__ = [
    "DEFAULT_WEIGHT_DECAYS",
    "LinearProbe",
    "balanced_accuracy",
    "classification_report",
    "confusion_matrix",
    "fit_linear_probe",
    "knn_predict",
    "knn_probe",
    "linear_probe",
    "per_class_accuracy",
    "predicted_labels",
    "select_linear_probe",
    "top1",
    "topk_accuracy",
]
