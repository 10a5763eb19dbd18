"""Figures of a classification report: per-class accuracy as bars, the confusion matrix as a heat map."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def per_class_figure(report: dict[str, Any], title: str):
    """Horizontal bars of each class's accuracy (recall), worst first; classes absent from the split are left out."""
    import plotly.graph_objects as go

    acc = report.get("per_class_accuracy") or {}
    pairs = sorted(((v, n) for n, v in acc.items() if v is not None), reverse=True)
    fig = go.Figure(
        go.Bar(
            x=[v for v, _ in pairs],
            y=[n for _, n in pairs],
            orientation="h",
            marker_color="#4c78a8",
            hovertemplate="%{y}: %{x:.1%}<extra></extra>",
        )
    )
    fig.update_layout(
        title=title,
        height=max(240, 22 * len(pairs) + 80),
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        xaxis={"tickformat": ".0%", "range": [0, 1]},
    )
    return fig


def confusion_figure(report: dict[str, Any], class_names: Sequence[str], title: str, normalise: bool = True):
    """The confusion matrix (rows: true class, columns: predicted), as shares of each true class or as counts."""
    import numpy as np
    import plotly.graph_objects as go

    cm = np.asarray(report.get("confusion_matrix") or [], dtype=float)
    if cm.size == 0:
        return None
    names = list(class_names)
    counts = cm.astype(int)
    z = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1) if normalise else cm
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=names,
            y=names,
            colorscale="Blues",
            zmin=0,
            zmax=1 if normalise else None,
            customdata=counts,
            hovertemplate="true %{y}<br>predicted %{x}<br>%{customdata} clip(s)"
            + (" (%{z:.0%} of the class)" if normalise else "")
            + "<extra></extra>",
            colorbar={"tickformat": ".0%"} if normalise else None,
        )
    )
    if len(names) <= 20:
        fig.update_traces(text=counts, texttemplate="%{text}")
    side = max(320, min(900, 40 * len(names) + 160))
    fig.update_layout(
        title=title,
        height=side,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        xaxis={"title": "predicted", "tickangle": -45},
        yaxis={"title": "true", "autorange": "reversed"},
    )
    return fig
