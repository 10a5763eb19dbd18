"""The command line: ``python -m experiments list | run NAME | status NAME | report NAME | budget``."""

from __future__ import annotations

import argparse
import sys

from core.errors import ClarError


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", help="an experiment (a folder of experiments/ with a sweep.yaml), or its path")
    p.add_argument("--tiny", action="store_true", help="the CI-sized version: a few steps on a subset, 2 seeds")
    p.add_argument("--out", help="output folder (default experiments/out/NAME, or NAME-tiny)")


def _run(args: argparse.Namespace) -> int:
    from experiments.spec import load_sweep
    from experiments.sweep import run_sweep

    sweep = load_sweep(args.name)
    only = set(args.only.split(",")) if args.only else None
    for name in only or ():
        sweep.arm(name)
    run_sweep(
        sweep,
        tiny=args.tiny,
        out=args.out,
        threads=args.threads,
        device=args.device,
        only=only,
        progress=not args.quiet,
    )
    return 0


def _status(args: argparse.Namespace) -> int:
    from experiments.spec import load_sweep
    from experiments.sweep import cells, output_dir, read_manifest

    sweep = load_sweep(args.name)
    manifest = read_manifest(output_dir(sweep, args.tiny, args.out))
    todo = cells(sweep, args.tiny)
    done = 0
    for arm, seed in todo:
        entry = manifest["cells"].get(f"{arm.name}/{seed}", {})
        done += bool(entry.get("done"))
        state = f"score {entry['score']:.4f}" if entry.get("done") else ("started" if entry else "to do")
        print(f"{arm.name}/{seed:<4} {state}")
    print(f"{done} of {len(todo)} cells done")
    return 0


def _report(args: argparse.Namespace) -> int:
    from experiments.report import report_sweep
    from experiments.spec import load_sweep

    text = report_sweep(load_sweep(args.name), tiny=args.tiny, out=args.out, publish=args.publish, png=not args.no_png)
    print(text)
    return 0


def _budget(args: argparse.Namespace) -> int:
    from experiments.budget import budget_markdown, spent
    from experiments.report import publish_budget

    print(publish_budget() if args.publish else budget_markdown(spent()), end="")
    return 0


def _list(args: argparse.Namespace) -> int:
    from experiments.spec import known_sweeps, load_sweep

    for name in known_sweeps():
        print(f"{name:24} {load_sweep(name).title}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run it; exit status 2 with one line on a configuration or data error."""
    parser = argparse.ArgumentParser(prog="python -m experiments", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="the experiments shipped").set_defaults(func=_list)
    p = sub.add_parser("run", help="run (or resume) a sweep: every cell not yet done")
    _common(p)
    p.add_argument("--threads", type=int, help="torch threads per run (default: torch's)")
    p.add_argument("--device", default="cpu", help="cpu (default), cuda, cuda:N or mps")
    p.add_argument("--only", help="comma-separated arms to run (default: all)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_run)
    p = sub.add_parser("status", help="which cells are done, started or still to do")
    _common(p)
    p.set_defaults(func=_status)
    p = sub.add_parser("report", help="tables, verdicts and figures from a sweep's manifest")
    _common(p)
    p.add_argument("--publish", action="store_true", help="write the section of docs/results.md and its PNGs")
    p.add_argument("--no-png", action="store_true", help="no PNG figures (they need chromium)")
    p.set_defaults(func=_report)
    p = sub.add_parser("budget", help="core-hours each sweep has spent, against the ~10 of the budget")
    p.add_argument("--publish", action="store_true", help="write the budget section of docs/results.md")
    p.set_defaults(func=_budget)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except ClarError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: run the same command again to continue", file=sys.stderr)
        return 130
