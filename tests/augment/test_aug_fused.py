"""A time stretch then a pitch shift in one vocoder pass: the same draws, the pitch and the tempo of both steps."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.augment.compose import Compose
from core.augment.fade import Fade
from core.augment.fused import stretch_and_shift
from core.augment.measure import cents, click_times, peak_frequency, pulse_period
from core.augment.pitch_shift import PitchShift, pitch_shift, step_fraction
from core.augment.time_stretch import TimeStretch, stretch_batch
from tests.augment.test_aug_time_stretch import CLICK_TOL, PERIOD, PERIOD_TOL, _clicks, _sine

SR = 16000


def _stretch_and_shift(x: torch.Tensor, rate: float, step: int) -> torch.Tensor:
    yes = torch.ones(x.shape[0], dtype=torch.bool)
    rates = torch.full((x.shape[0],), rate, dtype=torch.float64)
    steps = torch.full((x.shape[0],), step, dtype=torch.int64)
    p, q = step_fraction(step)
    shift = {"apply": yes, "semitones": steps, "pitch_ratio": torch.full((x.shape[0],), p / q, dtype=torch.float64)}
    return stretch_and_shift(x, PitchShift(), {"apply": yes, "rate": rates}, shift)


def _tempo_error(y: np.ndarray, expected: float) -> tuple[float, float]:
    """Relative error of the click spacing: (envelope period, median gap between detected clicks)."""
    period = pulse_period(y, int(0.6 * expected), int(1.4 * expected))
    spacing = float(np.median(np.diff(click_times(y, min_gap=int(0.3 * expected)))))
    return period / expected - 1, spacing / expected - 1


# combined vocoder rates 0.8 * 1.50, 1.25 * 0.75, 0.7 * 1.68, 1.2 * 1, 0.9 * 0.67: all taken in one pass
@pytest.mark.parametrize(("rate", "step"), [(0.8, -7), (1.25, 5), (0.7, -9), (1.2, 0), (0.9, 7)])
def test_the_pitch_is_the_shifts_and_the_tempo_the_stretchs(rate: float, step: int) -> None:
    # pitch: a 440 Hz tone, stretched then shifted, sits at 440 * P/Q (the shift's exact ratio)
    y = _stretch_and_shift(_sine(440.0, 2 * SR)[None], rate, step)[0].numpy()
    p, q = step_fraction(step)
    voiced = y[800 : int(2 * SR / max(rate, 1.0)) - 800]
    f, _ = peak_frequency(voiced, SR, n_fft=1 << 18)
    assert abs(cents(f, 440.0 * p / q)) < 3.0, f"rate {rate}, step {step}: {cents(f, 440.0 * p / q):.2f} cents"
    # tempo: a click train's spacing scales by 1 / rate. The shift alone already moves the envelope's period by a
    # few percent (-2.9 % at -7 semitones); one pass keeps it within the stretch's own tolerance of that
    period_err, click_err = _tempo_error(_stretch_and_shift(_clicks()[None], rate, step)[0].numpy(), PERIOD / rate)
    shift_alone, _ = _tempo_error(pitch_shift(_clicks()[None], torch.tensor([step]))[0].numpy(), PERIOD)
    assert abs(click_err) < CLICK_TOL, (rate, step, click_err)
    assert abs(period_err) < abs(shift_alone) + PERIOD_TOL, (rate, step, period_err, shift_alone)


@pytest.mark.parametrize(("rate", "step", "fused"), [(0.8, -7, True), (0.6, 12, False), (1.4, -12, False)])
def test_only_moderate_combined_rates_take_one_pass(rate: float, step: int, fused: bool) -> None:
    x = torch.randn(1, SR) * 0.1
    one = pitch_shift(x, torch.tensor([step]), stretch=torch.tensor([rate], dtype=torch.float64))
    two = pitch_shift(stretch_batch(x, torch.tensor([rate], dtype=torch.float64)), torch.tensor([step]))
    assert torch.equal(_stretch_and_shift(x, rate, step), one if fused else two)


def test_a_fused_pass_equals_its_two_steps_up_to_the_vocoders_rounding(data_dir) -> None:
    from core.data import load_dataset

    ds = load_dataset("fsdd", num_samples=SR, progress=False)
    x = torch.from_numpy(np.asarray(ds.waveforms[ds.indices("test")[:24]], dtype=np.float32))
    g = torch.Generator().manual_seed(3)
    rates = 0.6 + 0.8 * torch.rand(24, generator=g, dtype=torch.float64)
    steps = torch.randint(-12, 13, (24,), generator=g)
    fused = pitch_shift(x, steps, stretch=rates)
    two = pitch_shift(stretch_batch(x, rates), steps)
    other = pitch_shift(stretch_batch(x, rates.flip(0)), steps.flip(0))  # the same clips, other draws

    def mel_db(z: torch.Tensor) -> torch.Tensor:
        from core.features import ClarFeatures

        return ClarFeatures("paper")(z)[:, 2]

    gap = (mel_db(fused) - mel_db(two)).abs().mean()
    assert gap < 0.2 * (mel_db(other) - mel_db(two)).abs().mean(), gap


def _chain(order: str = "fixed") -> Compose:
    return Compose([Fade(p=0.5), TimeStretch(p=0.7), PitchShift(p=0.7)], order=order)


def test_a_fixed_chain_fuses_with_the_same_draws_and_replays_exactly(monkeypatch) -> None:
    x = torch.randn(16, SR) * 0.1
    fused_chain, plain_chain = _chain(), _chain()
    plain_chain.fuse = False
    y_fused, params = fused_chain(x, generator=11, return_params=True)
    y_plain, plain_params = plain_chain(x, generator=11, return_params=True)
    assert fused_chain.describe(params) == plain_chain.describe(plain_params)  # the same draws, example by example
    assert torch.equal(fused_chain.apply(x, params), y_fused)  # replay gives the very same tensor
    assert not torch.equal(y_fused, y_plain)  # one pass, not two: the rounding differs

    def two_passes(*args, **kwargs):
        raise AssertionError("the fixed chain ran the stretch as a pass of its own")

    monkeypatch.setattr(TimeStretch, "_apply", two_passes)
    fused_chain(x, generator=12)
    with pytest.raises(AssertionError, match="a pass of its own"):
        plain_chain(x, generator=12)


def test_a_random_order_keeps_two_passes(monkeypatch) -> None:
    calls = []
    original = TimeStretch._apply
    monkeypatch.setattr(TimeStretch, "_apply", lambda self, x, p: calls.append(1) or original(self, x, p))
    chain = _chain("random")
    for seed in range(6):
        chain(torch.randn(8, SR) * 0.1, generator=seed)
    assert calls  # the stretch ran on its own, whatever the drawn order
