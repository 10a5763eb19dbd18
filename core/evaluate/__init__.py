"""Evaluation: classification metrics and probes on frozen features (offline evaluation lives beside them)."""

from core.evaluate.metrics import (
    balanced_accuracy,
    classification_metrics,
    confusion_matrix,
    per_class_accuracy,
    predicted_labels,
    top1,
    topk_accuracy,
)
from core.evaluate.probes import LinearProbe, fit_linear_probe, knn_predict, knn_probe, linear_probe

__all__ = [
    "LinearProbe",
    "balanced_accuracy",
    "classification_metrics",
    "confusion_matrix",
    "fit_linear_probe",
    "knn_predict",
    "knn_probe",
    "linear_probe",
    "per_class_accuracy",
    "predicted_labels",
    "top1",
    "topk_accuracy",
]
