"""NT-Xent and contrastive accuracy against an explicit double-loop reference in Python floats."""

from __future__ import annotations

import math

import pytest
import torch

from core.errors import ConfigError
from core.losses import contrastive_accuracy, nt_xent


def ref_views(z1: torch.Tensor, z2: torch.Tensor) -> list[list[float]]:
    rows = z1.tolist() + z2.tolist()
    return [[a / math.sqrt(sum(b * b for b in r)) for a in r] for r in rows]


def ref_nt_xent(z1: torch.Tensor, z2: torch.Tensor, t: float) -> float:
    """SimCLR's loss written out: mean over the 2N views of -log(exp(s_ip/t) / sum_{k != i} exp(s_ik/t))."""
    v = ref_views(z1, z2)
    n2 = len(v)
    n = n2 // 2
    total = 0.0
    for i in range(n2):
        p = (i + n) % n2
        sims = [sum(a * b for a, b in zip(v[i], v[k], strict=True)) / t for k in range(n2)]
        denom = sum(math.exp(sims[k]) for k in range(n2) if k != i)
        total += -math.log(math.exp(sims[p]) / denom)
    return total / n2


def ref_accuracy(z1: torch.Tensor, z2: torch.Tensor) -> float:
    v = ref_views(z1, z2)
    n2 = len(v)
    hits = 0
    for i in range(n2):
        best, best_k = -math.inf, -1
        for k in range(n2):
            if k != i:
                s = sum(a * b for a, b in zip(v[i], v[k], strict=True))
                if s > best:
                    best, best_k = s, k
        hits += best_k == (i + n2 // 2) % n2
    return hits / n2


@pytest.mark.parametrize("n", [1, 2, 5, 16])
@pytest.mark.parametrize("d", [2, 8, 33])
@pytest.mark.parametrize("t", [0.1, 0.5, 1.0])
def test_nt_xent_matches_reference(n, d, t):
    g = torch.Generator().manual_seed(n * 1000 + d * 10 + int(t * 10))
    z1 = torch.randn(n, d, generator=g, dtype=torch.float64) * 3
    z2 = z1 + 0.5 * torch.randn(n, d, generator=g, dtype=torch.float64)
    expected = ref_nt_xent(z1, z2, t)
    assert nt_xent(z1, z2, temperature=t).item() == pytest.approx(expected, rel=1e-10, abs=1e-12)
    got32 = nt_xent(z1.float(), z2.float(), temperature=t).item()
    assert got32 == pytest.approx(expected, rel=1e-4, abs=1e-5)
    assert contrastive_accuracy(z1, z2).item() == pytest.approx(ref_accuracy(z1, z2))


def test_single_pair_has_zero_loss_and_known_values():
    # N = 1: the only other view is the positive, so the loss is log(1) = 0.
    assert nt_xent(torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 1.0]])).item() == pytest.approx(0.0, abs=1e-7)
    # Two orthogonal pairs with identical views: s_pos = 1/t, two negatives at 0 -> log(1 + 2 exp(-1/t)).
    z = torch.eye(2)
    assert nt_xent(z, z, temperature=0.5).item() == pytest.approx(math.log(1 + 2 * math.exp(-2.0)), rel=1e-6)
    assert contrastive_accuracy(z, z).item() == 1.0
    assert contrastive_accuracy(z, z.flip(0)).item() == 0.0


def test_scale_invariance_and_view_symmetry():
    g = torch.Generator().manual_seed(0)
    z1, z2 = torch.randn(6, 4, generator=g), torch.randn(6, 4, generator=g)
    base = nt_xent(z1, z2)
    torch.testing.assert_close(nt_xent(5 * z1, 0.1 * z2), base)
    torch.testing.assert_close(nt_xent(z2, z1), base)


def test_gradcheck_float64():
    g = torch.Generator().manual_seed(1)
    z1 = torch.randn(3, 4, generator=g, dtype=torch.float64, requires_grad=True)
    z2 = torch.randn(3, 4, generator=g, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b: nt_xent(a, b, temperature=0.3), (z1, z2))


def test_gather_flag_without_process_group_is_local():
    g = torch.Generator().manual_seed(2)
    z1, z2 = torch.randn(4, 3, generator=g), torch.randn(4, 3, generator=g)
    torch.testing.assert_close(nt_xent(z1, z2, gather_distributed=True), nt_xent(z1, z2))


def test_bad_input():
    with pytest.raises(ValueError, match="must both be"):
        nt_xent(torch.randn(3, 4), torch.randn(2, 4))
    with pytest.raises(ConfigError, match="temperature"):
        nt_xent(torch.randn(3, 4), torch.randn(3, 4), temperature=0.0)


def test_cpu_autocast_bf16_inputs_computed_in_float32():
    g = torch.Generator().manual_seed(5)
    z1, z2 = torch.randn(8, 16, generator=g), torch.randn(8, 16, generator=g)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        low = nt_xent(z1.bfloat16(), z2.bfloat16())
    assert low.dtype == torch.float32
    torch.testing.assert_close(low, nt_xent(z1.bfloat16().float(), z2.bfloat16().float()))
