"""``python -m core estimate``: how long a run will take on this machine, and what each augmentation costs.

Times a few real optimiser steps of the run after a warm-up step, its evaluation, each of its augmentations and
its features (see :mod:`core.train.estimate`), then prints the estimate and its basis, or one JSON object with
``--json`` (what the app's Train page reads).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``estimate`` subcommand."""
    p = subparsers.add_parser(
        "estimate",
        help="time a few real steps of a run and predict its duration",
        description="Estimate a run's duration from a few timed steps on the chosen device, with the cost of each "
        "augmentation and of the features in ms per clip. Nothing is trained or recorded.",
    )
    p.add_argument("--config", required=True, help="YAML config: a path, or a name under configs/")
    p.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE", help="override a config value"
    )
    p.add_argument("--device", help="auto, cpu, cuda, cuda:N or mps (overrides runtime.device)")
    p.add_argument("--steps", type=int, default=3, help="optimiser steps to time after the warm-up (default 3)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=handler)


def handler(args: argparse.Namespace) -> int:
    """Estimate the run and print the result; returns the exit status."""
    from core.config import load_config
    from core.errors import ConfigError
    from core.train.estimate import estimate_run
    from core.train.reporter import format_duration

    if not 1 <= args.steps <= 100:
        raise ConfigError(f"estimate: --steps {args.steps} must be in [1, 100]")
    sets = [*args.overrides, *([f"runtime.device={args.device}"] if args.device else [])]
    config = load_config(args.config, sets)
    est = estimate_run(config, timed_steps=args.steps)
    if args.json:
        print(json.dumps({**asdict(est), "epoch_seconds": est.epoch_seconds}))
        return 0
    print(f"whole run   {format_duration(est.total_seconds)} ({est.epochs} epoch(s), {est.total_steps} steps)")
    print(f"one epoch   {format_duration(est.epoch_seconds)} of training + {est.eval_seconds:.1f} s validation")
    print(f"one step    {est.seconds_per_step * 1000:.0f} ms")
    for name, ms in est.augment_ms_per_clip.items():
        print(f"  {name:<14} {ms:8.2f} ms/clip")
    if est.features_ms_per_clip:
        print(f"  {'features':<14} {est.features_ms_per_clip:8.2f} ms/clip")
    print(f"basis: {est.basis}")
    return 0
