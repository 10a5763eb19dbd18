"""FeatureConfig, presets and feature_config: values, frames, JSON round trip and ConfigError cases."""

from __future__ import annotations

import json
import math

import pytest

from core.errors import ConfigError
from core.features import FEATURE_PRESETS, FeatureConfig, feature_config


def test_presets_match_the_issue():
    paper, official = FEATURE_PRESETS["paper"], FEATURE_PRESETS["official"]
    assert (paper.win_length, paper.stft_n_fft, paper.hop_length, paper.window) == (256, 1024, 128, "hann")
    assert (paper.mel_n_fft, paper.n_mels, paper.mel_fmin, paper.mel_fmax) == (1024, 128, 0.0, 8000.0)
    assert paper.stft_scale == "linear" and paper.decimation == 4
    assert (official.stft_scale, official.stft_n_fft, official.hop_length) == ("log", 2048, 128)
    assert (official.stft_fmin, official.stft_fmax, official.stft_bins) == (40.0, 8000.0, 128)
    assert (official.mel_n_fft, official.mel_fmin, official.mel_fmax) == (2048, 40.0, 8000.0)
    for cfg in (paper, official):
        assert cfg.center and cfg.mel_scale == "slaney" and cfg.mel_norm == "slaney"
        assert cfg.num_frames(16000) == 126  # 1 s at 16 kHz
        assert cfg.num_frames(4 * 16000) == 501 and cfg.num_frames(5 * 16000) == 626


def test_official_log_frequencies_follow_nnaudio():
    freqs = FEATURE_PRESETS["official"].stft_frequencies()
    # nnAudio: start_bin = fmin*n_fft/sr, scaling_ind = ln(fmax/fmin)/bins, f_k = exp(k*scaling_ind)*start_bin*sr/n_fft
    n_fft, sr = 2048, 16000
    start_bin, scaling = 40 * n_fft / sr, math.log(8000 / 40) / 128
    expected = [math.exp(k * scaling) * start_bin * sr / n_fft for k in range(128)]
    assert freqs == pytest.approx(expected, rel=1e-12)
    assert freqs[0] == pytest.approx(40.0) and freqs[-1] == pytest.approx(7675.6, abs=0.05)


def test_paper_linear_frequencies_are_every_fourth_bin():
    freqs = FEATURE_PRESETS["paper"].stft_frequencies()
    assert freqs[:3] == [0.0, 62.5, 125.0] and freqs[-1] == 127 * 62.5


def test_json_round_trip_and_overrides():
    cfg = feature_config("official", top_db=None, amin=1e-8)
    again = FeatureConfig.from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert again == cfg and again.top_db is None and again.amin == 1e-8
    assert cfg.name == "official+custom" and feature_config("paper").name == "paper"
    assert feature_config(cfg, hop_length=160).hop_length == 160


@pytest.mark.parametrize(
    "overrides",
    [
        {"bogus": 1},
        {"win_length": 2048},  # longer than n_fft 1024
        {"stft_n_fft": 1023},  # odd
        {"stft_n_fft": 1000},  # not a multiple of 2 * 128 for the linear channel
        {"stft_bins": 64},  # differs from n_mels
        {"window": "triangle"},
        {"stft_scale": "cqt"},
        {"stft_reduction": "max"},
        {"mel_scale": "bark"},
        {"mel_norm": "l2"},
        {"mel_fmax": 9000.0},  # above Nyquist
        {"mel_fmin": 8000.0},  # not below fmax
        {"hop_length": 0},
        {"hop_length": 12.5},
        {"hop_length": True},
        {"amin": 0.0},
        {"top_db": -1.0},
        {"top_db": float("nan")},
        {"center": "yes"},
        {"center": False, "mel_n_fft": 2048},
        {"win_length": 255},  # parity differs from n_fft
    ],
)
def test_bad_values_raise_config_error(overrides):
    with pytest.raises(ConfigError, match="feature config"):
        feature_config("paper", **overrides)


@pytest.mark.parametrize(
    "overrides", [{"stft_fmin": 0.0}, {"stft_fmin": 9000.0}, {"stft_fmax": 8001.0}, {"stft_fmin": -5.0}]
)
def test_bad_log_range_raises_config_error(overrides):
    with pytest.raises(ConfigError, match="stft_fm"):
        feature_config("official", **overrides)


def test_unknown_preset_and_bad_dict():
    with pytest.raises(ConfigError, match="unknown, choose one of paper, official"):
        feature_config("fast")
    with pytest.raises(ConfigError, match="expected a dict"):
        FeatureConfig.from_dict([1, 2])
    with pytest.raises(ConfigError, match="unknown field"):
        FeatureConfig.from_dict({**FEATURE_PRESETS["paper"].to_dict(), "n_mfcc": 20})
    with pytest.raises(ConfigError, match="num_samples"):
        FEATURE_PRESETS["paper"].num_frames(0)


def test_axes_of_the_feature_images_match_librosa():
    import librosa
    import numpy as np

    from core.features import feature_config

    cfg = feature_config("paper")
    ref = librosa.mel_frequencies(cfg.n_mels + 2, fmin=cfg.mel_fmin, fmax=cfg.mel_fmax, htk=False)[1:-1]
    np.testing.assert_allclose(cfg.mel_frequencies(), ref, rtol=1e-10)
    times = cfg.frame_times(cfg.num_frames(16000))
    np.testing.assert_allclose(times, librosa.frames_to_time(np.arange(126), sr=16000, hop_length=128))
    assert len(cfg.stft_frequencies()) == len(cfg.mel_frequencies()) == cfg.n_mels
