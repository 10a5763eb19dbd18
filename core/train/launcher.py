"""Launching training runs as separate processes: the exact command, a log file, a queue per device, and cancel.

The app's Train page (and anyone else) launches a run through this module. A launched run:

* is named before its process starts (``train --run-id``), so its folder ``<checkpoints>/<run_id>/`` and its log
  ``train.log`` there exist at once, and the run store shows it (status ``created``) before it has claimed anything;
* runs in its own process group (``start_new_session``), so it outlives the browser tab and the app, and a cancel
  can signal every process of it (all ranks of a ``torchrun`` launch);
* waits in a queue, kept in the run store, when another run uses the same device; queued runs start in order
  when the device frees up (:func:`dispatch_queue`, called by the app every few seconds) and survive an app
  restart.

Cancel (:func:`cancel`) asks the trainer through the run store first; a run that has not stopped within 10 s gets
SIGTERM, and SIGKILL 10 s later, and is recorded ``cancelled`` if its trainer could not do it itself. The outcome
says which of these happened.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.config import TrainConfig, load_config
from core.errors import ConfigError, RunStoreError
from core.paths import checkpoints_dir
from core.runs import RunStore, new_run_id, procinfo

REPO = Path(__file__).resolve().parents[2]
LOG_NAME = "train.log"
LAUNCH_KEY = "launch:"
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


def _spawn(argv: list[str], log_path: Path) -> int:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=REPO,
            env=env,
            start_new_session=True,
        )
    return proc.pid


def _record_launch(store: RunStore, run_id: str, pid: int, argv: list[str], device: str, log: Path) -> None:
    info = {
        "pid": pid,
        "start": procinfo.process_start_token(pid),
        "argv": argv,
        "device": device,
        "log": str(log),
        "host": procinfo.hostname(),
        "time": time.time(),
    }
    store.set_setting(LAUNCH_KEY + run_id, info)


def create_run(store: RunStore, plan: LaunchPlan) -> None:
    """Record the run (status ``created``) so that every view shows it before its process has started."""
    store.create_run(plan.name, plan.config.to_dict(), run_id=plan.run_id)


def start(store: RunStore, plan: LaunchPlan) -> int:
    """Create the run and start its process now; returns the process id (the leader of its process group)."""
    create_run(store, plan)
    pid = _spawn(plan.argv, plan.log_path)
    _record_launch(store, plan.run_id, pid, plan.argv, plan.device, plan.log_path)
    return pid


def enqueue(store: RunStore, plan: LaunchPlan) -> int:
    """Create the run and queue its command until ``plan.device`` is free; returns the queue entry's id."""
    create_run(store, plan)
    return store.enqueue(plan.device, plan.argv, plan.run_id, plan.name)


def resume(store: RunStore, run_id: str, *, runs_db=None, checkpoint_root=None, device: str | None = None) -> int:
    """Continue a cancelled, failed or interrupted run from its last checkpoint; returns the new process id."""
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
    pid = _spawn(argv, log)
    _record_launch(store, run_id, pid, argv, run_device(run), log)
    return pid


def launch_info(store: RunStore, run_id: str) -> dict[str, Any] | None:
    """What :func:`start` recorded about the run's process (pid, command, device, log), or None."""
    return store.get_setting(LAUNCH_KEY + run_id)


def _alive(info: dict[str, Any] | None) -> bool:
    if not info or info.get("host") != procinfo.hostname():
        return False
    pid = int(info["pid"])
    token = procinfo.process_start_token(pid)
    return bool(procinfo.pid_alive(pid)) and (not info.get("start") or token == info.get("start"))


def run_device(run: dict[str, Any]) -> str:
    """The device a run occupies, from its config (``cuda`` counts as ``cuda:0``)."""
    device = str(((run.get("config") or {}).get("runtime") or {}).get("device", "cpu"))
    return "cuda:0" if device == "cuda" else device


def _conflict(a: str, b: str) -> bool:
    if a == b:
        return True
    return (a == "cuda:all" and b.startswith("cuda")) or (b == "cuda:all" and a.startswith("cuda"))


def runs_on_device(store: RunStore, device: str) -> list[str]:
    """Runs that occupy ``device`` now: running ones, and launched ones whose process has not claimed them yet."""
    busy = []
    for run in store.list_runs():
        if run["status"] == "running" and _conflict(run_device(run), device):
            busy.append(run["id"])
            continue
        info = launch_info(store, run["id"]) if run["status"] == "created" else None
        if info is not None and _alive(info) and _conflict(info["device"], device):
            busy.append(run["id"])
    return busy


