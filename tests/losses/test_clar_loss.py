"""The CLAR hybrid loss against a hand-written reference; unlabelled batches; gradients."""

from __future__ import annotations

import math

import pytest
import torch
from test_nt_xent import ref_nt_xent

from core.losses import clar_loss, masked_cross_entropy, nt_xent


def ref_ce(logits: torch.Tensor, labels: list[int]) -> float:
    """Mean over labelled rows of -log softmax(logits)[y]; 0 when no row is labelled."""
    terms = []
    for row, y in zip(logits.tolist(), labels, strict=True):
        if y == -1:
            continue
        m = max(row)
        lse = m + math.log(sum(math.exp(v - m) for v in row))
        terms.append(lse - row[y])
    return sum(terms) / len(terms) if terms else 0.0


@pytest.mark.parametrize("n", [2, 7])
@pytest.mark.parametrize("c", [2, 10])
@pytest.mark.parametrize("t", [0.2, 0.5])
@pytest.mark.parametrize("labelled", ["none", "some", "all"])
def test_clar_loss_matches_reference(n, c, t, labelled):
    g = torch.Generator().manual_seed(n * 100 + c)
    z1, z2 = torch.randn(n, 16, generator=g, dtype=torch.float64), torch.randn(n, 16, generator=g, dtype=torch.float64)
    l1, l2 = torch.randn(n, c, generator=g, dtype=torch.float64), torch.randn(n, c, generator=g, dtype=torch.float64)
    labels = torch.randint(0, c, (n,), generator=g)
    if labelled == "none":
        labels[:] = -1
    elif labelled == "some":
        labels[::2] = -1
    w_c, w_s = 0.7, 1.3
    loss, parts = clar_loss(z1, z2, l1, l2, labels, temperature=t, w_c=w_c, w_s=w_s)
    ce_ref = ref_ce(l1, labels.tolist()) + ref_ce(l2, labels.tolist())
    nt_ref = ref_nt_xent(z1, z2, t)
    assert parts["labelled"] == int((labels != -1).sum())
    assert parts["ce"].item() == pytest.approx(ce_ref, rel=1e-10, abs=1e-12)
    assert parts["nt_xent"].item() == pytest.approx(nt_ref, rel=1e-10)
    assert loss.item() == pytest.approx(w_c * nt_ref + w_s * ce_ref, rel=1e-10)


def test_no_labelled_rows_gives_exact_zero_ce_and_finite_grads():
    g = torch.Generator().manual_seed(3)
    z1, z2 = torch.randn(4, 8, generator=g, requires_grad=True), torch.randn(4, 8, generator=g, requires_grad=True)
    l1, l2 = torch.randn(4, 5, generator=g, requires_grad=True), torch.randn(4, 5, generator=g, requires_grad=True)
    labels = torch.full((4,), -1)
    loss, parts = clar_loss(z1, z2, l1, l2, labels)
    assert parts["ce"].item() == 0.0 and parts["labelled"] == 0
    assert loss.item() == pytest.approx(nt_xent(z1, z2).item())
    loss.backward()
    for t in (z1, z2, l1, l2):
        assert t.grad is not None and torch.isfinite(t.grad).all()
    assert l1.grad.abs().sum() == 0 and l2.grad.abs().sum() == 0


def test_gradcheck_float64():
    g = torch.Generator().manual_seed(4)
    args = [torch.randn(3, 4, generator=g, dtype=torch.float64, requires_grad=True) for _ in range(2)]
    args += [torch.randn(3, 5, generator=g, dtype=torch.float64, requires_grad=True) for _ in range(2)]
    labels = torch.tensor([2, -1, 4])
    assert torch.autograd.gradcheck(lambda a, b, c, d: clar_loss(a, b, c, d, labels, 0.4, 0.5, 2.0)[0], tuple(args))


def test_masked_cross_entropy_rejects_bad_labels():
    with pytest.raises(ValueError, match="labels must be"):
        masked_cross_entropy(torch.randn(3, 4), torch.tensor([0, 4, -1]))
    with pytest.raises(ValueError, match="must be"):
        masked_cross_entropy(torch.randn(3, 4), torch.tensor([0, 1]))
