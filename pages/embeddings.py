"""Embeddings: a model's map of a dataset, the clips behind each confusion, data issues and the invariance report."""

import numpy as np
import streamlit as st

from app import models
from app.confusion_panel import confusion_clips
from app.data_issues_panel import data_issues
from app.explorer import class_mismatch, dataset_picks, embeddings_for, load_for, rows_of
from app.invariance_panel import invariance_panel
from app.map_panel import map_panel
from app.ui import one_line, open_store
from core.errors import ClarError

st.title("Embeddings")
st.caption(
    "What an encoder has learned: its 512-d representations of clean clips, mapped with UMAP or PCA; which classes "
    "it confuses, and the clips behind each confusion; suspected label errors, near-duplicates and outliers; and "
    "which augmentations it has become blind to."
)

try:
    store = open_store()
except ClarError:
    store = None
choices = models.choices()
if not choices:
    st.info("No model yet: the shipped models are missing and no run has finished.", icon=":material/info:")
    st.stop()
keys = [c.key for c in choices]
BOX = "emb:model:box"
wanted = st.query_params.get("model")  # a link, or the Runs page, may name the model
if wanted in keys and st.session_state.get("emb:linked") != wanted:
    st.session_state[BOX] = wanted
if st.session_state.get(BOX) not in keys:
    st.session_state[BOX] = keys[0]
with st.container(horizontal=True):
    key = st.selectbox("Model", keys, key=BOX, format_func=lambda k: next(c.label for c in choices if c.key == k))
    st.query_params["model"] = st.session_state["emb:linked"] = key
    try:
        trained, _, choice = models.load(key)
    except ClarError as e:
        st.error(one_line(e), icon=":material/error:")
        st.stop()
    picks = dataset_picks(trained, store)
    if not picks:
        st.info("No dataset found on this server: see the Data page.", icon=":material/info:")
        st.stop()
    pick = st.selectbox("Dataset", picks, format_func=lambda p: p.label, key=f"emb:dataset:{key}")


@st.cache_resource(max_entries=4, show_spinner=False)
def _dataset(checkpoint: str, mtime: int, name: str | None, root: str | None, _trained, _pick):
    """The dataset as the model reads it, kept in memory (its waveforms are a memory map of the cache)."""
    return load_for(_trained, _pick)


try:
    with st.spinner(f"Loading {pick.label} (the first time decodes every file once)…"):
        dataset = _dataset(str(choice.path), choice.path.stat().st_mtime_ns, pick.name, pick.root, trained, pick)
    bar = st.progress(0.0, text="Embeddings…")
    emb = embeddings_for(
        trained, dataset, lambda d, n: bar.progress(d / max(n, 1), text=f"Embedding {len(dataset)} clips: {d}/{n}")
    )
    bar.empty()
except (ClarError, OSError) as e:
    st.error(f"{pick.label}: {one_line(e)}", icon=":material/error:")
    st.stop()
if emb.note:
    st.info(emb.note, icon=":material/cached:")
present = [s for s in ("train", "valid", "test") if (emb.split == s).any()]
splits = st.pills("Splits", present, selection_mode="multi", default=present, key=f"emb:splits:{key}:{pick.label}")
rows = rows_of(emb, list(splits))
mismatch = class_mismatch(emb)
st.caption(
    f"{len(rows)} of {len(emb.labels)} clips, {len(emb.class_names)} classes; embeddings "
    f"{'from the cache' if emb.from_cache else 'computed and cached'} (key {emb.key[:10]})."
)
if mismatch:
    st.warning(mismatch, icon=":material/warning:")
if len(rows) == 0:
    st.info("No clip in the chosen splits.", icon=":material/info:")
    st.stop()

features = trained.feature_config
tabs = st.tabs(["Map", "Confusion", "Data issues", "Invariance"], key="emb:tab", on_change="rerun")
if tabs[0].open:  # only the open tab is computed
    with tabs[0]:
        map_panel(trained, emb, rows, "emb", features)
if tabs[1].open:
    with tabs[1]:
        confusion_clips(emb, rows, "emb:confusion", features, what=", ".join(splits) or "all splits")
if tabs[2].open:
    with tabs[2]:
        data_issues(emb, rows, "emb:issues", features)
if tabs[3].open:
    with tabs[3]:
        invariance_panel(trained, dataset, emb, np.asarray(rows), "emb:invariance")
