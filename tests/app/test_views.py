"""What the Runs and Train pages compute from the run store: table rows (tolerant of any stored config), the
curves' data and figure, and a run's live status (progress, speed, ETA) from rows with known times."""

from __future__ import annotations

import math

import numpy as np
import pytest

from app.curves import PANELS, curve_frame, curves_figure
from app.live import run_status
from app.runs_table import filter_frame, monitor_of, run_row, runs_frame
from core.runs import RunStore


@pytest.fixture
def store(tmp_path):
    s = RunStore(tmp_path / "runs.sqlite")
    yield s
    s.close()


CONFIG = {
    "data": {"dataset": "demo", "label_fraction": 0.1, "batch_size": 32},
    "model": {"regime": "clar", "encoder": "small_cnn_2d"},
    "augment": {"names": "all"},
    "schedule": {"epochs": 30, "steps": None},
    "eval": {"monitor": "auto"},
}


def _log_run(store: RunStore, config: dict, epochs: int = 2, per_epoch: int = 4, dt: float = 0.5) -> str:
    """A run logged as the reporter does, with step times ``dt`` seconds apart."""
    rid = store.create_run("r", config)
    store.log_metrics(rid, 0, None, {"plan/total_steps": 3 * per_epoch, "plan/steps_per_epoch": per_epoch})
    rows = store._conn()
    t0 = 1_000_000.0
    for step in range(1, epochs * per_epoch + 1):
        e = (step - 1) // per_epoch + 1
        parts = {"train/loss": 10.0 / step, "train/nt_xent": 5.0 / step, "train/ce": 5.0 / step, "train/lr": 1e-3}
        store.log_metrics(rid, step, e, {**parts, "train/contrastive_acc": 0.1})
        if step % per_epoch == 0:
            store.log_metrics(rid, step, e, {"train/loss": 99.0, "train/epoch_s": 2.0, "valid/head_acc": 0.2 * e})
    for step in range(1, epochs * per_epoch + 1):  # known times: dt seconds per step
        rows.execute("UPDATE metrics SET time = ? WHERE run_id = ? AND step = ?", (t0 + dt * step, rid, step))
    rows.execute("UPDATE runs SET started = ? WHERE id = ?", (t0, rid))
    return rid


def test_row_of_a_finished_run(store):
    rid = store.create_run("r", CONFIG)
    store.finish(rid, "completed", final_metrics={"best/valid/head_acc": 0.5, "test/best/head_acc": 0.45,
                                                  "test/last/head_acc": 0.4, "test/last/linear_acc": 0.3})  # fmt: skip
    row = run_row(store.get_run(rid), {"epochs_done": 30, "total_steps": 210, "steps_per_epoch": 7})
    assert (row["regime"], row["input"], row["augment"], row["label fraction"]) == ("clar", "features", "all", 0.1)
    assert (row["epochs"], row["best valid"], row["test (best)"], row["test (last)"]) == ("30/30", 0.5, 0.45, 0.4)
    simclr = {**CONFIG, "model": {"regime": "simclr", "encoder": "resnet18_1d"}}
    assert monitor_of(simclr) == "valid/linear_acc" and run_row({"id": "x", "config": simclr})["input"] == "waveform"


@pytest.mark.parametrize(
    "config",
    [{}, {"data": "weird"}, {"model": {"encoder": 5, "regime": "byol"}}, {"data": {"label_fraction": "half"}}, None],
)
def test_rows_tolerate_any_stored_config(config):
    row = run_row({"id": "x", "name": "cli run", "status": "completed", "config": config, "final_metrics": "??"})
    assert row["id"] == "x" and row["label fraction"] is None and row["test (best)"] is None
    frame = runs_frame([{"id": "x", "name": "cli", "config": config, "created": 0.0}], {})
    assert list(frame["id"]) == ["x"]


def test_filter(store):
    a = store.create_run("alpha", CONFIG)
    b = store.create_run("beta", {**CONFIG, "model": {"regime": "supervised", "encoder": "small_cnn_1d"}})
    frame = runs_frame(store.list_runs(), {})
    assert list(filter_frame(frame, "alp")["id"]) == [a]
    assert list(filter_frame(frame, regime=["supervised"])["id"]) == [b]
    assert len(filter_frame(frame, "", regime=[])) == 2


def test_live_status_from_known_step_times(store):
    rid = _log_run(store, CONFIG, epochs=2, per_epoch=4, dt=0.5)
    s = run_status(store, store.get_run(rid))
    assert (s.step, s.total_steps, s.epoch, s.total_epochs) == (8, 12, 3, 3)
    assert s.fraction == pytest.approx(8 / 12) and s.valid == {"head_acc": pytest.approx(0.4)}
    # speed from the per-step rows (steps 1-3 and 5-7; 4 and 8 end epochs): 0.5 s a step, 32 clips a step
    assert s.clips_per_s == pytest.approx(32 / 0.5) and s.eta_s == pytest.approx(4 * 0.5)
    assert s.loss == pytest.approx(99.0)  # the last logged training loss is the epoch's mean


def test_curves_leave_out_epoch_means_and_draw_one_panel_per_metric(store):
    rid = _log_run(store, CONFIG)
    frame = curve_frame(store, [rid])
    loss = frame[frame["panel"] == "loss"]
    assert 99.0 not in set(loss["value"]) and list(loss["step"]) == [1, 2, 3, 5, 6, 7]
    np.testing.assert_allclose(loss["epoch"], loss["step"] / 4)
    np.testing.assert_allclose(loss["wall_min"], (loss["step"] - 1) * 0.5 / 60)
    valid = frame[frame["panel"] == "head_acc"]
    assert list(valid["step"]) == [4, 8] and list(valid["epoch"]) == [1.0, 2.0]
    table = runs_frame(store.list_runs(), store.progress([rid]))
    fig = curves_figure(frame, table, x="step", colour_by="regime", dash_by="augment")
    titles = [a.text for a in fig.layout.annotations]
    assert titles == [t for p, t, _ in PANELS if p in set(frame["panel"])] and "Validation: kNN probe" not in titles
    assert {tr.line.dash for tr in fig.data} == {"solid"} and len(fig.data) == len(titles)
    assert not math.isnan(fig.data[0].x[0])
    by_run = curves_figure(frame, table, x="wall", colour_by="id", dash_by="regime")
    assert len(by_run.data) == len(titles)


def test_no_curves_yet(store):
    rid = store.create_run("r", CONFIG)
    assert curves_figure(curve_frame(store, [rid]), runs_frame(store.list_runs(), {}), "epoch", "regime") is None
