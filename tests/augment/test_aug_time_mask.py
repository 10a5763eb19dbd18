"""Time masking: the masked span and its fill match the reported parameters exactly."""

import pytest
import torch

from core.augment import build_augmentation
from core.augment.time_mask import TimeMask
from core.errors import ConfigError


def test_constant_fill_matches_reported_span():
    t = 1600
    x = torch.rand(64, t) + 1.0  # never equal to the fill value
    aug = TimeMask(p=0.8, fill="constant", value=-3.0)
    y, params = aug(x, 4, return_params=True)
    for i in range(x.shape[0]):
        changed = torch.nonzero(y[i] != x[i]).flatten()
        if not params["apply"][i] or params["length"][i] == 0:
            assert changed.numel() == 0
            continue
        s, n = int(params["start"][i]), int(params["length"][i])
        assert s >= 0 and s + n <= t and n <= t // 8
        assert changed.tolist() == list(range(s, s + n))
        assert torch.all(y[i, s : s + n] == -3.0)
    assert len(set(params["length"].tolist())) > 20


def test_noise_fill_span_and_level():
    t = 16000
    x = torch.ones(32, t)
    aug = TimeMask(p=1.0, min_fraction=0.1, max_fraction=0.125)
    y, params = aug(x, 8, return_params=True)
    fills = []
    for i in range(x.shape[0]):
        s, n = int(params["start"][i]), int(params["length"][i])
        assert 1600 <= n <= 2000
        changed = torch.nonzero(y[i] != 1.0).flatten()
        assert changed.min() == s and changed.max() == s + n - 1 and changed.numel() == n
        fills.append(y[i, s : s + n])
    fill = torch.cat(fills)
    assert abs(float(fill.std()) - 0.01) < 0.0005 and abs(float(fill.mean())) < 0.0005


def test_authors_preset_is_exactly_one_eighth():
    aug = build_augmentation("time_mask", preset="authors")
    params = aug.randomize_parameters(torch.zeros(1, 1).expand(200, 16000), 0)
    assert set(params["length"].tolist()) == {2000}
    assert aug.p == 0.25  # their internal coin flip (0.5) behind RandomApply (0.5)


def test_short_clip_and_bad_settings():
    y = TimeMask(p=1.0)(torch.zeros(3, 5), 0)
    assert y.shape == (3, 5) and torch.isfinite(y).all()
    with pytest.raises(ConfigError, match="fill"):
        TimeMask(fill="zeros")
    with pytest.raises(ConfigError, match="min_fraction"):
        TimeMask(min_fraction=0.5, max_fraction=0.2)
