"""Small CNNs: size, shapes, channels_last and gradients."""

from __future__ import annotations

import pytest
import torch

from core.models import SmallCNN1d, SmallCNN2d, build_encoder


def n_params(m: torch.nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


@pytest.mark.parametrize("name", ["small_cnn_2d", "small_cnn_1d"])
def test_size_about_0_3m(name):
    assert 200_000 <= n_params(build_encoder(name)) <= 450_000


def test_small_cnn_2d_shapes_and_channels_last():
    torch.manual_seed(0)
    model = SmallCNN2d().eval()
    x = torch.randn(3, 3, 128, 126)
    with torch.no_grad():
        ref = model(x)
        out = model.to(memory_format=torch.channels_last)(x.to(memory_format=torch.channels_last))
    assert ref.shape == (3, 512)
    torch.testing.assert_close(out, ref, rtol=1e-4, atol=1e-5)


def test_small_cnn_1d_shapes_1s_and_5s_and_grad():
    torch.manual_seed(0)
    model = SmallCNN1d(embed_dim=64)
    x = torch.randn(2, 16000, requires_grad=True)
    h = model(x)
    assert h.shape == (2, 64)
    h.sum().backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    with torch.no_grad():
        assert model.eval()(torch.randn(1, 1, 80000)).shape == (1, 64)


def test_attributes():
    for name, kind in [("small_cnn_2d", "features"), ("small_cnn_1d", "waveform")]:
        enc = build_encoder(name, embed_dim=128)
        assert enc.input_kind == kind and enc.embed_dim == 128
