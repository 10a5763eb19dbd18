"""``python -m core augment IN --aug pitch_shift,fade --seed 7 --out OUT``: augment one file, print the draws.

The audio is read as 16 kHz mono (``core.audio.load_audio``), augmented as a batch of one, and written to
``--out`` (``core.audio.save_audio``); an output whose peak exceeds 1.0 is scaled down to peak 1.0 rather than
clipped, and the report gives that gain. The parameters drawn are printed on stdout as JSON. The same seed,
preset and options give the same file.
"""

from __future__ import annotations

import argparse


def _handler(args: argparse.Namespace) -> int:
    import json
    import math

    from core.audio import load_audio, save_audio
    from core.augment import build_pipeline
    from core.device import resolve_device
    from core.errors import ConfigError

    if bool(args.aug) == bool(args.set):
        raise ConfigError("augment: give exactly one of --aug NAMES or --set NAME")
    if not 0 <= args.seed < 2**63:
        raise ConfigError(f"--seed {args.seed}: must be an integer in [0, 2**63)")
    if args.p is not None and not 0.0 <= args.p <= 1.0:
        raise ConfigError(f"--p {args.p}: must be in [0, 1]")
    selection = args.aug or args.set
    chain = build_pipeline(selection, preset=args.preset, p=args.p, order=args.order)
    device = resolve_device(args.device)
    x = load_audio(args.input).to(device).unsqueeze(0)
    y, params = chain(x, args.seed, return_params=True)
    out = y[0]
    peak = float(out.abs().max())
    gain = 1.0 / peak if peak > 1.0 else 1.0  # scale down rather than clip (noise is never clipped)
    save_audio(args.out, out * gain)
    report = {
        "input": args.input,
        "output": args.out,
        "seed": args.seed,
        "preset": args.preset,
        "order": args.order,
        "augmentations": [chain.augmentations[i].name for i in params["order"]],
        "peak": peak,
        "output_gain_db": 20 * math.log10(gain),
        "steps": chain.describe(params)[0],
    }
    print(json.dumps(report, indent=2))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``augment`` subcommand."""
    p = subparsers.add_parser(
        "augment",
        help="augment one audio file and print the parameters drawn as JSON",
        description="Augment one audio file (read as 16 kHz mono) and print the parameters drawn as JSON.",
    )
    p.add_argument("input", help="audio file to augment (WAV, FLAC, ...)")
    p.add_argument(
        "--aug",
        help="comma-separated augmentations: pitch_shift,time_stretch,fade,noise,time_mask,"
        "time_shift (applied in this order)",
    )
    p.add_argument("--set", help="a named augmentation set instead of --aug: a single name, a pair 'a+b', or 'all'")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0); the same seed gives the same output")
    p.add_argument("--out", required=True, help="output audio file")
    p.add_argument("--preset", default="paper", choices=("paper", "authors"), help="parameter ranges (default paper)")
    p.add_argument(
        "--p",
        type=float,
        default=None,
        help="probability of each augmentation (default: the preset's, 0.5; use 1.0 to force them)",
    )
    p.add_argument("--order", default="fixed", choices=("fixed", "random"), help="order of the chain (default fixed)")
    p.add_argument("--device", default="cpu", help="cpu, cuda, mps or auto (default cpu)")
    p.set_defaults(func=_handler)
