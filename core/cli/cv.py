"""``python -m core cv``: cross-validation that trains one run per test fold and scores each on its own fold."""

from __future__ import annotations

import argparse


def _handler(args: argparse.Namespace) -> int:
    from core.config import load_config
    from core.runs import RunStore
    from core.train.cv import cross_validate, format_cv

    overrides = list(args.overrides)
    if args.device:
        overrides.append(f"runtime.device={args.device}")
    config = load_config(args.config, overrides)
    eval_options = {
        "finetune": args.finetune,
        "finetune_options": {"epochs": args.epochs, "lr": args.lr, "batch_size": args.batch_size, "init": args.init},
        "label_fraction": args.label_fraction,
        "batch_size": args.batch_size,
    }
    report = cross_validate(
        config,
        args.folds,
        args.out,
        store=RunStore(args.runs_db) if args.runs_db else None,
        checkpoint_root=args.checkpoint_dir,
        eval_options=eval_options,
        progress=not args.quiet,
    )
    print(format_cv(report))
    print(f"report written to {args.out}/cv.json")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``cv`` subcommand."""
    p = subparsers.add_parser(
        "cv",
        help="cross-validation: train one run per test fold, score each on its own fold, report mean and spread",
        description="Honest cross-validation for ESC-10/50: for each fold, train a run with that fold as its test "
        "fold, then evaluate it there (linear evaluation, or --finetune). Stopped and run again, it resumes: "
        "OUT/cv.json records the run of each fold.",
    )
    p.add_argument("--config", required=True, help="YAML config: a path, or a name under configs/")
    p.add_argument("--folds", default="all", help="'all' (default), a fold, or a list like 1,3,5")
    p.add_argument("--out", required=True, help="folder for the manifest and report (cv.json)")
    p.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE", help="override a config value"
    )
    p.add_argument(
        "--label-fraction",
        type=float,
        help="fraction of training labels for the probe (default: each run's own)",
    )
    p.add_argument("--finetune", action="store_true", help="fine-tune encoder + linear layer instead of a probe")
    p.add_argument("--epochs", type=int, default=5, help="fine-tuning epochs (default 5)")
    p.add_argument("--lr", type=float, default=1e-4, help="fine-tuning learning rate of the encoder (default 1e-4)")
    p.add_argument(
        "--init",
        choices=["random", "probe"],
        default="random",
        help="fine-tuning: start the new layer at random (default) or as a fitted linear probe (LP-FT)",
    )
    p.add_argument("--batch-size", type=int, default=64, help="clips per batch in evaluation (default 64)")
    p.add_argument("--device", help="auto, cpu, cuda, cuda:N or mps")
    p.add_argument("--runs-db", help="run-store database file (default: the run store's own default)")
    p.add_argument("--checkpoint-dir", help="checkpoint root of the runs")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_handler)
