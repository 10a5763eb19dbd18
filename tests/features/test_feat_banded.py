"""The banded Mel product: its blocks cover every non-zero weight of the dense filterbank and nothing else, it
equals the dense matmul (both presets, a zero filter included), and the extractor gives the same features either
way (the dense form is the one kept for export)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.features import ClarFeatures, feature_config
from core.features.banded import BandedMel, mel_blocks
from core.features.mel import mel_filterbank


def _fb(preset: str) -> np.ndarray:
    c = feature_config(preset)
    return mel_filterbank(c.sample_rate, c.mel_n_fft, c.n_mels, c.mel_fmin, c.mel_fmax, c.mel_scale, c.mel_norm)


@pytest.mark.parametrize("preset", ["paper", "official"])
@pytest.mark.parametrize("rows", [1, 7, 16, 128])
def test_the_blocks_hold_every_non_zero_weight(preset, rows):
    fb = _fb(preset)
    rebuilt = np.zeros_like(fb)
    for r0, r1, b0, b1 in mel_blocks(fb, rows):
        rebuilt[r0:r1, b0:b1] = fb[r0:r1, b0:b1]
    assert np.array_equal(rebuilt, fb)
    kept = sum((r1 - r0) * (b1 - b0) for r0, r1, b0, b1 in mel_blocks(fb, rows))
    assert rows == 128 or kept < 0.3 * fb.size  # the point of it: most zeros are skipped


@pytest.mark.parametrize("preset", ["paper", "official"])
def test_the_banded_product_equals_the_dense_one_with_a_zero_filter(preset):
    fb = _fb(preset)
    fb[5] = 0.0  # an empty filter gives zero
    w = torch.from_numpy(fb).double()
    power = torch.rand(3, 40, fb.shape[1], dtype=torch.float64)
    got = BandedMel(w)(power)
    assert got.shape == (3, 40, fb.shape[0])
    assert torch.allclose(got, power @ w.T, rtol=1e-12, atol=1e-15)
    assert (got[..., 5] == 0).all()


@pytest.mark.parametrize("preset", ["paper", "official"])
def test_the_extractor_gives_the_same_features_banded_or_dense(preset):
    x = torch.randn(4, 24_000) * 0.1
    fast = ClarFeatures(preset)
    dense = ClarFeatures(preset)
    dense.banded = False
    a, b = fast(x), dense(x)
    assert torch.allclose(a[:, 2], b[:, 2], atol=1e-3)  # dB: float32 sums in another order
    assert torch.equal(a[:, :2], b[:, :2])
