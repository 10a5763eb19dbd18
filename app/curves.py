"""Learning curves of several runs, overlaid: the data from the run store, and one Plotly figure of panels.

Training metrics are drawn per logged step (binned for long runs, never the epoch means the reporter also logs at
each epoch's last step); validation metrics once per evaluation. The x axis is the epoch (fractional between
epoch ends), the optimiser step or the wall time since the run's first logged step. Colour and line style each
group the runs by one of CLAR's axes (regime, input kind, augmentation set, label fraction).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from core.runs import RunStore

PANELS = (
    ("loss", "Training loss", ("train/loss",)),
    ("nt_xent", "NT-Xent part", ("train/nt_xent", "train/contrastive")),
    ("ce", "Cross-entropy part (CLAR)", ("train/ce",)),
    ("contrastive_acc", "Contrastive top-1", ("train/contrastive_acc",)),
    ("head_acc", "Validation: head accuracy", ("valid/head_acc",)),
    ("linear_acc", "Validation: linear probe", ("valid/linear_acc",)),
    ("knn_acc", "Validation: kNN probe", ("valid/knn_acc",)),
    ("lr", "Learning rate", ("train/lr",)),
)
"""(panel, title, the metric keys it shows: the first a run has)."""
X_AXES = {"epoch": "epoch", "step": "optimiser step", "wall": "wall time (minutes)"}
DASHES = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")
COLOURS = ("#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#b279a2", "#eeca3b", "#9d755d", "#ff9da6", "#bab0ac")
FRACTION_PANELS = ("contrastive_acc", "head_acc", "linear_acc", "knn_acc")


def curve_frame(store: RunStore, run_ids: list[str], max_points: int = 1500) -> pd.DataFrame:
    """Long table of the runs' curves: ``run_id, panel, step, epoch, wall_min, value``."""
    frames = []
    for rid in run_ids:
        plan = store.progress([rid])[rid]
        per_epoch = plan["steps_per_epoch"]
        rows: list[dict[str, Any]] = []
        for panel, _, keys in PANELS:
            for key in keys:
                if key.startswith("train/"):
                    got = store.step_series(rid, key, max_points=max_points)
                else:
                    got = [r for r in store.metrics(rid, key) if r["epoch"] is not None]
                if got:
                    rows += [{"panel": panel, "step": r["step"], "time": r["time"], "value": r["value"]} for r in got]
                    break
        if not rows:
            continue
        frame = pd.DataFrame(rows)
        frame["run_id"] = rid
        frame["epoch"] = frame["step"] / per_epoch if per_epoch else float("nan")
        frame["wall_min"] = (frame["time"] - frame["time"].min()) / 60.0
        frames.append(frame)
    if not frames:
        return pd.DataFrame(columns=["run_id", "panel", "step", "epoch", "wall_min", "value"])
    return pd.concat(frames, ignore_index=True).drop(columns="time")


def _styles(values: list[Any], palette: tuple[str, ...]) -> dict[Any, str]:
    distinct = list(dict.fromkeys(values))
    return {v: palette[i % len(palette)] for i, v in enumerate(distinct)}


def curves_figure(
    frame: pd.DataFrame,
    runs: pd.DataFrame,
    x: str = "epoch",
    colour_by: str = "regime",
    dash_by: str | None = None,
    height_per_row: int = 230,
):
    """The figure: one panel per metric that any run has, one line per run.

    Args:
        frame: :func:`curve_frame`'s table.
        runs: the runs' table rows (``app.runs_table``), with ``id``, ``name`` and the grouping columns.
        x: ``epoch``, ``step`` or ``wall``.
        colour_by: the runs column that picks the colour.
        dash_by: the runs column that picks the line style (None: all solid).
        height_per_row: pixels per row of panels.
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    present = [p for p in PANELS if p[0] in set(frame["panel"])] if len(frame) else []
    if not present:
        return None
    cols = 2
    nrows = -(-len(present) // cols)
    height = height_per_row * nrows + 80
    fig = make_subplots(
        rows=nrows,
        cols=cols,
        subplot_titles=[t for _, t, _ in present],
        horizontal_spacing=0.08,
        vertical_spacing=min(0.3, 90 / height),  # room for an x-axis title and the next panel's title
    )
    meta = runs.set_index("id", drop=False)
    colour = _styles([meta.at[r, colour_by] for r in meta.index], COLOURS)
    dash = _styles([meta.at[r, dash_by] for r in meta.index], DASHES) if dash_by else {}
    xcol = {"epoch": "epoch", "step": "step", "wall": "wall_min"}[x]
    legend_seen: set[str] = set()
    for i, (panel, _, _) in enumerate(present):
        row, col = i // cols + 1, i % cols + 1
        part = frame[frame["panel"] == panel]
        for rid, line in part.groupby("run_id", sort=False):
            if rid not in meta.index:
                continue
            m = meta.loc[rid]
            name = f"{m['name']} ({rid})"
            epochwise = panel in ("head_acc", "linear_acc", "knn_acc")
            fig.add_trace(
                go.Scatter(
                    x=line[xcol],
                    y=line["value"],
                    name=name,
                    legendgroup=rid,
                    showlegend=rid not in legend_seen,
                    mode="lines+markers" if epochwise else "lines",
                    line={
                        "color": colour[m[colour_by]],
                        "dash": dash.get(m[dash_by], "solid") if dash_by else "solid",
                        "width": 2,
                    },
                    hovertemplate=f"{name}<br>{X_AXES[x]} %{{x:.4g}}<br>%{{y:.4g}}<extra></extra>",
                ),
                row=row,
                col=col,
            )
            legend_seen.add(rid)
        fig.update_xaxes(title_text=X_AXES[x], row=row, col=col, title_standoff=2)
        if panel in FRACTION_PANELS:
            fig.update_yaxes(tickformat=".0%", row=row, col=col)
    fig.update_layout(
        height=height,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        legend={"orientation": "h", "y": -0.05},
        hovermode="closest",
    )
    return fig