def dispatch_queue(store: RunStore) -> list[str]:
    """Start the oldest queued run of every device that is free; returns the run ids started."""
    started = []
    for entry in store.queued():
        if runs_on_device(store, entry["device"]):
            continue
        if not store.dequeue(entry["id"]):
            continue  # another dispatcher took it
        try:
            run = store.get_run(entry["run_id"])
        except RunStoreError:
            continue  # deleted while queued
        log = Path(run["checkpoint_dir"] or checkpoints_dir() / entry["run_id"]) / LOG_NAME
        for i, a in enumerate(entry["argv"]):
            if a == "--checkpoint-dir" and i + 1 < len(entry["argv"]):
                log = Path(entry["argv"][i + 1]) / entry["run_id"] / LOG_NAME
        pid = _spawn(entry["argv"], log)
        _record_launch(store, entry["run_id"], pid, entry["argv"], entry["device"], log)
        started.append(entry["run_id"])
    return started


def reap_unstarted(store: RunStore) -> list[str]:
    """Record ``failed`` every launched run whose process ended before it claimed the run; returns their ids.

    Such a process never reached the trainer (a broken environment, a bad argument, killed at once), so nothing
    else would ever end the run. The reason quotes the last line of its log.
    """
    failed = []
    for run in store.list_runs(status="created"):
        info = launch_info(store, run["id"])
        if info is None or info.get("host") != procinfo.hostname() or _alive(info):
            continue  # queued, launched elsewhere, or still starting
        if store.get_run(run["id"])["status"] != "created":
            continue  # it claimed the run just now
        last = [ln for ln in read_log(info["log"], 4000).splitlines() if ln.strip()]
        tail = f": {last[-1].strip()}" if last else ""
        store.finish(
            run["id"], "failed", reason=f"its process exited before training started (log {info['log']}){tail}"
        )
        failed.append(run["id"])
    return failed


def queue_position(store: RunStore, run_id: str) -> int | None:
    """1 for the next run to start on its device, 2 for the one after, ...; None when not queued."""
    entries = store.queued()
    mine = next((e for e in entries if e["run_id"] == run_id), None)
    if mine is None:
        return None
    same = [e for e in entries if e["device"] == mine["device"]]
    return same.index(mine) + 1


def unqueue(store: RunStore, run_id: str) -> bool:
    """Take a queued run off the queue and mark it cancelled; True if it was queued."""
    for entry in store.queued():
        if entry["run_id"] == run_id and store.dequeue(entry["id"]):
            store.finish(run_id, "cancelled", reason="removed from the queue before it started")
            return True
    return False


def _signal(info: dict[str, Any] | None, sig: int) -> bool:
    if not _alive(info):
        return False
    try:
        os.killpg(int(info["pid"]), sig)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def _stopped(store: RunStore, run_id: str, info: dict[str, Any] | None) -> bool:
    status = store.get_run(run_id)["status"]
    return status not in ("running", "created") or (status == "created" and not _alive(info))


def _wait(store: RunStore, run_id: str, info: dict[str, Any] | None, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if _stopped(store, run_id, info) and not _alive(info):
            return True
        time.sleep(0.2)
    return _stopped(store, run_id, info) and not _alive(info)


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
    if _signal(info, signal.SIGTERM) and _wait(store, run_id, info, kill_after_s):
        if store.get_run(run_id)["status"] in ("running", "created", "interrupted"):  # it died before recording it
            store.finish(run_id, "cancelled", reason=f"terminated (SIGTERM) after {grace_s:g} s without an answer")
        return f"terminated (SIGTERM) after the cancel request went unanswered for {grace_s:g} s"
    killed = _signal(info, signal.SIGKILL)
    _wait(store, run_id, info, 5.0)
    if store.get_run(run_id)["status"] in ("running", "created", "interrupted"):
        how = "killed (SIGKILL)" if killed else "its process could not be signalled"
        store.finish(run_id, "cancelled", reason=f"{how} after SIGTERM went unanswered for {kill_after_s:g} s")
    if killed:
        return f"killed (SIGKILL) after SIGTERM went unanswered for {kill_after_s:g} s"
    return "recorded cancelled: its process could not be reached"


def read_log(path: str | os.PathLike, max_bytes: int = 20_000) -> str:
    """The last ``max_bytes`` of a run's log (whole lines), or an empty string when there is none yet."""
    p = Path(path)
    try:
        with open(p, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - max_bytes))
            data = f.read()
    except OSError:
        return ""
    text = data.decode("utf-8", "replace")
    return text.split("\n", 1)[1] if size > max_bytes and "\n" in text else text


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
    "launch_info",
    "plan_launch",
    "queue_position",
    "read_log",
    "reap_unstarted",
    "resume",
    "runs_on_device",
    "start",
    "summary",
    "validate_overrides",
]
