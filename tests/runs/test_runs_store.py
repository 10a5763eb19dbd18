"""The run store's API: lifecycle, metrics, artifacts, stale detection, export."""

from __future__ import annotations

import csv
import importlib.util
import math
import os
import sqlite3
import subprocess
import sys
import time

import pytest

from core.errors import RunStoreError
from core.runs import RunStore, default_db_path, new_run_id, procinfo, running


@pytest.fixture
def store(tmp_path):
    s = RunStore(tmp_path / "runs.sqlite")
    yield s
    s.close()


def _raw(store: RunStore) -> sqlite3.Connection:
    """An independent connection, to inspect or tamper with rows as another process would."""
    return sqlite3.connect(store.path, isolation_level=None)


def test_wal_mode_and_schema(store):
    con = _raw(store)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"runs", "metrics", "artifacts"} <= tables
    assert store.integrity_check() == "ok"


def test_default_path_and_env(tmp_path, monkeypatch):
    monkeypatch.delenv("CLAR_RUNS_DB", raising=False)
    monkeypatch.setenv("CLAR_CHECKPOINT_DIR", str(tmp_path / "ck"))
    assert default_db_path() == tmp_path / "ck" / "runs.sqlite"
    monkeypatch.setenv("CLAR_RUNS_DB", str(tmp_path / "other.db"))
    s = RunStore()
    assert s.path == tmp_path / "other.db" and s.path.exists()
    s.close()


def test_run_ids_sortable_and_unique():
    t0 = time.mktime((2026, 1, 2, 3, 4, 5, 0, 0, 0))
    ids = [new_run_id(t0 + i) for i in range(3)]
    assert ids == sorted(ids)
    assert all(len(i) == len("20260102-030405-abcd") and i.count("-") == 2 for i in ids)
    assert len({new_run_id(t0) for _ in range(50)}) > 40


def test_lifecycle(store):
    rid = store.create_run("clar-fsdd", {"lr": 1e-3, "model": {"kind": "cnn"}})
    run = store.get_run(rid)
    assert run["status"] == "created" and run["config"] == {"lr": 1e-3, "model": {"kind": "cnn"}}
    assert run["pid"] is None and run["started"] is None

    store.mark_running(rid)
    run = store.get_run(rid)
    assert run["status"] == "running"
    assert run["pid"] == os.getpid() and run["host"] == procinfo.hostname()
    assert run["proc_start"] == procinfo.process_start_token(os.getpid())
    assert abs(run["heartbeat"] - time.time()) < 5
    assert store.heartbeat(rid) is True

    assert not store.cancel_requested(rid)
    store.request_cancel(rid)
    assert store.cancel_requested(rid)

    store.finish(rid, "cancelled", {"test_acc": 0.75})
    run = store.get_run(rid)
    assert run["status"] == "cancelled" and run["final_metrics"] == {"test_acc": 0.75}
    assert run["ended"] >= run["started"]
    assert store.heartbeat(rid) is False  # a finished run is not revived

    store.mark_running(rid)  # resume clears the cancel request and the end time
    run = store.get_run(rid)
    assert run["status"] == "running" and not run["cancel_requested"] and run["ended"] is None
    assert [r["id"] for r in store.list_runs("running")] == [rid]
    assert store.list_runs("completed") == []
    other = store.create_run("second", {})
    assert [r["id"] for r in store.list_runs(limit=1)] == [other]  # newest first


def test_bad_input_is_named(store):
    with pytest.raises(RunStoreError, match="not JSON-serialisable"):
        store.create_run("x", {"f": object()})
    rid = store.create_run("x", {}, run_id="fixed-id")
    with pytest.raises(RunStoreError, match="'fixed-id' already exists"):
        store.create_run("y", {}, run_id="fixed-id")
    with pytest.raises(RunStoreError, match="status 'done'"):
        store.finish(rid, "done")
    with pytest.raises(RunStoreError, match="no run 'nope'"):
        store.get_run("nope")
    with pytest.raises(RunStoreError, match="no run 'nope'"):
        store.log_metrics("nope", 0, 0, {"loss": 1.0})
    with pytest.raises(RunStoreError, match="metric 'loss'"):
        store.log_metrics(rid, 0, 0, {"loss": "high"})
    with pytest.raises(RunStoreError, match="status 'weird'"):
        store.list_runs("weird")


