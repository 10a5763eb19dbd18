"""Exclusive run ownership: a process that lost its run (another claimed it) can no longer write to it; each run is
judged stale by its own heartbeat settings; an old (schema 1) database is upgraded in place."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest
import torch

from core.errors import OwnershipLost
from core.runs import HeartbeatThread, RunStore
from core.runs.schema import SCHEMA_VERSION
from core.train.checkpoints import CheckpointManager


def _set_heartbeat(store: RunStore, run_id: str, seconds_ago: float) -> None:
    con = sqlite3.connect(store.path)
    con.execute("UPDATE runs SET heartbeat = ? WHERE id = ?", (time.time() - seconds_ago, run_id))
    con.commit()
    con.close()


def test_a_second_claim_takes_the_run_and_the_first_owner_can_write_nothing(tmp_path: Path):
    store = RunStore(tmp_path / "runs.sqlite")
    rid = store.create_run("r", {})
    first = store.claim(rid, heartbeat_s=1, stale_after_s=4)
    store.log_metrics(rid, 1, 1, {"loss": 1.0}, owner=first)
    assert store.heartbeat(rid, first) is True
    store.assert_owner(rid, first)

    _set_heartbeat(store, rid, 10)  # the owner paused: readers judge it stale by its own 4 s limit
    assert store.get_run(rid)["status"] == "interrupted"
    second = store.claim(rid, heartbeat_s=1, stale_after_s=4)  # a resume takes the run over
    assert second != first

    assert store.heartbeat(rid, first) is False
    with pytest.raises(OwnershipLost, match="taken over"):
        store.assert_owner(rid, first)
    with pytest.raises(OwnershipLost):
        store.log_metrics(rid, 2, 1, {"loss": 0.5}, owner=first)
    with pytest.raises(OwnershipLost):
        store.finish(rid, "failed", owner=first, reason="the old owner must not decide this")
    run = store.get_run(rid)
    assert run["status"] == "running" and run["status_reason"] is None
    assert [r["value"] for r in store.metrics(rid, "loss")] == [1.0]
    assert "owner" not in run  # the token never leaves the store

    store.finish(rid, "completed", owner=second)
    assert store.get_run(rid)["status"] == "completed"


def test_late_owner_is_revived_only_if_nobody_claimed_the_run(tmp_path: Path):
    store = RunStore(tmp_path / "runs.sqlite")
    rid = store.create_run("r", {})
    owner = store.claim(rid, heartbeat_s=1, stale_after_s=4)
    _set_heartbeat(store, rid, 10)
    assert store.get_run(rid)["status"] == "interrupted"
    assert store.heartbeat(rid, owner) is True  # alive after all, and still the owner
    assert store.get_run(rid)["status"] == "running"


def test_each_run_is_judged_by_its_own_staleness_limit(tmp_path: Path):
    store = RunStore(tmp_path / "runs.sqlite", stale_after_s=60)
    patient = store.create_run("slow beats", {})
    store.claim(patient, heartbeat_s=100, stale_after_s=400)
    quick = store.create_run("fast beats", {})
    store.claim(quick, heartbeat_s=0.5, stale_after_s=2)
    _set_heartbeat(store, patient, 120)  # older than the store's 60 s default, within its own 400 s
    _set_heartbeat(store, quick, 3)
    assert store.get_run(patient)["status"] == "running"
    quick_run = store.get_run(quick)
    assert quick_run["status"] == "interrupted" and "timeout 2 s" in quick_run["status_reason"]
    assert store.get_run(patient)["heartbeat_s"] == 100 and store.get_run(patient)["stale_after_s"] == 400


def test_heartbeat_thread_notices_the_loss_and_stops(tmp_path: Path):
    store = RunStore(tmp_path / "runs.sqlite")
    rid = store.create_run("r", {})
    owner = store.claim(rid)
    beat = HeartbeatThread(store, rid, 0.05, owner)
    beat.start()
    try:
        time.sleep(0.2)
        assert not beat.lost.is_set()
        _set_heartbeat(store, rid, 1000)
        store.get_run(rid)
        store.claim(rid)
        assert beat.lost.wait(2.0)
        time.sleep(0.1)
        assert not beat.is_alive()
    finally:
        beat.stop()


def test_checkpoint_commit_checks_ownership(tmp_path: Path):
    store = RunStore(tmp_path / "runs.sqlite")
    rid = store.create_run("r", {})
    owner = store.claim(rid)
    manager = CheckpointManager(tmp_path / rid, before_commit=lambda: store.assert_owner(rid, owner))
    state = {"model": {"w": torch.ones(2)}, "frontend": {}, "epoch": 1, "global_step": 1, "config": {},
             "class_names": ["a"]}  # fmt: skip
    manager.save(state)
    first = manager.last.read_bytes()
    _set_heartbeat(store, rid, 1000)
    store.get_run(rid)
    store.claim(rid)  # taken over
    with pytest.raises(OwnershipLost):
        manager.save({**state, "epoch": 2})
    assert manager.last.read_bytes() == first and not manager.previous.exists()
    assert sorted(p.name for p in manager.dir.iterdir()) == ["last.pt"]  # no temporary file left either


def test_schema_1_database_is_upgraded_in_place(tmp_path: Path):
    path = tmp_path / "old.sqlite"
    con = sqlite3.connect(path)
    con.executescript(
        "CREATE TABLE runs (id TEXT PRIMARY KEY, name TEXT NOT NULL, config TEXT NOT NULL, status TEXT NOT NULL, "
        "host TEXT, pid INTEGER, proc_start TEXT, heartbeat REAL, created REAL NOT NULL, started REAL, ended REAL, "
        "final_metrics TEXT, cancel_requested INTEGER NOT NULL DEFAULT 0, status_reason TEXT);"
        "INSERT INTO runs (id, name, config, status, created) VALUES ('old-run', 'n', '{}', 'completed', 1.0);"
        "PRAGMA user_version=1;"
    )
    con.commit()
    con.close()
    store = RunStore(path)
    run = store.get_run("old-run")
    assert run["status"] == "completed" and run["checkpoint_dir"] is None and run["heartbeat_s"] is None
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    store.set_setting("data_dirs", ["/x"])
    assert RunStore(path).get_setting("data_dirs") == ["/x"]


def test_a_cancel_is_seen_within_the_poll_interval_not_the_heartbeat_interval(tmp_path):
    store = RunStore(tmp_path / "runs.sqlite")
    rid = store.create_run("r", {})
    owner = store.claim(rid, heartbeat_s=30.0, stale_after_s=120.0)
    beat = HeartbeatThread(store, rid, interval_s=30.0, owner=owner, poll_s=0.1)
    beat.start()
    try:
        time.sleep(0.3)
        assert not beat.cancelled.is_set()
        t0 = time.monotonic()
        store.request_cancel(rid)
        assert beat.cancelled.wait(5.0)
        assert time.monotonic() - t0 < 2.0  # a heartbeat interval is 30 s
    finally:
        beat.stop()
