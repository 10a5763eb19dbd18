"""A confusion matrix whose cells open their clips: on the Embeddings page, and on a finished run's test report.

The matrix is counted from the model's predictions of the chosen clips (``core.probes.metrics.confusion_matrix``);
clicking a cell lists the clips of that true and predicted class, with players and spectrograms.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import streamlit as st

from app.clip_views import show_clips
from app.explorer import class_mismatch, clip_frame
from app.explorer_figures import confusion_click_figure

if TYPE_CHECKING:
    from core.evaluate.embedding_cache import DatasetEmbeddings


def picked_cells(event) -> list[tuple[int, int]]:
    """The (true, predicted) classes of the cells clicked (or boxed) in a ``st.plotly_chart`` selection event."""
    points = [p for p in (event.selection.points if event is not None else []) if "customdata" in p]
    return list(dict.fromkeys((int(p["customdata"][0]), int(p["customdata"][1])) for p in points))


def confusion_clips(
    emb: DatasetEmbeddings, rows: np.ndarray, key: str, feature_settings: dict | None = None, what: str = ""
) -> None:
    """The clickable confusion matrix of the clips ``rows``, and the clips of the clicked cell.

    Args:
        emb: the dataset's embeddings and the model's class probabilities.
        rows: the clips to count (e.g. the test split).
        key: a prefix for the widgets' keys.
        feature_settings: the model's feature config, for the spectrograms.
        what: which clips these are, for the caption (``the test split``).
    """
    from core.probes.metrics import confusion_matrix

    why = class_mismatch(emb)
    if why is not None:
        st.info(why, icon=":material/info:")
        return
    if len(rows) == 0:
        st.info("No clip to count: choose at least one split that has clips.", icon=":material/info:")
        return
    names = emb.class_names
    y, pred = emb.labels[rows], emb.predicted[rows]
    cm = confusion_matrix(y, pred, num_classes=len(names))
    hide = st.toggle("Hide the diagonal (only the errors)", key=f"{key}:hide")
    st.caption(
        f"{len(rows)} clips{f' of {what}' if what else ''}, {int((y == pred).sum())} right "
        f"({(y == pred).mean():.1%}). Rows are the true class, columns the prediction. Click a cell to hear its "
        "clips; shift-click adds cells."
    )
    event = st.plotly_chart(
        confusion_click_figure(cm, names, hide),
        width="stretch",
        on_select="rerun",
        selection_mode="points",
        key=f"{key}:matrix",
        config={"displayModeBar": False},
    )
    cells = picked_cells(event)
    if not cells:
        return
    found = np.concatenate([emb.clips_of(t, p, rows) for t, p in cells])
    if len(cells) == 1:
        true, predicted = cells[0]
        kind = "right" if true == predicted else "confused"
        st.markdown(f"**True *{names[true]}*, predicted *{names[predicted]}*** ({kind}): {len(found)} clip(s)")
    else:
        st.markdown(f"**{len(cells)} cells**: {len(found)} clip(s)")
    if len(found):
        show_clips(clip_frame(emb, found), f"{key}:cell", feature_settings)
