"""Data issues seen through the model's embeddings, each a table with players and a CSV.

Suspected label errors, near-duplicates (loudly when a pair crosses splits) and outliers.

The rankings are :mod:`core.probes.data_issues`' (cosine geometry in the 512-d space); this panel picks their
settings and shows the clips.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import streamlit as st

from app.clip_views import clip_players
from app.explorer import clip_frame

if TYPE_CHECKING:
    import pandas as pd

    from core.evaluate.embedding_cache import DatasetEmbeddings


def _picked(frame: pd.DataFrame, key: str) -> pd.DataFrame:
    """The table of ``frame`` with row selection; returns the selected rows (the first rows when none is)."""
    shown = frame.drop(columns=["path", "row"], errors="ignore")
    event = st.dataframe(
        shown,
        hide_index=True,
        width="stretch",
        on_select="rerun",
        selection_mode="multi-row",
        key=f"{key}:table",
        height=min(380, 36 * len(shown) + 40),
    )
    chosen = event.selection.rows if event is not None else []
    return frame.iloc[chosen] if chosen else frame.head(3)


def _section(title: str, frame: pd.DataFrame, key: str, filename: str, settings: dict | None, empty: str) -> None:
    st.markdown(f"#### {title}")
    if frame.empty:
        st.caption(empty)
        return
    st.download_button(
        f"{title} (CSV)", frame.to_csv(index=False), filename, "text/csv", icon=":material/download:", key=f"{key}:csv"
    )
    st.caption("Select rows to hear them (the first three play otherwise).")
    clip_players(_picked(frame, key), f"{key}:play", settings)


def _pairs_frame(emb: DatasetEmbeddings, rows: np.ndarray, pairs) -> pd.DataFrame:
    """One row per clip of each pair (pair number, similarity, across splits), so that both can be played."""
    import pandas as pd

    parts = []
    for n, pair in enumerate(pairs):
        f = clip_frame(emb, rows[[pair.a, pair.b]])
        f.insert(0, "pair", n + 1)
        f.insert(1, "similarity", round(pair.similarity, 4))
        f.insert(2, "across splits", "LEAK?" if pair.cross_split else "")
        parts.append(f)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def data_issues(emb: DatasetEmbeddings, rows: np.ndarray, key: str, feature_settings: dict | None = None) -> None:
    """The three rankings for the clips ``rows`` of ``emb``."""
    from core.probes.data_issues import near_duplicates, nearest, outliers, suspected_label_errors

    if len(rows) < 3:
        st.info("Data issues need at least 3 clips in the chosen splits.", icon=":material/info:")
        return
    with st.container(horizontal=True):
        k = st.number_input("Neighbours k", 1, 50, 10, key=f"{key}:k")
        agreement = st.slider("Neighbours agreeing on another label", 0.5, 1.0, 0.6, 0.05, key=f"{key}:agree")
        threshold = st.slider("Duplicate: cosine similarity at least", 0.90, 1.0, 0.98, 0.005, key=f"{key}:dup")
        top = st.number_input("Outliers shown", 1, 200, 20, key=f"{key}:top")
    emb_rows = emb.embeddings[rows]
    names = np.asarray(emb.class_names, dtype=object)

    near = nearest(emb_rows, int(k))  # one neighbour search serves the suspects and the outliers
    suspects = suspected_label_errors(emb_rows, emb.labels[rows], int(k), float(agreement), neighbours=near)
    frame = clip_frame(emb, rows[[s.index for s in suspects]]) if suspects else clip_frame(emb, rows[:0])
    if suspects:
        frame.insert(3, "neighbours say", names[[s.neighbour_label for s in suspects]])
        frame.insert(4, "agreement", [round(s.agreement, 3) for s in suspects])
    _section(
        "Suspected label errors",
        frame,
        f"{key}:labels",
        "suspected_label_errors.csv",
        feature_settings,
        f"No clip whose {int(k)} nearest neighbours mostly ({agreement:.0%} or more) carry another label.",
    )

    pairs = near_duplicates(emb_rows, threshold=float(threshold), splits=emb.split[rows], limit=200)
    across = sum(p.cross_split for p in pairs)
    if across:
        st.error(
            f"{across} near-duplicate pair(s) sit in different splits: a clip in test with a twin in train is a "
            "leak (ESC-50 cuts several clips from one recording). They are listed first.",
            icon=":material/warning:",
        )
    _section(
        "Near-duplicates",
        _pairs_frame(emb, rows, pairs),
        f"{key}:dups",
        "near_duplicates.csv",
        feature_settings,
        f"No pair of clips with cosine similarity of {threshold:.3f} or more.",
    )

    far = outliers(emb_rows, k=int(k), top=int(top), neighbours=near)
    frame = clip_frame(emb, rows[[o.index for o in far]])
    frame.insert(3, "distance", [round(o.distance, 4) for o in far])
    frame.insert(4, "z", [round(o.z, 2) for o in far])
    _section(
        "Outliers",
        frame,
        f"{key}:outliers",
        "outliers.csv",
        feature_settings,
        "No clip.",
    )
    st.caption(
        "Suspects: clips whose nearest neighbours in the model's 512-d space (cosine) mostly carry another label. "
        "Outliers: the largest mean cosine distance to their k nearest clips (z: standard deviations above the mean)."
    )
