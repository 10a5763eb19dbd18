"""The pages' logic, run by Streamlit's test runner: what they show for an empty store, for runs of every kind
(finished, launched from the command line with a config the form cannot show, failed at start, with their
checkpoint folder deleted), for a locked or unusable run store, and for a dataset folder with no audio. A user
never sees a traceback: each case is a readable message and the page goes on."""

from __future__ import annotations

import shutil
import sqlite3
import time

import numpy as np

from core.probes.metrics import classification_report
from core.runs import RunStore
from core.runs.reports import write_report
from core.train import launcher

CONFIG = {
    "data": {"dataset": "demo", "label_fraction": 0.1, "batch_size": 32},
    "model": {"regime": "clar", "encoder": "small_cnn_2d"},
    "augment": {"names": "all"},
    "schedule": {"epochs": 2},
}


def _texts(at) -> str:
    parts = [
        e.value for kind in ("markdown", "caption", "error", "warning", "info", "success") for e in getattr(at, kind)
    ]
    return "\n".join(str(p) for p in parts)


def test_train_page_shows_the_command_and_refuses_bad_values_at_their_field(app_env, page):
    at = page("train")
    assert not at.exception and not at.error
    (command,) = [c.value for c in at.code if "core train" in c.value]
    assert "--config demo" in command and f"--checkpoint-dir {app_env['checkpoints']}" in command
    assert not at.button(key="train:launch").disabled
    at.number_input(key="train:demo:epochs").set_value(-1).run()
    assert [e.value for e in at.error] == ["schedule.epochs: -1 must be at least 0"]
    assert at.button(key="train:launch").disabled
    at.number_input(key="train:demo:epochs").set_value(2).run()
    at.selectbox(key="train:demo:dataset").set_value("esc50").run()  # not in the shared data folder
    (error,) = at.error
    assert error.value.startswith("esc50: dataset not found") and "the Data page can download it" in error.value
    assert at.button(key="train:launch").disabled and not at.exception


def test_runs_page_with_no_run(app_env, page):
    at = page("runs")
    assert not at.exception and "No runs yet" in at.info[0].value


def _finished_run(store: RunStore, folder) -> str:
    rid = store.create_run("finished", CONFIG)
    folder.mkdir(parents=True)
    store.claim(rid, checkpoint_dir=folder)
    for step in range(1, 5):
        store.log_metrics(rid, step, 1 + (step > 2), {"train/loss": 1.0 / step, "train/lr": 1e-3})
    store.log_metrics(rid, 4, 2, {"train/epoch_s": 1.0, "valid/head_acc": 0.5, "time/model_share": 0.7})
    (folder / "best.pt").write_bytes(b"x")
    store.add_artifact(rid, "checkpoint", folder / "best.pt", {"name": "best"})
    y = np.array([0, 1, 2, 2])
    rep = classification_report(y, np.array([0, 1, 2, 1]), ["beep", "chirp", "click"])
    path = write_report(folder, {"class_names": ["beep", "chirp", "click"], "last": {"head": rep}})
    store.add_artifact(rid, "report", path)
    store.finish(rid, "completed", final_metrics={"test/last/head_acc": 0.75})
    return rid


def test_runs_page_shows_every_kind_of_run(app_env, page):
    store = RunStore(app_env["runs_db"])
    done = _finished_run(store, app_env["checkpoints"] / "done")
    cli = store.create_run("from the command line", {"data": "not a section", "model": {"encoder": 7}})
    failed = store.create_run("bad root", CONFIG)
    store.finish(failed, "failed", reason="setup failed: DatasetError: fsdd: /nowhere does not exist")
    gone = _finished_run(store, app_env["checkpoints"] / "gone")
    shutil.rmtree(app_env["checkpoints"] / "gone")
    at = page("runs")
    assert not at.exception
    assert [e.value for e in at.error if "no such file" not in e.value] == []  # (the newest run's report is gone)
    table = at.dataframe[0].value
    assert set(table["id"]) == {done, cli, failed, gone}
    assert table.set_index("id").at[done, "test (last)"] == 0.75
    for rid, expect in (
        (done, "Test accuracy"),
        (cli, "from the command line"),
        (failed, "/nowhere does not exist"),
        (gone, "checkpoint folder"),
    ):
        at.selectbox(key="runs:detail").set_value(rid).run()
        assert not at.exception, rid
        text = _texts(at) + "\n".join(m.label + m.value for m in at.metric)
        assert expect in text, (rid, expect)
    at.selectbox(key="runs:detail").set_value(gone).run()
    assert any("is gone: it cannot be evaluated or resumed" in w.value for w in at.warning)
    assert any("no such file" in e.value for e in at.error)  # its test report went with the folder: one line


