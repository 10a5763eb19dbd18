"""two_views: two independently augmented views that share no memory."""

import pytest
import torch

from core.augment import Compose, Fade, TimeShift, two_views


def _batch(b: int = 16, t: int = 800) -> torch.Tensor:
    return torch.randn(b, t, generator=torch.Generator().manual_seed(0)) * 0.3


@pytest.mark.parametrize("p", [0.0, 0.5, 1.0])
def test_two_views_share_no_memory(p):
    x = _batch(8, 400)
    x0 = x.clone()
    chain = Compose([Fade(p=p), TimeShift(p=p)])
    v1, v2, p1, p2 = two_views(x, chain, generator=3, return_params=True)
    if p > 0:
        assert not torch.equal(v1, v2)  # independently drawn
    for a, b in ((v1, v2), (v2, v1)):
        keep_b, keep_x = b.clone(), x.clone()
        a.fill_(123.0)
        assert torch.equal(b, keep_b) and torch.equal(x, keep_x)
    assert torch.equal(x, x0)
    w1, w2 = two_views(x, chain, generator=3)
    assert torch.equal(w1, chain.apply(x, p1)) and torch.equal(w2, chain.apply(x, p2))


def test_two_views_with_identity_pipeline():
    x = _batch(3, 50)
    v1, v2 = two_views(x, lambda t, g, return_params: (t, None))
    v1.zero_()
    assert not torch.equal(v2, v1) and not torch.equal(x, v1)


def test_two_views_of_a_single_augmentation():
    from core.augment import AddNoise

    x = _batch(4, 400)
    v1, v2, p1, p2 = two_views(x, AddNoise(p=1.0), generator=0, return_params=True)
    assert not torch.equal(p1["seed"], p2["seed"])
    v2.add_(1.0)
    assert not torch.equal(v1, v2) and torch.equal(x, _batch(4, 400))
