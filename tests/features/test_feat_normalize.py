"""FeatureNormalizer: streaming statistics vs numpy, stability, state_dict round trip, errors."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch

from core.errors import ConfigError
from core.features import FeatureNormalizer


def batches(seed: int = 0, offset: float = 0.0) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    scale = torch.tensor([20.0, 1.8, 15.0]).view(1, 3, 1, 1)
    shift = torch.tensor([-40.0, 0.0, -60.0]).view(1, 3, 1, 1) + offset
    sizes = [7, 1, 16, 5]  # uneven batch sizes
    return [(torch.randn(b, 3, 12, 9, generator=g, dtype=torch.float64) * scale + shift) for b in sizes]


def test_fit_matches_numpy_over_all_values():
    data = batches()
    norm = FeatureNormalizer("channel").fit(iter(data))
    allv = np.concatenate([b.numpy() for b in data]).transpose(1, 0, 2, 3).reshape(3, -1)
    np.testing.assert_allclose(norm.mean.numpy(), allv.mean(axis=1), rtol=1e-6)
    np.testing.assert_allclose(norm.std.numpy(), allv.std(axis=1), rtol=1e-6)  # population std
    assert norm.count.item() == allv.shape[1] and norm.fitted
    out = torch.cat([norm(b.float()) for b in data]).transpose(0, 1).reshape(3, -1)
    np.testing.assert_allclose(out.mean(dim=1).numpy(), 0.0, atol=1e-5)
    np.testing.assert_allclose(out.std(dim=1, unbiased=False).numpy(), 1.0, atol=1e-5)


def test_fit_is_stable_with_a_large_offset():
    """Values near 1e6 with unit spread: naive sum-of-squares in float32 would lose the variance entirely."""
    data = [b.float() for b in batches(seed=1, offset=1e6)]
    norm = FeatureNormalizer("channel").fit(data)
    ref = np.concatenate([b.double().numpy() for b in data]).transpose(1, 0, 2, 3).reshape(3, -1)
    np.testing.assert_allclose(norm.std.numpy(), ref.std(axis=1), rtol=1e-4)


def test_state_dict_round_trip_keeps_statistics_and_mode():
    norm = FeatureNormalizer("channel").fit(batches())
    buf = io.BytesIO()
    torch.save(torch.nn.Sequential(norm).state_dict(), buf)
    buf.seek(0)
    fresh = torch.nn.Sequential(FeatureNormalizer("none"))
    fresh.load_state_dict(torch.load(buf, weights_only=False))
    assert fresh[0].mode == "channel" and torch.equal(fresh[0].mean, norm.mean) and torch.equal(fresh[0].std, norm.std)
    x = batches(seed=3)[0].float()
    assert torch.equal(fresh(x), norm(x))


def test_none_is_identity_and_errors_are_typed():
    x = torch.randn(2, 3, 4, 5)
    assert FeatureNormalizer("none")(x) is x
    with pytest.raises(ConfigError, match="unknown"):
        FeatureNormalizer("global")
    with pytest.raises(ConfigError, match="not fitted"):
        FeatureNormalizer("channel")(x)
    with pytest.raises(ConfigError, match="no feature values"):
        FeatureNormalizer("channel").fit([])
    with pytest.raises(ConfigError, match=r"\[B, 3, F, T\]"):
        FeatureNormalizer("channel").fit([torch.zeros(2, 4, 5)])
    with pytest.raises(ConfigError, match="NaN"):
        FeatureNormalizer("channel").fit([torch.full((1, 3, 2, 2), float("nan"))])


def test_constant_channel_does_not_divide_by_zero():
    x = torch.zeros(2, 3, 4, 4)
    x[:, 1] = torch.randn(2, 4, 4)
    out = FeatureNormalizer("channel").fit([x])(x)
    assert torch.isfinite(out).all() and (out[:, 0] == 0).all()
