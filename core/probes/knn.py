"""The cosine k-nearest-neighbour probe on frozen features.

Features are L2-normalised; each evaluation row takes its ``k`` most cosine-similar labelled training rows.
``weighted=True`` (default): class scores ``sum_j exp(s_j / temperature)`` over the neighbours of that class, as in
InstDisc (Wu et al., 2018) and SimCLR's kNN monitor. ``weighted=False``: plain majority vote, ties broken by the
larger summed similarity.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from core.errors import ConfigError
from core.probes.inputs import ArrayLike, EvalSets, prepare
from core.probes.metrics import classification_report


def knn_predict(
    train_x: Tensor,
    train_y: Tensor,
    query_x: Tensor,
    num_classes: int,
    k: int = 20,
    temperature: float = 0.07,
    weighted: bool = True,
    chunk_size: int = 1024,
) -> Tensor:
    """Class scores [Q, C] for ``query_x`` [Q, D] from the ``k`` nearest (cosine) rows of ``train_x`` [N, D]."""
    if k < 1:
        raise ConfigError(f"knn k={k}: must be >= 1")
    if weighted and not temperature > 0:
        raise ConfigError(f"knn temperature={temperature}: must be > 0")
    k = min(k, train_x.shape[0])
    bank = F.normalize(train_x, dim=1)
    scores = []
    for i in range(0, query_x.shape[0], chunk_size):
        q = F.normalize(query_x[i : i + chunk_size], dim=1)
        sim, idx = (q @ bank.T).topk(k, dim=1)  # [q, k]
        onehot = F.one_hot(train_y[idx], num_classes).to(sim.dtype)  # [q, k, C]
        if weighted:
            votes = (torch.exp(sim / temperature).unsqueeze(-1) * onehot).sum(1)
        else:
            # Counts dominate; the summed similarity (|.| <= k < k + 1) only breaks ties.
            votes = onehot.sum(1) * (2 * k + 2) + (sim.unsqueeze(-1) * onehot).sum(1)
        scores.append(votes)
    return torch.cat(scores) if scores else query_x.new_zeros(0, num_classes)


def knn_probe(
    train_x: ArrayLike,
    train_y: ArrayLike,
    eval_sets: EvalSets,
    k: int = 20,
    temperature: float = 0.07,
    weighted: bool = True,
    device: str | torch.device = "cpu",
    *,
    num_classes: int | None = None,
    chunk_size: int = 1024,
) -> dict[str, dict[str, Any]]:
    """Score every evaluation set with a cosine kNN classifier over the labelled training rows.

    ``weighted=True``: votes ``exp(cos / temperature)`` (InstDisc / SimCLR kNN monitor, k = 20, T = 0.07);
    ``weighted=False``: majority vote, ties broken by summed similarity. Returns ``{name: report}``
    (:func:`core.probes.metrics.classification_report`).
    """
    x, y, evals, c, _ = prepare(train_x, train_y, eval_sets, device, num_classes)
    out = {}
    with torch.no_grad():
        for name, (ex, ey) in evals.items():
            scores = knn_predict(x, y, ex, c, k=k, temperature=temperature, weighted=weighted, chunk_size=chunk_size)
            out[name] = classification_report(ey, scores, c)
    return out
