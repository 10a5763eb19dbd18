"""Kernels behind pitch shift and time stretch, each against an independent truth (formula, scipy, librosa)."""

from __future__ import annotations

import math

import librosa
import numpy as np
import pytest
import scipy.signal
import torch

from core.augment.kernels.phase_vocoder import istft as pv_istft
from core.augment.kernels.phase_vocoder import stft as pv_stft
from core.augment.kernels.phase_vocoder import time_stretch
from core.augment.kernels.resample import (
    polyphase_kernel,
    rational_approx,
    resample_poly,
    resample_to_length,
)
from core.errors import ConfigError

SR = 16000


def _brute_simplest(ratio: float, max_cents: float) -> tuple[int, int]:
    """Smallest denominator q (then the p nearest ratio*q) within max_cents: a plain search, independent of SB."""
    q = 1
    while True:
        for p in (math.floor(ratio * q), math.ceil(ratio * q)):
            if p > 0 and abs(1200 * math.log2(p / q / ratio)) < max_cents:
                return p, q
        q += 1


@pytest.mark.parametrize("step", range(-15, 16))
def test_rational_approx_every_step_under_one_cent(step: int) -> None:
    ratio = 2.0 ** (step / 12)
    p, q = rational_approx(ratio)
    err = 1200 * math.log2(p / q / ratio)
    assert abs(err) < 1.0, f"step {step}: {p}/{q} is {err:.3f} cents off"
    assert math.gcd(p, q) == 1
    assert q == _brute_simplest(ratio, 1.0)[1], "not the fraction with the smallest denominator"


def test_rational_approx_rejects_bad_input() -> None:
    with pytest.raises(ConfigError, match="positive"):
        rational_approx(0.0)
    with pytest.raises(ConfigError, match="denominator"):
        rational_approx(math.pi, max_cents=1e-6, max_denominator=50)


def _sine(freq: float, n: int, sr: int = SR) -> np.ndarray:
    return np.sin(2 * np.pi * freq * np.arange(n) / sr)


@pytest.mark.parametrize(("up", "down"), [(1, 2), (2, 1), (37, 44), (44, 37), (197, 295), (3, 3)])
def test_resample_poly_matches_the_analytic_sine(up: int, down: int) -> None:
    f, n = 700.0, 8000
    x = torch.tensor(_sine(f, n), dtype=torch.float64)[None]
    y = resample_poly(x, up, down)[0].numpy()
    assert y.shape[0] == math.ceil(n * up / down)
    # output sample k sits at input time k*down/up: the truth is the same sine evaluated there
    truth = np.sin(2 * np.pi * f * np.arange(y.shape[0]) * down / up / SR)
    inner = slice(200, y.shape[0] - 200)
    assert np.max(np.abs(y[inner] - truth[inner])) < 2e-3


def test_resample_poly_agrees_with_scipy_and_suppresses_aliases() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal(6000)
    ours = resample_poly(torch.tensor(x)[None], 44, 37)[0].numpy()
    ref = scipy.signal.resample_poly(x, 44, 37)
    inner = slice(300, min(ours.size, ref.size) - 300)
    # different filter designs: compare the in-band part (low-pass both well inside the pass band)
    b = scipy.signal.firwin(301, 0.6)
    d = scipy.signal.filtfilt(b, 1, ours[: ref.size]) - scipy.signal.filtfilt(b, 1, ref[: ours.size])
    assert np.sqrt(np.mean(d[inner] ** 2)) < 0.01 * np.sqrt(np.mean(ref[inner] ** 2))
    # a 6 kHz tone is above the new Nyquist when halving the rate (4 kHz): it must be removed (< -60 dB)
    tone = torch.tensor(_sine(6000.0, 8000))[None]
    down = resample_poly(tone, 1, 2)[0].numpy()[100:-100]
    assert 20 * np.log10(np.sqrt(np.mean(down**2)) / np.sqrt(0.5)) < -60


def test_polyphase_kernel_is_cached() -> None:
    a = polyphase_kernel(44, 37, 16, 0.94, torch.device("cpu"), torch.float32)
    b = polyphase_kernel(44, 37, 16, 0.94, torch.device("cpu"), torch.float32)
    assert a[0] is b[0]


def test_resample_to_length_per_example_ratio() -> None:
    f, n = 500.0, 8000
    x = torch.tensor(np.stack([_sine(f, n), _sine(f, n)]))
    lengths = torch.tensor([8000.0, 6000.0])
    y = resample_to_length(x, lengths, 4000).numpy()
    for row, length in zip(y, lengths.tolist(), strict=True):
        truth = np.sin(2 * np.pi * f * np.arange(4000) * (length / 4000) / SR)
        assert np.max(np.abs(row[100:-100] - truth[100:-100])) < 3e-3


