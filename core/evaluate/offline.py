"""Offline evaluation of a trained checkpoint: linear evaluation on frozen features, or fine-tuning.

Linear evaluation (the paper's protocol):

1. The clips are split as the run split them: :func:`core.evaluate.splits.load_splits` applies the run's data
   settings (the same train clips, the same validation split) with the full validation and test splits.
2. A checkpoint is never scored on clips its run trained or selected on (:func:`core.evaluate.splits.check_unseen`):
   on an ESC dataset it is scored on its own test fold only; cross-validation trains one run per fold
   (``python -m core cv``).
3. Every clip is embedded once by the frozen encoder (:class:`core.evaluate.evaluator.Evaluator`): the
   representations ``h`` of the clean audio (nothing is augmented).
4. The probe trains on the labelled part of the training split only: the run's label fraction drawn with the
   run's label seed through ``core.data.labelled_fraction``, i.e. exactly the labels the run was given
   (unless overridden).
5. A logistic-regression probe (:func:`core.probes.select_linear_probe`) is fitted for each weight decay of a grid
   and the one with the best validation top-1 is kept.
6. The test split is scored once: top-1 accuracy, per-class accuracy and the confusion matrix
   (rows = true class, columns = predicted class).

Fine-tuning (``finetune=True``, see ``core.evaluate.finetune``) trains a copy of the encoder plus a linear
layer end-to-end on the same labelled clips, selecting the epoch on validation.

On a dataset the run never saw, several ESC folds may be evaluated (``folds="all"``): each fold in turn is the
test set, and the report gives each fold plus the mean +- sample standard deviation (ddof=1) of test top-1 and the
confusion matrix summed over folds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import Tensor

from core.errors import ConfigError, DatasetError
from core.evaluate.evaluator import Evaluator
from core.evaluate.report import summarise_folds
from core.evaluate.splits import FOLD_DATASETS, NUM_FOLDS, EvalSplits, check_unseen, load_splits, seen_clips
from core.probes import DEFAULT_WEIGHT_DECAYS, LinearProbe, classification_report, select_linear_probe

if TYPE_CHECKING:
    from core.data.base import AudioDataset
    from core.inference import Trained


class EmbeddingCache:
    """Embeds clips once, keyed by their path, so that folds sharing clips reuse the embeddings."""

    def __init__(self, trained: Trained, batch_size: int = 64, progress: bool = True) -> None:
        self.trained, self.batch_size, self.progress = trained, batch_size, progress
        self.evaluator = Evaluator(trained.frontend, trained.device, batch_size)
        self.rows: dict[str, int] = {}
        self._chunks: list[Tensor] = []
        self.embedded = 0
        """How many clips have been run through the encoder."""

    def __call__(self, ds: AudioDataset) -> Tensor:
        """Embeddings [len(ds), D] of the clips of ``ds``, in order."""
        if len(ds) == 0:
            return torch.zeros(0, self.trained.embed_dim)
        missing = [i for i, p in enumerate(ds.paths) if p not in self.rows]
        if missing:
            emb = self.evaluator.outputs(self.trained.model, ds.waveforms, np.asarray(missing))["h"]
            base = sum(len(c) for c in self._chunks)
            for j, i in enumerate(missing):
                self.rows[ds.paths[i]] = base + j
            self._chunks = [torch.cat([*self._chunks, emb])]
            self.embedded += len(missing)
        return self._chunks[0][[self.rows[p] for p in ds.paths]]


def training_labels(labels: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """The training labels a probe may use.

    The labels of the training clips the probe may use: a class-stratified ``fraction`` kept by
    ``core.data.labelled_fraction(labels, fraction, seed)`` (the trainer's rule), -1 elsewhere.
    """
    labels = np.asarray(labels, dtype=np.int64)
    if not 0.0 < fraction <= 1.0:
        raise ConfigError(f"label fraction {fraction}: must be in (0, 1]")
    if fraction >= 1.0:
        return labels.copy()
    from core.data import labelled_fraction

    return np.asarray(labelled_fraction(labels, fraction, seed), dtype=np.int64)


def _is_own(trained: Trained, splits: EvalSplits) -> bool:
    return splits.name == trained.data.get("name") and list(splits.class_names) == list(trained.class_names)


def linear_evaluation(
    trained: Trained,
    data: AudioDataset | EvalSplits,
    *,
    label_fraction: float | None = None,
    label_seed: int | None = None,
    finetune: bool = False,
    finetune_options: dict | None = None,
    weight_decays: Sequence[float] = DEFAULT_WEIGHT_DECAYS,
    probe_max_iter: int = 100,
    batch_size: int = 64,
    embeddings: EmbeddingCache | None = None,
    progress: bool = True,
) -> tuple[dict, LinearProbe | None]:
    """Evaluate ``trained`` on one train/valid/test assignment: a dataset (its ``split`` column) or splits.

    ``label_fraction`` and ``label_seed`` default to the run's own on the run's own dataset, else to all
    labels (1.0) and seed 0. The probe's weight decay is chosen from ``weight_decays`` on validation, each
    fit running at most ``probe_max_iter`` L-BFGS iterations. With ``finetune`` the encoder is fine-tuned
    (``finetune_options`` go to ``core.evaluate.finetune.finetune_evaluation``). Returns ``(result, probe)``;
    the probe is the fitted linear head (None when fine-tuning). The result holds ``fold``,
    ``label_fraction``, ``label_seed``, ``clips`` (counts), ``selection`` and ``valid``/``test`` scores (see
    ``classification_report``).
    """
    splits = data if isinstance(data, EvalSplits) else EvalSplits.from_dataset(data)
    own = _is_own(trained, splits)
    fraction = float(label_fraction if label_fraction is not None else (trained.data["label_fraction"] if own else 1.0))
    seed = int(label_seed if label_seed is not None else (trained.data["label_seed"] if own else 0))
    labels = training_labels(splits.train.labels, fraction, seed)
    if not (labels >= 0).any():
        raise DatasetError(f"{splits.name}: no labelled training clips")
    result: dict = {
        "fold": splits.fold,
        "label_fraction": fraction,
        "label_seed": seed,
        "clips": {
            "train": len(splits.train),
            "train_labelled": int((labels >= 0).sum()),
            "valid": len(splits.valid),
            "test": len(splits.test),
        },
    }
    if finetune:
        from core.evaluate.finetune import finetune_evaluation

        opts = {"seed": seed, "progress": progress, **(finetune_options or {})}
        return {**result, **finetune_evaluation(trained, splits, labels, **opts)}, None

    embed = embeddings or EmbeddingCache(trained, batch_size, progress)
    train_x, valid_x, test_x = embed(splits.train), embed(splits.valid), embed(splits.test)
    keep = labels >= 0
    head, selection = select_linear_probe(
        train_x[keep],
        labels[keep],
        splits.class_names,
        valid_x,
        np.asarray(splits.valid.labels),
        weight_decays=weight_decays,
        max_iter=probe_max_iter,
        device=trained.device,
    )
    result["selection"] = selection
    for name, x, ds in (("valid", valid_x, splits.valid), ("test", test_x, splits.test)):
        if len(ds):
            pred = head.logits(x).argmax(1).numpy()
            result[name] = classification_report(ds.labels, pred, splits.class_names)
    head.meta.update({"dataset": splits.name, "fold": splits.fold, "label_fraction": fraction, "label_seed": seed})
    return result, head


def cross_validation(
    trained: Trained,
    folds: Mapping[int | None, AudioDataset | EvalSplits | Callable[[], EvalSplits]],
    *,
    batch_size: int = 64,
    progress: bool = True,
    **kwargs,
) -> tuple[dict, dict[int | None, LinearProbe]]:
    """Linear evaluation of one checkpoint on each of several folds.

    ``linear_evaluation`` for each entry of ``folds``: test fold -> its dataset, its splits, or a function returning the
    splits (called when the fold's turn comes, so only one fold's audio is in memory).

    Clips shared between folds are embedded once. Returns ``(report, probes)``: ``report`` has ``dataset``
    (name, task, class names), ``folds`` (the result of each, with its ``fold``) and ``summary``
    (``core.evaluate.report.summarise_folds``); ``probes`` maps each fold to its fitted head (empty when
    fine-tuning).
    """
    if not folds:
        raise ConfigError("cross-validation needs at least one fold")
    cache = EmbeddingCache(trained, batch_size, progress)
    results, probes, dataset = [], {}, None
    for fold, data in folds.items():
        if callable(data):
            data = data()
        splits = data if isinstance(data, EvalSplits) else EvalSplits.from_dataset(data)
        if dataset is None:
            dataset = {"name": splits.name, "task": splits.task, "class_names": list(splits.class_names)}
        elif list(splits.class_names) != dataset["class_names"]:
            raise DatasetError(f"{splits.name}: fold {fold} has other class names than the first fold")
        result, head = linear_evaluation(
            trained, splits, embeddings=cache, batch_size=batch_size, progress=progress, **kwargs
        )
        result["fold"] = fold if fold is not None else splits.fold
        results.append(result)
        if head is not None:
            probes[fold] = head
    summary = summarise_folds(results, dataset["class_names"])
    return {"dataset": dataset, "folds": results, "summary": summary}, probes


def parse_folds(folds: str | int | Sequence[int] | None, default: int | None) -> list[int]:
    """``"all"`` -> 1..5; an int or digit string -> that fold; a sequence -> those; None -> ``default`` or 1."""
    if folds is None:
        return [int(default or 1)]
    if isinstance(folds, str):
        if folds.strip().lower() == "all":
            return list(range(1, NUM_FOLDS + 1))
        try:
            folds = [int(f) for f in folds.split(",")]
        except ValueError:
            raise ConfigError(f"--folds {folds!r}: give 'all', a fold number or a list like 1,3") from None
    elif isinstance(folds, int):
        folds = [folds]
    out = [int(f) for f in folds]
    bad = [f for f in out if not 1 <= f <= NUM_FOLDS]
    if bad or not out:
        raise ConfigError(f"--folds: folds must be in 1..{NUM_FOLDS}, got {out}")
    return out


def evaluation_data(
    trained: Trained,
    *,
    dataset: str | None = None,
    root: str | None = None,
    task: str | None = None,
    folds: str | int | Sequence[int] | None = None,
    overrides: dict | None = None,
) -> dict[int | None, dict]:
    """Data settings (``DataConfig`` keys) for each test fold to evaluate.

    On the run's own dataset (``dataset`` None or equal to it) they are the run's settings (the same clip
    length, train subset and validation carve-out) with the full validation and test splits
    (``max_eval_clips`` None); on another dataset, that dataset's defaults. ``overrides`` (e.g.
    ``{"max_eval_clips": 50}``) apply last.
    """
    run = dict(trained.config.get("data") or {})
    own = dataset is None or (dataset == run.get("dataset") and task in (None, run.get("task")))
    base = {**run, "max_eval_clips": None} if own else {"dataset": dataset}
    if not base.get("dataset"):
        raise ConfigError(f"{trained.checkpoint_path}: the run config names no dataset; pass --dataset")
    if root is not None:
        base["root"] = root
    if task is not None:
        base["task"] = task
    base.update(overrides or {})
    if base["dataset"] not in FOLD_DATASETS:
        if folds is not None:
            raise ConfigError(f"--folds: dataset {base['dataset']!r} has no official folds")
        return {None: base}
    default = base.get("test_fold", base.get("fold"))
    base.pop("fold", None)
    return {k: {**base, "test_fold": k} for k in parse_folds(folds, default)}


def evaluate_checkpoint(
    trained: Trained,
    *,
    dataset: str | None = None,
    root: str | None = None,
    task: str | None = None,
    folds: str | int | Sequence[int] | None = None,
    finetune: bool = False,
    finetune_options: dict | None = None,
    label_fraction: float | None = None,
    data_overrides: dict | None = None,
    weight_decays: Sequence[float] = DEFAULT_WEIGHT_DECAYS,
    probe_max_iter: int = 100,
    batch_size: int = 64,
    save_probe: bool = True,
    progress: bool = True,
) -> dict:
    """The whole offline evaluation behind ``python -m core eval``; returns the JSON-able report.

    The report has ``checkpoint`` (provenance), ``dataset`` (name, task, class names), ``mode`` (linear or
    finetune), ``folds`` (one result per test fold, see :func:`linear_evaluation`), ``summary``
    (:func:`core.evaluate.report.summarise_folds`) and ``probe_saved``. A linear evaluation on the run's own
    classes saves the probe of the run's fold (or the first fold) as ``probe.pt`` beside the checkpoint, so
    that ``classify`` works for SimCLR runs.
    """
    settings = evaluation_data(trained, dataset=dataset, root=root, task=task, folds=folds, overrides=data_overrides)
    seen = seen_clips(trained)

    def unseen_splits(d: dict) -> EvalSplits:
        splits = load_splits(d, progress)
        check_unseen(trained, splits, seen)
        return splits

    fold_splits = {fold: partial(unseen_splits, d) for fold, d in settings.items()}
    report, probes = cross_validation(
        trained,
        fold_splits,
        batch_size=batch_size,
        progress=progress,
        finetune=finetune,
        finetune_options=finetune_options,
        label_fraction=label_fraction,
        weight_decays=weight_decays,
        probe_max_iter=probe_max_iter,
    )
    dataset_info = report["dataset"]
    report = {"checkpoint": trained.identity(), "mode": "finetune" if finetune else "linear", **report}
    report["probe_saved"] = None
    own = dataset_info["name"] == trained.data.get("name") and dataset_info["class_names"] == trained.class_names
    if save_probe and probes and own:
        run_fold = trained.data.get("fold") or (1 if dataset_info["name"] in FOLD_DATASETS else None)
        fold = run_fold if run_fold in probes else next(iter(probes))
        report["probe_saved"] = str(trained.attach_probe(probes[fold], save=True))
    return report
