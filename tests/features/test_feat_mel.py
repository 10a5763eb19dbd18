"""Our Mel scale and filterbank against librosa, and the empty-filter property of the presets."""

from __future__ import annotations

import librosa
import numpy as np
import pytest

from core.features import FEATURE_PRESETS
from core.features.mel import empty_filters, hz_to_mel, mel_filterbank, mel_to_hz


@pytest.mark.parametrize("scale", ["slaney", "htk"])
def test_mel_scale_matches_librosa(scale):
    hz = np.array([0.0, 40.0, 500.0, 999.9, 1000.0, 1000.1, 4000.0, 8000.0, 11025.0])
    ours = hz_to_mel(hz, scale)
    np.testing.assert_allclose(ours, librosa.hz_to_mel(hz, htk=scale == "htk"), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(mel_to_hz(ours, scale), hz, rtol=1e-12, atol=1e-9)


@pytest.mark.parametrize(
    "sr,n_fft,n_mels,fmin,fmax,scale,norm",
    [
        (16000, 1024, 128, 0.0, 8000.0, "slaney", "slaney"),  # paper
        (16000, 2048, 128, 40.0, 8000.0, "slaney", "slaney"),  # official
        (16000, 512, 64, 20.0, 7600.0, "htk", None),
        (22050, 2048, 80, 0.0, None, "slaney", "slaney"),
    ],
)
def test_filterbank_matches_librosa(sr, n_fft, n_mels, fmin, fmax, scale, norm):
    ours = mel_filterbank(sr, n_fft, n_mels, fmin, fmax, scale, norm)
    ref = librosa.filters.mel(
        sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax, htk=scale == "htk", norm=norm, dtype=np.float64
    )
    assert ours.shape == (n_mels, n_fft // 2 + 1)
    np.testing.assert_allclose(ours, ref, rtol=1e-9, atol=1e-12)


def test_presets_have_no_empty_filter():
    for cfg in FEATURE_PRESETS.values():
        fb = mel_filterbank(cfg.sample_rate, cfg.mel_n_fft, cfg.n_mels, cfg.mel_fmin, cfg.mel_fmax)
        assert empty_filters(fb).size == 0
        assert (fb.sum(axis=1) > 0).all()


def test_n_fft_256_would_leave_13_empty_filters():
    """The reason for zero-padding to n_fft 1024: 128 Slaney bands over 129 bins of a 256-point FFT."""
    fb = mel_filterbank(16000, 256, 128, 0.0, 8000.0)
    empty = empty_filters(fb)
    # independent count: a filter is empty when no FFT bin lies strictly inside its (lower, upper) edges
    edges = librosa.mel_frequencies(130, fmin=0.0, fmax=8000.0)
    bins = np.linspace(0, 8000, 129)
    inside = [np.any((bins > edges[i]) & (bins < edges[i + 2])) for i in range(128)]
    assert empty.size == 128 - int(np.sum(inside)) == 13
    # an open interval longer than the 62.5 Hz bin spacing always holds a bin: empty filters are the narrow ones
    assert np.all(edges[empty + 2] - edges[empty] <= 62.5)
