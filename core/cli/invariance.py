"""``python -m core invariance``: how invariant a checkpoint is to each augmentation, on a dataset's clips.

For each augmentation alone (always applied) and for the whole chain: the cosine similarity of each clip's clean
and augmented embeddings, and the classifier's accuracy on the augmented clips against the clean ones
(:mod:`core.evaluate.invariance`). Prints a table and writes ``invariance.csv`` and ``invariance.json`` to
``--out``. Fixed seeds: two runs agree.
"""

from __future__ import annotations

import argparse

from core.cli._options import add_checkpoint_arguments, add_dataset_arguments, add_device_argument, dataset_for


def _handler(args: argparse.Namespace) -> int:
    import numpy as np

    from core.evaluate.embed import select_split
    from core.evaluate.invariance import format_rows, invariance_report, write_report
    from core.inference import load_trained

    trained = load_trained(args.checkpoint, device=args.device, which=args.which)
    dataset = dataset_for(trained, args, progress=not args.quiet)
    idx = select_split(dataset, args.split)
    if args.max_clips:
        idx = np.random.default_rng(args.seed).permutation(idx)[: args.max_clips]
        idx.sort()
    if idx.size == 0:
        from core.errors import ConfigError

        raise ConfigError(f"{dataset.name}: split {args.split!r} has no clips")
    same_classes = list(dataset.class_names) == list(trained.class_names)
    names = args.augmentations.split(",") if args.augmentations else None
    rows = invariance_report(
        trained,
        np.asarray(dataset.waveforms[idx]),
        np.asarray(dataset.labels)[idx] if same_classes else None,
        **({"names": names} if names else {}),
        preset=args.preset,
        seed=args.seed,
        batch_size=args.batch_size,
        progress=not args.quiet,
    )
    note = "" if same_classes else "the model's classes are not the dataset's: accuracies left out"
    about = {
        "checkpoint": trained.identity(),
        "dataset": dataset.name,
        "split": args.split,
        "clips": int(idx.size),
        "preset": args.preset,
        "seed": args.seed,
        "note": note,
    }
    paths = write_report(rows, args.out, about)
    print(f"{dataset.name} ({args.split}, {idx.size} clips), preset {args.preset}, seed {args.seed}")
    print(format_rows(rows))
    if note:
        print(f"note: {note}")
    print(f"written: {paths['csv']} {paths['json']}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``invariance`` subcommand."""
    p = subparsers.add_parser("invariance", help="how invariant a checkpoint is to each augmentation")
    add_checkpoint_arguments(p)
    add_dataset_arguments(p)
    p.add_argument("--split", default="test", choices=("all", "train", "valid", "test"), help="clips (default test)")
    p.add_argument("--max-clips", type=int, default=0, help="a seeded sample of at most this many clips (0: all)")
    p.add_argument("--augmentations", help="comma-separated (default: all six)")
    p.add_argument("--preset", default="paper", help="augmentation ranges: paper (default) or authors")
    p.add_argument("--seed", type=int, default=0, help="the seed every augmentation starts from (default 0)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--batch-size", type=int, default=32, help="clips per batch (default 32)")
    add_device_argument(p)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_handler)
