"""Runs: every run in a filterable table, their learning curves overlaid (live), and one run's detail."""

import streamlit as st

from app.curves import X_AXES, curve_frame, curves_figure
from app.run_detail import run_detail
from app.runs_table import GROUP_AXES, filter_frame, runs_frame
from app.ui import shown_errors, store_or_stop
from core.runs import STATUSES

st.title("Runs")
store = store_or_stop()
runs = store.list_runs()
if not runs:
    st.info(
        "No runs yet. Launch one on the Train page (the demo config trains in about a minute), or with "
        "`python -m core train --config demo`.",
        icon=":material/info:",
    )
    st.stop()
frame = runs_frame(runs, store.progress([r["id"] for r in runs]))

with st.container(horizontal=True):
    text = st.text_input("Search name or id", key="runs:text", placeholder="name or id")
    status = st.multiselect("Status", STATUSES, key="runs:status")
    dataset = st.multiselect("Dataset", sorted(frame["dataset"].dropna().unique()), key="runs:dataset")
    regime = st.multiselect("Regime", sorted(frame["regime"].dropna().unique()), key="runs:regime")
shown = filter_frame(frame, text, status=status, dataset=dataset, regime=regime)
picked = st.dataframe(
    shown,
    hide_index=True,
    width="stretch",
    on_select="rerun",
    selection_mode="multi-row",
    key="runs:table",
    column_config={
        "label fraction": st.column_config.NumberColumn(format="percent"),
        "best valid": st.column_config.NumberColumn(format="percent"),
        "test (best)": st.column_config.NumberColumn(format="percent"),
        "test (last)": st.column_config.NumberColumn(format="percent"),
        "started": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
    },
)
rows = picked.selection.rows if picked is not None else []
selected = list(shown.iloc[rows]["id"]) if rows else list(shown["id"][:3])
st.caption(
    f"{len(shown)} of {len(frame)} runs. Select rows to compare them"
    + ("." if rows else f"; showing the newest {len(selected)}.")
)

with st.container(horizontal=True):
    st.download_button(
        "Runs table (CSV)", shown.to_csv(index=False), "runs.csv", "text/csv", icon=":material/download:"
    )
    if selected:
        import pandas as pd

        metrics = pd.concat([store.metrics_frame(r).assign(run_id=r) for r in selected], ignore_index=True)
        st.download_button(
            "Metrics of the selected runs (CSV)",
            metrics.to_csv(index=False),
            "metrics.csv",
            "text/csv",
            icon=":material/download:",
        )
    if rows and st.button("Delete selected…", icon=":material/delete:", key="runs:delete"):
        st.session_state["runs:confirm"] = selected

confirm = st.session_state.get("runs:confirm")
if confirm:
    with st.container(border=True):
        st.warning(f"Delete {len(confirm)} run(s) and their metrics from the run store: {', '.join(confirm)}?")
        files = st.checkbox("Also delete their checkpoint folders from disk", key="runs:files")
        yes, no = st.columns(2)
        if yes.button("Delete", type="primary", key="runs:yes"):
            with shown_errors("Delete"):
                for rid in confirm:
                    store.delete_run(rid, delete_files=files)
                st.session_state.pop("runs:confirm")
                st.rerun()
        if no.button("Keep them", key="runs:no"):
            st.session_state.pop("runs:confirm")
            st.rerun()

st.subheader("Learning curves")
with st.container(horizontal=True):
    x = st.radio("x axis", list(X_AXES), horizontal=True, key="runs:x", format_func=lambda k: X_AXES[k])
    colour_by = st.selectbox("Colour by", list(GROUP_AXES), key="runs:colour")
    dash_by = st.selectbox("Line style by", ["none", *GROUP_AXES], key="runs:dash")
live = bool((frame[frame["id"].isin(selected)]["status"].isin(["running", "created"])).any())


@st.fragment(run_every=2.0 if live else None)
def curves() -> None:
    """The selected runs' curves, redrawn every 2 s while one of them trains."""
    with shown_errors("Learning curves"):
        fig = curves_figure(
            curve_frame(store, selected),
            frame[frame["id"].isin(selected)],
            x,
            GROUP_AXES[colour_by],
            None if dash_by == "none" else GROUP_AXES[dash_by],
        )
        if fig is None:
            st.caption("No metric logged yet by the selected runs.")
        else:
            st.plotly_chart(fig, width="stretch", key="runs:curves")


curves()
st.subheader("Run detail")
choices = list(shown["id"]) or list(frame["id"])
names = frame.set_index("id")["name"]
detail = st.selectbox(
    "Run",
    choices,
    index=choices.index(selected[0]) if selected and selected[0] in choices else 0,
    key="runs:detail",
    format_func=lambda r: f"{names.get(r)} ({r})",
)
if detail:
    run_detail(store, detail)
