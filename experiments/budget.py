"""The compute budget: what each sweep has spent so far, in core-hours, against issue 12's ~10.

Every sweep runs its cells one at a time on one thread (``--threads 1``), so a cell's wall time is its core time.
A cell counts its own wall time, or, for a run resumed after a kill, the run's whole training time (the cell's
clock restarted with the resume). Evaluation and the baselines count as they ran.
"""

from __future__ import annotations

from typing import Any

from experiments.spec import known_sweeps, load_sweep
from experiments.sweep import cells, output_dir, read_manifest

BUDGET_HOURS = 10.0
"""Issue 12's budget for the whole reproduction, in core-hours."""
ORDER = ("fsdd_regimes", "fsdd_curve", "fsdd_augment", "fsdd_labels", "esc10_cv", "sanity")
"""The sweeps in the budget's order (others follow, by name)."""


def cell_hours(entry: dict[str, Any]) -> float:
    """Core-hours one finished cell took (see the module docstring)."""
    return max(float(entry.get("cell_s") or 0.0), float(entry.get("train_s") or 0.0)) / 3600


def spent() -> list[dict[str, Any]]:
    """Per shipped sweep in the budget's order (full size, default output folder): cells done, in all, core-hours."""
    rows = []
    names = known_sweeps()
    for name in sorted(names, key=lambda n: (ORDER.index(n) if n in ORDER else len(ORDER), n)):
        sweep = load_sweep(name)
        folder = output_dir(sweep, False, None)
        manifest = read_manifest(folder) if (folder / "manifest.json").exists() else {"cells": {}}
        done = [e for e in manifest["cells"].values() if e.get("done")]
        rows.append({
            "sweep": name, "title": sweep.title, "done": len(done), "cells": len(cells(sweep)),
            "hours": sum(cell_hours(e) for e in done),
        })  # fmt: skip
    return rows


def budget_markdown(rows: list[dict[str, Any]], budget: float = BUDGET_HOURS) -> str:
    """The budget table of docs/results.md."""
    lines = [
        "| sweep | cells done | core-hours spent |",
        "|---|---|---|",
        *(f"| `{r['sweep']}`: {r['title']} | {r['done']} of {r['cells']} | {r['hours']:.2f} |" for r in rows),
    ]
    total = sum(r["hours"] for r in rows)
    lines.append(f"| **all** | | **{total:.2f} of about {budget:.0f}** |")
    return "\n".join(lines) + "\n"
