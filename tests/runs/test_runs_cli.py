"""``python -m core runs list|show|cancel|delete|export`` through ``core.cli.main``."""

from __future__ import annotations

import csv
import json

from core.cli import main
from core.runs import RunStore


def test_runs_cli(tmp_path, capsys):
    db = str(tmp_path / "runs.sqlite")
    store = RunStore(db)
    done = store.create_run("clar-fsdd", {"loss": {"kind": "clar"}})
    store.mark_running(done)
    for step in range(3):
        store.log_metrics(done, step, 0, {"loss": 3.0 - step, "top1": 0.1 * step})
    ck = tmp_path / "ck.pt"
    ck.write_bytes(b"x")
    store.add_artifact(done, "checkpoint", ck)
    store.finish(done, "completed", {"test_acc": 0.875})
    live = store.create_run("simclr", {})
    store.mark_running(live)

    assert main(["runs", "--db", db, "list"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["ID", "NAME", "STATUS"]
    assert lines[1].startswith(live) and "running" in lines[1]  # newest first
    assert lines[2].startswith(done) and "completed" in lines[2] and "test_acc=0.875" in lines[2]

    assert main(["runs", "list", "--status", "completed", "--json", "--db", db]) == 0
    assert [r["id"] for r in json.loads(capsys.readouterr().out)] == [done]

    assert main(["runs", "--db", db, "show", done]) == 0
    out = capsys.readouterr().out
    assert "completed" in out and "loss" in out and str(ck) in out and '"kind": "clar"' in out
    assert main(["runs", "--db", db, "show", done, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["metrics_last"]["loss"]["last"] == 1.0 and shown["metric_rows"] == 6

    csv_path = tmp_path / "m.csv"
    assert main(["runs", "--db", db, "export", done, "--csv", str(csv_path)]) == 0
    with open(csv_path, newline="") as f:
        assert len(list(csv.DictReader(f))) == 6

    assert main(["runs", "--db", db, "cancel", live]) == 0
    assert store.cancel_requested(live)
    assert main(["runs", "--db", db, "delete", live]) == 2  # running: refused with a one-line error
    assert "cancel it first" in capsys.readouterr().err

    assert main(["runs", "--db", db, "delete", done, "--files"]) == 0
    assert not ck.exists()
    assert main(["runs", "--db", db, "show", done]) == 2
    assert f"no run '{done}'" in capsys.readouterr().err
    store.close()
