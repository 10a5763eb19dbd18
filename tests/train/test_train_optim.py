"""Optimisers: weight decay excludes biases and norm parameters; LARS update against its formula."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from core.train.optim import LARS, build_optimizer, param_groups


def toy() -> nn.Module:
    return nn.Sequential(
        nn.Conv1d(1, 4, 3), nn.BatchNorm1d(4), nn.ReLU(), nn.Flatten(), nn.Linear(8, 3), nn.LayerNorm(3)
    )


def test_param_groups_split_weights_from_biases_and_norms():
    m = toy()
    decay, no_decay = param_groups(m, 0.1)
    ids = lambda ps: {id(p) for p in ps}  # noqa: E731
    assert ids(decay["params"]) == {id(m[0].weight), id(m[4].weight)}
    assert ids(no_decay["params"]) == {
        id(m[0].bias),
        id(m[1].weight),
        id(m[1].bias),
        id(m[4].bias),
        id(m[5].weight),
        id(m[5].bias),
    }
    assert decay["weight_decay"] == 0.1 and no_decay["weight_decay"] == 0.0
    assert len(decay["params"]) + len(no_decay["params"]) == len(list(m.parameters()))


@pytest.mark.parametrize("name", ["adam", "adamw", "sgd", "lars"])
def test_no_decay_params_are_untouched_by_decay_alone(name):
    m = toy()
    opt = build_optimizer(m, name, lr=0.1, weight_decay=0.5)
    before = {n: p.detach().clone() for n, p in m.named_parameters()}
    for p in m.parameters():
        p.grad = torch.zeros_like(p)
    opt.step()
    for n, p in m.named_parameters():
        exempt = n.endswith("bias") or n.startswith(("1.", "5."))
        changed = not torch.equal(p, before[n])
        assert changed != exempt, n


def test_lars_matches_formula():
    w0 = torch.tensor([[3.0, 4.0]])
    g = torch.tensor([[0.6, -0.8]])
    b0 = torch.tensor([1.0])
    p = nn.Parameter(w0.clone())
    bias = nn.Parameter(b0.clone())
    lr, eta, wd, mom = 0.5, 0.01, 0.1, 0.9
    opt = LARS(
        [{"params": [p], "weight_decay": wd}, {"params": [bias], "weight_decay": 0.0, "lars_exclude": True}],
        lr=lr,
        momentum=mom,
        eta=eta,
    )
    p.grad, bias.grad = g.clone(), torch.tensor([2.0])
    opt.step()
    d = g + wd * w0
    trust = eta * w0.norm() / d.norm()
    v1 = lr * trust * d
    assert torch.allclose(p.detach(), w0 - v1)
    assert torch.allclose(bias.detach(), b0 - lr * 2.0)
    p.grad, bias.grad = g.clone(), torch.tensor([2.0])
    w1 = p.detach().clone()
    opt.step()
    d = g + wd * w1
    v2 = mom * v1 + lr * (eta * w1.norm() / d.norm()) * d
    assert torch.allclose(p.detach(), w1 - v2)
