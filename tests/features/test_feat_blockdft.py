"""The block form of the log-frequency DFT against the direct (conv1d) form, on real clips and edge settings."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.features import ClarFeatures, feature_config
from core.features.blockdft import block_tables
from core.features.logfreq import log_frequencies
from tests.features.test_feat_extractor import clips


def _both(cfg, x: torch.Tensor, dtype=torch.float32) -> tuple[np.ndarray, np.ndarray]:
    block, direct = ClarFeatures(cfg, dtype=dtype), ClarFeatures(cfg, dtype=dtype)
    direct.use_block_dft = False
    assert block.block_basis is not None
    with torch.no_grad():
        return block(x.to(dtype)).double().numpy(), direct(x.to(dtype)).double().numpy()


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize(("dataset", "seconds"), [("fsdd", 1.0), ("esc10", 5.0)])
def test_block_form_equals_the_direct_form(dtype, dataset, seconds):
    x = torch.from_numpy(clips(dataset, 2, seconds))
    ours, ref = _both(feature_config("official"), x, dtype)
    db_tol, ph_tol = (1e-7, 1e-7) if dtype == torch.float64 else (5e-3, 2e-4)
    assert np.array_equal(ours[:, 2], ref[:, 2])  # the Mel channel does not change
    peak = ref[:, 0].max(axis=(1, 2), keepdims=True)
    assert np.abs(ours[:, 0] - ref[:, 0])[ref[:, 0] > peak - 80].max() < db_tol
    live = ref[:, 0] > peak - 60
    dphi = np.angle(np.exp(1j * (ours[:, 1] - ref[:, 1])))[live]
    assert np.abs(dphi).max() < ph_tol


def test_block_form_without_centring():
    cfg = feature_config("official", center=False)
    x = torch.from_numpy(clips("fsdd", 1, 1.0))
    ours, ref = _both(cfg, x, torch.float64)
    assert ours.shape == ref.shape == (1, 3, 128, 1 + (16000 - 2048) // 128)
    live = ref[:, 0] > ref[:, 0].max() - 60
    assert np.abs(ours[:, 0] - ref[:, 0]).max() < 1e-7 and np.abs(ours[:, 1] - ref[:, 1])[live].max() < 1e-7


def test_other_windows_and_hops_keep_the_direct_form():
    assert ClarFeatures(feature_config("official", win_length=1024)).block_basis is None
    assert ClarFeatures(feature_config("official", window="hamming")).block_basis is None
    freqs = log_frequencies(40.0, 8000.0, 8)
    assert block_tables(freqs, 2048, 96, 16000) is None  # 2048 / 96 is not whole
    assert block_tables(freqs, 1536, 128, 16000) is None  # 12 blocks: not a power of two
    basis, phis = block_tables(freqs, 2048, 128, 16000)
    assert basis.shape == (128, 48) and phis.shape == (4, 24, 2)
