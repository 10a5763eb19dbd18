"""A finished run's test clips behind its confusion matrix, and the way from a run to its map.

The run's checkpoint is read against its own dataset (same folder, task, fold and clip length, so the same test
split), its embeddings and predictions come from the shared cache (:mod:`core.evaluate.embedding_cache`, the one
the Embeddings page reads), and :func:`app.confusion_panel.confusion_clips` draws the clickable matrix.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

from app.confusion_panel import confusion_clips
from app.explorer import embeddings_for, rows_of
from app.navigation import pages
from app.ui import shown_errors


def open_in_embeddings(run: dict[str, Any]) -> None:
    """A button that opens the Embeddings page on this run's model (completed runs with a checkpoint only)."""
    if run.get("status") != "completed" or not run.get("checkpoint_dir"):
        return
    if st.button("Open its map (Embeddings)", icon=":material/scatter_plot:", key=f"to-map-{run['id']}"):
        st.switch_page(pages()["embeddings"], query_params={"model": f"run:{run['id']}"})


def run_test_clips(run: dict[str, Any], which: str, report_top1: float | None) -> None:
    """The run's ``which`` checkpoint on its test split: a clickable confusion matrix whose cells list their clips."""
    folder = run.get("checkpoint_dir")
    path = Path(folder or ".") / f"{which}.pt"
    if not folder or not path.is_file():
        st.caption(f"The {which} checkpoint is not on disk: no clips to list.")
        return
    if not st.toggle(
        "List the clips behind each cell (runs the model once over the dataset; cached)", key=f"cells-{run['id']}"
    ):
        return
    from app.models import load_file  # torch and the model code load only when a run's clips are asked for
    from core.inference.dataset import model_dataset

    with shown_errors("The test clips"):
        trained, _ = load_file(path)
        with st.spinner("Loading the run's dataset…"):
            dataset = model_dataset(trained, progress=False)
        bar = st.progress(0.0, text="Embedding the clips…")
        emb = embeddings_for(trained, dataset, lambda d, n: bar.progress(d / max(n, 1), text=f"Embedding: {d}/{n}"))
        bar.empty()
        rows = rows_of(emb, ["test"])
        if emb.same_classes and report_top1 is not None and len(rows):
            now = float((emb.predicted[rows] == emb.labels[rows]).mean())
            if abs(now - report_top1) > 1e-6:
                st.caption(
                    f"Recomputed now: {now:.1%} (the report says {report_top1:.1%}): the dataset's files or the "
                    "checkpoint changed since, or the report used the linear probe."
                )
        confusion_clips(emb, rows, f"run-cells-{run['id']}-{which}", trained.feature_config, what="the test split")
