"""Data issues from embeddings, against references: neighbours and silhouette against scikit-learn, a planted
duplicate across splits and a planted wrong label found, an isolated point ranked the first outlier."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import silhouette_score
from sklearn.neighbors import NearestNeighbors

from core.errors import ConfigError
from core.probes.data_issues import near_duplicates, nearest, outliers, separation, suspected_label_errors


def _clusters(n_per: int = 30, classes: int = 4, dim: int = 16, spread: float = 0.15, seed: int = 0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(classes, dim))
    emb = np.concatenate([c + spread * rng.normal(size=(n_per, dim)) for c in centres])
    labels = np.repeat(np.arange(classes), n_per)
    return emb, labels


def test_nearest_matches_scikit_learn_cosine_neighbours():
    emb, _ = _clusters()
    idx, sim = nearest(emb, 5)
    ref = NearestNeighbors(n_neighbors=6, metric="cosine", algorithm="brute").fit(emb)
    dist, ref_idx = ref.kneighbors(emb)
    assert (idx == ref_idx[:, 1:]).all()  # scikit-learn lists each point itself first
    assert np.allclose(sim, 1 - dist[:, 1:], atol=1e-9)


def test_a_planted_wrong_label_is_the_suspect_with_its_true_class():
    emb, labels = _clusters()
    noisy = labels.copy()
    noisy[7] = 2  # clip 7 sits in class 0's cluster
    found = suspected_label_errors(emb, noisy, k=10)
    assert [(s.index, s.label, s.neighbour_label) for s in found] == [(7, 2, 0)]
    assert found[0].agreement == 1.0
    assert suspected_label_errors(emb, labels, k=10) == []


def test_a_planted_duplicate_across_splits_comes_first():
    emb, _ = _clusters()
    splits = np.array(["train"] * len(emb), dtype=object)
    splits[100:] = "test"
    emb = emb.copy()
    emb[105] = emb[3] * 1.7 + 1e-6  # the same recording, louder: a train/test leak
    emb[20] = emb[21] + 1e-6  # a duplicate inside train
    pairs = near_duplicates(emb, threshold=0.999, splits=splits)
    assert [(p.a, p.b, p.cross_split) for p in pairs] == [(3, 105, True), (20, 21, False)]
    assert pairs[0].similarity == pytest.approx(1.0, abs=1e-9)


def test_an_isolated_clip_is_the_first_outlier():
    emb, _ = _clusters()
    emb = np.vstack([emb, 10 * np.random.default_rng(1).normal(size=(1, emb.shape[1]))])
    top = outliers(emb, k=5, top=3)
    assert top[0].index == len(emb) - 1 and top[0].z > 3
    assert top[0].distance > top[1].distance >= top[2].distance


def test_separation_matches_scikit_learn_and_brute_force():
    emb, labels = _clusters(spread=0.8)
    got = separation(emb, labels, k=7)
    assert got["silhouette"] == pytest.approx(silhouette_score(emb, labels, metric="cosine"), abs=1e-9)
    ref = NearestNeighbors(n_neighbors=8, metric="cosine", algorithm="brute").fit(emb)
    nbrs = ref.kneighbors(emb, return_distance=False)[:, 1:]
    loo = np.mean([np.bincount(labels[n]).argmax() == y for n, y in zip(nbrs, labels, strict=True)])
    assert got["knn_loo_accuracy"] == pytest.approx(loo)
    assert separation(emb, np.zeros(len(emb), dtype=int))["silhouette"] is None  # one class


def test_bad_input_is_a_one_line_config_error():
    emb, labels = _clusters()
    with pytest.raises(ConfigError, match="N >= 2"):
        nearest(emb[:1], 3)
    with pytest.raises(ConfigError, match="labels"):
        suspected_label_errors(emb, labels[:5])
    bad = emb.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ConfigError, match="NaN"):
        outliers(bad)
    with pytest.raises(ConfigError, match="threshold"):
        near_duplicates(emb, threshold=2)


def test_neighbours_of_one_query_match_scikit_learn_and_leave_out_its_own_row():
    from sklearn.neighbors import NearestNeighbors

    from core.probes.data_issues import neighbours_of

    x = np.random.default_rng(7).normal(size=(50, 12))
    idx, sim = neighbours_of(x, x[3], k=5, exclude=3)
    ref = NearestNeighbors(n_neighbors=6, metric="cosine").fit(x).kneighbors(x[3:4], return_distance=True)
    assert 3 not in idx
    assert list(idx) == [int(i) for i in ref[1][0] if i != 3][:5]
    assert np.allclose(sim, 1 - ref[0][0][1:6])
    assert len(neighbours_of(x[:4], x[0], k=10, exclude=0)[0]) == 3


def test_precomputed_neighbours_give_the_same_rankings():
    emb, labels = _clusters()
    labels = labels.copy()
    labels[3] = 2  # a planted wrong label, so that there is a suspect to rank
    near = nearest(emb, 7)
    assert suspected_label_errors(emb, labels, 7, neighbours=near) == suspected_label_errors(emb, labels, 7)
    assert outliers(emb, 7, top=5, neighbours=near) == outliers(emb, 7, top=5)
    assert suspected_label_errors(emb, labels, 7) != []
