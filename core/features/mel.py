"""Mel scale and triangular Mel filterbank (own implementation; checked against ``librosa.filters.mel``).

Pure numpy, float64. Frequencies in Hz, Mel values in the chosen scale's units.

* Slaney scale (Auditory Toolbox, librosa's default): linear below 1 kHz (mel = hz / (200/3)), logarithmic
  above (27 Mel per factor 6.4).
* HTK scale: mel = 2595 * log10(1 + hz / 700).
"""

from __future__ import annotations

import numpy as np

_F_SP = 200.0 / 3.0  # Hz per Mel below the break (Slaney)
_MIN_LOG_HZ = 1000.0
_MIN_LOG_MEL = _MIN_LOG_HZ / _F_SP  # 15 Mel
_LOGSTEP = np.log(6.4) / 27.0


def hz_to_mel(hz: np.ndarray | float, scale: str = "slaney") -> np.ndarray:
    """Frequencies (Hz) to Mel (``scale``: ``"slaney"`` or ``"htk"``)."""
    hz = np.asarray(hz, dtype=np.float64)
    if scale == "htk":
        return 2595.0 * np.log10(1.0 + hz / 700.0)
    mel = hz / _F_SP
    above = hz >= _MIN_LOG_HZ
    return np.where(above, _MIN_LOG_MEL + np.log(np.maximum(hz, _MIN_LOG_HZ) / _MIN_LOG_HZ) / _LOGSTEP, mel)


def mel_to_hz(mel: np.ndarray | float, scale: str = "slaney") -> np.ndarray:
    """Mel to frequencies (Hz); the inverse of :func:`hz_to_mel`."""
    mel = np.asarray(mel, dtype=np.float64)
    if scale == "htk":
        return 700.0 * (10.0 ** (mel / 2595.0) - 1.0)
    hz = mel * _F_SP
    above = mel >= _MIN_LOG_MEL
    return np.where(above, _MIN_LOG_HZ * np.exp(_LOGSTEP * (np.maximum(mel, _MIN_LOG_MEL) - _MIN_LOG_MEL)), hz)


def mel_frequencies(n: int, fmin: float, fmax: float, scale: str = "slaney") -> np.ndarray:
    """``n`` frequencies (Hz) equally spaced in Mel from ``fmin`` to ``fmax`` inclusive."""
    return mel_to_hz(np.linspace(hz_to_mel(fmin, scale), hz_to_mel(fmax, scale), n), scale)


def mel_filterbank(
    sample_rate: int,
    n_fft: int,
    n_mels: int = 128,
    fmin: float = 0.0,
    fmax: float | None = None,
    scale: str = "slaney",
    norm: str | None = "slaney",
) -> np.ndarray:
    """Triangular Mel filters as a float64 matrix [n_mels, n_fft // 2 + 1] acting on a power spectrum.

    Filter i rises linearly (in Hz) from edge i to edge i+1 and falls to edge i+2, the n_mels + 2 edges being
    equally spaced in Mel between ``fmin`` and ``fmax`` (Hz; None means sample_rate / 2). With
    ``norm="slaney"`` each filter is scaled by 2 / (edge[i+2] - edge[i]) (Hz), i.e. constant area.
    A filter with no FFT bin inside its support is all zeros ("empty"); see :func:`empty_filters`.
    """
    fmax = sample_rate / 2 if fmax is None else float(fmax)
    fft_hz = np.linspace(0.0, sample_rate / 2, n_fft // 2 + 1)
    edges = mel_frequencies(n_mels + 2, fmin, fmax, scale)
    widths = np.diff(edges)
    ramps = edges[:, None] - fft_hz[None, :]
    lower = -ramps[:-2] / widths[:-1, None]
    upper = ramps[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    if norm == "slaney":
        weights *= (2.0 / (edges[2:] - edges[:-2]))[:, None]
    return weights


def empty_filters(weights: np.ndarray) -> np.ndarray:
    """Indices of the filters (rows) of ``weights`` that are zero at every FFT bin."""
    return np.flatnonzero(~np.any(weights > 0, axis=1))
