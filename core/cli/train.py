"""``python -m core train``: train a model (supervised, SimCLR or CLAR) from a YAML config, or resume a run."""

from __future__ import annotations

import argparse
import os
import signal
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``train`` subcommand."""
    p = subparsers.add_parser(
        "train",
        help="train a model from a config, or resume a run",
        description="Train from a YAML config (see configs/), or resume a run from its last checkpoint. "
        "Prints the run id first, then a progress bar. Under torchrun, runs data-parallel over the processes.",
    )
    p.add_argument("--config", help="YAML config: a path, or a name under configs/ (e.g. smoke, paper/fsdd/clar_2d)")
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config value, e.g. --set optim.lr=3e-4 (repeatable; values are YAML)",
    )
    p.add_argument("--resume", metavar="RUN_ID", help="continue this run from its last good checkpoint")
    p.add_argument(
        "--run-id",
        metavar="RUN_ID",
        help="id of the new run (default: a fresh timestamped id); a run created under this id and not yet "
        "started (status 'created') is taken over",
    )
    p.add_argument("--device", help="auto, cpu, cuda, cuda:N or mps (overrides runtime.device)")
    p.add_argument("--runs-db", help="run-store database file (default: the run store's own default)")
    p.add_argument(
        "--checkpoint-dir",
        help="checkpoint root (default: $CLAR_CHECKPOINT_DIR or ./checkpoints; a resumed run uses the folder the "
        "run store recorded)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=handler)


def handler(args: argparse.Namespace) -> int:
    """Train or resume a run as the arguments say; returns the exit status."""
    from core.config import load_config
    from core.errors import ConfigError
    from core.train.run import run_training

    overrides = list(args.overrides)
    if args.device:
        overrides.append(f"runtime.device={args.device}")
    if not args.resume and not args.config:
        raise ConfigError("train: give --config FILE (or --resume RUN_ID)")
    if args.resume and args.run_id:
        raise ConfigError("train: --run-id names a new run; a resumed run keeps its id")
    config = None
    if args.config and not args.resume:
        config = load_config(args.config, overrides)
        overrides = []
    elif args.config:
        print("note: --resume uses the run's saved config; --config is ignored", file=sys.stderr)
    store = None
    if args.runs_db:
        from core.runs import RunStore

        store = RunStore(args.runs_db)

    def announce(run_id: str) -> None:
        print(run_id, flush=True)

    def terminated(signum: int, frame: object) -> None:
        raise KeyboardInterrupt  # the run is then recorded cancelled, with the reason

    signal.signal(signal.SIGTERM, terminated)  # the launcher's second step when a cancel request goes unanswered

    result = run_training(
        config,
        resume=args.resume,
        run_id=args.run_id,
        overrides=overrides or None,
        store=store,
        progress=not args.no_progress,
        checkpoint_root=args.checkpoint_dir,
        on_run_id=announce,
    )
    if int(os.environ.get("RANK", "0")) != 0:  # under torchrun, rank 0 reports
        return 0 if result.status == "completed" else 1
    if result.final_metrics:
        shown = ", ".join(f"{k}={v:.4f}" for k, v in sorted(result.final_metrics.items()) if k.startswith("test/"))
        print(f"run {result.run_id} {result.status}: {shown}", flush=True)
    else:
        print(f"run {result.run_id} {result.status}", flush=True)
    return 0 if result.status == "completed" else 1
