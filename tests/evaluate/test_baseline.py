"""The trivial baseline: its log-Mel statistics against librosa, its fit against a plain scikit-learn pipeline on the
same labelled rows, the label-fraction rounding it reports, separable and shuffled labels, and the command."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from core.errors import ConfigError
from core.evaluate.baseline import fit_baseline, mel_stats

REPO = Path(__file__).resolve().parents[2]


def test_mel_statistics_match_librosa():
    import librosa

    rng = np.random.default_rng(0)
    t = np.arange(16000) / 16000
    clips = np.stack([0.3 * np.sin(2 * np.pi * 440 * t), 0.1 * rng.standard_normal(16000)]).astype(np.float32)
    ours = mel_stats(clips)
    for clip, got in zip(clips, ours, strict=True):
        s = np.abs(librosa.stft(clip, n_fft=1024, hop_length=128, win_length=256, pad_mode="constant")) ** 2
        mel = librosa.feature.melspectrogram(S=s, sr=16000, n_fft=1024, n_mels=128)
        db = librosa.power_to_db(mel, amin=1e-10, top_db=80.0).astype(np.float64)
        assert np.allclose(got[:128], db.mean(axis=1), atol=0.02)
        assert np.allclose(got[128:], db.std(axis=1), atol=0.02)


def _blobs(seed: int = 0, n: int = 60, d: int = 8):
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(3), n)
    x = rng.normal(size=(3 * n, d)) + 4.0 * np.eye(3, d)[y]
    order = rng.permutation(3 * n)
    return x[order], y[order]


def test_the_fit_equals_a_plain_scikit_learn_pipeline_on_the_same_labelled_rows():
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from core.data.labels import labelled_fraction

    x, y = _blobs()
    x = x + np.random.default_rng(1).normal(scale=3.0, size=x.shape)  # overlapping: accuracy is not trivially 1
    train, test = np.arange(120), np.arange(120, 180)
    got = fit_baseline(x, y, train, test, label_fraction=0.25, seed=3)
    rows = train[labelled_fraction(y[train], 0.25, 3) >= 0]
    ref = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=5000)).fit(x[rows], y[rows])
    assert got.top1 == pytest.approx(float((ref.predict(x[test]) == y[test]).mean()))
    counts = np.bincount(y[train], minlength=3)
    assert got.labelled == rows.size == sum(max(1, round(0.25 * c)) for c in counts)
    assert got.train_clips == 120 and got.test_clips == 60 and got.C == 1.0 and got.valid_top1 is None


def test_separable_classes_are_all_right_and_shuffled_labels_are_near_chance():
    x, y = _blobs(n=100)
    train, valid, test = np.arange(150), np.arange(150, 200), np.arange(200, 300)
    good = fit_baseline(x, y, train, test, valid)
    assert good.top1 == 1.0 and good.C in (0.01, 0.1, 1.0, 10.0, 100.0) and good.valid_top1 == 1.0
    shuffled = np.random.default_rng(5).permutation(y)
    assert fit_baseline(x, shuffled, train, test, valid).top1 < 0.6  # chance is 1/3: nothing leaks from test


def test_bad_input_is_a_one_line_error():
    x, y = _blobs()
    with pytest.raises(ConfigError, match="test split has no clips"):
        fit_baseline(x, y, np.arange(10), np.arange(0))
    with pytest.raises(ConfigError, match="fewer than two classes"):
        fit_baseline(x, np.zeros_like(y), np.arange(100), np.arange(100, 120))


def test_the_command_reports_each_fraction_and_refuses_a_bad_one(data_dir):
    env_cmd = [sys.executable, "-m", "core", "baseline", "--dataset", "demo", "--quiet"]
    out = subprocess.run([*env_cmd, "--label-fraction", "1,0.1"], cwd=REPO, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    lines = [ln for ln in out.stdout.splitlines() if "of labels" in ln]
    assert len(lines) == 2 and lines[0].lstrip().startswith("100 % of labels") and "test top-1" in lines[1]
    bad = subprocess.run([*env_cmd, "--label-fraction", "ten"], cwd=REPO, capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "--label-fraction 'ten'" in bad.stderr