def test_phase_vocoder_rate_one_is_identity_and_matches_librosa() -> None:
    rng = np.random.default_rng(1)
    x = _sine(440.0, SR) + 0.3 * _sine(1234.5, SR) + 0.01 * rng.standard_normal(SR)
    xt = torch.tensor(x, dtype=torch.float32)[None]
    same = time_stretch(xt, torch.tensor([1.0]), SR)[0].numpy()
    assert np.max(np.abs(same - x)[600:-600]) < 1e-4
    for rate in (0.5, 0.8, 1.25, 1.5):
        ours = time_stretch(xt, torch.tensor([rate]), round(SR / rate))[0].numpy()
        ref = librosa.effects.time_stretch(x.astype(np.float32), rate=rate, n_fft=512, hop_length=128)
        assert ours.shape == ref.shape
        inner = slice(600, ref.size - 600)
        rel = np.sqrt(np.mean((ours[inner] - ref[inner]) ** 2)) / np.sqrt(np.mean(ref[inner] ** 2))
        assert rel < 0.02, f"rate {rate}: relative RMS difference to librosa {rel:.4f}"


def test_phase_vocoder_batch_equals_rows_alone() -> None:
    rng = np.random.default_rng(2)
    x = torch.tensor(rng.standard_normal((4, 4000)), dtype=torch.float32)
    rates = torch.tensor([0.5, 0.9, 1.3, 1.5], dtype=torch.float64)
    batch = time_stretch(x, rates, 5000)
    for i in range(4):
        alone = time_stretch(x[i : i + 1], rates[i : i + 1], 5000)
        torch.testing.assert_close(batch[i : i + 1], alone, atol=1e-5, rtol=0)


@pytest.mark.parametrize("phase_lock", [False, True])
@pytest.mark.parametrize("n", [1, 10, 1600])
def test_phase_vocoder_short_and_silent_inputs_are_finite(n: int, phase_lock: bool) -> None:
    x = torch.zeros(3, n)
    x[1] = torch.randn(n)
    y = time_stretch(x, torch.tensor([0.5, 1.0, 1.5]), n, phase_lock=phase_lock)
    assert y.shape == (3, n) and torch.isfinite(y).all()
    assert torch.all(y[0] == 0)


def test_phase_lock_keeps_a_sine_pure() -> None:
    x = torch.tensor(_sine(440.0, SR), dtype=torch.float32)[None]
    for lock in (False, True):
        y = time_stretch(x, torch.tensor([0.8]), 20000, phase_lock=lock)[0].numpy()
        spec = np.abs(np.fft.rfft(y[1000:-1000] * np.hanning(18000), 1 << 17))
        f = np.argmax(spec) * SR / (1 << 17)
        assert abs(f - 440.0) < SR / 18000


def test_phase_vocoder_rejects_bad_settings() -> None:
    x = torch.zeros(1, 100)
    with pytest.raises(ConfigError, match="n_fft"):
        time_stretch(x, torch.tensor([1.0]), 100, n_fft=500)
    with pytest.raises(ConfigError, match="rate"):
        time_stretch(x, torch.tensor([0.0]), 100)


@pytest.mark.parametrize("hop", [128, 100])
def test_frame_major_stft_and_istft_match_torch(hop: int) -> None:
    x = torch.randn(3, 5000)
    window = torch.hann_window(512)
    ref = torch.stft(x, 512, hop, window=window, center=True, pad_mode="constant", return_complex=True)
    spec = pv_stft(x, 512, hop)
    torch.testing.assert_close(spec, ref.transpose(1, 2), atol=1e-4, rtol=0)
    back = pv_istft(spec, 512, hop, 5000)
    torch.testing.assert_close(
        back, torch.istft(ref, 512, hop, window=window, center=True, length=5000), atol=1e-5, rtol=0
    )
    torch.testing.assert_close(back, x, atol=1e-5, rtol=0)


@pytest.mark.parametrize("phase_lock", [False, True])
def test_cpu_chunking_does_not_change_the_result(phase_lock: bool) -> None:
    x = torch.randn(5, 3000)
    rates = torch.tensor([0.5, 0.7, 1.0, 1.2, 1.5], dtype=torch.float64)
    whole = time_stretch(x, rates, 3000, phase_lock=phase_lock, chunk=5)
    for chunk in (1, 2):
        torch.testing.assert_close(time_stretch(x, rates, 3000, phase_lock=phase_lock, chunk=chunk), whole)


