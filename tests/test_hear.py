"""The HEAR API against the model itself: scene embeddings are the mean of the windows' ``h``, the timestamp
embeddings' mean over time is ``h`` exactly (same linear map), an onset moved by 2 s moves the timestamp that
changes most by 2 s, and any length, silence and noise give finite float32 output."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import core.hear as hear
from core.errors import ConfigError
from core.inference import load_trained
from core.inference.windows import embed_windows

DEMO = Path(__file__).resolve().parents[1] / "checkpoints" / "pretrained" / "demo" / "model.pt"


@pytest.fixture(scope="module")
def demo():
    return hear.load_model(str(DEMO)), load_trained(DEMO, device="cpu")


def test_an_empty_path_loads_the_shipped_esc10_model_with_the_hear_attributes():
    model = hear.load_model("")
    assert model.sample_rate == 16000 and model.window == 5 * 16000
    assert isinstance(model.scene_embedding_size, int) and model.scene_embedding_size == 512
    assert isinstance(model.timestamp_embedding_size, int) and model.timestamp_embedding_size == 512
    audio = torch.randn(1, 16000) * 0.1
    assert hear.get_scene_embeddings(audio, model).shape == (1, 512)


def test_scene_embeddings_are_the_mean_of_the_windows_representations(demo):
    model, trained = demo
    audio = torch.randn(2, 40_000) * 0.1
    scene = hear.get_scene_embeddings(audio, model)
    assert scene.dtype == torch.float32 and scene.shape == (2, 512)
    for clip, got in zip(audio, scene, strict=True):
        assert np.allclose(got.numpy(), embed_windows(trained, clip), atol=1e-5)


def test_the_timestamp_embeddings_mean_over_time_is_the_models_representation(demo):
    model, trained = demo
    audio = torch.randn(3, trained.num_samples) * 0.1
    emb, ms = hear.get_timestamp_embeddings(audio, model)
    assert emb.dtype == torch.float32 and emb.shape[0] == 3 and emb.shape[2] == 512 and ms.shape == emb.shape[:2]
    assert torch.allclose(emb.mean(dim=1), trained.embed(audio), atol=1e-4)
    assert (ms.diff(dim=1) > 0).all() and float(ms[0, -1]) < 1000 * trained.num_samples / 16000


def test_moving_an_onset_by_two_seconds_moves_the_timestamp_that_changes_most(demo):
    model, _ = demo
    n = 5 * 16000
    t = torch.arange(4000) / 16000

    def burst_at(seconds: float) -> torch.Tensor:
        x = torch.zeros(n)
        start = int(seconds * 16000)
        x[start : start + 4000] = 0.5 * torch.sin(2 * torch.pi * 880 * t) * torch.hann_window(4000)
        return x

    silence, ms = hear.get_timestamp_embeddings(torch.zeros(1, n), model)
    peaks = []
    for onset in (1.0, 3.0):
        emb, _ = hear.get_timestamp_embeddings(burst_at(onset)[None], model)
        change = (emb - silence).norm(dim=2)[0]
        peaks.append(float(ms[0, int(change.argmax())]))
        assert abs(peaks[-1] - (onset * 1000 + 125)) < 400  # within a few steps of the burst's centre
    step = float(ms[0, 1] - ms[0, 0])
    assert abs((peaks[1] - peaks[0]) - 2000) <= 2 * step


def test_any_length_silence_and_noise_give_finite_float32_and_nan_audio_is_refused(demo):
    model, _ = demo
    for audio in (torch.zeros(2, 16000), torch.randn(1, 4800), torch.randn(1, 12 * 16000) * 0.5, torch.zeros(1, 10)):
        scene = hear.get_scene_embeddings(audio, model)
        emb, ms = hear.get_timestamp_embeddings(audio, model)
        assert torch.isfinite(scene).all() and torch.isfinite(emb).all() and torch.isfinite(ms).all()
        assert scene.dtype == emb.dtype == ms.dtype == torch.float32
    bad = torch.zeros(1, 16000)
    bad[0, 5] = float("nan")
    with pytest.raises(ConfigError, match="NaN"):
        hear.get_scene_embeddings(bad, model)
    with pytest.raises(ConfigError, match=r"\[n, samples\]"):
        hear.get_timestamp_embeddings(torch.zeros(16000), model)


@pytest.mark.gpu
def test_on_cuda_the_embeddings_match_the_cpus():
    cpu = hear.load_model(str(DEMO))
    gpu = hear.load_model(str(DEMO)).cuda()
    audio = torch.randn(2, 24_000) * 0.1
    assert torch.allclose(hear.get_scene_embeddings(audio.cuda(), gpu).cpu(), hear.get_scene_embeddings(audio, cpu),
                          atol=1e-3)  # fmt: skip
    emb, _ = hear.get_timestamp_embeddings(audio.cuda(), gpu)
    assert emb.is_cuda and torch.allclose(emb.cpu(), hear.get_timestamp_embeddings(audio, cpu)[0], atol=1e-3)
