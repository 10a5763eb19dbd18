"""What the app reads every 2 s: a run's latest metrics, its per-step series (binned when long) and its progress,
checked against the rows as the trainer's reporter writes them."""

from __future__ import annotations

import numpy as np
import pytest

from core.runs import RunStore


@pytest.fixture
def store(tmp_path):
    s = RunStore(tmp_path / "runs.sqlite")
    yield s
    s.close()


def _train(store: RunStore, run_id: str, epochs: int, steps_per_epoch: int, seed: int = 0) -> np.ndarray:
    """Log like the reporter: the plan at step 0, each step's loss, then each epoch's mean at its last step."""
    rng = np.random.default_rng(seed)
    losses = rng.random(epochs * steps_per_epoch)
    store.log_metrics(run_id, 0, None, {"plan/total_steps": epochs * steps_per_epoch + 7, "plan/steps_per_epoch":
                                        steps_per_epoch})  # fmt: skip
    for e in range(epochs):
        for i in range(steps_per_epoch):
            step = e * steps_per_epoch + i + 1
            store.log_metrics(run_id, step, e + 1, {"train/loss": losses[step - 1], "train/lr": 0.1})
        chunk = losses[e * steps_per_epoch : (e + 1) * steps_per_epoch]
        store.log_metrics(
            run_id, (e + 1) * steps_per_epoch, e + 1, {"train/loss": chunk.mean(), "train/epoch_s": 1.0, "valid/x": e}
        )
    return losses


def test_latest_metrics_are_the_last_rows(store):
    rid = store.create_run("r", {})
    _train(store, rid, epochs=2, steps_per_epoch=5)
    latest = store.latest_metrics(rid)
    assert latest["train/loss"]["step"] == 10 and latest["valid/x"]["value"] == 1.0
    assert latest["plan/total_steps"]["value"] == 17 and latest["train/epoch_s"]["epoch"] == 2


def test_step_series_leaves_out_epoch_means_and_bins_long_runs(store):
    rid = store.create_run("r", {})
    losses = _train(store, rid, epochs=4, steps_per_epoch=50)
    series = store.step_series(rid, "train/loss")
    ends = {50, 100, 150, 200}  # replaced by the epoch means: not per-step values any more
    assert [r["step"] for r in series] == [s for s in range(1, 201) if s not in ends]
    np.testing.assert_allclose([r["value"] for r in series], [losses[s - 1] for s in range(1, 201) if s not in ends])
    binned = store.step_series(rid, "train/loss", max_points=20)
    kept = np.array([s for s in range(1, 201) if s not in ends])
    width = -(-200 // 20)
    expect = [losses[kept[(kept - 1) // width == b] - 1].mean() for b in range(20)]
    assert len(binned) == 20 and [r["step"] for r in binned] == [
        int(kept[(kept - 1) // width == b][0]) for b in range(20)
    ]
    np.testing.assert_allclose([r["value"] for r in binned], expect)
    tail = store.step_series(rid, "train/loss", last=5)
    assert [r["step"] for r in tail] == [195, 196, 197, 198, 199]  # 200 ends an epoch


def test_progress_counts_finished_epochs_and_reads_the_plan(store):
    a, b = store.create_run("a", {}), store.create_run("b", {})
    _train(store, a, epochs=3, steps_per_epoch=4)
    got = store.progress([a, b])
    assert got[a] == {"step": 12, "epochs_done": 3, "total_steps": 19, "steps_per_epoch": 4}
    assert got[b] == {"step": None, "epochs_done": 0, "total_steps": None, "steps_per_epoch": None}
