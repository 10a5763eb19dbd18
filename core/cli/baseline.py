"""``python -m core baseline``: the trivial baseline (logistic regression on log-Mel statistics) of a dataset.

It is the number every learned result is reported beside (:mod:`core.evaluate.baseline`): the per-bin mean and
standard deviation of each clip's log-Mel, a standardised logistic regression fitted on the labelled training
clips, scored on the test split.
"""

from __future__ import annotations

import argparse
import json


def _handler(args: argparse.Namespace) -> int:
    from core.data import load_dataset
    from core.errors import ConfigError
    from core.evaluate.baseline import dataset_baseline

    try:
        fractions = [float(f) for f in args.label_fraction.split(",")]
    except ValueError:
        raise ConfigError(
            f"--label-fraction {args.label_fraction!r}: comma-separated fractions, e.g. 1,0.1,0.01"
        ) from None
    kw = {k: v for k, v in {"root": args.root, "task": args.task, "fold": args.fold}.items() if v is not None}
    dataset = load_dataset(args.dataset, progress=not args.quiet, **kw)
    splits = tuple(s.strip() for s in args.train_splits.split(","))
    results = dataset_baseline(dataset, fractions, train_splits=splits, preset=args.preset, seed=args.seed)
    if args.json:
        print(json.dumps([r.as_dict() for r in results], indent=2))
        return 0
    print(f"{dataset.name}: trained on {'+'.join(splits)}, scored on test ({results[0].test_clips} clips)")
    for r in results:
        valid = "" if r.valid_top1 is None else f", C={r.C:g} chosen on valid ({100 * r.valid_top1:.1f} %)"
        print(f"  {100 * r.label_fraction:g} % of labels ({r.labelled} of {r.train_clips} clips): "
              f"test top-1 {100 * r.top1:.1f} %{valid}")  # fmt: skip
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``baseline`` subcommand."""
    p = subparsers.add_parser("baseline", help="the trivial baseline: logistic regression on log-Mel statistics")
    p.add_argument("--dataset", required=True, help="dataset name (fsdd, esc10, esc50, speech_commands, nsynth, demo)")
    p.add_argument("--root", help="dataset folder (default: $CLAR_DATA_DIR/<name>, then ./data/<name>)")
    p.add_argument("--task", help="dataset task, e.g. pitch for nsynth")
    p.add_argument("--fold", type=int, help="ESC: the test fold (default 1)")
    p.add_argument("--label-fraction", default="1", help="comma-separated label fractions (default 1)")
    p.add_argument("--train-splits", default="train", help="splits to train on (default train; 'train,valid': all "
                   "non-test clips, then C is 1)")  # fmt: skip
    p.add_argument("--preset", default="paper", help="feature preset (default paper)")
    p.add_argument("--seed", type=int, default=0, help="seeds the label fraction (default 0)")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_handler)
