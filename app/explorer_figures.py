"""Figures of the Embeddings page: the map, a clickable confusion matrix and the invariance bars.

Every point and cell carries its clip row (or its true and predicted class) in ``customdata``, which is what a
Plotly selection in Streamlit gives back: the page reads the rows from there, never from a point's position.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

    from core.evaluate.invariance import InvarianceRow

PALETTE = ("#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#b279a2", "#ff9da6", "#9d755d", "#bab0ac",
           "#eeca3b", "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22", "#17becf")  # fmt: skip
SPLIT_COLOURS = {"train": "#4c78a8", "valid": "#f58518", "test": "#e45756"}
CORRECT_COLOURS = {"correct": "#54a24b", "incorrect": "#e45756"}


def _hover(frame: pd.DataFrame) -> tuple[np.ndarray, str]:
    """Customdata (row, file, label, predicted, confidence) and the hover template that reads it."""
    has_pred = "predicted" in frame
    custom = np.stack(
        [
            frame["row"].to_numpy(),
            frame["file"].to_numpy(),
            frame["label"].to_numpy(),
            frame["predicted"].to_numpy() if has_pred else np.full(len(frame), "-", dtype=object),
            frame["confidence"].to_numpy() if has_pred else np.full(len(frame), np.nan),
        ],
        axis=1,
    )
    template = "<b>%{customdata[1]}</b><br>label: %{customdata[2]}"
    if has_pred:
        template += "<br>predicted: %{customdata[3]} (%{customdata[4]:.0%})"
    return custom, template + "<extra></extra>"


def map_figure(
    frame: pd.DataFrame, colour: str, dims: int = 2, placed: np.ndarray | None = None, title: str | None = None
):
    """The clips of ``frame`` (with x, y[, z]) as points, coloured by the column ``colour``.

    Args:
        frame: :func:`app.explorer.clip_frame` with coordinates.
        colour: a column: ``label``, ``predicted``, ``split``, ``correct`` (one trace per value, in the legend) or
            ``confidence`` (one trace, a colour scale).
        dims: 2 or 3.
        placed: coordinates [dims] of a new clip, drawn as a star.
        title: the figure's title.
    """
    import plotly.graph_objects as go

    three = dims == 3
    scatter = go.Scatter3d if three else go.Scatter
    fig = go.Figure()

    def xyz(part: pd.DataFrame) -> dict:
        out = {"x": part["x"], "y": part["y"]}
        if three:
            out["z"] = part["z"]
        return out

    size = 4 if three else (7 if len(frame) <= 2000 else 5)
    if colour == "confidence":
        custom, template = _hover(frame)
        fig.add_trace(
            scatter(
                **xyz(frame),
                mode="markers",
                name="clips",
                customdata=custom.tolist(),
                hovertemplate=template,
                marker={
                    "size": size,
                    "color": frame["confidence"],
                    "colorscale": "Viridis",
                    "cmin": 0,
                    "cmax": 1,
                    "colorbar": {"title": "confidence", "tickformat": ".0%"},
                },
            )
        )
    else:
        fixed = {"split": SPLIT_COLOURS, "correct": CORRECT_COLOURS}.get(colour, {})
        values = list(dict.fromkeys(frame[colour]))
        if colour not in fixed:
            values.sort(key=str)
        for k, value in enumerate(values):
            part = frame[frame[colour] == value]
            custom, template = _hover(part)
            fig.add_trace(
                scatter(
                    **xyz(part),
                    mode="markers",
                    name=str(value),
                    customdata=custom.tolist(),
                    hovertemplate=template,
                    marker={"size": size, "color": fixed.get(value, PALETTE[k % len(PALETTE)])},
                )
            )
    if placed is not None:
        p = np.asarray(placed, dtype=float).ravel()
        star = {"x": [p[0]], "y": [p[1]]} | ({"z": [p[2]]} if three else {})
        fig.add_trace(
            scatter(
                **star,
                mode="markers",
                name="your clip",
                customdata=[[-1, "your clip", "-", "-", np.nan]],
                hovertemplate="<b>your clip</b><extra></extra>",
                marker={
                    "size": 9 if three else 18,
                    "color": "black",
                    "symbol": "diamond" if three else "star",
                    "line": {"width": 1, "color": "white"},
                },
            )
        )
    fig.update_layout(
        title=title,
        height=640,
        margin={"l": 10, "r": 10, "t": 40 if title else 10, "b": 10},
        legend={"itemsizing": "constant"},
        dragmode="orbit" if three else "select",
        uirevision="map",
    )
    if not three:
        fig.update_xaxes(showticklabels=False, title=None)
        fig.update_yaxes(showticklabels=False, title=None, scaleanchor="x", scaleratio=1)
    return fig


def confusion_click_figure(cm: np.ndarray, class_names: Sequence[str], hide_diagonal: bool = False, title: str = ""):
    """The run report's confusion heat map (:func:`app.report_figures.confusion_figure`), its cells clickable.

    Each cell carries a transparent point whose ``customdata`` is ``[true, predicted, count]``: the points answer
    hovers and clicks, the heat map under them only draws. With ``hide_diagonal`` only the errors are coloured.
    """
    import plotly.graph_objects as go

    from app.report_figures import confusion_figure

    counts = np.asarray(cm, dtype=np.int64)
    names = list(class_names)
    n = len(names)
    fig = confusion_figure({"confusion_matrix": counts.tolist()}, names, title)
    heat = fig.data[0]
    heat.update(hoverinfo="skip", hovertemplate=None)
    if hide_diagonal:
        z = np.array(heat.z, dtype=float)
        np.fill_diagonal(z, np.nan)
        text = None if heat.text is None else np.array(heat.text, dtype=object)
        if text is not None:
            np.fill_diagonal(text, "")
        heat.update(z=z, zmax=max(float(np.nanmax(z)) if np.isfinite(z).any() else 1.0, 1e-9), text=text)
    t, p = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    keep = t != p if hide_diagonal else np.ones_like(t, dtype=bool)
    t, p = t[keep], p[keep]
    fig.add_trace(
        go.Scatter(
            x=[names[i] for i in p],
            y=[names[i] for i in t],
            mode="markers",
            marker={"size": max(8, min(60, 500 // max(n, 1))), "symbol": "square", "color": "rgba(0,0,0,0)"},
            customdata=np.stack([t, p, counts[t, p]], axis=1).tolist(),  # a list: typed arrays do not select
            hovertemplate="true %{y}<br>predicted %{x}<br>%{customdata[2]} clip(s): click to list them<extra></extra>",
            showlegend=False,
        )
    )
    # no drag or click mode is set: Streamlit then makes a click select (a box drag mode turns click-select off)
    return fig


def invariance_figure(rows: Sequence[InvarianceRow]):
    """Per augmentation: the cosine similarity of clean and augmented embeddings, and the accuracy on them.

    Bars of the mean similarity with their standard deviation; beside them, where there is a classifier, its
    accuracy on the augmented clips against the clean ones (the dashed line).
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    names = [r.augmentation for r in rows]
    has_acc = any(r.accuracy_augmented is not None for r in rows)
    fig = make_subplots(
        rows=1,
        cols=2 if has_acc else 1,
        subplot_titles=["cosine similarity, clean vs augmented"] + (["accuracy on augmented clips"] if has_acc else []),
        horizontal_spacing=0.12,
    )
    fig.add_trace(
        go.Bar(
            x=[r.similarity_mean for r in rows],
            y=names,
            orientation="h",
            error_x={"type": "data", "array": [r.similarity_std for r in rows]},
            marker_color="#4c78a8",
            name="similarity",
            hovertemplate="%{y}: %{x:.3f}<extra></extra>",
        ),
        row=1,
        col=1,
    )
    if has_acc:
        acc = [r.accuracy_augmented for r in rows]
        fig.add_trace(
            go.Bar(x=acc, y=names, orientation="h", marker_color="#f58518", name="augmented",
                   hovertemplate="%{y}: %{x:.1%}<extra></extra>"),
            row=1,
            col=2,
        )  # fmt: skip
        clean = rows[0].accuracy_clean
        fig.add_vline(x=clean, line_dash="dash", line_color="#333", row=1, col=2,
                      annotation_text=f"clean {clean:.1%}", annotation_position="bottom left")  # fmt: skip
        fig.update_xaxes(range=[0, 1], tickformat=".0%", row=1, col=2)
    fig.update_xaxes(range=[min(0.0, min(r.similarity_mean - r.similarity_std for r in rows)), 1.0], row=1, col=1)
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(height=80 + 34 * len(rows), margin={"l": 10, "r": 10, "t": 40, "b": 10}, showlegend=False)
    return fig
