"""The logistic-regression probe against scikit-learn, its selection on validation and its probe.pt file format."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression

from core.errors import CheckpointError, ConfigError
from core.probes import LinearProbe, select_linear_probe


def _blobs(n_per_class: int, dim: int, classes: int, spread: float, seed: int):
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 1, (classes, dim))
    y = np.repeat(np.arange(classes), n_per_class)
    x = centres[y] + spread * rng.normal(0, 1, (len(y), dim))
    return (x * rng.uniform(0.5, 3, dim) + rng.normal(0, 2, dim)).astype(np.float32), y


@pytest.mark.parametrize("wd", [1e-3, 1e-1])
def test_matches_sklearn_logistic_regression(wd):
    x, y = _blobs(40, 12, 4, spread=1.5, seed=1)
    head, sel = select_linear_probe(x, y, list("abcd"), weight_decays=[wd], max_iter=500)
    assert sel["weight_decay"] == wd and sel["selected_on"].startswith("none")
    # Same objective: mean CE + wd/2 ||W||^2 on standardised features == sklearn C = 1 / (n * wd).
    z = (x - x.mean(0)) / x.std(0)
    ref = LogisticRegression(C=1.0 / (len(y) * wd), tol=1e-10, max_iter=5000).fit(z, y)
    ours = head.predict_proba(x).numpy()
    np.testing.assert_allclose(ours, ref.predict_proba(z), atol=2e-3)


def test_selection_uses_validation_and_ignores_unlabelled():
    x, y = _blobs(60, 8, 3, spread=2.0, seed=2)
    vx, vy = _blobs(30, 8, 3, spread=2.0, seed=2)
    y = y.copy()
    y[::2] = -1  # unlabelled rows are ignored
    head, sel = select_linear_probe(x, y, ["a", "b", "c"], vx, vy, weight_decays=[1e-4, 1e-2, 10.0])
    assert sel["train_clips"] == int((y >= 0).sum())
    assert sel["selected_on"] == "valid" and len(sel["candidates"]) == 3
    best = max(sel["candidates"], key=lambda c: (c["valid_top1"], -c["valid_ce"]))
    assert sel["weight_decay"] == best["weight_decay"]
    # The selected head's validation accuracy is the reported one.
    acc = float((head.logits(vx).argmax(1).numpy() == vy).mean())
    assert acc == pytest.approx(best["valid_top1"])


def test_save_load_roundtrip_and_errors(tmp_path):
    x, y = _blobs(10, 5, 2, spread=0.5, seed=3)
    head, _ = select_linear_probe(x, y, ["yes", "no"], weight_decays=[1e-2])
    head.meta["checkpoint_file"] = "best.pt"
    path = head.save(tmp_path / "probe.pt")
    back = LinearProbe.load(path)
    assert back.class_names == ["yes", "no"] and back.meta["checkpoint_file"] == "best.pt"
    torch.testing.assert_close(back.predict_proba(x), head.predict_proba(x))
    (tmp_path / "bad.pt").write_bytes(path.read_bytes()[:100])
    with pytest.raises(CheckpointError, match=r"bad\.pt"):
        LinearProbe.load(tmp_path / "bad.pt")
    with pytest.raises(CheckpointError, match="not found"):
        LinearProbe.load(tmp_path / "missing.pt")
    with pytest.raises(ConfigError, match="no labelled"):
        select_linear_probe(x, np.full(len(y), -1), ["yes", "no"])
    with pytest.raises(ConfigError, match=r"\[N, 5\]"):
        head.logits(np.zeros((2, 4)))
