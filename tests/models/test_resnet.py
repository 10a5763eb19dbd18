"""ResNet18 encoders: parameter counts by formula, layout, shapes and gradients."""

from __future__ import annotations

import pytest
import torch

from core.errors import ConfigError
from core.models import ResNet18_1d, ResNet18_2d, build_encoder


def n_params(m: torch.nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


def resnet18_trunk_params(in_ch: int, stem_k: int, block_k: int, conv_dims: int) -> int:
    """Parameters of a BasicBlock ResNet18 trunk (no fc), counted from the architecture's definition.

    conv (no bias): c_in * c_out * k^d; BatchNorm: 2 * c (weight and bias; running stats are buffers).
    """

    def conv(ci: int, co: int, k: int) -> int:
        return ci * co * k**conv_dims

    def bn(c: int) -> int:
        return 2 * c

    total = conv(in_ch, 64, stem_k) + bn(64)
    c_in = 64
    for w in (64, 128, 256, 512):
        for b in range(2):
            ci = c_in if b == 0 else w
            total += conv(ci, w, block_k) + bn(w) + conv(w, w, block_k) + bn(w)
            if b == 0 and ci != w:
                total += conv(ci, w, 1) + bn(w)  # projection shortcut
        c_in = w
    return total


def test_resnet18_2d_params_equal_torchvision_trunk():
    model = ResNet18_2d()
    expected = resnet18_trunk_params(3, 7, 3, conv_dims=2)
    # torchvision's resnet18 has 11,689,512 parameters; its fc (512*1000 + 1000) is 513,000 of them.
    assert expected == 11_689_512 - (512 * 1000 + 1000) == 11_176_512
    assert n_params(model) == expected


def test_resnet18_1d_params_by_formula():
    model = ResNet18_1d()
    assert n_params(model) == resnet18_trunk_params(1, 7, 9, conv_dims=1)


def test_resnet18_2d_layout_matches_torchvision_names():
    names = dict(ResNet18_2d().named_parameters())
    # A few names and shapes from torchvision.models.resnet18().state_dict() (fc excluded).
    assert names["conv1.weight"].shape == (64, 3, 7, 7)
    assert names["layer2.0.downsample.0.weight"].shape == (128, 64, 1, 1)
    assert names["layer4.1.conv2.weight"].shape == (512, 512, 3, 3)
    assert names["layer4.1.bn2.bias"].shape == (512,)
    assert "layer1.0.downsample.0.weight" not in names


@pytest.mark.parametrize("frames", [126, 63])
def test_resnet18_2d_shapes_and_grad(frames):
    torch.manual_seed(0)
    model = ResNet18_2d()
    x = torch.randn(2, 3, 128, frames, requires_grad=True)
    h = model(x)
    assert h.shape == (2, 512)
    h.square().sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()
    assert all(p.grad is not None for p in model.parameters())


def test_resnet18_1d_shapes_1s_and_5s_total_stride_32():
    torch.manual_seed(0)
    model = build_encoder("resnet18_1d").eval()
    stem = torch.nn.Sequential(model.conv1, model.bn1, model.relu, model.maxpool)
    with torch.no_grad():
        trunk = model.layer4(model.layer3(model.layer2(model.layer1(stem(torch.randn(2, 1, 16000))))))
        assert trunk.shape == (2, 512, 16000 // 32)
        assert model(torch.randn(2, 16000)).shape == (2, 512)
        assert model(torch.randn(1, 1, 80000)).shape == (1, 512)


def test_resnet_embed_dim_and_in_channels():
    model = build_encoder("resnet18_2d", embed_dim=256, in_channels=1).eval()
    assert model.embed_dim == 256 and model.input_kind == "features"
    with torch.no_grad():
        assert model(torch.randn(2, 1, 64, 40)).shape == (2, 256)
    assert build_encoder("resnet18_1d").input_kind == "waveform"


def test_zero_init_residual_makes_blocks_identity_branches():
    model = ResNet18_2d(zero_init_residual=True)
    assert all(float(b.bn2.weight.detach().abs().sum()) == 0 for layer in (model.layer1, model.layer4) for b in layer)


def test_bad_shapes_and_settings():
    with pytest.raises(ValueError, match="expects features"):
        ResNet18_2d()(torch.randn(2, 1, 128, 10))
    with pytest.raises(ValueError, match="expects waveforms"):
        ResNet18_1d()(torch.randn(2, 3, 100))
    with pytest.raises(ConfigError, match="kernel_size"):
        ResNet18_1d(kernel_size=8)
