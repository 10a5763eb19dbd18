"""Figures of clips: waveforms, the three CLAR feature channels with axes in seconds and Hz, probabilities in time.

The numbers come from ``core`` (the features from :class:`core.features.ClarFeatures`, their axes from the feature
config); this module only draws. Long images are averaged down to at most :data:`MAX_COLUMNS` columns so that a
figure stays light in the browser.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import torch

from core import SAMPLE_RATE
from core.features import ClarFeatures, FeatureConfig, feature_config

MAX_COLUMNS = 200
MAX_POINTS = 4000
CHANNELS = ("log-power STFT (dB)", "STFT phase (rad)", "log-power Mel (dB)")
COLOURS = ("#4c78a8", "#f58518", "#54a24b")


def _decimate(x: np.ndarray, points: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices and values of a long signal reduced to ``points`` (min and max of each bin, so peaks survive)."""
    n = len(x)
    if n <= points:
        return np.arange(n), x
    bins = points // 2
    edges = np.linspace(0, n, bins + 1).astype(int)
    idx, val = [], []
    for a, b in itertools.pairwise(edges):
        seg = x[a:b]
        lo, hi = a + int(seg.argmin()), a + int(seg.argmax())
        for i in sorted((lo, hi)):
            idx.append(i)
            val.append(x[i])
    return np.array(idx), np.array(val)


def waveforms_figure(waves: Sequence[torch.Tensor], names: Sequence[str], sample_rate: int = SAMPLE_RATE):
    """One row per waveform, on a shared time axis in seconds."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=len(waves), cols=1, shared_xaxes=True, subplot_titles=list(names), vertical_spacing=0.08)
    for r, (w, colour) in enumerate(zip(waves, COLOURS, strict=False), start=1):
        idx, val = _decimate(np.asarray(w, dtype=np.float32), MAX_POINTS)
        fig.add_trace(
            go.Scatter(
                x=idx / sample_rate,
                y=val,
                mode="lines",
                line={"width": 1, "color": colour},
                showlegend=False,
                hovertemplate="%{x:.3f} s: %{y:.3f}<extra></extra>",
            ),
            row=r,
            col=1,
        )
        fig.update_yaxes(range=[-1, 1], title_text="amplitude", row=r, col=1)
    fig.update_xaxes(title_text="time (s)", row=len(waves), col=1)
    fig.update_layout(height=150 * len(waves) + 60, margin={"l": 70, "r": 10, "t": 30, "b": 50})
    return fig


def _pool(img: np.ndarray, columns: int) -> tuple[np.ndarray, np.ndarray]:
    """Average groups of adjacent columns so that at most ``columns`` remain; returns (image, first-column index)."""
    t = img.shape[-1]
    if t <= columns:
        return img, np.arange(t)
    edges = np.linspace(0, t, columns + 1).astype(int)
    pooled = np.stack([img[..., a:b].mean(axis=-1) for a, b in itertools.pairwise(edges)], axis=-1)
    return pooled, edges[:-1]


def features_figure(
    waves: Sequence[torch.Tensor], names: Sequence[str], preset: str = "paper", feature_settings: dict | None = None
):
    """The three CLAR channels of each waveform: rows are the waveforms, columns the channels.

    Args:
        waves: waveforms [T] at 16 kHz.
        names: a title per waveform.
        preset: the feature preset (``paper`` or ``official``).
        feature_settings: a model's own feature config (its ``feature_config`` dict), which wins over ``preset``.
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    cfg = FeatureConfig.from_dict(feature_settings) if feature_settings else feature_config(preset)
    extractor = ClarFeatures(cfg)
    length = max(int(w.shape[-1]) for w in waves)
    batch = torch.stack([torch.nn.functional.pad(torch.as_tensor(w), (0, length - int(w.shape[-1]))) for w in waves])
    with torch.no_grad():
        feats = extractor(batch).numpy()
    times = np.asarray(cfg.frame_times(feats.shape[-1]))
    freqs = (np.asarray(cfg.stft_frequencies()), np.asarray(cfg.stft_frequencies()), np.asarray(cfg.mel_frequencies()))
    titles = [f"{n}: {c}" for n in names for c in CHANNELS]
    fig = make_subplots(
        rows=len(waves),
        cols=3,
        subplot_titles=titles,
        horizontal_spacing=0.06,
        vertical_spacing=0.12 / max(1, len(waves) - 1) if len(waves) > 1 else 0.1,
    )
    for r in range(len(waves)):
        for c in range(3):
            img, cols = _pool(feats[r, c], MAX_COLUMNS)
            phase = c == 1
            fig.add_trace(
                go.Heatmap(
                    z=img,
                    x=times[cols],
                    y=freqs[c],
                    colorscale="Twilight" if phase else "Viridis",
                    showscale=False,
                    zmin=-np.pi if phase else None,
                    zmax=np.pi if phase else None,
                    hovertemplate="%{x:.2f} s, %{y:.0f} Hz: %{z:.1f}<extra></extra>",
                ),
                row=r + 1,
                col=c + 1,
            )
            fig.update_yaxes(title_text="Hz" if c == 0 else None, row=r + 1, col=c + 1)
            if c == 2:
                fig.update_yaxes(type="log", row=r + 1, col=c + 1)
        fig.update_xaxes(title_text="time (s)", row=r + 1, col=2)
    fig.update_layout(height=230 * len(waves) + 60, margin={"l": 70, "r": 10, "t": 40, "b": 50})
    return fig


