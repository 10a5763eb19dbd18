"""``python -m core eval``: offline linear evaluation (or fine-tuning) of a trained checkpoint."""

from __future__ import annotations

import argparse

from core.cli._options import add_checkpoint_arguments, add_device_argument


def _handler(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from core.evaluate.artifacts import record_artifact
    from core.evaluate.offline import evaluate_checkpoint
    from core.evaluate.report import format_report
    from core.inference import load_trained

    trained = load_trained(args.checkpoint, device=args.device, which=args.which)
    report = evaluate_checkpoint(
        trained,
        dataset=args.dataset,
        root=args.root,
        task=args.task,
        folds=args.folds,
        finetune=args.finetune,
        finetune_options={"epochs": args.epochs, "lr": args.lr, "batch_size": args.batch_size, "init": args.init},
        label_fraction=args.label_fraction,
        batch_size=args.batch_size,
        save_probe=not args.no_save_probe,
        progress=not args.quiet,
    )
    print(format_report(report))
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(out.name + ".tmp")
        tmp.write_text(json.dumps(report, indent=2))
        tmp.replace(out)
        print(f"report written to {out}")
    summary = {"mode": report["mode"], "dataset": report["dataset"]["name"], **report["summary"]}
    summary.pop("confusion_matrix", None)
    summary.pop("per_class_accuracy", None)
    if report["probe_saved"]:
        record_artifact(
            trained.run_id, "probe", report["probe_saved"], {**trained.identity(), **summary}, db=args.runs_db
        )
    if args.out:
        record_artifact(
            trained.run_id, "eval_report", Path(args.out).resolve(), {**trained.identity(), **summary}, db=args.runs_db
        )
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``eval`` subcommand."""
    p = subparsers.add_parser(
        "eval",
        help="linear evaluation (or fine-tuning) of a checkpoint: top-1, per-class accuracy, confusion matrix",
        description="Linear evaluation on frozen 512-d features of clean audio: a logistic-regression probe on "
        "the labelled training clips, weight decay chosen on validation, scored once on test. ESC datasets "
        "use their official folds (--folds all for 5-fold cross-validation).",
    )
    add_checkpoint_arguments(p)
    p.add_argument("--dataset", help="dataset to evaluate on (default: the run's own)")
    p.add_argument("--root", help="dataset folder (default: the run's, then $CLAR_DATA_DIR/<name>, ./data/<name>)")
    p.add_argument("--task", help="dataset task, e.g. instrument_family or pitch for nsynth")
    p.add_argument("--folds", help="ESC: 'all' for cross-validation over every fold, or a fold number")
    p.add_argument(
        "--label-fraction",
        type=float,
        help="fraction of training labels for the probe (default: the run's own on its dataset, else 1.0)",
    )
    p.add_argument("--finetune", action="store_true", help="fine-tune encoder + linear layer end-to-end instead")
    p.add_argument("--epochs", type=int, default=5, help="fine-tuning epochs (default 5)")
    p.add_argument("--lr", type=float, default=1e-4, help="fine-tuning learning rate of the encoder (default 1e-4)")
    p.add_argument(
        "--init",
        choices=["random", "probe"],
        default="random",
        help="fine-tuning: start the new layer at random (default) or as a fitted linear probe (LP-FT)",
    )
    p.add_argument("--batch-size", type=int, default=64, help="clips per batch (default 64)")
    add_device_argument(p)
    p.add_argument("--out", help="write the report as JSON to this file")
    p.add_argument("--no-save-probe", action="store_true", help="do not write probe.pt beside the checkpoint")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--runs-db", help="run store to record the probe and report in (default: the run store's own)")
    p.set_defaults(func=_handler)
