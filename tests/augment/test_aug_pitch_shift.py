"""PitchShift: pitch moves by the drawn semitones (sines and real NSynth notes), duration stays, draws reproduce."""

from __future__ import annotations

import os
from pathlib import Path

import librosa
import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import torch

from core.augment.measure import cents, estimate_f0, peak_frequency
from core.augment.pitch_shift import PitchShift, pitch_shift, step_fraction
from core.errors import ConfigError

SR = 16000


def _data_dir() -> Path:
    root = os.environ.get("CLAR_DATA_DIR")
    assert root, "set CLAR_DATA_DIR to the shared data folder (e.g. ../shared/data)"
    return Path(root)


def _sine(freq: float, n: int = SR) -> torch.Tensor:
    return torch.sin(2 * torch.pi * freq * torch.arange(n, dtype=torch.float64) / SR).float()


@pytest.mark.parametrize(("step", "target"), [(12, 880.0), (-12, 220.0)])
def test_octave_moves_the_peak_within_one_bin(step: int, target: float) -> None:
    y = pitch_shift(_sine(440.0)[None], torch.tensor([step]))[0].numpy()
    f, bin_hz = peak_frequency(y, SR)
    assert abs(f - target) <= bin_hz, f"peak at {f} Hz, expected {target} Hz (+-{bin_hz} Hz)"


@pytest.mark.parametrize("step", [-15, -7, -1, 1, 7, 15])
def test_other_steps_within_a_few_cents(step: int) -> None:
    y = pitch_shift(_sine(440.0)[None], torch.tensor([step]))[0].numpy()
    f, _ = peak_frequency(y[800:-800], SR, n_fft=1 << 18)  # interpolated spectrum: ~0.06 Hz grid
    err = cents(f, 440.0 * 2 ** (step / 12))
    assert abs(err) < 3.0, f"step {step}: {err:.2f} cents"


def test_nsynth_notes_within_two_cents_and_as_good_as_librosa() -> None:
    root = _data_dir() / "nsynth"
    meta = pd.read_csv(root / "metadata.csv")
    assert (meta["pitch"] == 60).all()
    paths = meta["path"].iloc[::10].tolist()[:6]
    clips = np.stack([sf.read(root / p, dtype="float32")[0][:SR] for p in paths])
    steps = [-12, -7, -1, 1, 7, 12]
    base = [estimate_f0(c, SR) for c in clips]
    assert all(abs(cents(b, 261.63)) < 15 for b in base), base  # MIDI 60 = 261.63 Hz
    shifted = pitch_shift(torch.from_numpy(clips), torch.tensor(steps)).numpy()
    ours, ref = [], []
    for clip, y, s, b in zip(clips, shifted, steps, base, strict=True):
        ours.append(abs(cents(estimate_f0(y, SR), b) - 100 * s))
        lib = librosa.effects.pitch_shift(clip, sr=SR, n_steps=s)
        ref.append(abs(cents(estimate_f0(lib, SR), b) - 100 * s))
    assert np.median(ours) < 2.0, ours
    assert np.median(ours) <= np.median(ref) + 1.0, (ours, ref)


def test_duration_kept_for_a_tone_burst() -> None:
    x = torch.zeros(1, SR)
    x[0, 4000:10000] = _sine(330.0, 6000)
    for step in (-15, -5, 5, 15):
        y = pitch_shift(x, torch.tensor([step]))[0]
        assert y.shape == (SR,)
        env = y.abs().unfold(0, 160, 160).max(1).values  # 10 ms envelope
        on = torch.nonzero(env > 0.3 * env.max()).flatten()
        onset, offset = int(on[0]) * 160, (int(on[-1]) + 1) * 160
        assert abs(onset - 4000) <= 400 and abs(offset - 10000) <= 400, (step, onset, offset)


def test_params_reproducible_distinct_and_match_what_was_applied() -> None:
    aug = PitchShift(p=0.5)
    x = _sine(300.0)[None].repeat(16, 1)
    y1, p1 = aug(x, 7, return_params=True)
    y2, p2 = aug(x, 7, return_params=True)
    assert torch.equal(y1, y2) and torch.equal(p1["semitones"], p2["semitones"])
    assert len(set(p1["semitones"].tolist())) > 3
    desc = aug.describe(p1)
    assert all({"applied", "semitones", "pitch_ratio"} <= d.keys() for d in desc)
    for i, d in enumerate(desc):
        if not d["applied"] or d["semitones"] == 0:
            assert torch.equal(y1[i], x[i])
            continue
        pq = step_fraction(d["semitones"])
        assert d["pitch_ratio"] == pytest.approx(pq[0] / pq[1])
        f, _ = peak_frequency(y1[i, 800:-800].numpy(), SR, n_fft=1 << 18)
        assert abs(cents(f, 300.0 * d["pitch_ratio"])) < 3.0


@pytest.mark.parametrize("n", [1, 10, 1600])
def test_silent_and_short_inputs(n: int) -> None:
    x = torch.zeros(4, n)
    x[2:] = torch.randn(2, n)
    y = pitch_shift(x, torch.tensor([15, -15, 15, -15]))
    assert y.shape == x.shape and torch.isfinite(y).all() and torch.all(y[:2] == 0)
    y = PitchShift(p=1.0)(x, 0)
    assert y.shape == x.shape and torch.isfinite(y).all()


def test_input_is_not_modified_and_dtype_kept() -> None:
    x = torch.randn(3, 4000)
    before = x.clone()
    y = PitchShift(p=1.0)(x, 1)
    assert torch.equal(x, before) and y.dtype == torch.float32


def test_bad_settings() -> None:
    with pytest.raises(ConfigError, match="min_semitones"):
        PitchShift(min_semitones=5, max_semitones=-5)
    with pytest.raises(ConfigError, match="integers"):
        PitchShift(min_semitones=-1.5)
    with pytest.raises(ConfigError, match="n_fft"):
        PitchShift(n_fft=300)
    with pytest.raises(ConfigError, match=r"\[B, T\]"):
        PitchShift()(torch.zeros(10))


@pytest.mark.gpu
def test_cuda_matches_cpu() -> None:
    x = torch.randn(8, SR) * 0.1
    aug = PitchShift(p=1.0)
    params = aug.randomize_parameters(x, 3)
    cpu = aug.apply(x, params)
    gpu = aug.apply(x.cuda(), params).cpu()
    torch.testing.assert_close(gpu, cpu, atol=2e-4, rtol=0)


def test_chunking_does_not_change_the_result() -> None:
    x = torch.randn(6, 3000)
    steps = torch.tensor([3, -15, 0, 15, 3, -4])
    whole = pitch_shift(x, steps, chunk=6)
    for chunk in (1, 4):
        torch.testing.assert_close(pitch_shift(x, steps, chunk=chunk), whole)
