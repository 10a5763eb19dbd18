"""Heads and the ClarModel wrapper: layer structure, outputs per regime, shapes, errors."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from core.errors import ConfigError
from core.models import ENCODERS, ClarHead, ProjectionHead, SupervisedHead, build_encoder
from core.regimes import ClarModel, build_model


def layer_kinds(m: nn.Module) -> list[str]:
    out = []
    for layer in m.modules():
        if isinstance(layer, nn.Linear):
            out.append(f"L{layer.in_features}>{layer.out_features}")
        elif isinstance(layer, nn.BatchNorm1d):
            out.append("BN")
        elif isinstance(layer, nn.ReLU):
            out.append("R")
    return out


def test_projection_head_structure():
    assert layer_kinds(ProjectionHead()) == ["L512>512", "BN", "R", "L512>512", "BN", "R", "L512>128"]


def test_supervised_head_structure():
    assert layer_kinds(SupervisedHead(num_classes=10)) == ["L512>512", "BN", "R", "L512>512", "BN", "R", "L512>10"]


def test_clar_head_structure_and_logits_from_unnormalised_z():
    torch.manual_seed(0)
    head = ClarHead(num_classes=7).eval()
    assert layer_kinds(head.proj) == ["L512>512", "BN", "R", "L512>128"]
    assert layer_kinds(head.cls) == ["BN", "R", "L128>7"]
    h = torch.randn(4, 512)
    z, logits = head(h)
    assert z.shape == (4, 128) and logits.shape == (4, 7)
    torch.testing.assert_close(logits, head.cls(z))
    assert not torch.allclose(z.norm(dim=1), torch.ones(4))


@pytest.mark.parametrize(
    ("regime", "keys"), [("supervised", {"h", "logits"}), ("simclr", {"h", "z"}), ("clar", {"h", "z", "logits"})]
)
def test_model_outputs_per_regime(regime, keys):
    torch.manual_seed(0)
    model = build_model(regime, "small_cnn_2d", 5, proj_dim=32, hidden_dim=64)
    out = model(torch.randn(4, 3, 128, 126))
    assert set(out) == keys
    assert out["h"].shape == (4, 512)
    if "z" in out:
        assert out["z"].shape == (4, 32)
    if "logits" in out:
        assert out["logits"].shape == (4, 5)


@pytest.mark.parametrize("name", sorted(ENCODERS))
def test_every_encoder_in_a_clar_model(name):
    torch.manual_seed(0)
    model = build_model("clar", name, 10).eval()
    assert model.input_kind in ("features", "waveform")
    with torch.no_grad():
        if model.input_kind == "features":
            out = model(torch.randn(2, 3, 128, 126))  # 1 s: 1 + 16000 // 128 frames
            assert model(torch.randn(1, 3, 128, 626))["h"].shape == (1, 512)  # 5 s
        else:
            out = model(torch.randn(2, 16000))  # 1 s; 5 s inputs are covered per encoder elsewhere
    assert out["h"].shape == (2, 512) and out["z"].shape == (2, 128) and out["logits"].shape == (2, 10)


def test_errors():
    with pytest.raises(ConfigError, match="unknown"):
        build_encoder("vgg")
    with pytest.raises(ConfigError, match="regime"):
        build_model("byol", "small_cnn_1d", 3)
    with pytest.raises(ConfigError, match="num_classes"):
        build_model("clar", "small_cnn_1d", None)
    assert build_model("simclr", "small_cnn_1d", None).num_classes is None
    with pytest.raises(ConfigError, match="embed_dim"):
        ClarModel(nn.Linear(3, 3), "simclr", None)
