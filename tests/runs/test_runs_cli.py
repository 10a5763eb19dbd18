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
    folder = tmp_path / "ckpt" / done
    store.claim(done, checkpoint_dir=folder)
    for step in range(3):
        store.log_metrics(done, step, 0, {"loss": 3.0 - step, "top1": 0.1 * step})
    store.log_metrics(done, 2, 1, {"train/loss": 1.5, "train/lr": 1e-3, "train/epoch_s": 4.25, "valid/head_acc": 0.5})
    folder.mkdir(parents=True)
    ck = folder / "last.pt"
    ck.write_bytes(b"x")
    store.add_artifact(done, "checkpoint", ck)
    report = tmp_path / "elsewhere" / "report.json"  # written with eval --out: not the run's to delete
    report.parent.mkdir()
    report.write_text("{}")
    store.add_artifact(done, "eval_report", report)
    store.finish(done, "completed", {"test_acc": 0.875})
    live = store.create_run("simclr", {})
    store.mark_running(live)

    assert main(["runs", "--runs-db", db, "list"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["ID", "NAME", "STATUS"]
    assert lines[1].startswith(live) and "running" in lines[1]  # newest first
    assert lines[2].startswith(done) and "completed" in lines[2] and "test_acc=0.875" in lines[2]

    assert main(["runs", "list", "--status", "completed", "--json", "--db", db]) == 0
    assert [r["id"] for r in json.loads(capsys.readouterr().out)] == [done]

    assert main(["runs", "--db", db, "show", done]) == 0
    captured = capsys.readouterr()
    out = captured.out
    assert "completed" in out and "loss" in out and str(ck) in out and '"kind": "clar"' in out
    assert "--db is deprecated; use --runs-db" in captured.err
    history = out[out.index("history") :].splitlines()
    assert history[1].split() == ["epoch", "step", "loss", "lr", "epoch", "s", "valid", "head"]
    assert history[2].split() == ["1", "2", "1.5000", "0.001", "4.2", "0.500"]
    assert main(["runs", "--db", db, "show", done, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["metrics_last"]["loss"]["last"] == 1.0 and shown["metric_rows"] == 10

    csv_path = tmp_path / "m.csv"
    assert main(["runs", "--db", db, "export", done, "--csv", str(csv_path)]) == 0
    with open(csv_path, newline="") as f:
        assert len(list(csv.DictReader(f))) == 10

    assert main(["runs", "--db", db, "cancel", live]) == 0
    assert store.cancel_requested(live)
    assert main(["runs", "--db", db, "delete", live]) == 2  # running: refused with a one-line error
    assert "cancel it first" in capsys.readouterr().err

    assert main(["runs", "--runs-db", db, "delete", done, "--files"]) == 0
    assert not folder.exists() and folder.parent.exists()  # exactly the run's own folder
    assert report.read_text() == "{}"  # a file outside it is never deleted
    assert main(["runs", "--db", db, "show", done]) == 2
    assert f"no run '{done}'" in capsys.readouterr().err
    store.close()
