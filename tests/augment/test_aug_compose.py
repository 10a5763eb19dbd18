"""Compose and RandomApply: order, per-augmentation probability, gating, replay and description."""

import json

import pytest
import torch

from core.augment import AddNoise, Compose, Fade, RandomApply, TimeMask, TimeShift
from core.errors import ConfigError


def _batch(b: int = 16, t: int = 800) -> torch.Tensor:
    return torch.randn(b, t, generator=torch.Generator().manual_seed(0)) * 0.3


def test_fixed_order_equals_manual_chain_and_replays():
    x = _batch()
    shift, mask = TimeShift(p=1.0), TimeMask(p=1.0, fill="constant", value=0.0)
    chain = Compose([shift, mask])
    y, params = chain(x, 3, return_params=True)
    assert params["order"] == [0, 1]
    manual = mask.apply(shift.apply(x, params["steps"][0]), params["steps"][1])
    assert torch.equal(y, manual)
    assert torch.equal(chain.apply(x, params), y)
    chain2 = Compose([mask, shift])
    assert not torch.equal(chain2(x, 3), y)  # order matters for these two


def test_random_order_varies_per_call_and_is_reproducible():
    chain = Compose([Fade(p=1.0), TimeShift(p=1.0), TimeMask(p=1.0), AddNoise(p=1.0)], order="random")
    x = _batch(4, 400)
    orders = {tuple(chain(x, s, return_params=True)[1]["order"]) for s in range(12)}
    assert len(orders) > 3
    y1, p1 = chain(x, 5, return_params=True)
    y2, p2 = chain(x, 5, return_params=True)
    assert p1["order"] == p2["order"] and torch.equal(y1, y2)
    assert torch.equal(chain.apply(x, p1), y1)


def test_per_augmentation_probability_does_not_mutate():
    fade, shift = Fade(p=0.5), TimeShift(p=0.5)
    chain = Compose([fade, shift], p=[1.0, 0.0])
    assert fade.p == 0.5 and shift.p == 0.5
    _, params = chain(_batch(200), 1, return_params=True)
    assert bool(params["steps"][0]["apply"].all()) and not bool(params["steps"][1]["apply"].any())
    with pytest.raises(ConfigError, match="probabilities"):
        Compose([fade, shift], p=[0.5])
    with pytest.raises(ConfigError, match="order"):
        Compose([fade], order="shuffled")


def test_random_apply_gates_the_whole_chain():
    inner = [TimeMask(p=1.0, fill="constant", value=5.0), TimeShift(p=1.0)]
    ra = RandomApply(inner, p=0.5)
    x = _batch(400, 200)
    y, params = ra(x, 7, return_params=True)
    gate = params["apply"]
    assert 150 < int(gate.sum()) < 250
    changed = (y != x).any(dim=1)
    assert torch.equal(changed & ~gate, torch.zeros_like(gate))  # untouched where the chain was not drawn
    for step in params["steps"]:
        assert torch.equal(step["apply"], gate)
    rows = json.loads(json.dumps(ra.describe(params)))
    assert [r[0]["applied"] for r in rows] == gate.tolist()
    nested = Compose([ra, AddNoise(p=0.5)])
    y2, p2 = nested(x[:5], 1, return_params=True)
    d = json.loads(json.dumps(nested.describe(p2)))
    assert d[0][0]["augmentation"] == "random_apply" and d[0][1]["augmentation"] == "noise"
    assert torch.equal(nested.apply(x[:5], p2), y2)


def test_empty_chain_returns_new_tensor():
    x = _batch(2, 10)
    y = Compose([])(x, 0)
    assert torch.equal(y, x) and y.data_ptr() != x.data_ptr()
