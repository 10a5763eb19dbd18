"""Launching training runs as separate processes: the exact command, a log file, a queue per device, and cancel.

The app's Train page (and anyone else) launches a run through this module. A launched run:

* is named before its process starts (``train --run-id``), so its folder ``<checkpoints>/<run_id>/`` and its log
  ``train.log`` there exist at once, and the run store shows it (status ``created``) before it has claimed anything;
* runs in its own process group (``start_new_session``), so it outlives the browser tab and the app, and a cancel
  can signal every process of it (all ranks of a ``torchrun`` launch);
* waits in a queue, kept in the run store, when another run uses the same device; queued runs start in order
  when the device frees up (:mod:`core.train.queue`) and survive an app restart.

The process itself (its session, log and record in the run store) is :mod:`core.train.processes`.

Cancel (:func:`cancel`) asks the trainer through the run store first; a run that has not stopped within 10 s gets
SIGTERM, and SIGKILL 10 s later, and is recorded ``cancelled`` if its trainer could not do it itself. The outcome
says which of these happened.
"""

from __future__ import annotations

import os
import shlex
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.config import TrainConfig, load_config
from core.errors import ConfigError, RunStoreError
from core.paths import checkpoints_dir
from core.runs import RunStore, new_run_id
from core.train.processes import LOG_NAME, alive, launch_info, read_log, record_launch, signal_group, spawn
from core.train.queue import dispatch_queue, queue_position, reap_unstarted, run_device, runs_on_device, unqueue

CANCEL_GRACE_S = 10.0
KILL_AFTER_S = 10.0


@dataclass
class LaunchPlan:
    """A run about to be launched: its id, the exact command, the device it occupies and where its log goes.

    Attributes:
        run_id: the run's id (named before the process starts).
        argv: the command, as run (``python -m core train ...`` or ``torchrun ...``).
        device: what the run occupies, for the queue: ``cpu``, ``cuda:N``, ``cuda:all`` or ``mps``.
        log_path: ``<checkpoints>/<run_id>/train.log``.
        name: the run's name.
        config: the validated configuration.
    """

    run_id: str
    argv: list[str]
    device: str
    log_path: Path
    name: str
    config: TrainConfig = field(repr=False)

    def command_line(self) -> str:
        """The command as one line, ready to copy into a shell."""
        return shlex.join(self.argv)


def available_devices() -> list[str]:
    """The devices present on this machine: ``cpu``, then ``cuda:N`` for each GPU, ``mps`` on Apple silicon."""
    import torch

    out = ["cpu"]
    if torch.cuda.is_available():
        out += [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        out.append("mps")
    return out


def _display_argv(argv: list[str]) -> list[str]:
    """``argv`` with the interpreter shown as ``python`` when it is this one (what a user types)."""
    return ["python" if a == sys.executable else a for a in argv]


def plan_launch(
    base_config: str,
    overrides: list[str] | None = None,
    *,
    device: str = "cpu",
    gpus: int = 1,
    run_id: str | None = None,
    runs_db: str | os.PathLike | None = None,
    checkpoint_root: str | os.PathLike | None = None,
) -> LaunchPlan:
    """Validate a run (a shipped or user config plus ``key=value`` overrides) and build the command that trains it.

    Args:
        base_config: a config name under ``configs/`` or a path.
        overrides: ``key=value`` overrides (the form's changes).
        device: ``cpu``, ``cuda``, ``cuda:N`` or ``mps``; written into the command.
        gpus: with more than 1, the run trains data-parallel on that many GPUs through ``torchrun``.
        run_id: the run's id (default: a fresh one).
        runs_db: the run store file, if not the default.
        checkpoint_root: the checkpoint root, if not the default.

    Raises:
        ConfigError: naming the key of the first invalid setting (nothing is launched).
    """
    if gpus > 1:
        device = "cuda"
    sets = [*(overrides or []), f"runtime.device={device}"]
    config = load_config(base_config, sets)
    rid = run_id or new_run_id()
    train = ["-m", "core", "train", "--config", str(base_config)]
    for item in sets:
        train += ["--set", item]
    train += ["--run-id", rid, "--no-progress"]
    if runs_db is not None:
        train += ["--runs-db", str(runs_db)]
    if checkpoint_root is not None:
        train += ["--checkpoint-dir", str(checkpoint_root)]
    if gpus > 1:
        argv = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(gpus), *train]
        occupied = "cuda:all"
    else:
        argv = [sys.executable, *train]
        occupied = "cuda:0" if device == "cuda" else device
    log = Path(checkpoint_root or checkpoints_dir()) / rid / LOG_NAME
    return LaunchPlan(rid, argv, occupied, log, config.run_name(), config)


def create_run(store: RunStore, plan: LaunchPlan) -> None:
    """Record the run (status ``created``) so that every view shows it before its process has started."""
    store.create_run(plan.name, plan.config.to_dict(), run_id=plan.run_id)


def start(store: RunStore, plan: LaunchPlan) -> int:
    """Create the run and start its process now; returns the process id (the leader of its process group)."""
    create_run(store, plan)
    pid = spawn(plan.argv, plan.log_path)
    record_launch(store, plan.run_id, pid, plan.argv, plan.device, plan.log_path)
    return pid


def enqueue(store: RunStore, plan: LaunchPlan) -> int:
    """Create the run and queue its command until ``plan.device`` is free; returns the queue entry's id."""
    create_run(store, plan)
    return store.enqueue(plan.device, plan.argv, plan.run_id, plan.name)


