"""``python -m core``: the command line. Each module in this package adds one subcommand.

A subcommand module defines ``register(subparsers) -> None``, which adds its parser and sets
``func=handler`` with ``handler(args) -> int``. Heavy imports belong inside the handler, so that
``--help`` stays fast. Errors derived from ``ClarError``, and file-system errors (``OSError``), print as one line
and exit with status 2: a user mistake never shows a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from core import __version__
from core.errors import ClarError


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split())


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m core`` parser, with one subcommand per module of this package."""
    parser = argparse.ArgumentParser(prog="python -m core", description="CLAR Studio command line")
    parser.add_argument("--version", action="version", version=f"clar-studio {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (2 for a one-line error)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except ClarError as e:
        print(f"error: {_one_line(e)}", file=sys.stderr)
        return 2
    except OSError as e:  # the file system said no (a full disk, a read-only folder, /proc): the user can fix it
        where = f"{e.filename}: " if getattr(e, "filename", None) else ""
        print(f"error: {where}{e.strerror or e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
