"""The Train page's right-hand side: the exact command, the measured estimate, and Launch (or Queue).

The estimate runs ``python -m core estimate --json`` as a background job (:mod:`app.jobs`); launching goes through
:mod:`core.train.launcher`. When the chosen device is busy, the page asks whether to queue the run.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import streamlit as st

from app import jobs
from app.settings import checkpoint_arg, runs_db
from app.train_form import FormResult
from app.ui import duration, shown_errors
from core.runs import RunStore, new_run_id
from core.train import launcher


def _plan(form: FormResult, run_id: str) -> launcher.LaunchPlan:
    return launcher.plan_launch(
        form.base,
        form.overrides,
        device=form.device,
        gpus=form.gpus,
        run_id=run_id,
        runs_db=runs_db(),
        checkpoint_root=checkpoint_arg(),
    )


def _estimate_args(form: FormResult) -> list[str]:
    sets = list(form.overrides)
    if form.gpus > 1:  # one GPU's share of the global batch, timed on one GPU
        assert form.config is not None
        sets += ["runtime.device=cuda:0", f"data.batch_size={max(2, form.config.data.batch_size // form.gpus)}"]
    else:
        sets.append(f"runtime.device={form.device}")
    args = ["estimate", "--config", form.base, "--json"]
    for item in sets:
        args += ["--set", item]
    return args


def _estimate_key(form: FormResult) -> str:
    text = json.dumps([form.base, form.overrides, form.device, form.gpus])
    return "estimate:" + hashlib.sha1(text.encode()).hexdigest()[:16]


def _run_estimate(args: list[str]) -> Any:
    def work(job: jobs.Job) -> dict[str, Any]:
        return json.loads(jobs.run_command(job, jobs.core_command(*args), timeout_s=900).strip().splitlines()[-1])

    return work


def _cost_chart(est: dict[str, Any]) -> None:
    import plotly.graph_objects as go

    costs = dict(est["augment_ms_per_clip"])
    if est["features_ms_per_clip"]:
        costs["features"] = est["features_ms_per_clip"]
    if not costs:
        return
    names = list(costs)[::-1]
    fig = go.Figure(
        go.Bar(
            x=[costs[n] for n in names],
            y=names,
            orientation="h",
            marker_color="#4c78a8",
            text=[f"{costs[n]:.2f} ms" for n in names],
            textposition="auto",
        )
    )
    fig.update_layout(
        height=60 + 28 * len(names),
        margin=dict(l=10, r=10, t=30, b=10),
        title="Cost per clip (ms), each augmentation alone at p = 1",
        xaxis_title="ms per clip",
    )
    st.plotly_chart(fig, width="stretch", config={"displayModeBar": False})


def _show_estimate(key: str) -> None:
    job = jobs.get(key)
    if job is None:
        return
    if job.running:
        st.progress(job.progress or 0.0, text=f"Timing real steps on the chosen device… {job.seconds:.0f} s")
        return
    if job.error:
        st.error(f"Estimate failed: {job.error}", icon=":material/error:")
        return
    est = job.result
    a, b, c = st.columns(3)
    a.metric("Whole run", duration(est["total_seconds"]), help=f"{est['epochs']} epoch(s), {est['total_steps']} steps")
    b.metric("One epoch", duration(est["epoch_seconds"]), help=f"plus {est['eval_seconds']:.1f} s of validation")
    c.metric("One step", f"{1000 * est['seconds_per_step']:.0f} ms")
    _cost_chart(est)
    st.caption(f"Basis: {est['basis']}")


def draw_estimate(form: FormResult) -> None:
    """The Estimate button and the latest estimate of this form (refreshed every second while it runs)."""
    key = _estimate_key(form)
    if st.button("Estimate duration", icon=":material/timer:", disabled=form.config is None, key="train:estimate"):
        jobs.submit(key, "estimate", _run_estimate(_estimate_args(form)))
    job = jobs.get(key)
    st.fragment(_show_estimate, run_every=1.0 if job is not None and job.running else None)(key)


def _start(store: RunStore, form: FormResult, run_id: str, queue: bool) -> None:
    plan = _plan(form, run_id)
    if queue:
        launcher.enqueue(store, plan)
        where = launcher.queue_position(store, plan.run_id)
        st.session_state["train:flash"] = f"Queued run {plan.name} ({plan.run_id}): #{where} on {plan.device}."
    else:
        launcher.start(store, plan)
        st.session_state["train:flash"] = f"Started run {plan.name} ({plan.run_id}); its progress is below."
    st.session_state["train:run_id"] = new_run_id()
    st.session_state.pop("train:pending", None)


def draw_launch(store: RunStore, form: FormResult) -> None:
    """The command, and Launch; asks before putting a second run on a busy device."""
    run_id = st.session_state.setdefault("train:run_id", new_run_id())
    st.markdown("**Command**")
    if form.config is None:
        st.code("# fix the fields marked above", language="bash")
    else:
        with shown_errors("The command could not be built"):
            st.code(_plan(form, run_id).command_line(), language="bash", wrap_lines=True)
    flash = st.session_state.pop("train:flash", None)
    if flash:
        st.success(flash, icon=":material/rocket_launch:")
    pending = st.session_state.get("train:pending")
    if pending is not None and pending["run_id"] == run_id:
        busy = ", ".join(pending["busy"])
        st.warning(
            f"{pending['device']} is in use by {busy}. Two runs on one device slow each other down; queue this run "
            "to start when the device is free?",
            icon=":material/schedule:",
        )
        q, now, back = st.columns(3)
        with shown_errors("Launch failed"):
            if q.button("Queue it", type="primary", key="train:queue"):
                _start(store, form, run_id, queue=True)
                st.rerun()
            if now.button("Start now anyway", key="train:force"):
                _start(store, form, run_id, queue=False)
                st.rerun()
        if back.button("Don't launch", key="train:back"):
            st.session_state.pop("train:pending", None)
            st.rerun()
        return
    launch = st.button(
        "Launch run", type="primary", icon=":material/rocket_launch:", disabled=bool(form.errors), key="train:launch"
    )
    if launch and not form.errors:
        with shown_errors("Launch failed"):
            device = _plan(form, run_id).device
            busy = launcher.runs_on_device(store, device)
            if busy:
                st.session_state["train:pending"] = {"run_id": run_id, "device": device, "busy": busy}
            else:
                _start(store, form, run_id, queue=False)
            st.rerun()
