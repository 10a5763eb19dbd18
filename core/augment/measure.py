"""Measurements for checking pitch and time augmentations: fundamental frequency, cents, click positions.

Plain numpy, independent of the augmentation kernels; used by the tests and by ``bench/augment.py``.
"""

from __future__ import annotations

import math

import numpy as np


def cents(f: float, reference: float) -> float:
    """Interval from ``reference`` to ``f`` (both Hz, > 0) in cents: 1200 * log2(f / reference)."""
    return 1200.0 * math.log2(f / reference)


def estimate_f0(
    x: np.ndarray,
    sample_rate: int,
    fmin: float = 50.0,
    fmax: float = 2000.0,
    frame: int = 2048,
    hop: int = 512,
    threshold: float = 0.15,
    min_rms: float = 1e-3,
) -> float:
    """Median fundamental frequency (Hz) of a mono signal by YIN (de Cheveigne & Kawahara 2002).

    Frames of ``frame`` samples every ``hop`` samples; the lag is the first dip of the cumulative mean
    normalised difference below ``threshold`` (else its global minimum) in [sample_rate/fmax, sample_rate/fmin],
    refined by parabolic interpolation. Frames quieter than ``min_rms`` are skipped. Returns NaN when no frame
    is loud enough.
    """
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    tau_max = min(math.ceil(sample_rate / fmin), frame - 1)
    tau_min = max(2, int(sample_rate / fmax))
    win = frame - tau_max
    if x.size < frame or win < 16:
        raise ValueError(f"estimate_f0: need at least {frame} samples and frame > sample_rate/fmin + 16")
    starts = np.arange(0, x.size - frame + 1, hop)
    frames = np.stack([x[s : s + frame] for s in starts])
    frames = frames[np.sqrt((frames[:, :win] ** 2).mean(1)) > min_rms]
    if frames.shape[0] == 0:
        return float("nan")
    # d(tau) = sum_j (x_j - x_{j+tau})^2 over j < win, via energies and an FFT cross-correlation
    n = 1 << math.ceil(math.log2(2 * frame))
    spec_a = np.fft.rfft(frames[:, :win], n)
    spec_b = np.fft.rfft(frames, n)
    corr = np.fft.irfft(np.conj(spec_a) * spec_b, n)[:, : tau_max + 1]
    sq = np.cumsum(np.pad(frames**2, ((0, 0), (1, 0))), axis=1)
    e0 = sq[:, win][:, None]
    taus = np.arange(tau_max + 1)
    e_tau = sq[:, taus + win] - sq[:, taus]
    d = e0 + e_tau - 2 * corr
    d[:, 0] = 0.0
    cmnd = np.ones_like(d)
    cums = np.cumsum(d[:, 1:], axis=1)
    cmnd[:, 1:] = d[:, 1:] * np.arange(1, tau_max + 1) / np.maximum(cums, 1e-30)
    f0s = []
    for row in cmnd:
        seg = row[tau_min : tau_max + 1]
        below = np.nonzero(seg < threshold)[0]
        if below.size:
            i = below[0]
            while i + 1 < seg.size and seg[i + 1] < seg[i]:
                i += 1
        else:
            i = int(np.argmin(seg))
        tau = tau_min + i
        if 1 <= tau < tau_max:
            a, b, c = row[tau - 1], row[tau], row[tau + 1]
            den = a - 2 * b + c
            shift = 0.5 * (a - c) / den if den > 0 else 0.0
        else:
            shift = 0.0
        f0s.append(sample_rate / (tau + shift))
    return float(np.median(f0s))


def peak_frequency(x: np.ndarray, sample_rate: int, n_fft: int | None = None) -> tuple[float, float]:
    """Frequency (Hz) of the largest Hann-windowed FFT magnitude peak of ``x``, and the FFT bin width (Hz)."""
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    n_fft = n_fft or x.size
    spec = np.abs(np.fft.rfft(x[:n_fft] * np.hanning(min(n_fft, x.size)), n_fft))
    return float(np.argmax(spec) * sample_rate / n_fft), sample_rate / n_fft


def click_times(x: np.ndarray, threshold: float = 0.3, min_gap: int = 200) -> np.ndarray:
    """Sample positions of clicks: local maxima of |x| above ``threshold`` * max|x|, at least ``min_gap`` apart.

    A click smeared over several samples is located at its energy centroid within +-min_gap/4 samples.
    """
    a = np.abs(np.asarray(x, dtype=np.float64).reshape(-1))
    if a.size == 0 or a.max() == 0:
        return np.zeros(0)
    thr = threshold * a.max()
    cand = np.nonzero(a > thr)[0]
    times: list[float] = []
    i = 0
    while i < cand.size:
        j = i
        while j + 1 < cand.size and cand[j + 1] - cand[i] < min_gap:
            j += 1
        peak = cand[i + int(np.argmax(a[cand[i : j + 1]]))]
        lo, hi = max(0, peak - min_gap // 4), min(a.size, peak + min_gap // 4 + 1)
        w = a[lo:hi] ** 2
        times.append(float((np.arange(lo, hi) * w).sum() / w.sum()))
        i = j + 1
    return np.asarray(times)


def pulse_period(x: np.ndarray, min_lag: int, max_lag: int, smooth: int = 32, strength: float = 0.8) -> float:
    """Mean spacing (samples) of the pulses in ``x``: the first strong peak of its envelope's autocorrelation.

    The envelope is |x| averaged over ``smooth`` samples, mean removed. Among local maxima of its
    autocorrelation with lag in [min_lag, max_lag], the smallest lag whose value is at least ``strength`` times
    the largest is taken (so multiples of the period lose), refined by parabolic interpolation. Unlike
    individual click positions, this is insensitive to clicks being smeared or jittered by a few ms.
    """
    a = np.abs(np.asarray(x, dtype=np.float64).reshape(-1))
    env = np.convolve(a, np.ones(smooth) / smooth, mode="same")
    env = env - env.mean()
    n = 1 << math.ceil(math.log2(2 * env.size))
    spec = np.fft.rfft(env, n)
    acf = np.fft.irfft(np.abs(spec) ** 2, n)[: env.size]
    hi = min(max_lag, env.size - 2)
    lags = np.arange(max(1, min_lag), hi + 1)
    if lags.size == 0 or acf[0] <= 0:
        return float("nan")
    vals = acf[lags]
    is_peak = (vals >= acf[lags - 1]) & (vals >= acf[lags + 1])
    if not is_peak.any():
        return float("nan")
    best = vals[is_peak].max()
    lag = int(lags[np.nonzero(is_peak & (vals >= strength * best))[0][0]])
    a0, b0, c0 = acf[lag - 1], acf[lag], acf[lag + 1]
    den = a0 - 2 * b0 + c0
    return float(lag + (0.5 * (a0 - c0) / den if den < 0 else 0.0))
