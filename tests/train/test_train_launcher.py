"""Launching runs as processes: the exact command (torchrun too), logs, a queue per device, cancel escalation
(trainer, SIGTERM, SIGKILL) and resume. Runs are tiny trainings on the synthetic demo dataset."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.errors import ConfigError
from core.runs import RunStore
from core.train import launcher, processes

TINY = [
    "data.dataset=demo",
    "model.encoder=small_cnn_1d",
    "model.regime=supervised",
    "data.num_samples=4000",
    "data.batch_size=16",
    "augment.names=none",
    "schedule.warmup_epochs=0",
    "eval.knn=false",
    "eval.linear_probe=false",
    "runtime.num_threads=1",
    "runtime.checkpoint_every=0",
]


@pytest.fixture
def where(tmp_path: Path) -> dict:
    return {"runs_db": tmp_path / "runs.sqlite", "checkpoint_root": tmp_path / "ckpt"}


def _wait_status(store: RunStore, run_id: str, statuses: tuple[str, ...], seconds: float = 120) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        status = store.get_run(run_id)["status"]
        if status in statuses:
            return status
        time.sleep(0.2)
    raise AssertionError(f"run {run_id} stayed {store.get_run(run_id)['status']}")


def test_the_command_is_exact_and_validated(where):
    plan = launcher.plan_launch("smoke", TINY, run_id="r-1", **where)
    argv = plan.argv
    assert argv[:6] == [sys.executable, "-m", "core", "train", "--config", "smoke"]
    assert argv[argv.index("--run-id") + 1] == "r-1" and "--no-progress" in argv
    assert "runtime.device=cpu" in argv and plan.device == "cpu"
    assert plan.log_path == where["checkpoint_root"] / "r-1" / "train.log"
    assert plan.command_line().startswith(f"{sys.executable} -m core train --config smoke --set data.dataset=demo")
    multi = launcher.plan_launch("smoke", TINY, gpus=4, run_id="r-2")
    assert multi.argv[1:6] == ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "4"]
    assert multi.argv[6:9] == ["-m", "core", "train"] and "runtime.device=cuda" in multi.argv
    assert multi.device == "cuda:all"
    with pytest.raises(ConfigError, match=r"data\.batch_size"):
        launcher.plan_launch("smoke", [*TINY, "data.batch_size=1"])
    cfg, key, message = launcher.validate_overrides("smoke", ["optim.lr=-1"])
    assert cfg is None and key == "optim.lr" and "must be positive" in message


def test_a_launched_run_lives_in_its_own_session_and_logs(where):
    store = RunStore(where["runs_db"])
    plan = launcher.plan_launch("smoke", [*TINY, "schedule.epochs=1"], **where)
    pid = launcher.start(store, plan)
    assert os.getpgid(pid) == pid  # its own process group: it outlives the app, and a cancel reaches every rank
    assert store.get_run(plan.run_id)["status"] in ("created", "running")
    assert _wait_status(store, plan.run_id, ("completed", "failed")) == "completed"
    log = launcher.read_log(plan.log_path)
    assert log.splitlines()[0] == plan.run_id and f"run {plan.run_id} completed" in log
    assert launcher.launch_info(store, plan.run_id)["pid"] == pid


def test_queue_waits_for_the_device_and_cancel_asks_the_trainer_first(where):
    store = RunStore(where["runs_db"])
    first = launcher.plan_launch("smoke", [*TINY, "schedule.epochs=500", "runtime.heartbeat_s=0.5"], **where)
    launcher.start(store, first)
    second = launcher.plan_launch("smoke", [*TINY, "schedule.epochs=1"], **where)
    assert launcher.runs_on_device(store, "cpu") == [first.run_id]
    launcher.enqueue(store, second)
    assert launcher.queue_position(store, second.run_id) == 1
    assert launcher.dispatch_queue(store) == []  # the device is busy
    _wait_status(store, first.run_id, ("running",))
    outcome = launcher.cancel(store, first.run_id)
    assert outcome.startswith("stopped by its trainer")
    assert store.get_run(first.run_id)["status"] == "cancelled"
    assert launcher.dispatch_queue(store) == [second.run_id]  # freed: the queued run starts
    assert launcher.queue_position(store, second.run_id) is None
    assert _wait_status(store, second.run_id, ("completed", "failed")) == "completed"
    # a cancelled run resumes from its last checkpoint, in the same log
    launcher.resume(store, first.run_id, **where)
    _wait_status(store, first.run_id, ("running",))
    assert launcher.cancel(store, first.run_id).startswith("stopped by its trainer")


@pytest.mark.parametrize("ignore_sigterm", [False, True])
def test_cancel_escalates_to_sigterm_then_sigkill(where, ignore_sigterm: bool):
    """A process that never looks at the run store: SIGTERM stops it, or SIGKILL when it ignores SIGTERM."""
    store = RunStore(where["runs_db"])
    run_id = store.create_run("stuck", {})
    code = "import signal, time\n"
    if ignore_sigterm:
        code += "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    code += "time.sleep(120)\n"
    proc = subprocess.Popen([sys.executable, "-c", code], start_new_session=True)
    try:
        store.claim(run_id, pid=proc.pid)
        processes.record_launch(store, run_id, proc.pid, ["python"], "cpu", where["checkpoint_root"] / "x.log")
        outcome = launcher.cancel(store, run_id, grace_s=0.5, kill_after_s=0.5)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    if ignore_sigterm:
        assert outcome.startswith("killed (SIGKILL)") and proc.returncode == -signal.SIGKILL
    else:
        assert outcome.startswith("terminated (SIGTERM)") and proc.returncode == -signal.SIGTERM
    run = store.get_run(run_id)
    assert run["status"] == "cancelled" and ("SIGKILL" if ignore_sigterm else "SIGTERM") in run["status_reason"]


def test_a_process_that_dies_before_training_is_recorded_failed_with_its_last_log_line(where):
    store = RunStore(where["runs_db"])
    plan = launcher.plan_launch("smoke", TINY, run_id="r-dead", **where)
    plan.argv = [sys.executable, "-c", "import sys; print('fatal: cannot import torch'); sys.exit(3)"]
    launcher.start(store, plan)
    deadline = time.monotonic() + 30
    while processes.alive(launcher.launch_info(store, "r-dead")) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert launcher.reap_unstarted(store) == ["r-dead"]
    run = store.get_run("r-dead")
    assert run["status"] == "failed" and run["status_reason"].endswith(": fatal: cannot import torch")
    assert launcher.reap_unstarted(store) == []
