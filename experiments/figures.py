"""Plotly figures of a sweep: the arms' test scores over seeds, and the validation learning curves."""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go

from experiments.curves import mean_curve
from experiments.spec import Sweep

COLOURS = ["#4C78A8", "#F58518", "#54A24B", "#E45756", "#72B7B2", "#B279A2", "#9D755D", "#BAB0AC"]


def scores_figure(sweep: Sweep, scores: dict[str, dict[int, float]]) -> go.Figure:
    """Test top-1 (%) of every arm: a bar at the mean over seeds, an SD whisker, and one dot per seed."""
    fig = go.Figure()
    arms = [a for a in sweep.arms if scores.get(a.name)]
    for i, arm in enumerate(arms):
        values = np.array(list(scores[arm.name].values())) * 100
        colour = COLOURS[i % len(COLOURS)]
        sd = float(values.std(ddof=1)) if values.size > 1 else 0.0
        fig.add_bar(
            y=[arm.label], x=[values.mean()], orientation="h", marker_color=colour, opacity=0.55, showlegend=False,
            error_x={"type": "data", "array": [sd], "visible": values.size > 1},
            hovertemplate=f"{arm.label}: %{{x:.1f}} % (mean of {values.size})<extra></extra>",
        )  # fmt: skip
        fig.add_scatter(
            y=[arm.label] * values.size, x=values, mode="markers", marker={"color": colour, "size": 9,
            "line": {"width": 1, "color": "black"}}, showlegend=False,
            text=[f"{sweep.seed_name} {s}" for s in scores[arm.name]],
            hovertemplate="%{text}: %{x:.1f} %<extra></extra>",
        )  # fmt: skip
    fig.update_layout(
        title=(
            f"{sweep.title}<br><sup>test top-1 (%): bar = mean over {sweep.seed_name}s, whisker = SD, "
            f"dots = {sweep.seed_name}s</sup>"
        ),
        xaxis={"title": "test top-1 (%)", "range": [0, 100]},
        yaxis={"autorange": "reversed"},
        height=120 + 48 * len(arms),
        width=900,
        margin={"l": 320, "r": 30, "t": 80, "b": 50},
        template="plotly_white",
    )
    return fig


def curves_figure(sweep: Sweep, curves: dict[str, list[list[dict[str, Any]]]]) -> go.Figure:
    """Validation accuracy (%) against optimiser step, mean over seeds, for every training arm.

    Solid: the linear probe on frozen embeddings; dashed: the model's own classifier head (supervised, CLAR).
    """
    fig = go.Figure()
    for i, arm in enumerate(a for a in sweep.arms if curves.get(a.name)):
        colour = COLOURS[i % len(COLOURS)]
        for metric, dash, what in (("valid/linear_acc", "solid", "linear probe"), ("valid/head_acc", "dash", "head")):
            steps, values = mean_curve(curves[arm.name], metric)
            if not steps:
                continue
            fig.add_scatter(
                x=steps, y=[100 * v for v in values], mode="lines+markers",
                line={"color": colour, "dash": dash}, name=f"{arm.label}: {what}",
                hovertemplate=f"{arm.label}, {what}: %{{y:.1f}} % at step %{{x}}<extra></extra>",
            )  # fmt: skip
    fig.update_layout(
        title=f"{sweep.title}<br><sup>validation top-1 (%) during training, mean over seeds</sup>",
        xaxis={"title": "optimiser step"},
        yaxis={"title": "validation top-1 (%)", "range": [0, 100]},
        height=520,
        width=900,
        template="plotly_white",
        legend={"orientation": "h", "y": -0.18},
        margin={"b": 140},
    )
    return fig


def augment_matrix_figure(sweep: Sweep, means: dict[tuple[str, ...], float]) -> go.Figure:
    """The paper's heat map: test top-1 (%) with one augmentation (diagonal) or a pair (both off-diagonal cells).

    ``means`` maps a sorted-in-canonical-order tuple of one or two augmentation names to the mean score; cells not
    run are left blank.
    """
    from core.augment.sets import CANONICAL_ORDER

    names = list(CANONICAL_ORDER)
    z = np.full((len(names), len(names)), np.nan)
    for key, value in means.items():
        i, j = names.index(key[0]), names.index(key[-1])
        z[i, j] = z[j, i] = 100 * value
    text = [["" if np.isnan(v) else f"{v:.1f}" for v in row] for row in z]
    labels = [n.replace("_", " ") for n in names]
    fig = go.Figure(
        go.Heatmap(
            z=z, x=labels, y=labels, text=text, texttemplate="%{text}", colorscale="Viridis",
            colorbar={"title": "top-1 (%)"}, hoverongaps=False,
            hovertemplate="%{y} + %{x}: %{z:.1f} %<extra></extra>",
        )
    )  # fmt: skip
    fig.update_layout(
        title=f"{sweep.title}<br><sup>diagonal: one augmentation; off the diagonal: the pair; blank: not run</sup>",
        yaxis={"autorange": "reversed"},
        height=560,
        width=760,
        template="plotly_white",
    )
    return fig
