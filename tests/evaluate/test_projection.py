"""Embedding maps: PCA against scikit-learn, UMAP on a known signal (separated clusters stay apart, a new point
lands in its own cluster), the cache (a hit gives the same map, changed embeddings or settings miss, a corrupt
file is rebuilt with a note), the signed reducer (an edited or foreign file is refused) and few clips."""

from __future__ import annotations

import numpy as np
import pytest

from core.errors import ConfigError
from core.evaluate.projection import MapParams, _paths, embedding_map


def clusters(n_per: int = 20, d: int = 32, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Three tight clusters on distant random centres: (points [3n, d], labels, centres)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(3, d)) * 5
    labels = np.repeat(np.arange(3), n_per)
    return (centres[labels] + rng.normal(scale=0.3, size=(3 * n_per, d))).astype(np.float32), labels, centres


def test_pca_matches_scikit_learn_up_to_each_axis_sign():
    from sklearn.decomposition import PCA

    x = np.random.default_rng(1).normal(size=(80, 16)).astype(np.float32) @ np.diag(np.arange(1, 17)).astype(np.float32)
    ours = embedding_map(x, MapParams("pca", dims=3), use_cache=False)
    ref = PCA(n_components=3).fit(x.astype(np.float64))
    theirs = ref.transform(x.astype(np.float64))
    for k in range(3):
        sign = np.sign(np.dot(ours.coords[:, k], theirs[:, k]))
        assert np.allclose(ours.coords[:, k], sign * theirs[:, k], atol=1e-3)
    assert np.allclose(ours.explained, ref.explained_variance_ratio_, atol=1e-6)
    assert np.allclose(ours.place(x[:5]), ours.coords[:5], atol=1e-4)  # placing a row gives its own point


def test_umap_keeps_separated_clusters_apart_and_places_a_new_point_in_its_cluster():
    x, y, centres = clusters()
    m = embedding_map(x, MapParams(n_neighbors=10), use_cache=False)
    assert m.coords.shape == (60, 2)
    mapped_centres = np.stack([m.coords[y == c].mean(axis=0) for c in range(3)])
    nearest = np.linalg.norm(m.coords[:, None] - mapped_centres[None], axis=2).argmin(axis=1)
    assert (nearest == y).all()
    new = (centres[2] + np.random.default_rng(5).normal(scale=0.3, size=centres.shape[1])).astype(np.float32)
    placed = m.place(new)[0]
    assert np.linalg.norm(mapped_centres - placed, axis=1).argmin() == 2


def test_a_cache_hit_gives_the_same_map_and_changed_embeddings_or_settings_miss():
    x, _, centres = clusters(seed=2)
    first = embedding_map(x, MapParams(n_neighbors=8))
    assert not first.from_cache
    again = embedding_map(x.copy(), MapParams(n_neighbors=8))
    assert again.from_cache and again.key == first.key
    assert np.array_equal(again.coords, first.coords)
    assert np.allclose(again.place(centres[0].astype(np.float32)), first.place(centres[0].astype(np.float32)))
    changed = x.copy()
    changed[0, 0] += 1e-3
    assert not embedding_map(changed, MapParams(n_neighbors=8)).from_cache
    assert not embedding_map(x, MapParams(n_neighbors=8, min_dist=0.3)).from_cache
    assert not embedding_map(x, MapParams(n_neighbors=8, dims=3)).from_cache


def test_a_corrupt_or_deleted_map_is_rebuilt_with_a_note():
    x, _, _ = clusters(seed=3)
    first = embedding_map(x, MapParams("pca"))
    npz, _ = _paths(first.key)
    npz.write_bytes(b"not a zip file")
    rebuilt = embedding_map(x, MapParams("pca"))
    assert not rebuilt.from_cache and "could not be used" in rebuilt.note and npz.name in rebuilt.note
    assert np.allclose(rebuilt.coords, first.coords)
    npz.unlink()
    again = embedding_map(x, MapParams("pca"))
    assert not again.from_cache and again.note == ""
    assert embedding_map(x, MapParams("pca")).from_cache


def test_an_edited_or_foreign_reducer_file_is_refused_not_unpickled(tmp_path):
    x, _, centres = clusters(seed=4)
    embedding_map(x, MapParams(n_neighbors=8))
    m = embedding_map(x, MapParams(n_neighbors=8))
    assert m.from_cache
    _, pkl = _paths(m.key)
    marker = tmp_path / "ran"
    import pickle

    class Evil:
        def __reduce__(self):
            return (marker.write_text, ("pwned",))

    pkl.write_bytes(pickle.dumps(Evil()))
    with pytest.raises(ConfigError, match="signature does not match"):
        m.place(centres[0].astype(np.float32))
    assert not marker.exists()


def test_few_clips_lower_n_neighbors_with_a_note_and_too_few_are_refused():
    x, _, _ = clusters(n_per=2, seed=6)  # 6 clips
    m = embedding_map(x, MapParams(n_neighbors=15), use_cache=False)
    assert m.params.n_neighbors == 5 and "n_neighbors 15" in m.note and "5 used" in m.note
    assert embedding_map(x[:3], MapParams(n_neighbors=15), use_cache=False).coords.shape == (3, 2)
    with pytest.raises(ConfigError, match="at least 3 clips"):
        embedding_map(x[:2], MapParams())
    with pytest.raises(ConfigError, match="at least 2 clips"):
        embedding_map(x[:1], MapParams("pca"))
    with pytest.raises(ConfigError, match="metric"):
        embedding_map(x, MapParams(metric="hamming-ish"))
    bad = x.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ConfigError, match="finite"):
        embedding_map(bad, MapParams("pca"))
