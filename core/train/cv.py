"""Honest cross-validation: one training run per test fold, each scored on its own fold only.

Scoring one checkpoint on all five ESC folds would test it on clips it trained on. ``python -m core cv`` instead
trains a run with ``data.test_fold = k`` for each fold ``k`` asked for, evaluates each run on its own test fold
(the offline linear evaluation, or fine-tuning, exactly as ``python -m core eval`` does), and reports each fold and
the mean and sample standard deviation over folds.

A cross-validation can be stopped at any moment: its manifest (``<out>/cv.json``) records the run of each fold, so
running the same command again resumes the unfinished run and skips the finished folds.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from core.config import TrainConfig
from core.errors import ConfigError
from core.evaluate.offline import evaluate_checkpoint, parse_folds
from core.evaluate.splits import FOLD_DATASETS
from core.runs import RunStore
from core.train.run import run_training

MANIFEST = "cv.json"


def _write_json(path: Path, data: dict) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True))
    tmp.replace(path)


def _stats(values: list[float]) -> dict[str, float]:
    return {"mean": float(np.mean(values)), "std": float(np.std(values, ddof=1)) if len(values) > 1 else 0.0}


def cross_validate(
    config: TrainConfig,
    folds: str | int | list[int] | None,
    out_dir: str | os.PathLike,
    *,
    store: RunStore | None = None,
    checkpoint_root: str | os.PathLike | None = None,
    eval_options: dict[str, Any] | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Train and evaluate one run per test fold of ``config``'s (ESC) dataset; returns the report.

    Args:
        config: the run configuration; its ``data.test_fold`` is replaced fold by fold.
        folds: ``"all"``, a fold, or a list of folds (1-5).
        out_dir: where the manifest and the report (``cv.json``) go.
        store: the run store (default: its default path).
        checkpoint_root: the checkpoint root of the runs.
        eval_options: keyword options of :func:`core.evaluate.offline.evaluate_checkpoint` (``finetune``,
            ``finetune_options``, ``label_fraction``, ``batch_size``).
        progress: show progress.

    Returns a dict with ``folds`` (per fold: run id, the run's own test scores and the evaluation's test top-1),
    ``summary`` (mean and sample std of each score over folds) and ``config``.
    """
    from core.inference import load_trained

    if config.data.dataset not in FOLD_DATASETS:
        raise ConfigError(f"cv: {config.data.dataset!r} has no official folds (cross-validation is for ESC-10/50)")
    store = store if store is not None else RunStore()
    fold_list = parse_folds(folds, config.data.test_fold)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    manifest_path = out / MANIFEST
    manifest: dict[str, Any] = {}
    if manifest_path.is_file():
        try:
            manifest = json.loads(manifest_path.read_text())
        except ValueError:
            manifest = {}
    base = config.to_dict()
    if manifest.get("config") not in (None, base):
        raise ConfigError(f"{manifest_path}: another cross-validation lives here; use another --out folder")
    manifest.update({"config": base, "folds": manifest.get("folds", {})})
    name = config.run_name()
    for fold in fold_list:
        entry = manifest["folds"].get(str(fold), {})
        run_id = entry.get("run_id")
        status = store.get_run(run_id)["status"] if run_id else None
        if status != "completed":
            if run_id is None:
                cfg = config.with_overrides({"data.test_fold": fold, "runtime.name": f"{name}-fold{fold}"})

                def record(rid: str, fold: int = fold) -> None:
                    manifest["folds"][str(fold)] = {"run_id": rid}
                    _write_json(manifest_path, manifest)

                result = run_training(
                    cfg, store=store, progress=progress, checkpoint_root=checkpoint_root, on_run_id=record
                )
            else:
                result = run_training(resume=run_id, store=store, progress=progress, checkpoint_root=checkpoint_root)
            run_id, status = result.run_id, result.status
            if status != "completed":
                raise ConfigError(f"cv: the run of fold {fold} ({run_id}) ended {status}; run cv again to resume it")
            entry = {"run_id": run_id}
        if "evaluation" not in entry:
            folder = Path(store.get_run(run_id)["checkpoint_dir"])
            trained = load_trained(folder, device=config.runtime.device)
            report = evaluate_checkpoint(trained, folds=fold, progress=progress, **(eval_options or {}))
            final = store.get_run(run_id)["final_metrics"] or {}
            entry = {
                "run_id": run_id,
                "run_test": {k: v for k, v in final.items() if k.startswith("test/")},
                "evaluation": {"mode": report["mode"], "test_top1": report["folds"][0]["test"]["top1"]},
            }
            manifest["folds"][str(fold)] = entry
            _write_json(manifest_path, manifest)
    done = [manifest["folds"][str(f)] for f in fold_list]
    scores: dict[str, list[float]] = {"evaluation/test_top1": [e["evaluation"]["test_top1"] for e in done]}
    for key in sorted(set.intersection(*(set(e["run_test"]) for e in done))):
        scores[key] = [e["run_test"][key] for e in done]
    manifest["summary"] = {k: _stats(v) for k, v in scores.items()}
    manifest["folds_done"] = fold_list
    _write_json(manifest_path, manifest)
    return manifest


def format_cv(report: dict[str, Any]) -> str:
    """A readable rendering of a cross-validation report."""
    lines = []
    for fold in report["folds_done"]:
        e = report["folds"][str(fold)]
        lines.append(
            f"fold {fold}: run {e['run_id']}, {e['evaluation']['mode']} evaluation test top-1 "
            f"{e['evaluation']['test_top1']:.2%}"
        )
    for key, s in report["summary"].items():
        lines.append(f"{key:32} {s['mean']:.2%} +- {s['std']:.2%} over {len(report['folds_done'])} fold(s)")
    return "\n".join(lines)
