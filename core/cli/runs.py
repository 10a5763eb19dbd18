"""``python -m core runs``: list, show, cancel, delete and export the runs in the run store."""

from __future__ import annotations

import argparse
import json
import math
import sys
import time


def _store(args: argparse.Namespace):
    from core.runs import RunStore

    if getattr(args, "db", None):
        print("note: --db is deprecated; use --runs-db", file=sys.stderr)
    return RunStore(getattr(args, "runs_db", None) or getattr(args, "db", None), stale_after_s=args.stale_after)


def _when(t: float | None) -> str:
    return "-" if t is None else time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t))


def _duration(run: dict) -> str:
    if run["started"] is None:
        return "-"
    end = run["ended"] if run["ended"] is not None else time.time()
    s = int(end - run["started"])
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def _list(args: argparse.Namespace) -> int:
    runs = _store(args).list_runs(args.status)
    if args.json:
        print(json.dumps(runs, indent=1))
        return 0
    if not runs:
        print("no runs" + (f" with status {args.status}" if args.status else ""))
        return 0
    header = ("ID", "NAME", "STATUS", "STARTED", "DURATION", "HOST", "PID", "FINAL METRICS")
    rows = []
    for r in runs:
        fm = r["final_metrics"] or {}
        metrics = " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in sorted(fm.items()))
        rows.append(
            (r["id"], r["name"], r["status"], _when(r["started"]), _duration(r), r["host"] or "-", str(r["pid"] or "-"),
             metrics[:60])
        )  # fmt: skip
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=True)]
    for line in (header, *rows):
        print("  ".join(str(x).ljust(w) for x, w in zip(line, widths, strict=True)).rstrip())
    return 0


def _show(args: argparse.Namespace) -> int:
    store = _store(args)
    run = store.get_run(args.run)
    rows = store.metrics(args.run)
    last: dict[str, dict] = {}
    for r in rows:
        last[r["key"]] = r
    summary = {k: {"last": v["value"], "step": v["step"], "epoch": v["epoch"]} for k, v in sorted(last.items())}
    out = {**run, "metric_rows": len(rows), "metrics_last": summary, "artifacts": store.artifacts(args.run)}
    if args.json:
        print(json.dumps(out, indent=1))
        return 0
    for key in ("id", "name", "status", "status_reason", "host", "pid", "cancel_requested"):
        print(f"{key:16} {out[key]}")
    for key in ("created", "started", "ended", "heartbeat"):
        print(f"{key:16} {_when(out[key])}")
    print(f"{'duration':16} {_duration(run)}")
    print(f"{'final_metrics':16} {json.dumps(run['final_metrics'])}")
    print(f"metrics          {len(rows)} rows")
    for k, v in summary.items():
        print(f"  {k:30} {v['last']:.6g} (step {v['step']}, epoch {v['epoch']})")
    print(f"artifacts        {len(out['artifacts'])}")
    for a in out["artifacts"]:
        print(f"  [{a['kind']}] {a['path']}")
    history = store.epoch_history(args.run)
    if history:
        print("history")
        print("  " + _history_table(history).replace("\n", "\n  "))
    print("config")
    print("  " + json.dumps(run["config"], indent=2, sort_keys=True).replace("\n", "\n  "))
    return 0


_HISTORY_COLUMNS = (
    ("epoch", "epoch", "{:d}"),
    ("step", "step", "{:d}"),
    ("train/loss", "loss", "{:.4f}"),
    ("train/lr", "lr", "{:.3g}"),
    ("train/epoch_s", "epoch s", "{:.1f}"),
    ("train/clips_per_s", "clips/s", "{:.1f}"),
    ("train/contrastive_acc", "contr. top-1", "{:.3f}"),
    ("valid/head_acc", "valid head", "{:.3f}"),
    ("valid/linear_acc", "valid linear", "{:.3f}"),
    ("valid/knn_acc", "valid kNN", "{:.3f}"),
)


