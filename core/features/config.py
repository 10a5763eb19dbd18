"""Feature settings: the :class:`FeatureConfig` dataclass, the named presets and :func:`feature_config`.

Every length is in samples at ``sample_rate`` (Hz); every frequency in Hz; ``amin`` is a power floor and
``top_db`` a dynamic range in dB. A config is JSON-able (``to_dict``/``from_dict``) so that it is saved with
a model and rebuilt exactly.

Presets (both centred with zero padding like librosa 0.11 ``center=True, pad_mode="constant"``, both giving
126 frames for 1 s at 16 kHz):

* ``paper``: 16 ms Hann window (256 samples) zero-padded to n_fft 1024, hop 128 (8 ms). STFT channel: the
  1024-point STFT reduced to 128 bins by keeping every 4th bin (bins 0, 4, ..., 508, i.e. 0 to 7937.5 Hz in
  62.5 Hz steps), which equals the 256-point DFT of the windowed frame because the window spans 256
  samples. Mel channel: 128 Slaney bands, 0-8000 Hz, from the same 1024-point power spectrum.
* ``official`` (the authors' code, nnAudio ``STFT(freq_scale="log")``): 2048-sample Hann window, n_fft 2048,
  hop 128; STFT channel = DFT at 128 log-spaced frequencies ``40 * (8000/40) ** (k/128)`` Hz, k = 0..127
  (top bin 7675.6 Hz); Mel channel: 128 Slaney bands, 40-8000 Hz, n_fft 2048.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from core import SAMPLE_RATE
from core.errors import ConfigError
from core.features.mel import mel_frequencies

WINDOWS = ("hann", "hamming", "blackman")
STFT_SCALES = ("linear", "log")
REDUCTIONS = ("decimate", "mean")
MEL_SCALES = ("slaney", "htk")
MEL_NORMS = ("slaney", None)


@dataclass(frozen=True)
class FeatureConfig:
    """Settings of the three CLAR channels (log-power STFT, STFT phase, log-power Mel).

    Attributes:
        name: preset the config came from (informational; "custom" once a field is overridden by hand).
        sample_rate: Hz of the input waveforms.
        window: analysis window, periodic (``"hann"``, ``"hamming"``, ``"blackman"``), shared by both channels.
        win_length: window length in samples; centred inside each n_fft frame (zero-padded to n_fft).
        hop_length: frame step in samples.
        center: pad ``n_fft // 2`` zeros on both sides so that frame t is centred on sample ``t * hop_length``.
        stft_scale: ``"linear"`` (FFT bins, reduced to ``stft_bins``) or ``"log"`` (a DFT evaluated at
            ``stft_bins`` log-spaced frequencies from ``stft_fmin`` to ``stft_fmax``, nnAudio style).
        stft_n_fft: frame length (samples) of the STFT channel.
        stft_bins: number of STFT-channel bins (the feature height; must equal ``n_mels``).
        stft_reduction: linear scale only. ``"decimate"`` keeps every d-th bin, d = stft_n_fft // (2 *
            stft_bins) (power and phase of bin d*m); ``"mean"`` averages the power over bins d*m .. d*m+d-1
            and takes the phase of bin d*m.
        stft_fmin, stft_fmax: log scale only, Hz; the k-th frequency is ``fmin * (fmax/fmin) ** (k / bins)``
            (so fmax itself is not reached: nnAudio's formula).
        mel_n_fft: frame length (samples) of the power spectrum under the Mel filterbank.
        n_mels: number of Mel bands.
        mel_fmin, mel_fmax: Hz band edges of the filterbank (``mel_fmax=None`` means sample_rate / 2).
        mel_scale: ``"slaney"`` (librosa default, linear below 1 kHz) or ``"htk"``.
        mel_norm: ``"slaney"`` (each filter divided by its width in Hz / 2, librosa default) or None.
        amin: power floor before the log: dB = 10 * log10(max(power, amin)). Default 1e-10 (-100 dB),
            power being |sum_n w[n] x[n] e^{-j...}|^2 of waveforms in [-1, 1] (librosa's unnormalised scale).
        top_db: if not None, each example's channel is clipped from below at (its max dB - top_db), like
            ``librosa.power_to_db(top_db=...)`` applied clip by clip. None disables the clip.
    """

    name: str = "paper"
    sample_rate: int = SAMPLE_RATE
    window: str = "hann"
    win_length: int = 256
    hop_length: int = 128
    center: bool = True
    stft_scale: str = "linear"
    stft_n_fft: int = 1024
    stft_bins: int = 128
    stft_reduction: str = "decimate"
    stft_fmin: float = 40.0
    stft_fmax: float = 8000.0
    mel_n_fft: int = 1024
    n_mels: int = 128
    mel_fmin: float = 0.0
    mel_fmax: float | None = 8000.0
    mel_scale: str = "slaney"
    mel_norm: str | None = "slaney"
    amin: float = 1e-10
    top_db: float | None = 80.0

    def __post_init__(self) -> None:
        _validate(self)

    @property
    def decimation(self) -> int:
        """Linear scale: the bin step d = stft_n_fft // (2 * stft_bins) of the STFT-channel reduction."""
        return self.stft_n_fft // (2 * self.stft_bins)

    def num_frames(self, num_samples: int) -> int:
        """Frames produced for a waveform of ``num_samples`` samples (126 for 16000 with hop 128, centred)."""
        if num_samples < 1:
            raise ConfigError(f"num_samples: {num_samples} is not a positive number of samples")
        n_fft = max(self.stft_n_fft, self.mel_n_fft)
        if self.center:
            return 1 + num_samples // self.hop_length
        if num_samples < n_fft:
            raise ConfigError(f"num_samples: {num_samples} is shorter than n_fft {n_fft} with center=False")
        return 1 + (num_samples - n_fft) // self.hop_length

    def stft_frequencies(self) -> list[float]:
        """Centre frequency (Hz) of each STFT-channel bin."""
        if self.stft_scale == "log":
            step = math.log(self.stft_fmax / self.stft_fmin) / self.stft_bins
            return [self.stft_fmin * math.exp(k * step) for k in range(self.stft_bins)]
        d = self.decimation
        return [d * m * self.sample_rate / self.stft_n_fft for m in range(self.stft_bins)]

    def mel_frequencies(self) -> list[float]:
        """Centre frequency (Hz) of each Mel band (the peak of its triangular filter)."""
        fmax = self.mel_fmax if self.mel_fmax is not None else self.sample_rate / 2
        return [float(f) for f in mel_frequencies(self.n_mels + 2, self.mel_fmin, fmax, self.mel_scale)[1:-1]]

    def frame_times(self, num_frames: int) -> list[float]:
        """Time (seconds) at the centre of each frame (``center``: frame t is centred on sample t * hop)."""
        offset = 0 if self.center else max(self.stft_n_fft, self.mel_n_fft) / 2
        return [(t * self.hop_length + offset) / self.sample_rate for t in range(num_frames)]

    def to_dict(self) -> dict[str, Any]:
        """A plain JSON-able dict of every field."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureConfig:
        """Rebuild a config from ``to_dict()`` output; unknown keys raise ConfigError."""
        if not isinstance(data, dict):
            raise ConfigError(f"feature config: expected a dict, got {type(data).__name__}")
        _check_fields(data)
        return cls(**data)


def _check_fields(names: object) -> None:
    known = {f.name for f in fields(FeatureConfig)}
    unknown = sorted(set(names) - known)
    if unknown:
        raise ConfigError(f"feature config: unknown field(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")


MAX_SAMPLE_RATE = 384_000
MAX_FFT = 1 << 16
MAX_BINS = 2048


def _check_int(cfg: FeatureConfig, name: str, low: int = 1, high: int = MAX_FFT) -> int:
    value = getattr(cfg, name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"feature config {name}: {value!r} is not an integer")
    if not low <= value <= high:
        raise ConfigError(f"feature config {name}: {value} must be in [{low}, {high}]")
    return value


def _check_num(cfg: FeatureConfig, name: str, low: float, allow_none: bool = False, strict: bool = False) -> None:
    value = getattr(cfg, name)
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigError(f"feature config {name}: {value!r} is not a finite number")
    if value < low or (strict and value == low):
        raise ConfigError(f"feature config {name}: {value} must be {'>' if strict else '>='} {low}")


def _choice(cfg: FeatureConfig, name: str, choices: tuple) -> None:
    value = getattr(cfg, name)
    if value not in choices:
        raise ConfigError(f"feature config {name}: {value!r} is not one of {', '.join(map(repr, choices))}")


def _validate(cfg: FeatureConfig) -> None:
    if not isinstance(cfg.name, str):
        raise ConfigError(f"feature config name: {cfg.name!r} is not a string")
    sr = _check_int(cfg, "sample_rate", 1, MAX_SAMPLE_RATE)
    nyquist = sr / 2
    win = _check_int(cfg, "win_length", 2)
    _check_int(cfg, "hop_length")
    if not isinstance(cfg.center, bool):
        raise ConfigError(f"feature config center: {cfg.center!r} is not a bool")
    _choice(cfg, "window", WINDOWS)
    _choice(cfg, "stft_scale", STFT_SCALES)
    _choice(cfg, "stft_reduction", REDUCTIONS)
    _choice(cfg, "mel_scale", MEL_SCALES)
    _choice(cfg, "mel_norm", MEL_NORMS)
    bins = _check_int(cfg, "stft_bins", 1, MAX_BINS)
    n_mels = _check_int(cfg, "n_mels", 1, MAX_BINS)
    for name in ("stft_n_fft", "mel_n_fft"):
        n_fft = _check_int(cfg, name, 2)
        if n_fft % 2:
            raise ConfigError(f"feature config {name}: {n_fft} must be even (both channels must share frames)")
        if win > n_fft:
            raise ConfigError(f"feature config win_length: {win} is longer than {name} {n_fft}")
        if (n_fft - win) % 2:
            raise ConfigError(f"feature config win_length: {win} and {name} {n_fft} must have the same parity")
    if not cfg.center and cfg.stft_n_fft != cfg.mel_n_fft:
        raise ConfigError("feature config center: False needs stft_n_fft == mel_n_fft (else frames differ)")
    if bins != n_mels:
        raise ConfigError(f"feature config stft_bins: {bins} must equal n_mels {n_mels} (channels share a height)")
    _check_num(cfg, "stft_fmin", 0.0, strict=True)
    _check_num(cfg, "stft_fmax", 0.0, strict=True)
    if cfg.stft_scale == "linear":
        if cfg.stft_n_fft % (2 * bins):
            raise ConfigError(
                f"feature config stft_n_fft: {cfg.stft_n_fft} must be a multiple of 2 * stft_bins ({2 * bins}) "
                "for the linear STFT channel"
            )
    else:
        if not cfg.stft_fmin < cfg.stft_fmax <= nyquist:
            raise ConfigError(
                f"feature config stft_fmin/stft_fmax: need 0 < {cfg.stft_fmin} < {cfg.stft_fmax} <= {nyquist} Hz"
            )
    _check_num(cfg, "mel_fmin", 0.0)
    _check_num(cfg, "mel_fmax", 0.0, allow_none=True, strict=True)
    fmax = nyquist if cfg.mel_fmax is None else cfg.mel_fmax
    if not cfg.mel_fmin < fmax <= nyquist:
        raise ConfigError(f"feature config mel_fmin/mel_fmax: need {cfg.mel_fmin} < {fmax} <= {nyquist} Hz")
    _check_num(cfg, "amin", 0.0, strict=True)
    _check_num(cfg, "top_db", 0.0, allow_none=True, strict=True)


FEATURE_PRESETS: dict[str, FeatureConfig] = {
    "paper": FeatureConfig(name="paper"),
    "official": FeatureConfig(
        name="official",
        win_length=2048,
        hop_length=128,
        stft_scale="log",
        stft_n_fft=2048,
        stft_fmin=40.0,
        stft_fmax=8000.0,
        mel_n_fft=2048,
        mel_fmin=40.0,
        mel_fmax=8000.0,
    ),
}
"""The named presets; see the module docstring."""


def feature_config(preset: str | FeatureConfig = "paper", **overrides: Any) -> FeatureConfig:
    """The preset named ``preset`` (or a given config) with ``overrides`` applied.

    Raises ConfigError for an unknown preset, an unknown field, or a value out of range.
    """
    if isinstance(preset, FeatureConfig):
        base = preset
    elif preset in FEATURE_PRESETS:
        base = FEATURE_PRESETS[preset]
    else:
        raise ConfigError(f"feature preset {preset!r}: unknown, choose one of {', '.join(FEATURE_PRESETS)}")
    _check_fields(overrides)
    if overrides and "name" not in overrides:
        overrides["name"] = f"{base.name}+custom" if not base.name.endswith("+custom") else base.name
    try:
        return replace(base, **overrides)
    except TypeError as e:  # pragma: no cover - guarded by the known-field check
        raise ConfigError(f"feature config: {e}") from None
