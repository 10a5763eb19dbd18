"""TimeStretch: click spacing scales by 1/rate, pitch and length kept; the authors' 'resample' defect shifts pitch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.augment.measure import cents, click_times, peak_frequency, pulse_period
from core.augment.time_stretch import TimeStretch, stretch_batch
from core.errors import ConfigError

SR = 16000
PERIOD = 2000  # click spacing in samples (125 ms)
# Tolerances on the click spacing, relative. A phase vocoder smears each click over about one frame (512
# samples); with identity phase locking (the default) the mean spacing (envelope autocorrelation) is within
# 2 % and the median spacing of individually detected clicks within 3.5 %. A plain vocoder (and librosa) is
# 5-13 % off on this signal.
PERIOD_TOL = 0.02
CLICK_TOL = 0.035


def _clicks(n: int = 2 * SR, period: int = PERIOD) -> torch.Tensor:
    x = torch.zeros(n)
    x[period // 2 :: period] = 1.0
    return x


def _sine(freq: float, n: int = SR) -> torch.Tensor:
    return torch.sin(2 * torch.pi * freq * torch.arange(n, dtype=torch.float64) / SR).float()


def test_click_spacing_scales_by_one_over_rate() -> None:
    rates = torch.tensor([0.5, 0.8, 1.0, 1.25, 1.5], dtype=torch.float64)
    x = _clicks()[None].repeat(len(rates), 1)
    y = stretch_batch(x, rates)
    for row, rate in zip(y.numpy(), rates.tolist(), strict=True):
        expected = PERIOD / rate
        period = pulse_period(row, 1200, 4500)
        assert abs(period / expected - 1) < PERIOD_TOL, f"rate {rate}: period {period:.1f}, expected {expected:.1f}"
        t = click_times(row, min_gap=600)
        assert t.size >= 8, (rate, t)
        spacing = float(np.median(np.diff(t)))
        assert abs(spacing / expected - 1) < CLICK_TOL, f"rate {rate}: clicks {spacing:.1f}, expected {expected:.1f}"


def test_duration_exact_and_length_kept() -> None:
    """A stretched signal lasts round(T / rate) samples: zero-padded after that when faster, cropped when slower."""
    x = (torch.randn(1, SR) * 0.1).repeat(3, 1)
    rates = torch.tensor([1.5, 1.25, 0.5], dtype=torch.float64)
    y = stretch_batch(x, rates)
    assert y.shape == x.shape
    for row, rate in zip(y, rates.tolist(), strict=True):
        nz = torch.nonzero(row.abs() > 1e-6).flatten()
        end = int(nz[-1]) + 1
        if rate > 1:
            assert abs(end - round(SR / rate)) <= 1, (rate, end)
        else:
            assert end > SR - 50  # cropped: sound up to the end


def test_pitch_is_kept() -> None:
    rates = torch.tensor([0.5, 0.7, 1.3, 1.5], dtype=torch.float64)
    y = stretch_batch(_sine(440.0, 2 * SR)[None].repeat(4, 1), rates)
    for row, rate in zip(y.numpy(), rates.tolist(), strict=True):
        valid = row[800 : min(row.size, round(2 * SR / rate)) - 800]
        f, _ = peak_frequency(valid, SR, n_fft=1 << 18)
        assert abs(cents(f, 440.0)) < 3.0, (rate, f)


def test_resample_method_is_the_authors_pitch_change() -> None:
    rates = torch.tensor([0.6, 0.8, 1.25, 1.5], dtype=torch.float64)
    y = stretch_batch(_sine(440.0)[None].repeat(4, 1), rates, method="resample")
    assert y.shape == (4, SR) and torch.isfinite(y).all()
    for row, rate in zip(y.numpy(), rates.tolist(), strict=True):
        f, _ = peak_frequency(row[800:-800], SR, n_fft=1 << 18)
        assert abs(cents(f, 440.0 / rate)) < 3.0, (rate, f)
    # and the click spacing is unchanged (duration kept), unlike a real stretch
    c = stretch_batch(_clicks(SR)[None], torch.tensor([0.7], dtype=torch.float64), method="resample")[0]
    assert abs(pulse_period(c.numpy(), 1200, 4500) / PERIOD - 1) < PERIOD_TOL


def test_params_reproducible_distinct_and_match_what_was_applied() -> None:
    aug = TimeStretch(p=0.5)
    x = _clicks()[None].repeat(12, 1)
    y1, p1 = aug(x, 11, return_params=True)
    y2, p2 = aug(x, 11, return_params=True)
    assert torch.equal(y1, y2) and torch.equal(p1["rate"], p2["rate"])
    assert len(set(p1["rate"].tolist())) == 12
    assert bool(((p1["rate"] >= 0.5) & (p1["rate"] <= 1.5)).all())
    for i, d in enumerate(aug.describe(p1)):
        if not d["applied"]:
            assert torch.equal(y1[i], x[i])
            continue
        period = pulse_period(y1[i].numpy(), 1200, 4500)
        assert abs(period / (PERIOD / d["rate"]) - 1) < PERIOD_TOL


@pytest.mark.parametrize("method", ["stretch", "resample"])
@pytest.mark.parametrize("n", [1, 10, 1600])
def test_silent_and_short_inputs(n: int, method: str) -> None:
    x = torch.zeros(3, n)
    x[1:] = torch.randn(2, n)
    y = stretch_batch(x, torch.tensor([0.5, 1.5, 0.7], dtype=torch.float64), method=method)
    assert y.shape == x.shape and torch.isfinite(y).all() and torch.all(y[0] == 0)


def test_bad_settings() -> None:
    with pytest.raises(ConfigError, match="method"):
        TimeStretch(method="warp")
    with pytest.raises(ConfigError, match="rate range"):
        TimeStretch(min_rate=1.5, max_rate=0.5)
    with pytest.raises(ConfigError, match="rate range"):
        TimeStretch(min_rate=0.0)


@pytest.mark.gpu
@pytest.mark.parametrize("method", ["stretch", "resample"])
def test_cuda_matches_cpu(method: str) -> None:
    x = torch.randn(8, SR) * 0.1
    aug = TimeStretch(p=1.0, method=method)
    params = aug.randomize_parameters(x, 5)
    cpu = aug.apply(x, params)
    gpu = aug.apply(x.cuda(), params).cpu()
    torch.testing.assert_close(gpu, cpu, atol=2e-4, rtol=0)


def test_the_benchmarks_click_train_stays_within_its_quality_target() -> None:
    """bench/augment.py's quality row for ours: a 2 s click train (one click every 2000 samples from sample 1000)
    stretched at 0.6, 0.8, 1.25 and 1.5; the envelope period within 1.5 % of 2000 / rate at worst (issue 13's
    bar). Rounding in the magnitude decides the peak search's exact ties on this signal, so a change of the
    vocoder's arithmetic can move it."""
    x = torch.zeros(2 * SR)
    x[1000::2000] = 1.0
    for rate in (0.6, 0.8, 1.25, 1.5):
        y = stretch_batch(x[None], torch.tensor([rate], dtype=torch.float64))[0].numpy()
        err = abs(pulse_period(y, 1200, 4500) / (2000 / rate) - 1)
        assert err < 0.015, (rate, err)
