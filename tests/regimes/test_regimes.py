"""Regimes as modules: the registry finds them, each owns its head, views, clips and loss, and a new regime is
one new file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import core.regimes as regimes_pkg
from core.config import LossConfig, TrainConfig
from core.losses import clar_loss, masked_cross_entropy, nt_xent
from core.regimes import build_model, get_regime, regime_names
from core.regimes.registry import regimes


def kinds(m: nn.Module) -> list[str]:
    return [f"L{x.in_features}>{x.out_features}" for x in m.modules() if isinstance(x, nn.Linear)]


def test_registry_lists_the_three_in_order():
    assert regime_names()[:3] == ("supervised", "simclr", "clar")
    r = {n: get_regime(n) for n in ("supervised", "simclr", "clar")}
    assert (r["supervised"].views, r["simclr"].views, r["clar"].views) == (1, 2, 2)
    assert (r["supervised"].trains_on, r["simclr"].trains_on, r["clar"].trains_on) == ("labelled", "all", "all")
    assert [r[n].has_classifier for n in ("supervised", "simclr", "clar")] == [True, False, True]
    assert r["simclr"].default_monitor == "valid/linear_acc" and r["clar"].default_monitor == "valid/head_acc"
    labels = np.array([0, -1, 2, -1])
    np.testing.assert_array_equal(r["supervised"].train_indices(labels), [0, 2])
    np.testing.assert_array_equal(r["clar"].train_indices(labels), [0, 1, 2, 3])
    with pytest.raises(Exception, match="unknown"):
        get_regime("byol")


def test_simclr_and_clar_share_the_projection_depth_by_default():
    simclr = build_model("simclr", "small_cnn_2d", None)
    clar = build_model("clar", "small_cnn_2d", 10)
    assert kinds(simclr.head) == kinds(clar.head.proj) == ["L512>512", "L512>512", "L512>128"]
    authors = build_model("clar", "small_cnn_2d", 10, proj_layers=2)
    assert kinds(authors.head.proj) == ["L512>512", "L512>128"]  # the authors' code
    assert TrainConfig().model.proj_layers == 3


def test_each_regime_loss_is_the_pure_loss():
    torch.manual_seed(0)
    settings = LossConfig(temperature=0.3, w_c=0.7, w_s=1.3)
    z = torch.randn(8, 16)
    logits = torch.randn(8, 5)
    labels = torch.tensor([0, 1, -1, 3])
    loss, parts = get_regime("simclr").loss({"z": z}, labels, settings)
    torch.testing.assert_close(loss, nt_xent(z[:4], z[4:], temperature=0.3))
    loss, parts = get_regime("clar").loss({"z": z, "logits": logits}, labels, settings)
    ref, _ = clar_loss(z[:4], z[4:], logits[:4], logits[4:], labels, temperature=0.3, w_c=0.7, w_s=1.3)
    torch.testing.assert_close(loss, ref)
    assert set(parts) >= {"loss", "contrastive_acc", "nt_xent", "ce"}
    loss, _ = get_regime("supervised").loss({"logits": logits[:4]}, labels, settings)
    torch.testing.assert_close(loss, masked_cross_entropy(logits[:4], labels)[0])


NEW_REGIME = '''
"""A test regime: a projection trained with a plain MSE between the two views (not a real method)."""

from core.models.heads import ProjectionHead
from core.regimes.base import Regime, split_views


class Toy(Regime):
    name = "toy"
    views = 2
    default_monitor = "valid/knn_acc"

    def build_head(self, embed_dim, num_classes, *, hidden_dim, proj_dim, proj_layers):
        return ProjectionHead(embed_dim, hidden_dim, proj_dim, num_layers=proj_layers)

    def outputs(self, head, h):
        return {"z": head(h)}

    def loss(self, out, labels, settings, distributed=False):
        v1, v2 = split_views(out, 2)
        loss = (v1["z"] - v2["z"]).pow(2).mean()
        return loss, {"loss": float(loss.detach())}


REGIME = Toy()
'''


def test_a_new_regime_is_one_new_file(tmp_path: Path, monkeypatch):
    (tmp_path / "toy.py").write_text(NEW_REGIME)
    monkeypatch.setattr(regimes_pkg, "__path__", [*regimes_pkg.__path__, str(tmp_path)])
    regimes.cache_clear()
    try:
        assert "toy" in regime_names()
        cfg = TrainConfig().with_overrides(["model.regime=toy", "model.encoder=small_cnn_1d", "eval.knn=true"])
        assert cfg.monitor == "valid/knn_acc"
        model = build_model("toy", "small_cnn_1d", None)
        out = model(torch.randn(4, 4000))
        loss, _ = model.impl.loss(out, torch.zeros(2, dtype=torch.long), cfg.loss)
        assert out["z"].shape == (4, 128) and torch.isfinite(loss)
    finally:
        regimes.cache_clear()
