"""Noise injection: SNR against the non-silent signal, spectral slopes, no clipping, silent clips."""

import math

import numpy as np
import pytest
import torch
from scipy.signal import welch

from core.augment import build_augmentation
from core.augment.noise import NOISE_COLORS, AddNoise, non_silent_power

SR = 16000


def _sines(b: int, t: int, seed: int = 0) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    n = np.arange(t) / SR
    f = rng.uniform(100, 3000, (b, 1))
    a = rng.uniform(0.05, 0.9, (b, 1))
    return torch.from_numpy(a * np.sin(2 * np.pi * f * n)).float()


def test_measured_snr_matches_drawn_one():
    t = SR
    x = _sines(48, t)
    x[::2, t // 2 :] = 0.0  # half the clips are silent for their second half
    aug = AddNoise(p=1.0)
    y, params = aug(x, 5, return_params=True)
    noise = (y - x).double().numpy()
    xs = x.double().numpy()
    for i in range(x.shape[0]):
        sig = xs[i, : t // 2] if i % 2 == 0 else xs[i]  # the non-silent samples, known by construction
        snr = 10 * math.log10(np.mean(sig**2) / np.mean(noise[i] ** 2))
        assert abs(snr - float(params["snr_db"][i])) < 0.5, (i, snr, float(params["snr_db"][i]))
    colors = {NOISE_COLORS[c] for c in params["color"].tolist()}
    assert colors == set(NOISE_COLORS)
    snrs = params["snr_db"].numpy()
    assert snrs.min() >= 0 and snrs.max() < 20 and len(np.unique(snrs)) == len(snrs)


def test_non_silent_power_threshold():
    # a loud 1 kHz tone with a -80 dB tail (below -60 dB re the loudest frame) and a -40 dB tail (above)
    n = np.arange(SR) / SR
    tone = np.sin(2 * np.pi * 1000 * n)
    quiet = tone.copy()
    quiet[SR // 2 :] *= 1e-4
    mid = tone.copy()
    mid[SR // 2 :] *= 1e-2
    got = non_silent_power(torch.from_numpy(np.stack([quiet, mid])), SR).numpy()
    assert got[0] == pytest.approx(np.mean(quiet[: SR // 2] ** 2), rel=1e-6)
    assert got[1] == pytest.approx(np.mean(mid**2), rel=1e-6)


@pytest.mark.parametrize(("color", "slope"), [("white", 0.0), ("pink", -3.01), ("brown", -6.02)])
def test_spectral_slope(color, slope):
    aug = AddNoise(p=1.0, colors=(color,))
    x = torch.zeros(8, 4 * SR)  # silent clips get the noise alone, at -60 dBFS
    y = aug(x, 3).double().numpy()
    f, pxx = welch(y, fs=SR, nperseg=4096, axis=-1)
    psd = pxx.mean(axis=0)
    band = (f >= 100) & (f <= 4000)
    fit = np.polyfit(np.log2(f[band]), 10 * np.log10(psd[band]), 1)[0]  # dB per octave
    assert abs(fit - slope) < 0.5, fit


def test_no_clipping_zero_mean_and_both_half_waves():
    n = np.arange(SR) / SR
    x = torch.from_numpy(0.99 * np.sin(2 * np.pi * 440 * n)).float().repeat(6, 1)
    aug = AddNoise(p=1.0, min_snr_db=0.0, max_snr_db=0.0)
    y = aug(x, 0)
    noise = y - x
    assert float(y.abs().max()) > 1.0  # never clipped to [-1, 1] (nor to [0, 1] as the authors did)
    assert float((noise < 0).float().mean()) > 0.4 and float((noise > 0).float().mean()) > 0.4
    assert float(noise.mean(dim=1).abs().max()) < 1e-4


def test_silent_and_short_clips():
    aug = AddNoise(p=1.0, silent_level_db=-50.0)
    for t in (SR, SR // 10, 1):
        x = torch.zeros(4, t)
        y, params = aug(x, 1, return_params=True)
        assert y.shape == x.shape and torch.isfinite(y).all()
        if t > 1:
            rms_db = 20 * torch.log10(y.double().square().mean(dim=1).sqrt())
            assert torch.allclose(rms_db, torch.full((4,), -50.0, dtype=torch.float64), atol=0.01)
        assert all(d["signal_db"] is None and d["noise_db"] == -50.0 for d in aug.describe(params))


def test_authors_preset_whole_db_white():
    aug = build_augmentation("noise", preset="authors", p=1.0)
    params = aug.randomize_parameters(torch.randn(400, 64), 2)
    snr = params["snr_db"].numpy()
    assert set(snr.tolist()) == set(range(20))
    assert set(params["color"].tolist()) == {NOISE_COLORS.index("white")}


def test_same_example_same_noise_in_any_batch():
    aug = AddNoise(p=1.0)
    x = _sines(6, 4000, seed=3)
    y, params = aug(x, 9, return_params=True)
    one = {k: v[2:3] for k, v in params.items()}
    torch.testing.assert_close(aug.apply(x[2:3], one), y[2:3], atol=1e-6, rtol=0)


def test_whole_clip_reference_for_the_authors_preset():
    t = SR
    x = _sines(4, t)
    x[:, t // 4 :] = 0.0  # three quarters silent
    aug = build_augmentation("noise", preset="authors", p=1.0)
    y, params = aug(x, 0, return_params=True)
    xs, noise = x.double().numpy(), (y - x).double().numpy()
    for i in range(4):
        snr = 10 * math.log10(np.mean(xs[i] ** 2) / np.mean(noise[i] ** 2))  # RMS over the whole clip
        assert abs(snr - float(params["snr_db"][i])) < 0.5
