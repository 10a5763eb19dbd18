"""The evaluator: evaluation never augments, online probes train on a seeded sample of labelled clips only."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.data.prepare import prepare_splits
from core.evaluate.evaluator import probe_sample
from core.train.timing import StageTimer
from core.train.trainer import Trainer
from tests.train.test_train_trainer import tiny


@pytest.fixture(scope="module")
def data():
    return prepare_splits(tiny().data, progress=False)


class Corrupting:
    """An augmentation chain that counts its calls and destroys its input (and returns noise)."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, x, generator=None, return_params=False):
        self.calls += 1
        x.mul_(-7.0)
        out = torch.randn_like(x)
        return (out, {}) if return_params else out


def test_evaluation_never_augments(data):
    trainer = Trainer(tiny(), data=data, progress=False)
    trainer.fit_frontend()
    clean = trainer.evaluator.outputs(trainer.net, trainer.valid_store)["h"]
    before = trainer.score(splits=("valid",))
    corrupt = Corrupting()
    trainer.step.pipeline = corrupt
    after = trainer.score(splits=("valid",))
    assert corrupt.calls == 0
    torch.testing.assert_close(trainer.evaluator.outputs(trainer.net, trainer.valid_store)["h"], clean)
    assert after == before
    # the same chain in a training step is used, and changes what the model sees: the check above can fail
    idx = torch.as_tensor(trainer.train_index[:8])
    timer = StageTimer(trainer.device)
    timer.start()
    trainer.step(trainer.train_store.batch(idx), trainer.train_labels[idx], 0, timer)
    assert corrupt.calls == 2  # two views


def test_probes_train_on_labelled_clips_only(data, monkeypatch):
    trainer = Trainer(tiny(), data=data, progress=False)
    trainer.fit_frontend()
    seen = {}
    import core.evaluate.evaluator as ev

    real = ev.linear_probe

    def spy(x, y, eval_sets, **kw):
        seen["train_y"], seen["sets"] = np.asarray(y), {k: len(v[1]) for k, v in eval_sets.items()}
        return real(x, y, eval_sets, **kw)

    monkeypatch.setattr(ev, "linear_probe", spy)
    m = trainer.score(splits=("valid",))
    assert (seen["train_y"] >= 0).all() and len(seen["train_y"]) == 20
    assert seen["sets"] == {"valid": 20} and "test/linear_acc" not in m
    assert {"valid/head_acc", "valid/linear_acc", "valid/knn_acc"} <= set(m)


def test_probe_sample_is_seeded_and_bounded():
    labels = np.array([-1, 0, 1] * 1000)
    a = probe_sample(labels, 100, seed=3)
    assert len(a) == 100 and (labels[a] >= 0).all() and np.array_equal(a, np.sort(a))
    np.testing.assert_array_equal(a, probe_sample(labels, 100, seed=3))
    assert not np.array_equal(a, probe_sample(labels, 100, seed=4))
    np.testing.assert_array_equal(probe_sample(labels, 10_000, seed=0), np.flatnonzero(labels >= 0))