def probabilities_figure(
    starts_s: np.ndarray, window_s: float, per_window: np.ndarray, class_names: Sequence[str], top: int = 5
):
    """The most probable classes' probability in each window, against the window's centre time."""
    import plotly.graph_objects as go

    order = np.argsort(-per_window.mean(axis=0), kind="stable")[:top]
    centres = np.asarray(starts_s) + window_s / 2
    fig = go.Figure()
    for k in order:
        fig.add_trace(
            go.Scatter(
                x=centres,
                y=per_window[:, k],
                mode="lines+markers",
                name=str(class_names[k]),
                hovertemplate=f"{class_names[k]}: %{{y:.1%}} at %{{x:.1f}} s<extra></extra>",
            )
        )
    fig.update_layout(
        height=300,
        margin={"l": 70, "r": 10, "t": 40, "b": 50},  # room for the tick labels and axis titles
        yaxis={"tickformat": ".0%", "range": [0, 1], "title": "probability"},
        xaxis={"title": "window centre (s)", "range": [0, float(centres[-1] + window_s / 2)]},  # the whole clip
        title=f"{len(centres)} windows of {window_s:g} s",
    )
    return fig


def mel_figure(wave: torch.Tensor, title: str, feature_settings: dict | None = None, height: int = 190):
    """A small log-power Mel spectrogram (CLAR's third channel) of one waveform [T] at 16 kHz, in dB.

    Args:
        wave: the clip.
        title: the figure's title (the file's name).
        feature_settings: a model's own feature config, else the ``paper`` preset.
        height: in pixels.
    """
    import plotly.graph_objects as go

    cfg = FeatureConfig.from_dict(feature_settings) if feature_settings else feature_config("paper")
    with torch.no_grad():
        mel = ClarFeatures(cfg)(torch.as_tensor(wave, dtype=torch.float32)[None])[0, 2].numpy()
    img, cols = _pool(mel, MAX_COLUMNS)
    fig = go.Figure(
        go.Heatmap(
            z=img,
            x=np.asarray(cfg.frame_times(mel.shape[-1]))[cols],
            y=np.asarray(cfg.mel_frequencies()),
            colorscale="Viridis",
            showscale=False,
            hovertemplate="%{x:.2f} s, %{y:.0f} Hz: %{z:.1f} dB<extra></extra>",
        )
    )
    fig.update_yaxes(type="log", title_text="Hz")
    fig.update_xaxes(title_text="time (s)")
    fig.update_layout(
        title={"text": title, "font": {"size": 12}}, height=height, margin={"l": 50, "r": 5, "t": 28, "b": 35}
    )
    return fig
