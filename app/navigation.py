"""The app's pages (``pages/``), as Streamlit page objects: the navigation and ``st.switch_page`` share them."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

PAGES_DIR = Path(__file__).resolve().parents[1] / "pages"
URL_PATHS = ("runs", "embeddings", "listen", "data")
"""The pages' URL paths (Train, the default page, is served at ``/``)."""


def pages() -> dict[str, st.Page]:
    """The pages by name (train, runs, embeddings, listen, data): Train is the default page, served at ``/``."""
    return {
        "train": st.Page(str(PAGES_DIR / "train.py"), title="Train", icon=":material/play_circle:", default=True),
        "runs": st.Page(str(PAGES_DIR / "runs.py"), title="Runs", icon=":material/monitoring:", url_path="runs"),
        "embeddings": st.Page(
            str(PAGES_DIR / "embeddings.py"), title="Embeddings", icon=":material/scatter_plot:", url_path="embeddings"
        ),
        "listen": st.Page(
            str(PAGES_DIR / "listen.py"), title="Listen & classify", icon=":material/hearing:", url_path="listen"
        ),
        "data": st.Page(str(PAGES_DIR / "data.py"), title="Data", icon=":material/folder_open:", url_path="data"),
    }