def resume_plan(
    store: RunStore, run_id: str, *, runs_db=None, checkpoint_root=None, device: str | None = None
) -> tuple[list[str], str, Path]:
    """The command that continues a stopped run from its last checkpoint: ``(argv, device it occupies, log)``.

    Raises:
        RunStoreError: the run is running, completed or not started yet.
    """
    run = store.get_run(run_id)
    if run["status"] in ("running", "completed", "created"):
        raise RunStoreError(f"run {run_id} is {run['status']}; only a stopped run can be resumed")
    argv = [sys.executable, "-m", "core", "train", "--resume", run_id, "--no-progress"]
    if device is not None:
        argv += ["--set", f"runtime.device={device}"]
    if runs_db is not None:
        argv += ["--runs-db", str(runs_db)]
    if checkpoint_root is not None:
        argv += ["--checkpoint-dir", str(checkpoint_root)]
    root = Path(checkpoint_root or checkpoints_dir())
    log = (Path(run["checkpoint_dir"]) if run.get("checkpoint_dir") else root / run_id) / LOG_NAME
    occupied = run_device(run) if device is None else ("cuda:0" if device == "cuda" else device)
    return argv, occupied, log


def resume(store: RunStore, run_id: str, *, runs_db=None, checkpoint_root=None, device: str | None = None) -> int:
    """Continue a cancelled, failed or interrupted run from its last checkpoint now; returns the new process id."""
    argv, occupied, log = resume_plan(store, run_id, runs_db=runs_db, checkpoint_root=checkpoint_root, device=device)
    pid = spawn(argv, log)
    record_launch(store, run_id, pid, argv, occupied, log)
    return pid


def enqueue_resume(store: RunStore, run_id: str, *, runs_db=None, checkpoint_root=None) -> int:
    """Queue the resumption of a stopped run until its device is free; returns the queue entry's id."""
    argv, occupied, _ = resume_plan(store, run_id, runs_db=runs_db, checkpoint_root=checkpoint_root)
    return store.enqueue(occupied, argv, run_id, store.get_run(run_id)["name"])


def _stopped(store: RunStore, run_id: str, info: dict[str, Any] | None) -> bool:
    status = store.get_run(run_id)["status"]
    return status not in ("running", "created") or (status == "created" and not alive(info))


def _wait(store: RunStore, run_id: str, info: dict[str, Any] | None, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if _stopped(store, run_id, info) and not alive(info):
            return True
        time.sleep(0.2)
    return _stopped(store, run_id, info) and not alive(info)


def cancel(store: RunStore, run_id: str, *, grace_s: float = CANCEL_GRACE_S, kill_after_s: float = KILL_AFTER_S) -> str:
    """Stop a run, escalating as needed; returns what happened, in one sentence.

    1. A queued run is taken off the queue. Otherwise the trainer is asked through the run store and given
       ``grace_s`` seconds to stop (it checks after every step and saves nothing more).
    2. Still running: SIGTERM to its process group (the trainer records ``cancelled`` itself).
    3. Still running ``kill_after_s`` seconds later: SIGKILL, and the run is recorded ``cancelled`` here.
    """
    if unqueue(store, run_id):
        return "removed from the queue before it started"
    run = store.get_run(run_id)
    info = launch_info(store, run_id)
    if run["status"] not in ("running", "created"):
        return f"not running (it is {run['status']})"
    store.request_cancel(run_id)
    t0 = time.monotonic()
    if _wait(store, run_id, info, grace_s):
        return f"stopped by its trainer {time.monotonic() - t0:.1f} s after the cancel request"
    if signal_group(info, signal.SIGTERM) and _wait(store, run_id, info, kill_after_s):
        if store.get_run(run_id)["status"] in ("running", "created", "interrupted"):  # it died before recording it
            store.finish(run_id, "cancelled", reason=f"terminated (SIGTERM) after {grace_s:g} s without an answer")
        return f"terminated (SIGTERM) after the cancel request went unanswered for {grace_s:g} s"
    killed = signal_group(info, signal.SIGKILL)
    _wait(store, run_id, info, 5.0)
    if store.get_run(run_id)["status"] in ("running", "created", "interrupted"):
        how = "killed (SIGKILL)" if killed else "its process could not be signalled"
        store.finish(run_id, "cancelled", reason=f"{how} after SIGTERM went unanswered for {kill_after_s:g} s")
    if killed:
        return f"killed (SIGKILL) after SIGTERM went unanswered for {kill_after_s:g} s"
    return "recorded cancelled: its process could not be reached"


def summary(plan: LaunchPlan) -> dict[str, Any]:
    """A JSON-able description of a plan (for logs and tests)."""
    return {"run_id": plan.run_id, "argv": _display_argv(plan.argv), "device": plan.device, "name": plan.name}


def validate_overrides(base_config: str, overrides: list[str]) -> tuple[TrainConfig | None, str | None, str | None]:
    """``(config, None, None)`` for a valid form, else ``(None, key, message)`` with the key at fault."""
    try:
        return load_config(base_config, overrides), None, None
    except ConfigError as e:
        text = " ".join(str(e).split())
        key = None
        for part in text.split(": "):
            if "." in part and " " not in part.strip() and part.split(".")[0] in TrainConfig.__dataclass_fields__:
                key = part.strip()
                break
        return None, key, text


__all__ = [
    "LaunchPlan",
    "available_devices",
    "cancel",
    "dispatch_queue",
    "enqueue",
    "enqueue_resume",
    "launch_info",
    "plan_launch",
    "queue_position",
    "read_log",
    "reap_unstarted",
    "resume",
    "resume_plan",
    "runs_on_device",
    "start",
    "summary",
    "validate_overrides",
]
