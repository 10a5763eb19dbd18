"""The map of the Embeddings page: UMAP or PCA of the chosen clips, coloured, selectable, with a new clip placed.

The numbers are ``core``'s: the map and its cache (:func:`core.evaluate.projection.embedding_map`), the separation
scores and nearest clips (:mod:`core.probes.data_issues`) and a new clip's embedding
(:func:`core.inference.windows.embed_windows`). A box, lasso or click selection in the 2D map lists the clips,
plays the first few and, for one clip, lists its nearest neighbours in the 512-d space.
"""

from __future__ import annotations

import io
import time
from typing import TYPE_CHECKING

import numpy as np
import streamlit as st

from app.clip_views import show_clips
from app.explorer import COLOUR_BY, NEEDS_PREDICTIONS, clip_frame
from app.explorer_figures import map_figure
from app.ui import one_line, pct
from app.upload import UPLOAD_HINT, clip_from_upload
from core.errors import ClarError

if TYPE_CHECKING:
    from core.evaluate.embedding_cache import DatasetEmbeddings
    from core.evaluate.projection import EmbeddingMap
    from core.inference import Trained

NEIGHBOURS = 8


def _settings(key: str, can_predict: bool):
    """The map's settings row; returns (MapParams, colour column)."""
    from core.evaluate.projection import METRICS, MapParams

    with st.container(horizontal=True):
        method = st.radio("Map", ["UMAP", "PCA"], horizontal=True, key=f"{key}:method")
        dims = st.radio("Dimensions", [2, 3], horizontal=True, key=f"{key}:dims", format_func=lambda d: f"{d}D")
        umap = method == "UMAP"
        n_neighbors = st.number_input("n_neighbors", 2, 200, 15, key=f"{key}:nn", disabled=not umap)
        min_dist = st.number_input("min_dist", 0.0, 1.0, 0.1, 0.05, key=f"{key}:md", disabled=not umap)
        metric = st.selectbox("metric", METRICS, key=f"{key}:metric", disabled=not umap)
        options = [k for k, v in COLOUR_BY.items() if can_predict or v not in NEEDS_PREDICTIONS]
        colour = st.selectbox("Colour by", options, key=f"{key}:colour")
    params = MapParams("umap" if umap else "pca", int(dims), int(n_neighbors), float(min_dist), str(metric))
    return params, COLOUR_BY[colour]


def _separation(emb: DatasetEmbeddings, rows: np.ndarray) -> None:
    from core.probes.data_issues import separation

    memo = st.session_state.setdefault("emb:separation", {})
    key = (emb.key, hash(rows.tobytes()))
    if key not in memo:
        memo.clear()
        memo[key] = separation(emb.embeddings[rows], emb.labels[rows]) if len(rows) >= 2 else None
    sep = memo[key]
    if sep is None:
        return
    a, b = st.columns(2)
    a.metric(
        "kNN accuracy (leave one out, k = 10)",
        pct(sep["knn_loo_accuracy"]),
        help="Each clip classified by the majority label of its 10 nearest other clips (cosine, 512-d). Close to "
        "the best accuracy a simple classifier could reach on these embeddings; compare it with chance, "
        f"{1 / max(1, len(np.unique(emb.labels[rows]))):.0%} for balanced classes.",
    )
    if (emb.split[rows] == "train").any():
        st.caption(
            "These include training clips, which the model learned from: they flatter it. Choose the test split "
            "alone for a held-out figure."
        )
    sil = sep["silhouette"]
    b.metric(
        "Silhouette (cosine)",
        "-" if sil is None else f"{sil:.3f}",
        help="From -1 to 1: how much closer each clip is to its own class than to the nearest other class. Above "
        "0.5: well separated; near 0: classes overlap; below 0: clips sit nearer another class.",
    )


def _selected(event) -> list[int]:
    points = event.selection.points if event is not None else []
    rows = [int(p["customdata"][0]) for p in points if "customdata" in p]
    return list(dict.fromkeys(r for r in rows if r >= 0))


