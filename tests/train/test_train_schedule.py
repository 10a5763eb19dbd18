"""Warm-up + cosine schedule against the closed-form formula; per-iteration stepping of the real scheduler."""

from __future__ import annotations

import math

import pytest
import torch

from core.train.schedule import build_scheduler, lr_at, warmup_length


def reference(step: int, total: int, warmup: int, peak: float, floor: float) -> float:
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = (step - warmup) / (total - warmup)
    return floor + 0.5 * (peak - floor) * (1 + math.cos(math.pi * progress))


@pytest.mark.parametrize(("total", "warmup", "floor"), [(100, 10, 0.0), (37, 0, 1e-4), (50, 49, 0.01)])
def test_lr_at_matches_formula(total, warmup, floor):
    for step in range(total):
        assert lr_at(step, total, warmup, 0.1, floor) == pytest.approx(reference(step, total, warmup, 0.1, floor))


def test_scheduler_steps_per_iteration_and_scales_each_group():
    w = torch.nn.Parameter(torch.zeros(2))
    b = torch.nn.Parameter(torch.zeros(2))
    opt = torch.optim.SGD([{"params": [w], "lr": 0.2}, {"params": [b], "lr": 0.1}])
    total, warmup = 3 * 7, 7
    sched = build_scheduler(opt, total, warmup, min_lr=0.01)
    seen = []
    for _ in range(total):
        seen.append([g["lr"] for g in opt.param_groups])
        opt.step()
        sched.step()
    for step, (lr_w, lr_b) in enumerate(seen):
        assert lr_w == pytest.approx(reference(step, total, warmup, 0.2, 0.01))
        assert lr_b == pytest.approx(reference(step, total, warmup, 0.1, 0.005))
    assert seen[warmup - 1][0] == pytest.approx(0.2)  # peak reached at the end of warm-up
    assert seen[-1][0] > 0.01 and seen[-1][0] < 0.013  # decays towards min_lr


def test_constant_schedule_is_flat_after_warmup():
    assert [lr_at(s, 10, 2, 1.0, name="constant") for s in range(5)] == [0.5, 1.0, 1.0, 1.0, 1.0]


def test_scheduler_state_is_plain_data():
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    sched = build_scheduler(opt, 10, 5)
    state = sched.state_dict()
    assert all(not callable(v) for v in state.values())
    assert all(x is None for x in state["lr_lambdas"])


@pytest.mark.parametrize(
    ("epochs", "steps", "per_epoch", "total", "expected"),
    [
        (10, None, 38, 1000, 380),
        (0.5, None, 7, 100, 4),
        (10, 76, 4, 1000, 76),
        (10, 500, 38, 120, 120),
        (2, 0, 38, 99, 0),
    ],
)
def test_warmup_length_takes_steps_over_epochs_and_caps_at_the_run(epochs, steps, per_epoch, total, expected):
    assert warmup_length(epochs, steps, per_epoch, total) == expected
