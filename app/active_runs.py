"""Every active run, live: progress, metrics, speed, ETA, its log, Cancel; stopped runs with Resume.

Drawn inside a fragment that reruns every 2 s without reloading the page. Everything shown comes from the run
store and the runs' log files, so runs launched from the command line or another tab appear too.
"""

from __future__ import annotations

import time
from typing import Any

import streamlit as st

from app import jobs
from app.live import run_status
from app.settings import checkpoint_arg, runs_db
from app.ui import duration, num, one_line, open_store, pct, shown_errors, status_label
from core.runs import RunStore
from core.train import launcher

RECENT_S = 24 * 3600
"""Stopped runs of the last day are listed with Resume."""


def _cancel(run_id: str) -> None:
    def work(job: jobs.Job) -> str:
        return launcher.cancel(open_store(), run_id)

    jobs.submit(f"cancel:{run_id}", f"cancel {run_id}", work)


def _cancel_state(run_id: str) -> None:
    job = jobs.get(f"cancel:{run_id}")
    if job is None:
        return
    if job.running:
        st.info(f"Cancelling… {job.seconds:.0f} s (SIGTERM after 10 s, SIGKILL 10 s later)", icon=":material/cancel:")
    elif job.error:
        st.error(f"Cancel failed: {job.error}")
    else:
        st.success(f"Cancelled: {job.result}.", icon=":material/cancel:")


def _log_tail(run: dict[str, Any], store: RunStore) -> str:
    info = launcher.launch_info(store, run["id"])
    path = info["log"] if info else None
    if path is None and run.get("checkpoint_dir"):
        path = f"{run['checkpoint_dir']}/{launcher.LOG_NAME}"
    if path is None:
        return "(no log: this run was not started by the app)"
    return launcher.read_log(path, 6000) or f"(nothing in {path} yet)"


def _active_card(store: RunStore, run: dict[str, Any]) -> None:
    rid = run["id"]
    s = run_status(store, run)
    with st.container(border=True, key=f"active-{rid}"):
        head, button = st.columns([5, 1])
        head.markdown(f"**{run['name']}** &nbsp; `{rid}` &nbsp; {status_label(run['status'])}")
        cancelling = (job := jobs.get(f"cancel:{rid}")) is not None and job.running
        if button.button("Cancel", key=f"cancel-{rid}", icon=":material/stop_circle:", disabled=cancelling):
            _cancel(rid)
            st.rerun(scope="fragment")
        if s.total_steps is None:
            last = [ln for ln in _log_tail(run, store).splitlines() if ln.strip()]
            st.progress(0.0, text="Starting: loading the data and building the model…")
            if last:
                st.caption(last[-1][:300])
        else:
            st.progress(s.fraction or 0.0, text=f"epoch {s.epoch}/{s.total_epochs} · step {s.step}/{s.total_steps}")
            cols = st.columns(7)
            cols[0].metric("Loss", num(s.loss))
            cols[1].metric("Contrastive top-1", pct(s.contrastive_acc))
            cols[2].metric("Valid head", pct(s.valid.get("head_acc")))
            cols[3].metric("Valid linear", pct(s.valid.get("linear_acc")))
            cols[4].metric("Valid kNN", pct(s.valid.get("knn_acc")))
            cols[5].metric("Clips/s", "–" if s.clips_per_s is None else f"{s.clips_per_s:.0f}")
            cols[6].metric("ETA", duration(s.eta_s), help="training steps left at the current speed")
        _cancel_state(rid)
        with st.expander("Log"):
            st.code(_log_tail(run, store), language=None)


def _queued(store: RunStore) -> None:
    for entry in store.queued():
        with st.container(border=True, key=f"queued-{entry['run_id']}"):
            head, button = st.columns([5, 1])
            where = launcher.queue_position(store, entry["run_id"])
            head.markdown(
                f"**{entry['name'] or entry['run_id']}** &nbsp; `{entry['run_id']}` &nbsp; "
                f"{status_label('queued')} #{where} on {entry['device']}"
            )
            if button.button("Remove", key=f"unqueue-{entry['run_id']}", icon=":material/remove_circle:"):
                launcher.unqueue(store, entry["run_id"])
                st.rerun(scope="fragment")


def _stopped(store: RunStore, runs: list[dict[str, Any]]) -> None:
    queued = {e["run_id"] for e in store.queued()}
    recent = [
        r
        for r in runs
        if r["status"] in ("cancelled", "failed", "interrupted")
        and r["id"] not in queued
        and (r.get("ended") or r["created"]) > time.time() - RECENT_S
    ]
    if not recent:
        return
    st.markdown("**Stopped in the last day**")
    for run in recent[:8]:
        rid = run["id"]
        with st.container(border=True, key=f"stopped-{rid}"):
            head, button = st.columns([5, 1])
            head.markdown(f"**{run['name']}** &nbsp; `{rid}` &nbsp; {status_label(run['status'])}")
            if run.get("status_reason"):
                head.caption(run["status_reason"][:400])
            if button.button("Resume", key=f"resume-{rid}", icon=":material/play_arrow:"):
                with shown_errors(f"Resume {rid}"):
                    device = launcher.run_device(run)
                    if launcher.runs_on_device(store, device):
                        launcher.enqueue_resume(store, rid, runs_db=runs_db(), checkpoint_root=checkpoint_arg())
                    else:
                        launcher.resume(store, rid, runs_db=runs_db(), checkpoint_root=checkpoint_arg())
                    st.rerun(scope="fragment")
            _cancel_state(rid)


@st.fragment(run_every=2.0)
def active_runs() -> None:
    """The live list (refreshed every 2 s)."""
    try:
        store = open_store()
        runs = store.list_runs()
    except Exception as e:
        st.error(f"The run store cannot be read: {one_line(e)}")
        return
    active = [
        r
        for r in runs
        if r["status"] in ("running", "created") and r["id"] not in {e["run_id"] for e in store.queued()}
    ]
    if not active and not store.queued():
        st.caption("No run is training now. Launch one above, or from the command line: it shows up here.")
    for run in active:
        with shown_errors(f"Run {run['id']}"):
            _active_card(store, run)
    with shown_errors("The queue"):
        _queued(store)
    with shown_errors("Stopped runs"):
        _stopped(store, runs)
