"""build_from_config / build_frontend: every regime x encoder builds, the frontend feeds the encoder, and a saved
checkpoint reloads into the same outputs."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from core.config import TrainConfig
from core.config.build import build_from_config, build_frontend, load_model_from_checkpoint
from core.errors import CheckpointError
from core.features.frontend import FeatureFrontend, WaveformFrontend
from core.train.checkpoints import CheckpointManager


def cfg(regime: str, encoder: str) -> TrainConfig:
    return TrainConfig().with_overrides([f"model.regime={regime}", f"model.encoder={encoder}"])


@pytest.mark.parametrize("regime", ["supervised", "simclr", "clar"])
@pytest.mark.parametrize("encoder", ["small_cnn_2d", "small_cnn_1d", "resnet18_1d", "resnet18_2d"])
def test_every_regime_and_encoder_builds_and_runs(regime, encoder):
    torch.manual_seed(0)
    model, frontend = build_from_config(cfg(regime, encoder).to_dict(), num_classes=7)
    assert isinstance(frontend, FeatureFrontend if encoder.endswith("_2d") else WaveformFrontend)
    assert model.encoder.input_kind == frontend.input_kind
    x = torch.randn(2, 4000) * 0.1
    if isinstance(frontend, FeatureFrontend):
        frontend.fit([torch.randn(4, 4000) * 0.1])
    model.eval()
    with torch.no_grad():
        out = model(frontend(x))
    assert out["h"].shape == (2, 512)
    assert ("z" in out) == (regime != "supervised") and ("logits" in out) == (regime != "simclr")
    if "logits" in out:
        assert out["logits"].shape == (2, 7)


def test_feature_frontend_normalises_per_channel():
    frontend = build_frontend(cfg("clar", "small_cnn_2d"))
    batches = [torch.randn(3, 4000) * 0.1 for _ in range(2)]
    frontend.fit(batches)
    f = frontend(torch.cat(batches))
    mean = f.transpose(0, 1).reshape(3, -1).mean(1)
    std = f.transpose(0, 1).reshape(3, -1).std(1, correction=0)
    assert torch.allclose(mean, torch.zeros(3), atol=1e-4) and torch.allclose(std, torch.ones(3), atol=1e-3)


def test_load_model_from_checkpoint_round_trip(tmp_path: Path):
    config = cfg("clar", "small_cnn_2d")
    model, frontend = build_from_config(config, 4)
    frontend.fit([torch.randn(4, 4000) * 0.1])
    CheckpointManager(tmp_path).save(
        {
            "model": model.state_dict(),
            "frontend": frontend.state_dict(),
            "epoch": 1,
            "global_step": 3,
            "config": config.to_dict(),
            "class_names": ["a", "b", "c", "d"],
            "num_classes": 4,
        }
    )
    loaded, loaded_frontend, ckpt = load_model_from_checkpoint(tmp_path / "last.pt")
    x = torch.randn(2, 4000) * 0.1
    model.eval()
    with torch.no_grad():
        assert torch.allclose(model(frontend(x))["logits"], loaded(loaded_frontend(x))["logits"], atol=1e-6)
    assert ckpt["class_names"] == ["a", "b", "c", "d"] and not loaded.training


def test_load_model_from_checkpoint_rejects_mismatched_weights(tmp_path: Path):
    config = cfg("clar", "small_cnn_2d")
    model, frontend = build_from_config(config, 4)
    CheckpointManager(tmp_path).save(
        {
            "model": model.state_dict(),
            "frontend": frontend.state_dict(),
            "epoch": 1,
            "global_step": 3,
            "config": config.to_dict(),
            "class_names": ["a", "b", "c"],
            "num_classes": 3,
        }
    )
    with pytest.raises(CheckpointError, match="do not match"):
        load_model_from_checkpoint(tmp_path / "last.pt")