def test_a_locked_run_store_is_a_message(app_env, page):
    made = RunStore(app_env["runs_db"])
    made.create_run("r", CONFIG)
    made.close()
    holder = sqlite3.connect(app_env["runs_db"], isolation_level=None)
    holder.execute("PRAGMA locking_mode=EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        for name in ("train", "runs", "data"):
            t0 = time.monotonic()
            at = page(name)
            assert not at.exception, name
            (error,) = at.error
            assert error.value.startswith("The run store cannot be used:") and "locked" in error.value
            assert time.monotonic() - t0 < 30
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert not page("runs").error


def test_an_unusable_run_store_path_is_a_message(app_env, page, monkeypatch):
    blocker = app_env["tmp"] / "a_file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("CLAR_RUNS_DB", str(blocker / "runs.sqlite"))
    at = page("runs")
    assert not at.exception and at.error[0].value.startswith("The run store cannot be used:")


def test_data_page_adds_a_folder_and_refuses_one_without_audio(app_env, page, data_dir):
    empty = app_env["tmp"] / "empty" / "some_class"
    empty.mkdir(parents=True)
    at = page("data")
    assert not at.exception
    assert "fsdd" in _texts(at) and "python -m core data download esc50" in "\n".join(c.value for c in at.code)
    at.text_input(key="data:root").set_value(str(empty.parent))
    at.button[-1].click().run()  # the form's Add
    (error,) = at.error
    assert "no audio files" in error.value and str(empty.parent) in error.value and "\n" not in error.value
    assert RunStore(app_env["runs_db"]).get_setting("app:data_dirs", []) == []
    at.text_input(key="data:root").set_value(str(data_dir / "esc10"))  # a form: values go in with its submit
    at.radio(key="data:kind").set_value("csv")
    at.button[-1].click().run()
    assert not at.error and "Added: 400 clips in 10 classes." in _texts(at)
    again = page("data")  # kept in the run store: another tab, or a restart, sees it
    assert f"`{(data_dir / 'esc10').resolve()}`" in _texts(again)


def test_a_run_that_fails_at_start_shows_its_reason(app_env, page):
    store = RunStore(app_env["runs_db"])
    sets = ["data.root=/nowhere/at/all", "schedule.epochs=1"]
    plan = launcher.plan_launch("demo", sets, runs_db=app_env["runs_db"], checkpoint_root=app_env["checkpoints"])
    launcher.start(store, plan)
    deadline = time.monotonic() + 120
    while store.get_run(plan.run_id)["status"] in ("created", "running") and time.monotonic() < deadline:
        time.sleep(0.3)
    run = store.get_run(plan.run_id)
    assert run["status"] == "failed" and "/nowhere/at/all does not exist" in run["status_reason"]
    at = page("train")
    assert not at.exception and "/nowhere/at/all does not exist" in _texts(at)


def test_a_launch_onto_a_busy_device_asks_and_can_queue(app_env, page):
    store = RunStore(app_env["runs_db"])
    busy = store.create_run("already training", {**CONFIG, "runtime": {"device": "cpu"}})
    store.claim(busy)  # this process, alive: the CPU is taken
    at = page("train")
    at.button(key="train:launch").click().run()
    (warning,) = at.warning
    assert warning.value.startswith(f"cpu is in use by {busy}.") and "queue this run" in warning.value
    at.button(key="train:queue").click().run()
    assert not at.exception and "Queued run" in _texts(at) and "#1 on cpu" in _texts(at)
    (entry,) = store.queued()
    assert entry["device"] == "cpu" and entry["argv"][entry["argv"].index("--run-id") + 1] == entry["run_id"]
    assert store.get_run(entry["run_id"])["status"] == "created"
    assert launcher.dispatch_queue(store) == []  # still busy: it waits
    assert launcher.unqueue(store, entry["run_id"]) and store.get_run(entry["run_id"])["status"] == "cancelled"
