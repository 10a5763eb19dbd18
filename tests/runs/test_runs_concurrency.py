"""Several processes and threads writing at once; a writer SIGKILLed mid-write, repeatedly."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from core.runs import RunStore

ROOT = Path(__file__).resolve().parents[2]

# Each process writes from 2 threads, N_WRITES // 2 transactions each, with a tiny SQLite busy timeout so
# that SQLITE_BUSY really reaches the store's own retry-with-backoff loop.
WRITER = textwrap.dedent(
    """
    import sys, threading, time
    from pathlib import Path
    from core.runs import RunStore

    db, run_id, worker, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    store = RunStore(db, busy_timeout_s=0.001)
    go = Path(db).with_name("go")
    while not go.exists():
        time.sleep(0.005)

    def write(thread):
        for i in range(n // 2):
            step = worker * 100000 + thread * 10000 + i
            store.log_metrics(run_id, step, 0, {"a": step, "b": -step})
            if i % 25 == 0:
                store.heartbeat(run_id)
                store.list_runs()

    threads = [threading.Thread(target=write, args=(t,)) for t in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print("done", flush=True)
    """
)

KILLED_WRITER = textwrap.dedent(
    """
    import sys
    from core.runs import RunStore

    db, run_id, step, keys = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    store = RunStore(db)
    store.mark_running(run_id)
    print("running", flush=True)
    while True:
        store.log_metrics(run_id, step, step // 10, {f"k{j}": step + j / 1000 for j in range(keys)})
        print(step, flush=True)  # only after the commit returned
        step += 1
    """
)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["OMP_NUM_THREADS"] = "1"
    return env


def test_processes_and_threads_write_without_lock_errors(tmp_path):
    db = tmp_path / "runs.sqlite"
    store = RunStore(db)
    rid = store.create_run("shared", {})
    store.mark_running(rid)
    n_proc, n_writes = 4, 200
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(db), rid, str(w), str(n_writes)],
            env=_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(n_proc)
    ]
    # Threads of this process write too (cancel requests, artifacts), as the app would.
    errors: list[BaseException] = []

    def app_thread():
        try:
            for i in range(50):
                store.request_cancel(rid)
                store.add_artifact(rid, "checkpoint", tmp_path / f"c{i}.pt")
        except BaseException as e:
            errors.append(e)

    time.sleep(1.0)  # let every writer open the database and wait at the gate
    (tmp_path / "go").touch()
    t = threading.Thread(target=app_thread)
    t.start()
    outs = [p.communicate(timeout=120) for p in procs]
    t.join()
    for p, (out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0 and out.strip() == "done", err
        assert "locked" not in err
    assert not errors
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert con.execute("SELECT COUNT(DISTINCT step) FROM metrics").fetchone()[0] == n_proc * n_writes
    assert con.execute("SELECT COUNT(*) FROM metrics").fetchone()[0] == 2 * n_proc * n_writes
    assert len(store.artifacts(rid)) == 50
    store.close()


def test_sigkill_mid_write_loses_nothing_committed(tmp_path):
    db = tmp_path / "runs.sqlite"
    store = RunStore(db)
    rid = store.create_run("victim", {"kills": 10})
    rng = random.Random(0)
    keys, step, reported = 40, 0, []
    for _ in range(10):
        p = subprocess.Popen(
            [sys.executable, "-c", KILLED_WRITER, str(db), rid, str(step), str(keys)],
            env=_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert p.stdout.readline().strip() == "running", p.stderr.read()
        for _ in range(rng.randint(3, 30)):  # let it commit a few transactions, then kill it mid-stream
            line = p.stdout.readline()
            assert line, p.stderr.read()
            reported.append(int(line))
        time.sleep(rng.uniform(0, 0.01))
        os.kill(p.pid, signal.SIGKILL)
        rest, _ = p.communicate(timeout=30)
        assert p.returncode == -signal.SIGKILL
        reported += [int(x) for x in rest.split()]
        step = reported[-1] + 1 if reported else step
        run = store.get_run(rid)
        assert run["status"] == "interrupted" and "is gone" in run["status_reason"]
        con = sqlite3.connect(db)
        partial = con.execute(
            "SELECT step, COUNT(*) FROM metrics GROUP BY step HAVING COUNT(*) != ?", (keys,)
        ).fetchall()
        con.close()
        assert partial == []  # the transaction the kill interrupted left nothing behind
        # Resume the way training does: drop whatever was written after the last reported step.
        store.truncate_metrics(rid, reported[-1])

    assert store.integrity_check() == "ok"
    rows = store.metrics(rid)
    by_step: dict[int, int] = {}
    for r in rows:
        by_step[r["step"]] = by_step.get(r["step"], 0) + 1
        assert r["value"] == pytest.approx(r["step"] + int(r["key"][1:]) / 1000)
    assert set(reported) <= set(by_step)  # every reported commit survived
    assert set(by_step.values()) == {keys}  # and every transaction is whole: no half-written step
    assert len(reported) >= 10 * 3
    store.close()
