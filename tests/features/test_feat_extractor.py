"""ClarFeatures against independent references on real clips from $CLAR_DATA_DIR (fsdd, esc10, nsynth).

References: librosa.stft / librosa.feature.melspectrogram for the linear STFT and Mel channels, a plain
numpy DFT (sum over n of w[n] x[n] exp(-2j pi f n / sr), with scipy's window) for the log-frequency channel,
numpy's 256-point FFT for the "decimate = 256-point DFT" claim. Tolerances:

* float64 module: dB channels within 1e-6 dB and phase within 1e-6 rad (mod 2 pi) where the reference
  power is within 100 dB of the clip's peak;
* float32 module (the default): dB channels within 0.02 dB where the reference is within 80 dB of the clip's
  peak, phase within 2e-3 rad where the reference is within 60 dB of the clip's peak.
"""

from __future__ import annotations

import os
from pathlib import Path

import librosa
import numpy as np
import pandas as pd
import pytest
import scipy.signal
import soundfile as sf
import torch

from core.errors import ConfigError
from core.features import ClarFeatures, feature_config

SR = 16000


def data_root() -> Path:
    root = os.environ.get("CLAR_DATA_DIR")
    if not root:
        raise RuntimeError("CLAR_DATA_DIR is not set: point it at the shared data (e.g. ../shared/data)")
    return Path(root)


def clips(dataset: str, count: int, seconds: float, step: int = 37) -> np.ndarray:
    """``count`` clips of ``dataset`` (every ``step``-th row of metadata.csv), padded/cropped to ``seconds``."""
    root = data_root() / dataset
    paths = pd.read_csv(root / "metadata.csv")["path"].tolist()[::step][:count]
    n = int(seconds * SR)
    out = np.zeros((len(paths), n), dtype=np.float64)
    for i, rel in enumerate(paths):
        audio, sr = sf.read(root / rel, dtype="float64")
        assert sr == SR and audio.ndim == 1
        out[i, : min(n, audio.size)] = audio[:n]
    return out


@pytest.fixture(scope="module")
def real() -> dict[str, np.ndarray]:
    return {"fsdd": clips("fsdd", 3, 1.0), "esc10": clips("esc10", 1, 5.0), "nsynth": clips("nsynth", 2, 4.0)}


_REFS: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}


