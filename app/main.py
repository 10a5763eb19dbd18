"""The Streamlit entry script: page set-up and navigation between the pages in ``pages/``."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # streamlit runs this file as a script: make ``core`` and ``app`` importable
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from app.navigation import pages  # noqa: E402

st.set_page_config(page_title="CLAR Studio", page_icon="🎧", layout="wide")
st.navigation(list(pages().values())).run()
