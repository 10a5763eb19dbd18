"""``python -m core pretrained``: build the shipped models, or check them against their cards.

``build NAME`` (or ``all``) trains a shipped model with its committed config (``configs/pretrained/NAME.yaml``) and
writes ``checkpoints/pretrained/NAME/`` (weights-only ``model.pt``, ``neighbours.npz``, ``card.json`` and
``MODEL_CARD.md``). ``check`` scores each shipped model on its held-out test clips and compares with its card.
"""

from __future__ import annotations

import argparse


def _build(args: argparse.Namespace) -> int:
    from core.train.pretrained import MODELS, build, shipped

    if args.name != "all":
        shipped(args.name)  # an unknown name: one line naming the choices
    names = list(MODELS) if args.name == "all" else [args.name]
    for name in names:
        card = build(name, progress=not args.no_progress)
        print(f"{name}: test accuracy {card['test']['top1']:.2%} on {card['test']['clips']} held-out clips, "
              f"trained in {card['wall_s'] / 60:.1f} min")  # fmt: skip
    return 0


def _check(args: argparse.Namespace) -> int:
    import json

    from core.train.pretrained import CARD_JSON, MODEL_FILE, MODELS, PRETRAINED_DIR, test_report

    worst = 0.0
    for name in MODELS:
        folder = PRETRAINED_DIR / name
        card = json.loads((folder / CARD_JSON).read_text())
        now = test_report(folder / MODEL_FILE)["top1"]
        worst = max(worst, abs(now - card["test"]["top1"]))
        print(f"{name}: card {card['test']['top1']:.2%}, now {now:.2%}")
    return 0 if worst <= 0.01 else 1


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``pretrained`` subcommand."""
    p = subparsers.add_parser("pretrained", help="build the shipped models, or check them against their cards")
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    b = sub.add_parser("build", help="train a shipped model from configs/pretrained/ and write its card")
    b.add_argument("name", help="esc10, fsdd, demo or all")
    b.add_argument("--no-progress", action="store_true", help="no progress bars")
    b.set_defaults(func=_build)
    c = sub.add_parser("check", help="score every shipped model on its held-out clips against its card (1 point)")
    c.set_defaults(func=_check)