def _selection(emb: DatasetEmbeddings, frame, chosen: list[int], key: str, settings: dict | None) -> None:
    picked = frame[frame["row"].isin(chosen)]
    st.markdown(f"#### Selected: {len(picked)} clip(s)")
    with st.container(horizontal=True):
        st.download_button(
            "Selection (CSV)",
            picked.to_csv(index=False),
            "selection.csv",
            "text/csv",
            icon=":material/download:",
            key=f"{key}:csv",
        )
        buf = io.BytesIO()
        np.save(buf, emb.embeddings[picked["row"].to_numpy()])
        st.download_button(
            "Their embeddings (.npy)",
            buf.getvalue(),
            "selection_embeddings.npy",
            "application/octet-stream",
            icon=":material/download:",
            key=f"{key}:npy",
        )
    show_clips(picked, f"{key}:sel", settings)
    if len(picked) == 1:
        _neighbours(emb, frame, int(picked["row"].iloc[0]), key, settings)


def _neighbours(emb: DatasetEmbeddings, frame, row: int, key: str, settings: dict | None) -> None:
    from core.probes.data_issues import neighbours_of

    rows = frame["row"].to_numpy()
    own = int(np.flatnonzero(rows == row)[0])
    idx, sim = neighbours_of(emb.embeddings[rows], emb.embeddings[row], NEIGHBOURS, exclude=own)
    near = frame.iloc[idx].copy()
    near.insert(2, "similarity", np.round(sim, 4))
    st.markdown(f"#### Its {len(near)} nearest clips (cosine, 512-d)")
    show_clips(near, f"{key}:near", settings)


def _place(trained: Trained, emb: DatasetEmbeddings, m: EmbeddingMap, frame, key: str, settings: dict | None):
    """The upload box; returns the placed clip's coordinates (or None) and draws its neighbours."""
    from core.inference.windows import embed_windows
    from core.probes.data_issues import neighbours_of

    with st.expander("Place a new clip on this map", icon=":material/add_location:"):
        up = st.file_uploader(f"A clip ({UPLOAD_HINT})", key=f"{key}:upload")
        if up is None:
            return None
        try:
            wave = clip_from_upload(up)
            h = embed_windows(trained, wave)
            spot = m.place(h)[0]
        except ClarError as e:
            st.error(one_line(e), icon=":material/error:")
            return None
        rows = frame["row"].to_numpy()
        idx, sim = neighbours_of(emb.embeddings[rows], h, NEIGHBOURS)
        near = frame.iloc[idx].copy()
        near.insert(2, "similarity", np.round(sim, 4))
        st.success(f"{up.name} is the black star. Its {len(near)} nearest clips:", icon=":material/star:")
        show_clips(near, f"{key}:up", settings)
        return spot


def map_panel(trained: Trained, emb: DatasetEmbeddings, rows: np.ndarray, key: str, settings: dict | None) -> None:
    """The settings, the separation scores, the map, the selection and the placing of a new clip."""
    from core.evaluate.projection import embedding_map

    params, colour = _settings(key, emb.same_classes)
    _separation(emb, rows)
    started = time.perf_counter()
    label = "UMAP" if params.method == "umap" else "PCA"
    with st.spinner(f"{label} of {len(rows)} clips… (the server's first UMAP also compiles numba: ~15 s more)"):
        try:
            m = embedding_map(emb.embeddings[rows], params)
        except ClarError as e:
            st.error(one_line(e), icon=":material/error:")
            return
    took = time.perf_counter() - started
    if m.note:
        st.info(m.note, icon=":material/info:")
    frame = clip_frame(emb, rows, m.coords)
    chart = st.container()  # the map above the upload box, drawn once the upload is placed
    placed = _place(trained, emb, m, frame, key, settings)
    where = "from the cache" if m.from_cache else "computed"
    extra = ""
    if m.explained is not None:
        extra = f"; the axes hold {', '.join(f'{v:.0%}' for v in m.explained)} of the variance"
    with chart:
        st.caption(f"{label} of {len(rows)} clips, {where} in {took:.2f} s{extra}. Hover a point for its clip.")
        event = st.plotly_chart(
            map_figure(frame, colour, params.dims, placed),
            width="stretch",
            on_select="rerun" if params.dims == 2 else "ignore",
            selection_mode=("points", "box", "lasso"),
            key=f"{key}:map{params.dims}",
        )
    if params.dims == 3:
        st.caption("Plotly selects in 2D only: switch to 2D to select clips with a box, a lasso or a click.")
        return
    chosen = _selected(event)
    if not chosen:
        st.caption("Drag a box (or pick the lasso in the chart's toolbar), or click a point, to list and hear clips.")
        return
    _selection(emb, frame, chosen, key, settings)
