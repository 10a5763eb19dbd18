"""The linear (logistic-regression) probe on frozen features: fitting, selection on validation, and the fitted probe.

Multinomial logistic regression ``logits = W x' + b`` on standardised features ``x'`` (mean and standard deviation
of the labelled training rows; a feature constant there is left unscaled), minimising
``mean_i CE(logits_i, y_i) + weight_decay / 2 * ||W||^2`` (the bias is not penalised). This is scikit-learn's
``LogisticRegression(C=1 / (weight_decay * n_train))`` objective. ``optimizer="lbfgs"`` (default) runs full-batch
L-BFGS with a strong-Wolfe line search for at most ``max_iter`` iterations; ``"adam"`` runs ``epochs`` passes of
shuffled mini-batches (``seed`` fixes the order). Parameters start at zero, so L-BFGS is deterministic.

:class:`LinearProbe` is the one fitted-probe type: the online probes during training, the offline ``eval``, the
``probe.pt`` saved beside a SimCLR checkpoint and classification all use it. Its file holds only tensors and plain
values, read back with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from core.errors import CheckpointError, ConfigError, TrainingError
from core.probes.inputs import ArrayLike, EvalSets, prepare
from core.probes.metrics import classification_report

PROBE_FORMAT_VERSION = 1
DEFAULT_WEIGHT_DECAYS = (1e-5, 1e-4, 1e-3, 1e-2, 1e-1)
"""Grid of L2 penalties (per-sample objective, see the module docstring) searched on validation."""


class LinearProbe(nn.Module):
    """A fitted linear probe: standardisation (``mean``, ``std`` buffers [D]) then ``nn.Linear(D, C)``.

    Attributes:
        class_names: the C class names, indexed like the logits.
        meta: JSON-able provenance (checkpoint, epoch, dataset, label fraction, selection, ...).
    """

    def __init__(
        self, num_features: int, num_classes: int, class_names: Sequence[str] | None = None, meta: dict | None = None
    ) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(num_features))
        self.register_buffer("std", torch.ones(num_features))
        self.linear = nn.Linear(num_features, num_classes)
        nn.init.zeros_(self.linear.weight)
        nn.init.zeros_(self.linear.bias)
        self.class_names = (
            [str(c) for c in class_names] if class_names is not None else [str(i) for i in range(num_classes)]
        )
        if len(self.class_names) != num_classes:
            raise ConfigError(f"linear probe: {num_classes} classes but {len(self.class_names)} class names")
        self.meta: dict = dict(meta or {})

    @property
    def dim(self) -> int:
        """The feature size D."""
        return int(self.linear.in_features)

    def forward(self, x: Tensor) -> Tensor:
        """Logits [N, C] of features ``x`` [N, D]."""
        return self.linear((x - self.mean) / self.std)

    def logits(self, x: Tensor | np.ndarray) -> Tensor:
        """Logits [N, C] for features ``x`` [N, D] (numpy or a tensor on any device; computed where ``x`` is)."""
        x = torch.as_tensor(x, dtype=torch.float32)
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise ConfigError(f"linear probe: expected features of shape [N, {self.dim}], got {tuple(x.shape)}")
        dev = x.device
        with torch.no_grad():
            z = (x - self.mean.to(dev)) / self.std.to(dev)
            return F.linear(z, self.linear.weight.to(dev), self.linear.bias.to(dev))

    def predict_proba(self, x: Tensor | np.ndarray) -> Tensor:
        """Class probabilities [N, C]."""
        return torch.softmax(self.logits(x), dim=1)

    # -- the probe.pt file ----------------------------------------------------------------------------------
    def to_file_dict(self) -> dict[str, Any]:
        """The probe as a dict of tensors and plain values (the ``probe.pt`` format, version 1)."""
        return {
            "format_version": PROBE_FORMAT_VERSION,
            "mean": self.mean.detach().cpu().float(),
            "std": self.std.detach().cpu().float(),
            "weight": self.linear.weight.detach().cpu().float(),
            "bias": self.linear.bias.detach().cpu().float(),
            "class_names": list(self.class_names),
            "meta": dict(self.meta),
        }

    @classmethod
    def from_file_dict(cls, state: dict, source: str = "probe") -> LinearProbe:
        """Rebuild from :meth:`to_file_dict` output; CheckpointError naming ``source`` when it does not fit."""
        try:
            version = int(state["format_version"])
            if version != PROBE_FORMAT_VERSION:
                raise CheckpointError(f"{source}: probe format_version {version} is not supported")
            weight, bias = state["weight"].float(), state["bias"].float()
            mean, std = state["mean"].float(), state["std"].float()
            names = [str(c) for c in state["class_names"]]
            meta = dict(state.get("meta") or {})
        except (KeyError, TypeError, AttributeError, ValueError) as e:
            raise CheckpointError(f"{source}: not a linear probe file ({e!r})") from None
        if weight.ndim != 2:
            raise CheckpointError(f"{source}: inconsistent probe shapes")
        c, d = weight.shape
        if bias.shape != (c,) or mean.shape != (d,) or std.shape != (d,) or len(names) != c:
            raise CheckpointError(f"{source}: inconsistent probe shapes")
        probe = cls(d, c, names, meta)
        with torch.no_grad():
            probe.mean.copy_(mean)
            probe.std.copy_(std)
            probe.linear.weight.copy_(weight)
            probe.linear.bias.copy_(bias)
        return probe.requires_grad_(False).eval()

    def save(self, path: str | Path) -> Path:
        """Write atomically (temporary file, then rename) and return the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        torch.save(self.to_file_dict(), tmp)
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, path: str | Path) -> LinearProbe:
        """Read a ``probe.pt`` as untrusted input (``weights_only=True``)."""
        from core.checkpoint import safe_torch_load

        path = Path(path)
        if not path.is_file():
            raise CheckpointError(f"{path}: probe file not found")
        state = safe_torch_load(path, what="probe")
        if not isinstance(state, dict):
            raise CheckpointError(f"{path}: not a linear probe file")
        return cls.from_file_dict(state, source=str(path))


