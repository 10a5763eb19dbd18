"""CUDA smoke tests: encoders under AMP (bf16/fp16) and channels_last, losses and probes on the GPU."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.losses import clar_loss, contrastive_accuracy, nt_xent
from core.models import ENCODERS
from core.probes import knn_probe, linear_probe
from core.regimes import build_model

pytestmark = pytest.mark.gpu

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


@needs_cuda
@pytest.mark.parametrize("name", sorted(ENCODERS))
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_encoder_amp_forward_backward(name, dtype):
    torch.manual_seed(0)
    model = build_model("clar", name, 10).cuda()
    if model.input_kind == "features":
        x = torch.randn(8, 3, 128, 126, device="cuda")
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    else:
        x = torch.randn(8, 16000, device="cuda")
    model.eval()
    with torch.no_grad():
        ref = model(x)
        with torch.autocast("cuda", dtype=dtype):
            low = model(x)
    rel = (low["h"].float() - ref["h"]).norm() / ref["h"].norm()
    assert rel < 0.05, f"{name} {dtype}: relative error {rel:.3g} against fp32"
    model.train()
    scaler = torch.amp.GradScaler("cuda", enabled=dtype == torch.float16)
    with torch.autocast("cuda", dtype=dtype):
        out = model(x)
        out2 = model(x + 0.01 * torch.randn_like(x))
        labels = torch.arange(8, device="cuda") % 10
        loss, _ = clar_loss(out["z"], out2["z"], out["logits"], out2["logits"], labels)
    assert loss.dtype == torch.float32 and torch.isfinite(loss)
    scaler.scale(loss).backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


@needs_cuda
def test_losses_cuda_match_cpu():
    g = torch.Generator().manual_seed(0)
    z1, z2 = torch.randn(64, 128, generator=g), torch.randn(64, 128, generator=g)
    cpu = nt_xent(z1, z2, 0.5)
    gpu = nt_xent(z1.cuda(), z2.cuda(), 0.5)
    torch.testing.assert_close(gpu.cpu(), cpu, rtol=1e-5, atol=1e-5)
    with torch.autocast("cuda", dtype=torch.float16):
        half = nt_xent(z1.cuda().half(), z2.cuda().half(), 0.5)
    assert half.dtype == torch.float32
    torch.testing.assert_close(half.cpu(), cpu, rtol=1e-2, atol=1e-2)
    assert contrastive_accuracy(z1.cuda(), z2.cuda()).item() == contrastive_accuracy(z1, z2).item()


@needs_cuda
def test_probes_cuda_match_cpu():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(5, 64)) * 2
    y = rng.integers(0, 5, 1200)
    x = (centres[y] + rng.normal(size=(1200, 64))).astype(np.float32)
    evals = {"test": (x[1000:], y[1000:])}
    for probe in (linear_probe, knn_probe):
        a = probe(x[:1000], y[:1000], evals, device="cpu")["test"]["top1"]
        b = probe(x[:1000], y[:1000], evals, device="cuda")["test"]["top1"]
        assert abs(a - b) <= 0.01
