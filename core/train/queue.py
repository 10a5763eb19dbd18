"""The per-device queue of runs: what occupies a device, and starting the next queued run when it frees up.

Two runs on one device thrash each other, so a launch onto a busy device can wait in a queue kept in the run
store; :func:`dispatch_queue` (called by the app every few seconds) starts the oldest queued run of every free
device, and the queue survives an app restart.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.errors import RunStoreError
from core.paths import checkpoints_dir
from core.runs import RunStore, procinfo
from core.train.processes import LOG_NAME, alive, launch_info, read_log, record_launch, spawn


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
        if info is not None and alive(info) and _conflict(info["device"], device):
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
        pid = spawn(entry["argv"], log)
        record_launch(store, entry["run_id"], pid, entry["argv"], entry["device"], log)
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
        if info is None or info.get("host") != procinfo.hostname() or alive(info):
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
            if store.get_run(run_id)["status"] == "created":  # a queued resumption keeps its stopped status
                store.finish(run_id, "cancelled", reason="removed from the queue before it started")
            return True
    return False
