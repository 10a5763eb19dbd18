"""Clips on a page: a table, and an audio player with a Mel spectrogram for each of the first few.

The Embeddings page's selection, its data-issue lists, a confusion cell's clips and a clip's nearest neighbours all
show clips this way. Each file is decoded by ``core`` (:func:`core.audio.load_audio`), so a file that has since
gone or gone bad is one line in its place, and the others still play.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from app.audio_figures import mel_figure
from app.ui import one_line
from core import SAMPLE_RATE
from core.errors import ClarError

if TYPE_CHECKING:
    import pandas as pd

MAX_PLAYERS = 6
"""Players drawn at most per list (the table holds every clip)."""
TABLE_COLUMNS = ("file", "label", "predicted", "confidence", "split", "similarity", "x", "y", "z")


def clip_table(frame: pd.DataFrame, key: str, height: int | None = None) -> None:
    """The clips of ``frame`` as a table (its known columns, in a fixed order)."""
    shown = frame[[c for c in TABLE_COLUMNS if c in frame]]
    st.dataframe(
        shown,
        hide_index=True,
        width="stretch",
        key=key,
        height=height or min(420, 36 * len(shown) + 40),
        column_config={"confidence": st.column_config.NumberColumn(format="percent")},
    )


def clip_players(frame: pd.DataFrame, key: str, feature_settings: dict | None = None, limit: int = MAX_PLAYERS):
    """An audio player and a Mel spectrogram for each of the first ``limit`` clips of ``frame`` (three a row).

    ``frame`` needs ``path`` and ``file``; ``label``, ``predicted`` and ``similarity`` are shown when present.
    """
    from core.audio import load_audio

    first = frame.head(limit)
    if len(frame) > limit:
        st.caption(f"Players for the first {limit} of {len(frame)} clips; the table lists them all.")
    cols = st.columns(3)
    for k, (_, clip) in enumerate(first.iterrows()):
        with cols[k % 3].container(border=True, key=f"{key}-clip-{k}"):
            said = [f"**{clip['file']}**", f"label *{clip['label']}*"] if "label" in clip else [f"**{clip['file']}**"]
            if "predicted" in clip and clip["predicted"] != clip.get("label"):
                said.append(f"predicted *{clip['predicted']}*")
            if "similarity" in clip:
                said.append(f"cosine {clip['similarity']:.3f}")
            st.markdown(" · ".join(said))
            try:
                wave = load_audio(clip["path"])
            except (ClarError, OSError) as e:
                st.caption(f":material/error: {one_line(e)}")
                continue
            st.audio(wave.numpy(), sample_rate=SAMPLE_RATE)
            st.plotly_chart(
                mel_figure(wave, clip["file"], feature_settings),
                width="stretch",
                config={"displayModeBar": False},
                key=f"{key}-mel-{k}",
            )


def show_clips(frame: pd.DataFrame, key: str, feature_settings: dict | None = None) -> None:
    """The table of ``frame``'s clips, then players for the first few."""
    clip_table(frame, f"{key}-table")
    clip_players(frame, key, feature_settings)
