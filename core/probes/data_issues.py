"""Data issues seen through a model's embeddings: suspected label errors, near-duplicates, outliers, separation.

Pure maths on an embedding matrix [N, D] (cosine geometry: the rows are L2-normalised first) and its labels; it
knows nothing of files, models or training. What each ranks:

* :func:`suspected_label_errors`: clips whose ``k`` nearest neighbours mostly carry another label, with that
  majority label (a mislabelled clip sits among the clips of its true class);
* :func:`near_duplicates`: pairs of clips whose embeddings' cosine similarity is at least ``threshold``, flagged
  when the two sit in different splits (ESC-50 cuts several clips from one recording: a pair across train and test
  is a leak);
* :func:`outliers`: clips far from all their neighbours (mean cosine distance to the ``k`` nearest, as a z-score);
* :func:`separation`: leave-one-out kNN accuracy and the silhouette score (cosine) of the labelled clips.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from core.errors import ConfigError

CHUNK_ROWS = 1024
"""Rows of the similarity matrix computed at once (N x 1024 floats), so that memory stays linear in N."""


def _unit(emb: np.ndarray) -> np.ndarray:
    x = np.asarray(emb, dtype=np.float64)
    if x.ndim != 2 or len(x) < 2:
        raise ConfigError(f"embeddings must be [N, D] with N >= 2, got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ConfigError("embeddings hold NaN or infinite values")
    norm = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norm > 0, norm, 1.0)


def _k(k: int, n: int) -> int:
    if k < 1:
        raise ConfigError(f"k = {k}: must be at least 1")
    return min(int(k), n - 1)


def nearest(emb: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` nearest other rows of each row by cosine similarity: (indices [N, k], similarities [N, k]).

    Ties are broken by the lower index; a row is never its own neighbour. ``k`` is capped at N - 1.
    """
    x = _unit(emb)
    n = len(x)
    k = _k(k, n)
    idx = np.empty((n, k), dtype=np.int64)
    sim = np.empty((n, k), dtype=np.float64)
    for a in range(0, n, CHUNK_ROWS):
        s = x[a : a + CHUNK_ROWS] @ x.T
        s[np.arange(len(s)), np.arange(a, a + len(s))] = -np.inf
        order = np.argsort(-s, axis=1, kind="stable")[:, :k]
        idx[a : a + len(s)] = order
        sim[a : a + len(s)] = np.take_along_axis(s, order, axis=1)
    return idx, sim


