"""Classifying a clip of any length: overlapping windows of the model's input length, probabilities averaged.

A model is trained on clips of a fixed length (its run's ``num_samples``). A shorter clip is zero-padded on the
right to that length, as in training. A longer one is cut into windows of that length with a hop of half a
window, starting at 0; when the windows do not reach the end, one more window ends exactly at the clip's end, so
that every sample is seen. Each window is classified like a training clip and the class probabilities are
averaged over the windows (each window weighs the same).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from core import SAMPLE_RATE
from core.errors import ConfigError
from core.inference.trained import Trained

MAX_WINDOWS = 4096
"""At most this many windows per clip (10 minutes of 1 s windows at a half-window hop is 1200)."""


def window_starts(total: int, window: int, hop: int) -> list[int]:
    """Start samples of the windows covering ``total`` samples (see the module docstring).

    Args:
        total: the clip's length, in samples.
        window: the window length, in samples (the model's input length).
        hop: the step between windows, in samples.

    Raises:
        ConfigError: a non-positive window or hop, or more than :data:`MAX_WINDOWS` windows.
    """
    if window < 1 or hop < 1:
        raise ConfigError(f"windows: window {window} and hop {hop} must be positive numbers of samples")
    if total <= window:
        return [0]
    starts = list(range(0, total - window + 1, hop))
    if starts[-1] + window < total:
        starts.append(total - window)
    if len(starts) > MAX_WINDOWS:
        raise ConfigError(f"windows: {len(starts)} windows of {window} samples is over the limit of {MAX_WINDOWS}")
    return starts


def cut_windows(wave: Tensor, window: int, hop: int) -> tuple[Tensor, list[int]]:
    """The windows [W, window] of a waveform [T] (the last zero-padded if the clip is shorter), and their starts."""
    if wave.ndim != 1:
        raise ConfigError(f"windows: expected one waveform [T], got shape {tuple(wave.shape)}")
    starts = window_starts(int(wave.shape[0]), window, hop)
    if wave.shape[0] < window:
        wave = torch.nn.functional.pad(wave, (0, window - int(wave.shape[0])))
    return torch.stack([wave[s : s + window] for s in starts]), starts


@dataclass
class WindowedPrediction:
    """The class probabilities of one clip, and of each of its windows.

    Attributes:
        probabilities: [C], the mean over the windows.
        per_window: [W, C], each window's probabilities.
        starts_s: [W], each window's start, in seconds.
        window_s: the window length, in seconds.
        hop_s: the hop between windows, in seconds.
        class_names: the C class names.
        embedding: [D], the mean of the windows' representations ``h`` (for nearest clips).
    """

    probabilities: np.ndarray
    per_window: np.ndarray
    starts_s: np.ndarray
    window_s: float
    hop_s: float
    class_names: list[str]
    embedding: np.ndarray | None = None

    @property
    def windows(self) -> int:
        """How many windows were scored."""
        return int(self.per_window.shape[0])

    def top(self, k: int = 5) -> list[tuple[str, float]]:
        """The ``k`` most probable classes with their mean probabilities, most probable first."""
        order = np.argsort(-self.probabilities, kind="stable")[:k]
        return [(self.class_names[i], float(self.probabilities[i])) for i in order]


def predict_windows(
    trained: Trained,
    wave: Tensor,
    hop_fraction: float = 0.5,
    source: str = "auto",
    batch_size: int = 32,
    sample_rate: int = SAMPLE_RATE,
) -> WindowedPrediction:
    """Classify a waveform [T] of any length in windows of the model's input length (see the module docstring).

    Args:
        trained: the model.
        wave: the clip, 16 kHz mono, [T].
        hop_fraction: the hop as a fraction of the window (0.5: half a window).
        source: ``auto``, ``head`` or ``probe`` (see :meth:`Trained.predict`).
        batch_size: windows per forward pass.
        sample_rate: of ``wave``, in Hz.

    Raises:
        ConfigError: a bad hop, or a model without a classifier (a SimCLR run without its probe).
    """
    window = trained.num_samples or int(wave.shape[-1])  # no known input length: the clip is one window
    if not 0.0 < hop_fraction <= 1.0:
        raise ConfigError(f"windows: hop_fraction {hop_fraction} must be in (0, 1]")
    hop = max(1, round(window * hop_fraction))
    windows, starts = cut_windows(torch.as_tensor(wave, dtype=torch.float32), window, hop)
    probs, h = trained.predict_and_embed(windows, batch_size=batch_size, source=source)
    per_window = probs.numpy()
    return WindowedPrediction(
        probabilities=per_window.mean(axis=0),
        per_window=per_window,
        starts_s=np.asarray(starts, dtype=np.float64) / sample_rate,
        window_s=window / sample_rate,
        hop_s=hop / sample_rate,
        class_names=list(trained.class_names),
        embedding=h.mean(dim=0).numpy(),
    )


def embed_windows(trained: Trained, wave: Tensor, hop_fraction: float = 0.5, batch_size: int = 32) -> np.ndarray:
    """The representation [D] of a waveform [T] (16 kHz) of any length: the mean of its windows' ``h``.

    The windows are those of :func:`predict_windows`, so a clip's embedding is the same whether or not the model
    has a classifier.

    Raises:
        ConfigError: a bad hop.
    """
    window = trained.num_samples or int(wave.shape[-1])
    if not 0.0 < hop_fraction <= 1.0:
        raise ConfigError(f"windows: hop_fraction {hop_fraction} must be in (0, 1]")
    windows, _ = cut_windows(torch.as_tensor(wave, dtype=torch.float32), window, max(1, round(window * hop_fraction)))
    return trained.embed(windows, batch_size=batch_size).mean(dim=0).numpy()
