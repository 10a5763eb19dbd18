"""The exportable (FFT-free, real-valued) feature path against the float64 FFT path on real clips."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.features import ClarFeatures, feature_config
from core.features.exportable import ExportableFeatures
from tests.features.test_feat_extractor import clips


@pytest.fixture(scope="module")
def audio() -> dict[str, np.ndarray]:
    fsdd = clips("fsdd", 2, 1.0)
    quiet = fsdd[1].copy()
    quiet[6000:11000] = 0.0  # a digitally silent stretch inside the clip
    quiet[11000:13000] = 1e-3  # and a constant one: every bin but DC is rounding noise there
    return {"fsdd": np.stack([fsdd[0], quiet]), "esc10": clips("esc10", 1, 5.0)}


@pytest.mark.parametrize(
    ("preset", "overrides"), [("paper", {}), ("official", {}), ("paper", {"stft_reduction": "mean"})]
)
@pytest.mark.parametrize("dataset", ["fsdd", "esc10"])
def test_equals_the_float64_features(audio, preset, overrides, dataset):
    cfg = feature_config(preset, **overrides)
    x = audio[dataset]
    with torch.no_grad():
        ref = ClarFeatures(cfg, dtype=torch.float64)(torch.from_numpy(x)).numpy()
        ours = ExportableFeatures(cfg)(torch.from_numpy(x).float()).double().numpy()
    assert ours.shape == ref.shape
    assert np.abs(ours[:, [0, 2]] - ref[:, [0, 2]]).max() < 1e-3  # dB, every bin (floors included)
    with torch.no_grad():  # the power of the bin whose phase is kept, not clipped at the peak minus top_db
        own_bin = {**overrides, "top_db": None, "stft_reduction": "decimate"}
        unclipped = ClarFeatures(feature_config(preset, **own_bin), dtype=torch.float64)
        power = 10 ** (unclipped(torch.from_numpy(x))[:, 0].numpy() / 10)
    live = power > 1e3 * cfg.amin
    dphi = np.angle(np.exp(1j * (ours[:, 1] - ref[:, 1])))
    assert live.sum() > 1000 and np.abs(dphi[live]).max() < 1e-4
    dead = power <= cfg.amin * (1 + 1e-9)  # at the dB floor: no energy, no phase
    assert (ours[:, 1][dead] == 0).all()
    if dataset == "fsdd":
        assert dead[1].sum() > 100  # the silent and constant stretches are there to be tested


def test_phase_range_and_dtype():
    x = torch.randn(3, 16000)
    out = ExportableFeatures(feature_config("paper"))(x)
    assert out.dtype == torch.float32 and out.shape == (3, 3, 128, 126)
    assert out[:, 1].min() > -np.pi and out[:, 1].max() <= np.pi
