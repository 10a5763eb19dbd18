"""``python -m core embed``: embeddings of a dataset to .npy plus metadata."""

from __future__ import annotations

import argparse

from core.cli._options import add_checkpoint_arguments, add_dataset_arguments, add_device_argument, dataset_for


def _handler(args: argparse.Namespace) -> int:
    from core.evaluate.embed import embed_dataset
    from core.inference import load_trained

    trained = load_trained(args.checkpoint, device=args.device, which=args.which)
    dataset = dataset_for(trained, args, progress=not args.quiet)
    meta = embed_dataset(
        trained,
        dataset,
        args.out,
        split=args.split,
        batch_size=args.batch_size,
        progress=not args.quiet,
        runs_db=args.runs_db,
    )
    print(f"{meta['count']} embeddings of dimension {meta['dim']} written to {args.out}")
    for f in meta["files"].values():
        print(f"  {f}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``embed`` subcommand."""
    p = subparsers.add_parser("embed", help="embeddings of a dataset to .npy plus metadata CSV/JSON")
    add_checkpoint_arguments(p)
    add_dataset_arguments(p)
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--split", default="all", choices=("all", "train", "valid", "test"), help="clips to embed")
    p.add_argument("--batch-size", type=int, default=64, help="clips per batch (default 64)")
    add_device_argument(p)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--runs-db", help="run store to record the embeddings in (default: the run store's own default)")
    p.set_defaults(func=_handler)