def _fit(
    x: Tensor,
    y: Tensor,
    num_classes: int,
    *,
    class_names: Sequence[str] | None,
    max_iter: int,
    epochs: int,
    lr: float | None,
    weight_decay: float,
    standardize: bool,
    seed: int,
    optimizer: str,
    batch_size: int,
) -> tuple[LinearProbe, float]:
    if max_iter < 1 or epochs < 1:
        raise ConfigError(f"probe max_iter={max_iter}, epochs={epochs}: must be >= 1")
    if weight_decay < 0:
        raise ConfigError(f"probe weight_decay={weight_decay}: must be >= 0")
    with torch.inference_mode(False):
        x, y = x.clone(), y.clone()  # ordinary tensors, so that autograd can save them
        probe = LinearProbe(x.shape[1], num_classes, class_names).to(x.device)
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
                    max_iter=max_iter,
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
                for _ in range(epochs):
                    order = torch.randperm(xs.shape[0], generator=g).to(xs.device)
                    for i in range(0, xs.shape[0], batch_size):
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
    return probe.requires_grad_(False).eval(), loss


def fit_linear_probe(
    train_x: ArrayLike,
    train_y: ArrayLike,
    *,
    max_iter: int = 100,
    weight_decay: float = 1e-4,
    device: str | torch.device = "cpu",
    standardize: bool = True,
    num_classes: int | None = None,
    class_names: Sequence[str] | None = None,
    optimizer: str = "lbfgs",
    epochs: int = 1,
    lr: float | None = None,
    batch_size: int = 1024,
    seed: int = 0,
) -> LinearProbe:
    """Fit a :class:`LinearProbe` on the labelled rows of ``train_x`` [N, D] / ``train_y`` [N] (-1 ignored).

    Args:
        train_x: features [N, D].
        train_y: labels [N]; -1 marks an unlabelled row (ignored).
        max_iter: L-BFGS iterations (``optimizer="lbfgs"``).
        weight_decay: L2 penalty on W, per example (scikit-learn ``C = 1 / (weight_decay * N)``).
        device: ``"cpu"``, ``"cuda"``, ``"mps"`` or ``"auto"``.
        standardize: z-score each feature with the labelled training rows' mean and std.
        num_classes: the number of classes (default: 1 + the largest label, or ``len(class_names)``).
        class_names: the names of the classes (default: their indices).
        optimizer: ``"lbfgs"`` or ``"adam"``.
        epochs: Adam's passes over the data.
        lr: step size (None: 1.0 for L-BFGS with its line search, 1e-2 for Adam).
        batch_size: Adam's mini-batch size.
        seed: Adam's shuffling seed.
    """
    if class_names is not None and num_classes is None:
        num_classes = len(class_names)
    x, y, _, c, _ = prepare(train_x, train_y, {}, device, num_classes)
    probe, _ = _fit(
        x,
        y,
        c,
        class_names=class_names,
        max_iter=max_iter,
        epochs=epochs,
        lr=lr,
        weight_decay=weight_decay,
        standardize=standardize,
        seed=seed,
        optimizer=optimizer,
        batch_size=batch_size,
    )
    return probe