def _history_table(history: list[dict]) -> str:
    """One line per epoch: epoch, step, loss, learning rate, epoch time, speed and the validation metrics."""
    cols = [c for c in _HISTORY_COLUMNS if any(c[0] in h for h in history)]

    def cell(h: dict, key: str, fmt: str) -> str:
        v = h.get(key)
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return "-"
        return fmt.format(int(v) if fmt == "{:d}" else v)

    rows = [[title for _, title, _ in cols]] + [[cell(h, k, f) for k, _, f in cols] for h in history]
    widths = [max(len(r[i]) for r in rows) for i in range(len(cols))]
    return "\n".join("  ".join(x.rjust(w) for x, w in zip(r, widths, strict=True)) for r in rows)


def _delete(args: argparse.Namespace) -> int:
    removed = _store(args).delete_run(args.run, delete_files=args.files, force=args.force)
    print(f"deleted run {args.run}" + (f" and its folder {removed[0]}" if removed else ""))
    return 0


def _cancel(args: argparse.Namespace) -> int:
    _store(args).request_cancel(args.run)
    print(f"cancel requested for run {args.run}")
    return 0


def _export(args: argparse.Namespace) -> int:
    from core.errors import RunStoreError

    store = _store(args)
    if not args.csv and not args.tensorboard:
        raise RunStoreError("runs export: give --csv PATH and/or --tensorboard LOGDIR")
    if args.csv:
        print(f"wrote {store.export_csv(args.run, args.csv)}")
    if args.tensorboard:
        print(f"wrote {store.export_tensorboard(args.run, args.tensorboard)}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``runs`` subcommand and its actions."""
    db_help = "run database (default: $CLAR_RUNS_DB, else <checkpoints>/runs.sqlite)"
    stale_help = "seconds without a heartbeat before a running run counts as interrupted (default 60)"
    p = subparsers.add_parser("runs", help="list, show, cancel, delete and export training runs")
    p.add_argument("--runs-db", help=db_help)
    p.add_argument("--db", help="deprecated alias of --runs-db")
    p.add_argument("--stale-after", type=float, default=60.0, help=stale_help)
    # The same options after the action (``runs list --runs-db X``); SUPPRESS keeps them from resetting the above.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--runs-db", default=argparse.SUPPRESS, help=db_help)
    common.add_argument("--db", default=argparse.SUPPRESS, help="deprecated alias of --runs-db")
    common.add_argument("--stale-after", type=float, default=argparse.SUPPRESS, help=stale_help)
    sub = p.add_subparsers(dest="runs_command", metavar="ACTION", required=True)

    ls = sub.add_parser("list", parents=[common], help="all runs, newest first")
    ls.add_argument("--status", help="only runs with this status (created, running, completed, failed, ...)")
    ls.add_argument("--json", action="store_true", help="print JSON instead of a table")
    ls.set_defaults(func=_list)

    show = sub.add_parser(
        "show", parents=[common], help="one run: status, per-epoch history, last metric values, artifacts, config"
    )
    show.add_argument("run", help="run id")
    show.add_argument("--json", action="store_true", help="print JSON")
    show.set_defaults(func=_show)

    cancel = sub.add_parser("cancel", parents=[common], help="ask a running run to stop")
    cancel.add_argument("run", help="run id")
    cancel.set_defaults(func=_cancel)

    delete = sub.add_parser("delete", parents=[common], help="delete a run and its metrics")
    delete.add_argument("run", help="run id")
    delete.add_argument("--files", action="store_true", help="also delete the run's own checkpoint folder")
    delete.add_argument("--force", action="store_true", help="delete even while it is running")
    delete.set_defaults(func=_delete)

    export = sub.add_parser("export", parents=[common], help="export a run's metrics")
    export.add_argument("run", help="run id")
    export.add_argument("--csv", metavar="PATH", help="write metrics as CSV")
    export.add_argument("--tensorboard", metavar="LOGDIR", help="write TensorBoard scalars (needs tensorboard)")
    export.set_defaults(func=_export)
