"""The invariance report in the browser: which augmentations the model has become blind to.

It runs :func:`core.evaluate.invariance.invariance_report` on a seeded sample of the chosen clips (the same numbers
``python -m core invariance`` gives for the same clips and seed), shows it as bars and a table, and offers it as
CSV and JSON. The last report of each model, dataset and setting is kept for the session.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import TYPE_CHECKING

import numpy as np
import streamlit as st

from app.explorer_figures import invariance_figure

if TYPE_CHECKING:
    from core.data.base import AudioDataset
    from core.evaluate.embedding_cache import DatasetEmbeddings
    from core.inference import Trained

DEFAULT_CLIPS = 64


def sample_rows(rows: np.ndarray, clips: int, seed: int) -> np.ndarray:
    """A seeded sample of at most ``clips`` of ``rows``, in row order (all of them when there are fewer)."""
    if len(rows) <= clips:
        return np.asarray(rows)
    return np.sort(np.random.default_rng(seed).permutation(rows)[:clips])


def invariance_panel(trained: Trained, dataset: AudioDataset, emb: DatasetEmbeddings, rows: np.ndarray, key: str):
    """Settings, a Run button, and the latest report for this model and dataset."""
    import pandas as pd

    from core.augment.sets import CANONICAL_ORDER
    from core.evaluate.invariance import format_rows, invariance_report

    st.caption(
        "Each augmentation alone (always applied) and the whole chain, on a seeded sample of the chosen clips: the "
        "cosine similarity of each clip's clean and augmented embeddings (1: the model does not notice it), and the "
        "classifier's accuracy on the augmented clips against the clean ones. Same seed, same numbers, as "
        "`python -m core invariance` gives."
    )
    with st.container(horizontal=True):
        names = st.multiselect("Augmentations", list(CANONICAL_ORDER), list(CANONICAL_ORDER), key=f"{key}:names")
        preset = st.radio("Ranges", ["paper", "authors"], horizontal=True, key=f"{key}:preset")
        clips = st.number_input("Clips", 1, max(1, len(rows)), min(DEFAULT_CLIPS, max(1, len(rows))), key=f"{key}:n")
        seed = st.number_input("Seed", 0, 2**31 - 1, 0, key=f"{key}:seed")
    chosen = sample_rows(rows, int(clips), int(seed))
    settings = (emb.key, tuple(names), preset, tuple(int(r) for r in chosen), int(seed))
    state_key = f"{key}:report"
    if st.button("Run the invariance report", icon=":material/compare_arrows:", key=f"{key}:run", disabled=not names):
        if len(chosen) == 0:
            st.warning("No clip in the chosen splits.")
            return
        bar = st.progress(0.0, text="Augmenting and embedding…")

        def step(done: int, total: int) -> None:
            label = names[done] if done < len(names) else "the chain" if done == len(names) else "done"
            bar.progress(done / total, text=f"{done}/{total}: {label}")

        labels = emb.labels[chosen] if emb.same_classes else None
        waves = np.asarray(dataset.waveforms[chosen])
        result = invariance_report(trained, waves, labels, names=names, preset=preset, seed=int(seed), on_step=step)
        bar.empty()
        st.session_state[state_key] = (settings, result)
    saved = st.session_state.get(state_key)
    if saved is None:
        return
    done_settings, report = saved
    if done_settings != settings:
        st.caption("The report below is for other settings: run it again to update it.")
    if report[0].accuracy_clean is None:
        st.caption("No accuracy: the model has no classifier for these labels; the similarities stand alone.")
    st.plotly_chart(invariance_figure(report), width="stretch", key=f"{key}:figure")
    frame = pd.DataFrame([asdict(r) for r in report])
    st.dataframe(frame, hide_index=True, width="stretch", key=f"{key}:table")
    about = {
        "checkpoint": trained.identity(),
        "dataset": dataset.name,
        "clips": len(done_settings[3]),
        "preset": done_settings[2],
        "seed": done_settings[4],
        "rows": [asdict(r) for r in report],
    }
    icon = ":material/download:"
    with st.container(horizontal=True):
        st.download_button("Report (CSV)", frame.to_csv(index=False), "invariance.csv", "text/csv", icon=icon)
        as_json = json.dumps(about, indent=2)
        st.download_button("Report (JSON)", as_json, "invariance.json", "application/json", icon=icon)
    with st.expander("As text"):
        st.code(format_rows(report), language=None)