def test_metrics_replace_truncate_and_frame(store):
    rid = store.create_run("m", {})
    for step in range(10):
        store.log_metrics(rid, step, step // 5, {"loss": 10.0 - step, "acc": step / 10})
    store.log_metrics(rid, 3, 0, {"loss": -1.0})  # same key and step: replaced, not duplicated
    store.log_metrics(rid, 4, 0, {"nan_metric": math.nan})
    rows = store.metrics(rid)
    assert len(rows) == 21
    assert [r["step"] for r in rows] == sorted(r["step"] for r in rows)
    assert [r["value"] for r in store.metrics(rid, "loss")][:5] == [10.0, 9.0, 8.0, -1.0, 6.0]
    assert math.isnan(store.metrics(rid, "nan_metric")[0]["value"])
    assert {r["step"] for r in store.metrics(rid, after_step=7)} == {8, 9}

    # Resume from a checkpoint at step 6: the rows after it go, then the resumed run logs them again.
    assert store.truncate_metrics(rid, 6) == 6
    assert max(r["step"] for r in store.metrics(rid)) == 6
    for step in range(7, 10):
        store.log_metrics(rid, step, 1, {"loss": 100.0 + step, "acc": 0.0})
    loss = store.metrics(rid, "loss")
    assert [r["step"] for r in loss] == list(range(10))
    assert loss[-1]["value"] == 109.0

    wide = store.metrics_frame(rid, wide=True)
    assert list(wide["step"]) == list(range(10))
    assert wide.loc[wide["step"] == 9, "loss"].item() == 109.0
    long = store.metrics_frame(rid, "acc")
    assert set(long.columns) == {"step", "epoch", "key", "value", "time"} and len(long) == 10


def test_artifacts_and_delete(store, tmp_path):
    rid = store.create_run("a", {})
    ck = tmp_path / "checkpoints" / rid
    ck.mkdir(parents=True)
    (ck / "last.pt").write_bytes(b"x")
    emb = tmp_path / "emb.npy"
    emb.write_bytes(b"y")
    a1 = store.add_artifact(rid, "checkpoint_dir", ck, {"epoch": 3})
    a2 = store.add_artifact(rid, "embeddings", emb)
    arts = store.artifacts(rid)
    assert [a["id"] for a in arts] == [a1, a2]
    assert arts[0]["meta"] == {"epoch": 3} and arts[0]["path"] == str(ck)
    assert [a["kind"] for a in store.artifacts(rid, "embeddings")] == ["embeddings"]
    store.log_metrics(rid, 0, 0, {"loss": 1.0})

    store.claim(rid, checkpoint_dir=ck)
    with pytest.raises(RunStoreError, match="running; cancel it first"):
        store.delete_run(rid)
    store.finish(rid, "completed")
    removed = store.delete_run(rid, delete_files=True)
    assert removed == [str(ck)]  # exactly the run's own folder
    assert not ck.exists() and ck.parent.exists() and emb.read_bytes() == b"y"  # nothing outside it
    with pytest.raises(RunStoreError):
        store.get_run(rid)
    con = _raw(store)
    for table in ("metrics", "artifacts"):
        assert con.execute(f"SELECT COUNT(*) FROM {table} WHERE run_id = ?", (rid,)).fetchone()[0] == 0

    keep = store.create_run("b", {})
    store.add_artifact(keep, "embeddings", emb.with_name("kept.npy"))
    emb.with_name("kept.npy").write_bytes(b"z")
    assert store.delete_run(keep) == []
    assert emb.with_name("kept.npy").exists()  # files stay unless asked


def test_export_csv_round_trip(store, tmp_path):
    rid = store.create_run("e", {})
    expected = {}
    for step in range(5):
        vals = {"loss": 1 / (step + 1), "acc": step * 0.1}
        store.log_metrics(rid, step, step // 2, vals)
        expected.update({(step, k): v for k, v in vals.items()})
    out = store.export_csv(rid, tmp_path / "sub" / "m.csv")
    with open(out, newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["run_id", "step", "epoch", "key", "value", "time"]
    assert len(rows) == len(expected)
    for r in rows:
        assert r["run_id"] == rid
        assert float(r["value"]) == expected[(int(r["step"]), r["key"])]  # repr round-trips exactly
        assert int(r["epoch"]) == int(r["step"]) // 2


def test_export_tensorboard(store, tmp_path):
    rid = store.create_run("tb", {"x": 1})
    store.log_metrics(rid, 0, 0, {"loss": 1.0})
    if importlib.util.find_spec("tensorboard") is None:
        with pytest.raises(RunStoreError, match="pip install tensorboard"):
            store.export_tensorboard(rid, tmp_path / "tb")
    else:
        out = store.export_tensorboard(rid, tmp_path / "tb")
        assert any(p.name.startswith("events.out.tfevents") for p in out.iterdir())


# ----------------------------------------------------------------------------------------------------------
# Stale detection
# ----------------------------------------------------------------------------------------------------------
def test_other_host_judged_by_heartbeat_only(tmp_path):
    s = RunStore(tmp_path / "r.sqlite", stale_after_s=30)
    fresh, old = s.create_run("fresh", {}), s.create_run("old", {})
    now = time.time()
    con = _raw(s)
    for rid, beat in ((fresh, now - 5), (old, now - 31)):
        # pid 1 on another host: a local PID check would wrongly judge it; only the heartbeat counts.
        con.execute(
            "UPDATE runs SET status='running', host='gpu-node-7', pid=999999, proc_start='x:1', heartbeat=? WHERE id=?",
            (beat, rid),
        )
    assert s.get_run(fresh)["status"] == "running"
    run = s.get_run(old)
    assert run["status"] == "interrupted" and "no heartbeat" in run["status_reason"]
    assert {r["id"]: r["status"] for r in s.list_runs()} == {fresh: "running", old: "interrupted"}
    s.close()


def test_dead_pid_interrupted_at_once(store):
    rid = store.create_run("dead", {})
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        store.mark_running(rid, pid=proc.pid)
        assert store.get_run(rid)["status"] == "running"
    finally:
        proc.kill()
        proc.wait()
    run = store.get_run(rid)  # heartbeat is fresh, but the process is gone
    assert run["status"] == "interrupted" and f"process {proc.pid} is gone" in run["status_reason"]
    assert run["ended"] is not None


def test_pid_reuse_detected(store):
    rid = store.create_run("reused", {})
    store.mark_running(rid)
    token = procinfo.process_start_token(os.getpid())
    boot, ticks = token.split(":", 1) if ":" in token else (token, "0")
    # Same PID (ours, alive), same boot, but another start time: the PID was reused by a new process.
    _raw(store).execute("UPDATE runs SET proc_start = ? WHERE id = ?", (f"{boot}:{int(ticks) - 100}", rid))
    run = store.get_run(rid)
    assert run["status"] == "interrupted" and "belongs to another process" in run["status_reason"]


def test_late_heartbeat_marks_interrupted_then_revives(tmp_path):
    s = RunStore(tmp_path / "r.sqlite", stale_after_s=0.3)
    rid = s.create_run("slow", {})
    s.mark_running(rid)
    time.sleep(0.4)
    run = s.get_run(rid)
    assert run["status"] == "interrupted" and run["status_reason"].startswith("stale: no heartbeat")
    assert s.heartbeat(rid) is True  # the owner is alive after all
    assert s.get_run(rid)["status"] == "running"
    s.finish(rid, "interrupted")
    assert s.heartbeat(rid) is False and s.get_run(rid)["status"] == "interrupted"
    s.close()


def test_running_context_and_heartbeat_thread(tmp_path):
    s = RunStore(tmp_path / "r.sqlite", stale_after_s=0.5)
    rid = s.create_run("ctx", {})
    with running(s, rid, heartbeat_s=0.05) as beat:
        time.sleep(0.8)  # longer than the stale timeout: only the heartbeat thread keeps it running
        assert s.get_run(rid)["status"] == "running"
        assert beat.error is None
        s.finish(rid, "completed", {"acc": 1.0})
    assert s.get_run(rid)["status"] == "completed"

    rid2 = s.create_run("boom", {})
    with pytest.raises(ZeroDivisionError), running(s, rid2, heartbeat_s=0.05):
        _ = 1 / 0
    assert s.get_run(rid2)["status"] == "failed"
    s.close()


def test_mark_running_refuses_live_owner(store):
    rid = store.create_run("busy", {})
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        store.mark_running(rid, pid=proc.pid)
        with pytest.raises(RunStoreError, match="already running"):
            store.mark_running(rid)
    finally:
        proc.kill()
        proc.wait()
    store.mark_running(rid)  # the owner died: the run can be taken over (resume)
    assert store.get_run(rid)["pid"] == os.getpid()


def test_threads_share_a_store_without_piling_up_connections(store):
    import gc
    import threading

    rid = store.create_run("threads", {})

    def work(i):
        store.log_metrics(rid, i, 0, {"x": float(i)})

    for i in range(40):  # short-lived threads, as a web app's request handlers would be
        t = threading.Thread(target=work, args=(i,))
        t.start()
        t.join()
    gc.collect()
    assert len(store.metrics(rid)) == 40
    assert len(store._all) <= 3  # this thread's connection, not one per finished thread


def test_not_a_database_is_named(tmp_path):
    bad = tmp_path / "runs.sqlite"
    bad.write_bytes(b"this is not an SQLite file" * 100)
    with pytest.raises(RunStoreError, match=r"runs\.sqlite.*not a database"):
        RunStore(bad)
