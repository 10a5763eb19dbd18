"""Probes on frozen features: a logistic-regression (linear) probe and a cosine k-nearest-neighbour probe.

Both train on the rows of ``train_x`` [N, D] whose ``train_y`` [N] is not -1 (unlabelled rows are ignored),
and score each evaluation set ``eval_sets = {"valid": (x, y), "test": (x, y)}``, returning
``{name: classification_metrics(...)}`` (see :func:`core.evaluate.metrics.classification_metrics`).
Rows of an evaluation set labelled -1 are left out of its metrics. Features may be numpy arrays or torch
tensors on any device; they are copied to ``device`` as float32.

Linear probe. Multinomial logistic regression ``logits = W x' + b`` on standardised features ``x'`` (mean and
standard deviation of the labelled training rows; a feature constant there is left unscaled), minimising
``mean_i CE(logits_i, y_i) + weight_decay / 2 * ||W||^2`` (the bias is not penalised). This is scikit-learn's
``LogisticRegression(C=1 / (weight_decay * n_train))`` objective. ``optimizer="lbfgs"`` (default) runs
full-batch L-BFGS with a strong-Wolfe line search for at most ``epochs`` iterations; ``"adam"`` runs
``epochs`` passes of shuffled mini-batches (``seed`` fixes the order). Parameters start at zero, so L-BFGS
is deterministic.

kNN probe. Features are L2-normalised; each evaluation row takes its ``k`` most cosine-similar training rows.
``weighted=True`` (default): class scores ``sum_j exp(s_j / temperature)`` over the neighbours of that class,
as in InstDisc (Wu et al., 2018) and SimCLR's kNN monitor. ``weighted=False``: plain majority vote, ties
broken by the larger summed similarity.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from core.device import resolve_device
from core.errors import ConfigError, TrainingError
from core.evaluate.metrics import classification_metrics

ArrayLike = Any  # numpy array or torch tensor
EvalSets = Mapping[str, tuple[ArrayLike, ArrayLike]]


def _features(x: ArrayLike, device: torch.device, what: str) -> Tensor:
    t = x.detach() if isinstance(x, Tensor) else torch.from_numpy(np.asarray(x))
    if t.dim() != 2:
        raise ValueError(f"{what}: features must be [N, D], got shape {tuple(t.shape)}")
    t = t.to(device=device, dtype=torch.float32)
    if not torch.isfinite(t).all():
        raise TrainingError(f"{what}: the embeddings contain NaN or infinite values (is the checkpoint corrupt?)")
    return t


def _labels(y: ArrayLike, n: int, device: torch.device, what: str) -> Tensor:
    t = y.detach() if isinstance(y, Tensor) else torch.from_numpy(np.asarray(y))
    t = t.reshape(-1).to(device=device, dtype=torch.long)
    if t.numel() != n:
        raise ValueError(f"{what}: {n} feature rows but {t.numel()} labels")
    if t.numel() and int(t.min()) < -1:
        raise ValueError(f"{what}: labels must be >= 0, or -1 for unlabelled")
    return t


def _prepare(
    train_x: ArrayLike, train_y: ArrayLike, eval_sets: EvalSets, device: str | torch.device, num_classes: int | None
) -> tuple[Tensor, Tensor, dict[str, tuple[Tensor, Tensor]], int, torch.device]:
    dev = resolve_device(device)
    x = _features(train_x, dev, "probe train set")
    y = _labels(train_y, x.shape[0], dev, "probe train set")
    keep = y >= 0
    x, y = x[keep], y[keep]
    if y.numel() == 0:
        raise ValueError("probe train set: no labelled rows (every label is -1)")
    evals = {}
    top = int(y.max())
    for name, (ex, ey) in eval_sets.items():
        fx = _features(ex, dev, f"probe eval set {name!r}")
        fy = _labels(ey, fx.shape[0], dev, f"probe eval set {name!r}")
        if fx.shape[1] != x.shape[1]:
            raise ValueError(f"probe eval set {name!r}: {fx.shape[1]} features, train set has {x.shape[1]}")
        lab = fy >= 0
        fx, fy = fx[lab], fy[lab]
        if fy.numel() == 0:
            raise ValueError(f"probe eval set {name!r}: no labelled rows")
        top = max(top, int(fy.max()))
        evals[name] = (fx, fy)
    c = top + 1 if num_classes is None else int(num_classes)
    if c <= top:
        raise ValueError(f"probe: num_classes={num_classes} but a label is {top}")
    return x, y, evals, c, dev


class LinearProbe(nn.Module):
    """A fitted linear probe: standardisation (``mean``, ``std`` buffers) then ``nn.Linear(D, C)``.

    ``forward(x)`` [N, D] -> logits [N, C]. Its ``state_dict`` holds only tensors (safe to save and load
    with ``weights_only=True``).
    """

    def __init__(self, num_features: int, num_classes: int) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(num_features))
        self.register_buffer("std", torch.ones(num_features))
        self.linear = nn.Linear(num_features, num_classes)
        nn.init.zeros_(self.linear.weight)
        nn.init.zeros_(self.linear.bias)

    def forward(self, x: Tensor) -> Tensor:
        return self.linear((x - self.mean) / self.std)


@dataclass
class _Fit:
    probe: LinearProbe
    loss: float


def _fit(
    x: Tensor,
    y: Tensor,
    num_classes: int,
    epochs: int,
    lr: float | None,
    weight_decay: float,
    standardize: bool,
    seed: int,
    optimizer: str,
    batch_size: int,
) -> _Fit:
    if epochs < 1:
        raise ConfigError(f"probe epochs={epochs}: must be >= 1")
    if weight_decay < 0:
        raise ConfigError(f"probe weight_decay={weight_decay}: must be >= 0")
    with torch.inference_mode(False):
        return _fit_impl(
            x.clone(), y.clone(), num_classes, epochs, lr, weight_decay, standardize, seed, optimizer, batch_size
        )


def _fit_impl(
    x: Tensor,
    y: Tensor,
    num_classes: int,
    epochs: int,
    lr: float | None,
    weight_decay: float,
    standardize: bool,
    seed: int,
    optimizer: str,
    batch_size: int,
) -> _Fit:
    """:func:`_fit` on ordinary tensors (cloned outside inference mode, so autograd can save them)."""
    probe = LinearProbe(x.shape[1], num_classes).to(x.device)
    if standardize:
        probe.mean.copy_(x.mean(dim=0))
        std = x.std(dim=0, unbiased=False)
        # A feature constant over the training rows (e.g. a dead ReLU unit) carries no information; dividing it
        # by ~0 would blow up whatever value it takes at evaluation. Leave it unscaled: its weight stays 0.
        tiny = 1e-6 * float(x.abs().max().clamp_min(1e-12))
        probe.std.copy_(torch.where(std > tiny, std, torch.ones_like(std)))
    xs = (x - probe.mean) / probe.std
    w, b = probe.linear.weight, probe.linear.bias

    def objective(xb: Tensor, yb: Tensor) -> Tensor:
        return F.cross_entropy(F.linear(xb, w, b), yb) + 0.5 * weight_decay * w.square().sum()

    with torch.enable_grad():
        if optimizer == "lbfgs":
            opt = torch.optim.LBFGS(
                [w, b],
                lr=1.0 if lr is None else lr,
                max_iter=epochs,
                history_size=20,
                tolerance_grad=1e-6,
                tolerance_change=1e-10,
                line_search_fn="strong_wolfe",
            )

            def closure() -> Tensor:
                opt.zero_grad()
                loss = objective(xs, y)
                loss.backward()
                return loss

            opt.step(closure)
        elif optimizer == "adam":
            opt = torch.optim.Adam([w, b], lr=1e-2 if lr is None else lr)
            g = torch.Generator().manual_seed(seed)
            n = xs.shape[0]
            for _ in range(epochs):
                order = torch.randperm(n, generator=g).to(xs.device)
                for i in range(0, n, batch_size):
                    idx = order[i : i + batch_size]
                    opt.zero_grad()
                    objective(xs[idx], y[idx]).backward()
                    opt.step()
        else:
            raise ConfigError(f"probe optimizer {optimizer!r}: choose 'lbfgs' or 'adam'")
    with torch.no_grad():
        loss = float(objective(xs, y))
    if not np.isfinite(loss):
        raise TrainingError(
            f"linear probe diverged (its loss is {loss}) with weight_decay={weight_decay:g}; lower lr or raise "
            "weight_decay, and check the embeddings for huge values"
        )
    probe.requires_grad_(False)
    return _Fit(probe.eval(), loss)


def fit_linear_probe(
    train_x: ArrayLike,
    train_y: ArrayLike,
    epochs: int = 100,
    lr: float | None = None,
    weight_decay: float = 1e-4,
    device: str | torch.device = "cpu",
    standardize: bool = True,
    seed: int = 0,
    *,
    num_classes: int | None = None,
    optimizer: str = "lbfgs",
    batch_size: int = 1024,
) -> LinearProbe:
    """Fit and return a :class:`LinearProbe` on the labelled rows (see the module docstring)."""
    x, y, _, c, _ = _prepare(train_x, train_y, {}, device, num_classes)
    return _fit(x, y, c, epochs, lr, weight_decay, standardize, seed, optimizer, batch_size).probe


def linear_probe(
    train_x: ArrayLike,
    train_y: ArrayLike,
    eval_sets: EvalSets,
    epochs: int = 100,
    lr: float | None = None,
    weight_decay: float = 1e-4,
    device: str | torch.device = "cpu",
    standardize: bool = True,
    seed: int = 0,
    *,
    num_classes: int | None = None,
    optimizer: str = "lbfgs",
    batch_size: int = 1024,
) -> dict[str, dict[str, Any]]:
    """Fit a logistic-regression probe on the labelled training rows and score every evaluation set.

    Args:
        train_x, train_y: features [N, D] and labels [N] (-1 = unlabelled, ignored).
        eval_sets: ``{name: (x, y)}``; each is scored with :func:`classification_metrics`.
        epochs: L-BFGS iterations (``optimizer="lbfgs"``) or passes over the data (``"adam"``).
        lr: step size; None means 1.0 for L-BFGS (with line search) and 1e-2 for Adam.
        weight_decay: L2 penalty on W, per example (scikit-learn ``C = 1 / (weight_decay * N)``).
        device: ``"cpu"``, ``"cuda"``, ``"mps"`` or ``"auto"``.
        standardize: z-score each feature with the labelled training rows' mean and std.
        seed: mini-batch order for Adam (L-BFGS is deterministic).
        num_classes: number of classes; default 1 + the largest label seen.

    Returns ``{name: metrics}``; each metrics dict also has ``train_loss`` (the final objective).
    """
    x, y, evals, c, _ = _prepare(train_x, train_y, eval_sets, device, num_classes)
    fit = _fit(x, y, c, epochs, lr, weight_decay, standardize, seed, optimizer, batch_size)
    out = {}
    with torch.no_grad():
        for name, (ex, ey) in evals.items():
            m = classification_metrics(ey, fit.probe(ex), c)
            m["train_loss"] = fit.loss
            out[name] = m
    return out


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
    ``weighted=False``: majority vote, ties broken by summed similarity. Returns ``{name: metrics}``.
    """
    x, y, evals, c, _ = _prepare(train_x, train_y, eval_sets, device, num_classes)
    out = {}
    with torch.no_grad():
        for name, (ex, ey) in evals.items():
            scores = knn_predict(x, y, ex, c, k=k, temperature=temperature, weighted=weighted, chunk_size=chunk_size)
            out[name] = classification_metrics(ey, scores, c)
    return out