def reference(preset: str, dataset: str, i: int, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(complex STFT channel, Mel power) of clip i, computed once per test session."""
    key = (preset, dataset, i)
    if key not in _REFS:
        spec = ref_linear(x) if preset == "paper" else ref_logfreq(x)
        _REFS[key] = (spec, ref_mel(x, preset))
    return _REFS[key]


def features(preset: str, x: np.ndarray, dtype: torch.dtype = torch.float32, **overrides) -> np.ndarray:
    model = ClarFeatures(feature_config(preset, **overrides), dtype=dtype)
    with torch.no_grad():
        return model(torch.from_numpy(x).to(dtype)).double().numpy()


def db(power: np.ndarray, amin: float = 1e-10) -> np.ndarray:
    return 10.0 * np.log10(np.maximum(power, amin))


def ref_linear(x: np.ndarray) -> np.ndarray:
    """Paper preset STFT channel reference: librosa's 1024-point STFT, every 4th bin (0..508)."""
    spec = librosa.stft(x, n_fft=1024, hop_length=128, win_length=256, window="hann", center=True, pad_mode="constant")
    return spec[:512:4]


def ref_logfreq(x: np.ndarray, win_length: int = 2048) -> np.ndarray:
    """Official preset STFT channel reference: explicit DFT of each zero-padded frame at nnAudio's frequencies."""
    n_fft, hop = 2048, 128
    freqs = 40.0 * (8000.0 / 40.0) ** (np.arange(128) / 128)
    w = librosa.util.pad_center(scipy.signal.get_window("hann", win_length, fftbins=True), size=n_fft)
    n = np.arange(n_fft)
    basis = np.exp(-2j * np.pi * np.outer(n, freqs) / SR)  # [n, f]: e^{-2 pi i f n / sr}
    xp = np.pad(x, n_fft // 2)
    n_frames = 1 + x.size // hop
    frames = np.stack([xp[t * hop : t * hop + n_fft] for t in range(n_frames)])  # [t, n]
    return ((frames * w) @ basis).T  # X[f, t] = sum_n w[n] x_t[n] e^{-2 pi i f n / sr}


def ref_mel(x: np.ndarray, preset: str) -> np.ndarray:
    n_fft, win, fmin = (1024, 256, 0.0) if preset == "paper" else (2048, 2048, 40.0)
    return librosa.feature.melspectrogram(
        y=x, sr=SR, n_fft=n_fft, hop_length=128, win_length=win, center=True, pad_mode="constant", power=2.0,
        n_mels=128, fmin=fmin, fmax=8000.0, htk=False, norm="slaney",
    )  # fmt: skip


def check(ours: np.ndarray, ref_spec: np.ndarray, ref_mel_power: np.ndarray, float64: bool) -> None:
    """Compare our three channels of one clip with the complex reference STFT channel and Mel power."""
    p_ref, m_ref = np.abs(ref_spec) ** 2, ref_mel_power
    db_tol, ph_tol, db_range, ph_range = (1e-6, 1e-6, 100.0, 100.0) if float64 else (0.02, 2e-3, 80.0, 60.0)
    for ch, ref_power in ((0, p_ref), (2, m_ref)):
        peak = db(ref_power).max()
        mask = db(ref_power) > peak - db_range
        err = np.abs(ours[ch] - db(ref_power))[mask]
        assert mask.sum() > 500 and err.max() < db_tol, (ch, err.max())
    mask = db(p_ref) > db(p_ref).max() - ph_range
    dphi = np.angle(np.exp(1j * (ours[1] - np.angle(ref_spec))))[mask]
    assert np.abs(dphi).max() < ph_tol, np.abs(dphi).max()


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("dataset", ["fsdd", "esc10", "nsynth"])
def test_paper_channels_match_librosa(real, dataset, dtype):
    x = real[dataset]
    ours = features("paper", x, dtype, top_db=None)
    assert ours.shape == (len(x), 3, 128, 1 + x.shape[1] // 128)
    for i in range(len(x)):
        check(ours[i], *reference("paper", dataset, i, x[i]), float64=dtype == torch.float64)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("dataset", ["fsdd", "esc10", "nsynth"])
def test_official_channels_match_numpy_dft_and_librosa(real, dataset, dtype):
    x = real[dataset]
    ours = features("official", x, dtype, top_db=None)
    for i in range(len(x)):
        check(ours[i], *reference("official", dataset, i, x[i]), float64=dtype == torch.float64)


def test_overridden_window_and_n_fft_still_match_references(real):
    """Log channel with a 1024-sample window inside the 2048 frame; linear channel and Mel from different n_ffts."""
    x = real["fsdd"][1]
    ours = features("official", x[None], torch.float64, top_db=None, win_length=1024)[0]
    mel = librosa.feature.melspectrogram(
        y=x, sr=SR, n_fft=2048, hop_length=128, win_length=1024, center=True, pad_mode="constant", n_mels=128,
        fmin=40.0, fmax=8000.0,
    )  # fmt: skip
    check(ours, ref_logfreq(x, win_length=1024), mel, float64=True)
    ours = features("paper", x[None], torch.float64, top_db=None, mel_n_fft=2048)[0]
    mel = librosa.feature.melspectrogram(
        y=x, sr=SR, n_fft=2048, hop_length=128, win_length=256, center=True, pad_mode="constant", n_mels=128,
        fmin=0.0, fmax=8000.0,
    )  # fmt: skip
    check(ours, ref_linear(x), mel, float64=True)


def test_decimated_channel_is_the_256_point_dft(real):
    """Every 4th bin of the zero-padded 1024-point STFT = 256-point DFT of the frame under the window,
    times (-1)^m (the window starts 384 samples into the 1024 frame: exp(-2 pi i * 4m * 384 / 1024))."""
    x = real["fsdd"][0]
    ours = features("paper", x[None], torch.float64, top_db=None)[0]
    xp = np.pad(x, 128)
    w = scipy.signal.get_window("hann", 256)
    frames = np.lib.stride_tricks.sliding_window_view(xp, 256)[::128]
    dft = np.fft.rfft(frames * w, axis=1)[:, :128].T * (-1.0) ** np.arange(128)[:, None]
    check(ours, dft, reference("paper", "fsdd", 0, x)[1], float64=True)


def test_mean_reduction_averages_groups_of_four_bins(real):
    x = real["nsynth"][0]
    ours = features("paper", x[None], torch.float64, top_db=None, stft_reduction="mean")[0]
    spec = librosa.stft(x, n_fft=1024, hop_length=128, win_length=256, center=True, pad_mode="constant")
    power = (np.abs(spec[:512]) ** 2).reshape(128, 4, -1).mean(axis=1)
    mask = db(power) > db(power).max() - 100
    assert np.abs(ours[0] - db(power))[mask].max() < 1e-6
    np.testing.assert_allclose(ours[1], features("paper", x[None], torch.float64, top_db=None)[0, 1])


@pytest.mark.parametrize("preset", ["paper", "official"])
def test_top_db_matches_librosa_power_to_db_per_clip(real, preset):
    x = np.concatenate([real["fsdd"][:2], 0.01 * real["fsdd"][2:]])  # one quiet clip: the clip is per example
    ours = features(preset, x, torch.float64)  # default top_db 80, amin 1e-10
    for i in range(len(x)):
        ref_spec, ref_mel_power = reference(preset, "fsdd", i, real["fsdd"][i])
        scale = 1.0 if i < 2 else 1e-4  # power scales with the square of the amplitude
        ref0 = librosa.power_to_db(scale * np.abs(ref_spec) ** 2, ref=1.0, amin=1e-10, top_db=80.0)
        ref2 = librosa.power_to_db(scale * ref_mel_power, ref=1.0, amin=1e-10, top_db=80.0)
        assert np.abs(ours[i, 0] - ref0).max() < 1e-6 and np.abs(ours[i, 2] - ref2).max() < 1e-6
        assert ours[i, 0].max() - ours[i, 0].min() <= 80.0 + 1e-9


@pytest.mark.parametrize("preset", ["paper", "official"])
def test_shapes_for_1_4_5_seconds_and_batch_independence(real, preset):
    model = ClarFeatures(preset)
    for seconds, x in ((1, real["fsdd"]), (4, real["nsynth"]), (5, real["esc10"])):
        xt = torch.from_numpy(x).float()
        with torch.no_grad():
            out = model(xt)
            alone = model(xt[-1:])
        frames = {1: 126, 4: 501, 5: 626}[seconds]
        assert out.shape == (len(x), 3, 128, frames) == (len(x), 3, 128, model.num_frames(x.shape[1]))
        assert out.dtype == torch.float32 and torch.isfinite(out).all()
        # no cross-talk between examples (float32 kernels may differ by batch size: stated tolerances)
        assert (out[-1, 0::2] - alone[0, 0::2]).abs().max() < 0.02
        strong = alone[0, 0] > alone[0, 0].max() - 60
        dphi = torch.remainder(out[-1, 1] - alone[0, 1] + torch.pi, 2 * torch.pi) - torch.pi
        assert dphi[strong].abs().max() < 2e-3
        phase = out[:, 1]
        assert phase.min() > -np.pi and phase.max() <= np.pi


def test_buffers_move_with_the_module_and_are_not_saved():
    model = ClarFeatures("official")
    assert {"window", "mel_fb", "dft_kernel"} <= dict(model.named_buffers()).keys()
    assert model.state_dict() == {}
    assert model.double().mel_fb.dtype == torch.float64 and model.dft_kernel.dtype == torch.float64
    assert ClarFeatures("paper").dft_kernel is None


def test_bad_inputs():
    with pytest.raises(ConfigError, match="preset"):
        ClarFeatures("nope")
    with pytest.raises(ConfigError, match=r"expected waveforms \[B, T\]"):
        ClarFeatures()(torch.zeros(2, 1, 16000))
    assert ClarFeatures()(torch.zeros(16000)).shape == (1, 3, 128, 126)  # a single waveform [T]
    with pytest.raises(ConfigError, match="float waveforms"):
        ClarFeatures()(torch.zeros(1, 16000, dtype=torch.int16))
    with pytest.raises(ConfigError, match="num_samples"):
        ClarFeatures()(torch.zeros(1, 0))
    with pytest.raises(ConfigError, match="center=False"):
        ClarFeatures(feature_config("paper", center=False))(torch.zeros(1, 500))


@pytest.mark.gpu
@pytest.mark.parametrize("preset", ["paper", "official"])
def test_cpu_and_cuda_agree(real, preset):
    x = torch.from_numpy(np.concatenate([real["fsdd"], real["nsynth"][:, :16000]])).float()
    model = ClarFeatures(preset)
    previous = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision("high")  # TF32 allowed globally: the extractor must still be exact
    try:
        with torch.no_grad():
            cpu = model(x)
            gpu = model.to("cuda")(x.cuda()).cpu()
    finally:
        torch.set_float32_matmul_precision(previous)
    with pytest.raises(ConfigError, match="move it with"):
        model(x)  # CPU waveforms, CUDA extractor
    assert gpu.shape == cpu.shape and gpu.dtype == torch.float32
    assert (gpu[:, 0] - cpu[:, 0]).abs().max() < 0.02 and (gpu[:, 2] - cpu[:, 2]).abs().max() < 0.02
    strong = cpu[:, 0] > cpu[:, 0].amax(dim=(1, 2), keepdim=True) - 60
    dphi = torch.remainder(gpu[:, 1] - cpu[:, 1] + torch.pi, 2 * torch.pi) - torch.pi
    assert dphi[strong].abs().max() < 2e-3


def test_ieee_fp32_sets_and_restores_the_tf32_settings():
    """The flags are process-global and can be set without a GPU; the forward pass on CUDA relies on this."""
    from core.features.precision import _backends, ieee_fp32

    backends = _backends()
    assert backends, "torch without fp32_precision settings: TF32 could not be disabled on CUDA"
    saved = [b.fp32_precision for b in backends]
    try:
        for b in backends:
            b.fp32_precision = "tf32"
        with ieee_fp32(torch.device("cuda")):
            assert all(b.fp32_precision == "ieee" for b in backends)
        assert all(b.fp32_precision == "tf32" for b in backends)
        with ieee_fp32(torch.device("cpu")):
            assert all(b.fp32_precision == "tf32" for b in backends)
    finally:
        for b, value in zip(backends, saved, strict=True):
            b.fp32_precision = value
