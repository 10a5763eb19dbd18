"""Windows over a long clip: where they start, what they hold, and that the clip's probabilities are the mean of
the windows' (checked against a model whose output is a known function of its input)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.errors import ConfigError
from core.inference.windows import cut_windows, predict_windows, window_starts


@pytest.mark.parametrize(
    ("total", "window", "hop", "starts"),
    [
        (100, 100, 50, [0]),  # exactly one window
        (60, 100, 50, [0]),  # shorter: one window, zero-padded
        (200, 100, 50, [0, 50, 100]),  # the last window ends at the end
        (230, 100, 50, [0, 50, 100, 130]),  # one more window, ending exactly at the end
        (101, 100, 50, [0, 1]),
    ],
)
def test_window_starts_cover_every_sample(total, window, hop, starts):
    got = window_starts(total, window, hop)
    assert got == starts
    covered = np.zeros(total, bool)
    for s in got:
        covered[s : s + window] = True
    assert covered.all() and max(got) + window >= total


def test_bad_windows_are_refused():
    with pytest.raises(ConfigError, match="must be positive"):
        window_starts(100, 0, 10)
    with pytest.raises(ConfigError, match="over the limit"):
        window_starts(10_000_000, 10, 1)


def test_cut_windows_hold_the_clip_and_pad_the_short_one():
    wave = torch.arange(230, dtype=torch.float32)
    windows, starts = cut_windows(wave, 100, 50)
    assert windows.shape == (4, 100) and starts == [0, 50, 100, 130]
    for w, s in zip(windows, starts, strict=True):
        assert torch.equal(w, wave[s : s + 100])
    short, _ = cut_windows(torch.ones(60), 100, 50)
    assert short.shape == (1, 100) and short[0, :60].eq(1).all() and short[0, 60:].eq(0).all()


class _MeanModel:
    """Probabilities [sigmoid(mean), 1 - sigmoid(mean)] of each window, and its embedding [mean, max]: known
    functions of its samples."""

    num_samples = 1000
    class_names = ("loud", "quiet")

    def predict_and_embed(self, windows, batch_size=32, source="auto"):
        x = torch.as_tensor(windows)
        m = torch.sigmoid(x.mean(dim=1))
        return torch.stack([m, 1 - m], dim=1), torch.stack([x.mean(dim=1), x.amax(dim=1)], dim=1)


def test_the_clip_probability_is_the_mean_over_windows():
    wave = torch.linspace(-3, 3, 4300)
    pred = predict_windows(_MeanModel(), wave, hop_fraction=0.5, sample_rate=1000)
    starts = window_starts(4300, 1000, 500)
    assert pred.windows == len(starts) == 8
    means = np.array([float(wave[s : s + 1000].mean()) for s in starts])
    expect = 1 / (1 + np.exp(-means))
    np.testing.assert_allclose(pred.per_window[:, 0], expect, rtol=1e-6)
    np.testing.assert_allclose(pred.probabilities, [expect.mean(), 1 - expect.mean()], rtol=1e-6)
    np.testing.assert_allclose(pred.starts_s, np.array(starts) / 1000)
    assert (pred.window_s, pred.hop_s) == (1.0, 0.5)
    maxima = np.array([float(wave[s : s + 1000].max()) for s in starts])
    np.testing.assert_allclose(pred.embedding, [means.mean(), maxima.mean()], rtol=1e-6)  # the windows' mean
    assert pred.top(1)[0][0] == ("loud" if expect.mean() > 0.5 else "quiet")
