"""A run's detail view: summary and time shares, config and provenance, checkpoints, test report, Evaluate, log.

Every file a run left behind is read warily (it may have been moved, deleted or edited): a missing checkpoint
folder or a broken report shows as one line, and the rest of the view still works.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import streamlit as st

from app import jobs
from app.report_figures import confusion_figure, per_class_figure
from app.run_clips import open_in_embeddings, run_test_clips
from app.settings import checkpoint_arg, runs_db
from app.ui import duration, one_line, pct, shown_errors, status_label, when
from core.errors import ClarError
from core.runs import RunStore
from core.runs.reports import read_json, read_report
from core.train import launcher

STAGES = ("input", "augment", "features", "model")


def _summary(store: RunStore, run: dict[str, Any]) -> None:
    rid = run["id"]
    st.markdown(f"### {run['name']} &nbsp; `{rid}` &nbsp; {status_label(run['status'])}")
    if run.get("status_reason"):
        st.caption(f"Reason: {run['status_reason']}")
    took = (run.get("ended") or time.time()) - run["started"] if run.get("started") else None
    a, b, c = st.columns(3)
    a.metric("Started", when(run.get("started")))
    b.metric("Ended", when(run.get("ended")))
    c.metric("Took" if run.get("ended") else "Running for", duration(took))
    final = run.get("final_metrics") or {}
    if final:
        rows = [{"metric": k, "value": v} for k, v in sorted(final.items()) if isinstance(v, int | float)]
        st.dataframe(rows, hide_index=True, width="stretch", height=min(400, 36 * len(rows) + 40))
    latest = store.latest_metrics(rid)
    shares = {s: latest.get(f"time/{s}_share", {}).get("value") for s in STAGES}
    if any(v is not None for v in shares.values()):
        import plotly.graph_objects as go

        fig = go.Figure()
        for stage, share in shares.items():
            fig.add_trace(
                go.Bar(
                    x=[share or 0.0],
                    y=["last epoch"],
                    orientation="h",
                    name=stage,
                    hovertemplate=f"{stage}: %{{x:.1%}}<extra></extra>",
                )
            )
        fig.update_layout(
            barmode="stack",
            height=150,
            margin={"l": 10, "r": 10, "t": 30, "b": 10},
            title="Time share of each training stage",
            xaxis={"tickformat": ".0%"},
        )
        st.plotly_chart(fig, width="stretch", config={"displayModeBar": False})


def _checkpoints(store: RunStore, run: dict[str, Any]) -> None:
    folder = run.get("checkpoint_dir")
    if folder and not Path(folder).is_dir():
        st.warning(
            f"The run's checkpoint folder {folder} is gone: it cannot be evaluated or resumed.",
            icon=":material/folder_off:",
        )
    rows = []
    for a in store.artifacts(run["id"]):
        p = Path(a["path"])
        exists = p.exists()
        rows.append(
            {
                "kind": a["kind"],
                "name": (a.get("meta") or {}).get("name", p.name),
                "file": str(p),
                "size (MB)": round(p.stat().st_size / 1e6, 2) if exists and p.is_file() else None,
                "present": exists,
                "recorded": when(a["created"]),
            }
        )
    if rows:
        st.dataframe(rows, hide_index=True, width="stretch")
    else:
        st.caption("No checkpoint or other file recorded for this run yet.")


def _test_report(store: RunStore, run: dict[str, Any]) -> None:
    found = store.artifacts(run["id"], "report")
    if not found:
        st.caption("A completed run has a test report: per-class accuracy and the confusion matrix on its test split.")
        return
    report = read_report(found[-1]["path"])
    names = report["class_names"]
    which = st.radio(
        "Checkpoint", [w for w in ("best", "last") if report.get(w)], horizontal=True, key=f"report-which-{run['id']}"
    )
    part = report[which]
    scorer = st.radio(
        "Classifier",
        list(part),
        horizontal=True,
        key=f"report-scorer-{run['id']}",
        format_func=lambda s: {"head": "the model's head", "linear": "linear probe"}.get(s, s),
    )
    rep = part[scorer]
    st.metric(
        "Test accuracy",
        pct(rep.get("top1")),
        help=f"{rep.get('clips')} clips; balanced accuracy {pct(rep.get('balanced_accuracy'))}",
    )
    left, right = st.columns(2)
    left.plotly_chart(per_class_figure(rep, "Per-class accuracy"), width="stretch")
    fig = confusion_figure(rep, names, "Confusion matrix (share of each true class)")
    if fig is not None:
        right.plotly_chart(fig, width="stretch")
    if scorer == "head":
        run_test_clips(run, which, rep.get("top1"))


def _evaluate(store: RunStore, run: dict[str, Any]) -> None:
    rid = run["id"]
    st.caption(
        "Offline linear evaluation: a logistic-regression probe on frozen embeddings of clean audio, trained on the "
        "labelled training clips, its weight decay chosen on validation, scored once on test. For a SimCLR run this "
        "also fits the probe it needs to classify (saved beside the checkpoint)."
    )
    which = st.radio("Checkpoint", ["best", "last"], horizontal=True, key=f"eval-which-{rid}")
    key = f"eval:{rid}"
    job = jobs.get(key)
    folder = run.get("checkpoint_dir")
    if st.button("Evaluate", icon=":material/fact_check:", key=f"eval-{rid}", disabled=bool(job and job.running)):
        out = Path(folder or ".") / f"eval_{which}_{time.strftime('%Y%m%d-%H%M%S')}.json"
        args = ["eval", "--checkpoint", rid, "--which", which, "--out", str(out)]
        if runs_db() is not None:
            args += ["--runs-db", str(runs_db())]

        def work(j: jobs.Job) -> str:
            jobs.run_command(j, jobs.core_command(*args))
            return str(out)

        jobs.submit(key, f"evaluate {rid}", work)
        st.rerun()
    st.fragment(_eval_state, run_every=1.0 if job is not None and job.running else None)(store, rid)


def _eval_state(store: RunStore, rid: str) -> None:
    job = jobs.get(f"eval:{rid}")
    if job is not None and job.running:
        st.progress(job.progress or 0.0, text=f"Evaluating… {job.seconds:.0f} s")
        return
    if job is not None and job.error:
        st.error(f"Evaluation failed: {job.error}")
    reports = store.artifacts(rid, "eval_report")
    if reports:
        from core.evaluate.report import format_report

        latest = reports[-1]
        st.markdown(f"**Latest evaluation** ({when(latest['created'])}, `{latest['path']}`)")
        with shown_errors("The evaluation report cannot be shown"):
            report = read_json(latest["path"], "evaluation report")
            st.code(format_report(report), language=None)


def _log(store: RunStore, run: dict[str, Any]) -> None:
    info = launcher.launch_info(store, run["id"])
    path = (
        info["log"] if info else (f"{run['checkpoint_dir']}/{launcher.LOG_NAME}" if run.get("checkpoint_dir") else None)
    )
    if path is None:
        st.caption("No log: this run was not launched by the app (its output went to the terminal that started it).")
        return
    st.code(launcher.read_log(path, 20_000) or f"(no log at {path})", language=None)


def _actions(store: RunStore, run: dict[str, Any]) -> None:
    rid, status = run["id"], run["status"]
    if status in ("cancelled", "failed", "interrupted") and st.button(
        "Resume", key=f"detail-resume-{rid}", icon=":material/play_arrow:"
    ):
        with shown_errors(f"Resume {rid}"):
            launcher.resume(store, rid, runs_db=runs_db(), checkpoint_root=checkpoint_arg())
            st.success("Resumed: its progress shows on the Train page.")


def run_detail(store: RunStore, run_id: str) -> None:
    """Draw the detail view of one run."""
    try:
        run = store.get_run(run_id)
    except ClarError as e:
        st.error(one_line(e))
        return
    with shown_errors("Summary"):
        _summary(store, run)
        _actions(store, run)
        open_in_embeddings(run)
    tabs = st.tabs(["Test report", "Config", "Checkpoints", "Evaluate", "Log"])
    with tabs[0], shown_errors("Test report"):
        _test_report(store, run)
    with tabs[1], shown_errors("Config"):
        config = dict(run.get("config") or {})
        provenance = config.pop("provenance", None)
        st.json(config, expanded=2)
        if provenance:
            st.markdown("**Provenance**")
            st.json(provenance, expanded=1)
    with tabs[2], shown_errors("Checkpoints"):
        _checkpoints(store, run)
    with tabs[3], shown_errors("Evaluate"):
        _evaluate(store, run)
    with tabs[4], shown_errors("Log"):
        _log(store, run)
