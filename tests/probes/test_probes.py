"""Linear and kNN probes: separable data, scikit-learn agreement on real digits, unlabelled rows, references."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import StandardScaler

from core.errors import TrainingError
from core.probes import fit_linear_probe, knn_predict, knn_probe, linear_probe


def separable(n: int, d: int, c: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(c, d)) * 3.0
    y = rng.integers(0, c, n)
    return (centres[y] + rng.normal(size=(n, d))).astype(np.float32), y


def test_probes_on_separable_3000x512():
    x, y = separable(3600, 512, 10, seed=0)
    train_y = y[:3000].copy()
    train_y[::3] = -1  # a third unlabelled: ignored
    evals = {"valid": (x[3000:3300], y[3000:3300]), "test": (torch.from_numpy(x[3300:]), torch.from_numpy(y[3300:]))}
    t0 = time.perf_counter()
    lin = linear_probe(x[:3000], train_y, evals)
    elapsed = time.perf_counter() - t0
    assert lin["valid"]["top1"] >= 0.99 and lin["test"]["top1"] >= 0.99
    assert np.asarray(lin["test"]["confusion_matrix"]).shape == (10, 10) and lin["test"]["clips"] == 300
    assert elapsed < 60, f"linear probe took {elapsed:.1f} s on 2000 x 512 labelled rows"
    knn = knn_probe(x[:3000], train_y, evals)
    assert knn["valid"]["top1"] >= 0.99 and knn["test"]["top1"] >= 0.99
    maj = knn_probe(x[:3000], train_y, evals, weighted=False)
    assert maj["test"]["top1"] >= 0.99


@pytest.fixture(scope="module")
def digits():
    x, y = load_digits(return_X_y=True)  # 1797 real 8x8 handwritten digits, bundled with scikit-learn
    return x[:1200].astype(np.float32), y[:1200], x[1200:].astype(np.float32), y[1200:]


def test_linear_probe_agrees_with_sklearn_logistic_regression(digits):
    xtr, ytr, xte, yte = digits
    wd = 1e-3
    probe = fit_linear_probe(xtr, ytr, max_iter=500, weight_decay=wd)
    ours = probe(torch.from_numpy(xte)).softmax(1).numpy()
    scaler = StandardScaler().fit(xtr)
    sk = LogisticRegression(C=1.0 / (wd * len(ytr)), max_iter=5000, tol=1e-8)
    sk.fit(scaler.transform(xtr), ytr)
    ref = sk.predict_proba(scaler.transform(xte))
    acc_ours, acc_sk = (ours.argmax(1) == yte).mean(), (ref.argmax(1) == yte).mean()
    assert acc_sk > 0.85
    assert abs(acc_ours - acc_sk) <= 0.02
    # Same convex objective, so the same solution: probabilities agree closely, not only the accuracy.
    assert np.abs(ours - ref).mean() < 1e-3  # measured: 5e-6
    metrics = linear_probe(xtr, ytr, {"test": (xte, yte)}, max_iter=500, weight_decay=wd)
    assert metrics["test"]["top1"] == pytest.approx(acc_ours)


def test_linear_probe_adam_reaches_lbfgs_accuracy(digits):
    xtr, ytr, xte, yte = digits
    lb = linear_probe(xtr, ytr, {"t": (xte, yte)})["t"]["top1"]
    ad = linear_probe(xtr, ytr, {"t": (xte, yte)}, optimizer="adam", epochs=60, batch_size=128, seed=3)["t"]["top1"]
    assert abs(lb - ad) <= 0.03


def test_unlabelled_rows_are_ignored(digits):
    xtr, ytr, xte, yte = digits
    noisy_x = np.concatenate([xtr[:600], np.random.default_rng(0).normal(size=(300, 64)).astype(np.float32) * 50])
    noisy_y = np.concatenate([ytr[:600], -np.ones(300, dtype=np.int64)])
    a = linear_probe(noisy_x, noisy_y, {"t": (xte, yte)}, max_iter=50)["t"]
    b = linear_probe(xtr[:600], ytr[:600], {"t": (xte, yte)}, max_iter=50)["t"]
    np.testing.assert_array_equal(a["confusion_matrix"], b["confusion_matrix"])
    ka = knn_probe(noisy_x, noisy_y, {"t": (xte, yte)})["t"]
    kb = knn_probe(xtr[:600], ytr[:600], {"t": (xte, yte)})["t"]
    np.testing.assert_array_equal(ka["confusion_matrix"], kb["confusion_matrix"])


def test_knn_majority_matches_sklearn(digits):
    xtr, ytr, xte, yte = digits
    # Two classes and an odd k: no ties, so the majority vote is unambiguous.
    tr, te = np.isin(ytr, [3, 8]), np.isin(yte, [3, 8])
    sk = KNeighborsClassifier(n_neighbors=7, metric="cosine", algorithm="brute").fit(xtr[tr], ytr[tr])
    scores = knn_predict(
        torch.from_numpy(xtr[tr]), torch.from_numpy(ytr[tr]), torch.from_numpy(xte[te]), 10, k=7, weighted=False
    )
    np.testing.assert_array_equal(scores.argmax(1).numpy(), sk.predict(xte[te]))


def test_knn_weighted_matches_explicit_vote():
    rng = np.random.default_rng(5)
    xtr, ytr = rng.normal(size=(40, 6)), rng.integers(0, 4, 40)
    xq = rng.normal(size=(9, 6))
    k, t = 5, 0.2
    expected = np.zeros((9, 4))
    for q in range(9):
        sims = [float(xq[q] @ xtr[j] / np.linalg.norm(xq[q]) / np.linalg.norm(xtr[j])) for j in range(len(xtr))]
        for j in sorted(range(len(xtr)), key=lambda j: -sims[j])[:k]:
            expected[q, ytr[j]] += np.exp(sims[j] / t)
    got = knn_predict(torch.tensor(xtr), torch.tensor(ytr), torch.tensor(xq), 4, k=k, temperature=t, chunk_size=4)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-6)


def test_probe_inside_inference_mode(digits):
    xtr, ytr, xte, yte = digits
    with torch.inference_mode():
        x = torch.from_numpy(xtr) * 1.0
        out = linear_probe(x, ytr, {"t": (xte, yte)}, max_iter=20)
    assert out["t"]["top1"] > 0.8


def test_bad_input():
    x, y = separable(50, 4, 3, seed=1)
    with pytest.raises(ValueError, match="no labelled rows"):
        linear_probe(x, -np.ones(50, dtype=np.int64), {})
    with pytest.raises(ValueError, match="labels"):
        knn_probe(x, y[:10], {})
    with pytest.raises(ValueError, match="features"):
        linear_probe(x, y, {"valid": (x[:, :2], y)})
    with pytest.raises(TrainingError, match="NaN"):  # a typed error the CLI prints as one line
        linear_probe(np.full_like(x, np.nan), y, {})


def test_constant_training_feature_does_not_blow_up_at_evaluation(digits):
    xtr, ytr, xte, yte = digits
    # A (nearly) dead unit in training: it varies by ~1e-8 only.
    dead = 1e-8 * np.random.default_rng(0).normal(size=(len(xtr), 1)).astype(np.float32)
    xtr = np.concatenate([xtr, dead], axis=1)
    zero = np.concatenate([xte, np.zeros((len(xte), 1), np.float32)], axis=1)
    live = np.concatenate([xte, np.full((len(xte), 1), 0.3, np.float32)], axis=1)  # it fires at evaluation
    a = linear_probe(xtr, ytr, {"t": (zero, yte)}, max_iter=50)["t"]
    b = linear_probe(xtr, ytr, {"t": (live, yte)}, max_iter=50)["t"]
    np.testing.assert_array_equal(a["confusion_matrix"], b["confusion_matrix"])
    assert a["top1"] > 0.85