def neighbours_of(
    emb: np.ndarray, query: np.ndarray, k: int, exclude: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` rows of ``emb`` nearest to one ``query`` vector [D] by cosine similarity: (indices, similarities).

    ``exclude``: a row left out (the query's own row). Ties go to the lower index; ``k`` is capped at the rows left.
    """
    x = _unit(emb) if len(emb) >= 2 else np.asarray(emb, dtype=np.float64)
    q = np.asarray(query, dtype=np.float64).ravel()
    if q.shape != (x.shape[1],) or not np.isfinite(q).all():
        raise ConfigError(f"the query must be a finite vector of {x.shape[1]} values, got shape {q.shape}")
    sim = x @ (q / (np.linalg.norm(q) or 1.0))
    if exclude is not None:
        sim[exclude] = -np.inf
    k = max(0, min(int(k), len(sim) - (exclude is not None)))
    order = np.argsort(-sim, kind="stable")[:k]
    return order, sim[order]


@dataclass(frozen=True)
class LabelSuspect:
    """A clip whose neighbours mostly disagree with its label.

    Attributes:
        index: the clip's row.
        label: its label.
        neighbour_label: the majority label among its ``k`` nearest neighbours.
        agreement: the fraction of those neighbours carrying ``neighbour_label``.
    """

    index: int
    label: int
    neighbour_label: int
    agreement: float


def suspected_label_errors(
    emb: np.ndarray,
    labels: Sequence[int],
    k: int = 10,
    min_agreement: float = 0.6,
    neighbours: tuple[np.ndarray, np.ndarray] | None = None,
) -> list[LabelSuspect]:
    """Clips whose ``k`` nearest neighbours carry another label, in at least ``min_agreement`` of them.

    Most suspect first (highest agreement, then lowest index). ``neighbours``: ``nearest(emb, k)`` where the caller
    has it already (the outliers use the same).
    """
    y = np.asarray(labels, dtype=np.int64)
    if y.shape != (len(emb),):
        raise ConfigError(f"{len(emb)} embeddings but {y.size} labels")
    idx, _ = nearest(emb, k) if neighbours is None else neighbours
    out = []
    for i, row in enumerate(y[idx]):
        values, counts = np.unique(row, return_counts=True)
        best = int(np.argmax(counts))  # np.unique sorts, so a tie goes to the lower label
        frac = counts[best] / len(row)
        if values[best] != y[i] and frac >= min_agreement:
            out.append(LabelSuspect(i, int(y[i]), int(values[best]), float(frac)))
    return sorted(out, key=lambda s: (-s.agreement, s.index))


@dataclass(frozen=True)
class DuplicatePair:
    """Two clips with nearly the same embedding.

    Attributes:
        a, b: their rows (a < b).
        similarity: the cosine similarity of their embeddings.
        cross_split: whether they sit in different splits (a leak when one is a test clip).
    """

    a: int
    b: int
    similarity: float
    cross_split: bool


def near_duplicates(
    emb: np.ndarray, threshold: float = 0.98, splits: Sequence[str] | None = None, limit: int = 1000
) -> list[DuplicatePair]:
    """Pairs with cosine similarity at least ``threshold``: pairs across splits first, then the most similar.

    At most ``limit`` pairs are returned (the ranking is over all pairs).
    """
    if not -1.0 <= threshold <= 1.0:
        raise ConfigError(f"threshold {threshold}: must be a cosine similarity in [-1, 1]")
    x = _unit(emb)
    s_arr = None if splits is None else np.asarray(splits).astype(str)
    if s_arr is not None and s_arr.shape != (len(x),):
        raise ConfigError(f"{len(x)} embeddings but {s_arr.size} split names")
    pairs = []
    for a in range(0, len(x), CHUNK_ROWS):
        s = x[a : a + CHUNK_ROWS] @ x.T
        rows, cols = np.nonzero(s >= threshold)
        rows = rows + a
        keep = cols > rows
        for i, j in zip(rows[keep], cols[keep], strict=True):
            cross = bool(s_arr is not None and s_arr[i] != s_arr[j])
            pairs.append(DuplicatePair(int(i), int(j), float(s[i - a, j]), cross))
    pairs.sort(key=lambda p: (not p.cross_split, -p.similarity, p.a, p.b))
    return pairs[:limit]


@dataclass(frozen=True)
class Outlier:
    """A clip far from its neighbours.

    Attributes:
        index: the clip's row.
        distance: its mean cosine distance (1 - similarity) to its ``k`` nearest neighbours.
        z: how many standard deviations that is above the mean over all clips.
    """

    index: int
    distance: float
    z: float


def outliers(
    emb: np.ndarray, k: int = 10, top: int = 20, neighbours: tuple[np.ndarray, np.ndarray] | None = None
) -> list[Outlier]:
    """The ``top`` clips with the largest mean cosine distance to their ``k`` nearest neighbours, farthest first.

    ``neighbours``: ``nearest(emb, k)`` where the caller has it already.
    """
    _, sim = nearest(emb, k) if neighbours is None else neighbours
    dist = 1.0 - sim.mean(axis=1)
    sd = dist.std()
    z = (dist - dist.mean()) / (sd if sd > 0 else 1.0)
    order = np.argsort(-dist, kind="stable")[: max(0, int(top))]
    return [Outlier(int(i), float(dist[i]), float(z[i])) for i in order]


SILHOUETTE_CLIPS = 4000
"""The silhouette is computed on a seeded sample of at most this many clips (its cost is quadratic)."""


def separation(emb: np.ndarray, labels: Sequence[int], k: int = 10, seed: int = 0) -> dict[str, float | None]:
    """How well the labels separate in the embedding space.

    Returns ``knn_loo_accuracy`` (each clip classified by the majority of its ``k`` nearest other clips, ties to the
    lower label) and ``silhouette`` (mean over clips of (b - a) / max(a, b) with cosine distances: a to the clip's
    own class, b to the nearest other class; None with fewer than two classes or a class of one clip; on a
    ``seed``-ed sample of :data:`SILHOUETTE_CLIPS` clips when there are more).
    """
    y = np.asarray(labels, dtype=np.int64)
    if y.shape != (len(emb),):
        raise ConfigError(f"{len(emb)} embeddings but {y.size} labels")
    idx, _ = nearest(emb, k)
    votes = y[idx]
    pred = np.array([np.bincount(v).argmax() for v in votes])
    x, ys = _unit(emb), y
    if len(y) > SILHOUETTE_CLIPS:
        keep = np.sort(np.random.default_rng(seed).choice(len(y), SILHOUETTE_CLIPS, replace=False))
        x, ys = x[keep], y[keep]
    return {"knn_loo_accuracy": float((pred == y).mean()), "silhouette": _silhouette(x, ys)}


def _silhouette(x: np.ndarray, y: np.ndarray) -> float | None:
    classes, counts = np.unique(y, return_counts=True)
    sil = None
    if len(classes) >= 2 and counts.min() >= 2:
        dist = 1.0 - x @ x.T
        mean_to = np.stack([dist[:, y == c].sum(axis=1) for c in classes], axis=1)  # [N, C]
        own = np.searchsorted(classes, y)
        size = counts[None, :].astype(np.float64).repeat(len(y), axis=0)
        size[np.arange(len(y)), own] -= 1  # a clip's own distance (0) is not a neighbour
        mean_to = mean_to / size
        a = mean_to[np.arange(len(y)), own]
        mean_to[np.arange(len(y)), own] = np.inf
        b = mean_to.min(axis=1)
        top = np.maximum(a, b)
        sil = float(np.mean(np.where(top > 0, (b - a) / np.where(top > 0, top, 1.0), 0.0)))
    return sil