def linear_probe(
    train_x: ArrayLike, train_y: ArrayLike, eval_sets: EvalSets, *, num_classes: int | None = None, **options: Any
) -> dict[str, dict[str, Any]]:
    """Fit a probe and score every evaluation set.

    Fit a probe (:func:`fit_linear_probe` with ``options``) and score every set of ``eval_sets`` (``{name: (x, y)}``;
    rows labelled -1 are left out). Returns ``{name: report}`` (:func:`core.probes.metrics.classification_report`), each
    with ``train_loss`` (the final objective).
    """
    known = {"max_iter": 100, "epochs": 1, "lr": None, "weight_decay": 1e-4, "standardize": True, "seed": 0,
             "optimizer": "lbfgs", "batch_size": 1024}  # fmt: skip
    unknown = sorted(set(options) - set(known) - {"device"})
    if unknown:
        raise ConfigError(f"linear_probe: unknown option(s) {', '.join(unknown)}")
    x, y, evals, c, _ = prepare(train_x, train_y, eval_sets, options.get("device", "cpu"), num_classes)
    settings = {k: options.get(k, v) for k, v in known.items()}
    probe, loss = _fit(x, y, c, class_names=None, **settings)
    out = {}
    with torch.no_grad():
        for name, (ex, ey) in evals.items():
            report = classification_report(ey, probe(ex), c)
            report["train_loss"] = loss
            out[name] = report
    return out


def select_linear_probe(
    train_x: ArrayLike,
    train_y: ArrayLike,
    class_names: Sequence[str],
    valid_x: ArrayLike | None = None,
    valid_y: ArrayLike | None = None,
    *,
    weight_decays: Sequence[float] = DEFAULT_WEIGHT_DECAYS,
    max_iter: int = 100,
    device: str | torch.device = "cpu",
) -> tuple[LinearProbe, dict]:
    """Fit a probe for each weight decay of a grid and keep the best on validation (the test split is never seen).

    The best has the highest validation top-1 (ties: lower validation cross-entropy). Without validation data
    (or no labelled validation clip) the middle of the grid is used and the selection says so. Returns
    ``(probe, selection)``: ``selection`` holds the chosen weight decay and every candidate's validation top-1 and
    cross-entropy.
    """
    num_classes = len(class_names)
    y = np.asarray(train_y, dtype=np.int64).reshape(-1)
    if not (y >= 0).any():
        raise ConfigError("linear probe: no labelled training clips")
    if int(y.max()) >= num_classes:
        raise ConfigError(f"linear probe: label {int(y.max())} out of range for {num_classes} classes")
    if not weight_decays:
        raise ConfigError("linear probe: the weight-decay grid is empty")
    vx = vy = None
    if valid_x is not None and valid_y is not None:
        vy = torch.as_tensor(np.asarray(valid_y, dtype=np.int64).reshape(-1))
        keep = vy >= 0
        vx = torch.as_tensor(np.asarray(valid_x), dtype=torch.float32)[keep]
        vy = vy[keep]
    have_valid = vy is not None and vy.numel() > 0
    candidates = list(weight_decays) if have_valid else [sorted(weight_decays)[len(weight_decays) // 2]]
    best, scores = None, []
    for wd in candidates:
        probe = fit_linear_probe(
            train_x, y, max_iter=max_iter, weight_decay=float(wd), device=device, class_names=class_names
        ).cpu()
        key = (0.0, 0.0)
        if have_valid:
            logits = probe.logits(vx)
            acc = float((logits.argmax(1) == vy).double().mean())
            ce = float(F.cross_entropy(logits, vy))
            scores.append({"weight_decay": float(wd), "valid_top1": acc, "valid_ce": ce})
            key = (acc, -ce)
        if best is None or key > best[0]:
            best = (key, float(wd), probe)
    _, wd, probe = best
    selection = {
        "weight_decay": wd,
        "selected_on": "valid" if have_valid else "none (no validation clips: middle of the grid)",
        "candidates": scores,
        "train_clips": int((y >= 0).sum()),
    }
    return probe, selection