def _nearest_peak_reference(mag: np.ndarray) -> np.ndarray:
    """Brute force: every bin's nearest local maximum over frequency, ties to the peak below."""
    out = np.zeros(mag.shape, dtype=np.int64)
    nbins = mag.shape[-1]
    for idx in np.ndindex(*mag.shape[:-1]):
        m = mag[idx]
        peaks = [
            j
            for j in range(nbins)
            if (j == 0 and m[0] > m[1])
            or (j == nbins - 1 and m[-1] >= m[-2])
            or (0 < j < nbins - 1 and m[j] >= m[j - 1] and m[j] > m[j + 1])
        ]
        for j in range(nbins):
            out[(*idx, j)] = min(peaks, key=lambda p, j=j: (abs(j - p), p))
    return out


@pytest.mark.parametrize("nbins", [2, 3, 17, 257, 11_000])
def test_nearest_peak_matches_a_brute_force_search(nbins: int) -> None:
    """Plateaus, ties, edge peaks, and the int32 path of long spectra (3 * bins >= 2**15)."""
    from core.augment.kernels.phase_vocoder import _nearest_peak

    g = np.random.default_rng(nbins)
    rows = 1 if nbins > 1000 else 40
    mag = g.integers(0, 4, size=(2, rows, nbins)).astype(np.float32)  # few levels: many plateaus and ties
    mag[0, 0] = 1.0  # a silent (flat) row: its last bin is the only peak
    got = _nearest_peak(torch.from_numpy(mag))
    assert got.dtype == (torch.int16 if nbins < 10_923 else torch.int32)
    np.testing.assert_array_equal(got.long().numpy(), _nearest_peak_reference(mag))


@pytest.mark.parametrize("frames", [1, 16, 17, 31, 40, 64, 65])
def test_blocked_cumprod_over_frames_equals_torch_cumprod(frames: int) -> None:
    """Unit phasors multiplied along frames: block by block (CPU) equals one running product, full blocks or not."""
    from core.augment.kernels.phase_vocoder import cumprod_frames

    g = torch.Generator().manual_seed(frames)
    angles = torch.rand(3, frames, 33, generator=g, dtype=torch.float64) * 2 * math.pi
    inc = torch.polar(torch.ones_like(angles), angles).to(torch.complex64)
    torch.testing.assert_close(cumprod_frames(inc), torch.cumprod(inc, dim=1), atol=2e-6, rtol=0)


def test_prefix_masks_keep_each_rows_first_samples_exactly() -> None:
    """1 for t < ceil(length), 0 from there on, for integer and fractional lengths, in float32 and past 2**24."""
    from core.augment.kernels.masks import EXACT_FLOAT32, keep_prefix_, prefix_mask

    lengths = torch.tensor([0.0, 1.0, 3.0, 3.2, 9.0, 12.0])
    mask = prefix_mask(lengths, 10, torch.float32, torch.device("cpu"))
    expected = (torch.arange(10)[None, :] < torch.ceil(lengths)[:, None]).float()
    assert torch.equal(mask, expected)
    x = torch.randn(6, 10)
    assert torch.equal(keep_prefix_(x.clone(), lengths), torch.where(expected.bool(), x, 0.0))
    # 2**24 + 1 is not a float32: a float32 ramp would end the row one sample early
    long = prefix_mask(torch.tensor([EXACT_FLOAT32 + 1.0], dtype=torch.float64), EXACT_FLOAT32 + 8, torch.float32,
                       torch.device("cpu"))  # fmt: skip
    assert long[0, EXACT_FLOAT32] == 1 and long[0, EXACT_FLOAT32 + 1] == 0 and long.sum() == EXACT_FLOAT32 + 1


@pytest.mark.parametrize("phase_lock", [False, True])
@pytest.mark.parametrize("chunk", [None, 1, 3])
def test_trimmed_vocoder_equals_the_full_computation(phase_lock: bool, chunk: int | None) -> None:
    # trimming analyses only the input each row reads and synthesises only up to its end; rates on both sides of 1
    # and rows zero-padded to a common length (as pitch_shift's up-shifted rows are) must not change any sample
    rng = np.random.default_rng(7)
    x = torch.tensor(rng.standard_normal((7, 6000)), dtype=torch.float32)
    own = torch.tensor([6000, 6000, 4100, 6000, 2500, 6000, 5999], dtype=torch.float64)
    x[2, 4100:], x[4, 2500:], x[6, 5999:] = 0.0, 0.0, 0.0
    rates = torch.tensor([0.5, 1.5, 0.61, 1.0, 0.43, 1.97, 0.8], dtype=torch.float64)
    for out_len, exact in ((6000, True), (6000, False), (9000, True), (3000, True)):
        kw = {"phase_lock": phase_lock, "exact_length": exact, "chunk": chunk, "in_lengths": own}
        full = time_stretch(x, rates, out_len, trim=False, **kw)
        torch.testing.assert_close(time_stretch(x, rates, out_len, **kw), full, atol=1e-6, rtol=0)
