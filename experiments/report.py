"""Tables, verdicts and figures from a sweep's manifest (``python -m experiments report NAME``).

The report reads only the manifest, so it can be drawn at any point of a sweep: cells not yet done are listed as
pending, and a comparison needs at least 2 seeds done for both arms. ``--publish`` writes the sweep's section of
``docs/results.md`` (between ``<!-- results:NAME -->`` markers), its figures as PNG and its numbers as JSON under
``docs/results/``.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path
from typing import Any

import torch

from core.config.provenance import cpu_description, git_commit
from core.markdown import replace_section
from experiments.budget import budget_markdown, cell_hours, spent
from experiments.curves import LATE, TOLERANCE, level_off, mean_curve
from experiments.spec import Arm, Sweep
from experiments.stats import paired, summarise
from experiments.sweep import cells, output_dir, read_manifest

DOCS = Path(__file__).resolve().parent.parent / "docs"


def _cost(arm: Arm, entry: dict[str, Any], manifest: dict[str, Any]) -> tuple[float | None, float]:
    """(optimiser steps, seconds) a cell cost, counting the pre-training of a fine-tuned run."""
    if arm.kind == "train":
        return float(entry["steps"]), float(entry["train_s"])
    if arm.kind == "baseline":
        return None, float(entry.get("baseline_s", 0.0))
    source = manifest["cells"][f"{arm.source}/{entry['seed']}"]
    if arm.kind == "metric":  # the same runs, scored another way
        return float(source["steps"]), float(source["train_s"])
    if arm.kind == "probe":  # the same runs, probed at another label fraction
        return float(source["steps"]), float(source["train_s"] + entry["probe_s"])
    return float(source["steps"] + (entry.get("finetune_steps") or 0)), float(source["train_s"] + entry["finetune_s"])


def collect(sweep: Sweep, manifest: dict[str, Any], tiny: bool = False) -> dict[str, Any]:
    """Per arm: ``scores`` ``{seed: top-1}``, mean ``steps`` and ``seconds``, and the validation ``curves``."""
    out: dict[str, Any] = {"scores": {}, "steps": {}, "seconds": {}, "curves": {}, "pending": []}
    for arm, seed in cells(sweep, tiny):
        entry = manifest["cells"].get(f"{arm.name}/{seed}", {})
        if not entry.get("done"):
            out["pending"].append(f"{arm.name}/{seed}")
            continue
        out["scores"].setdefault(arm.name, {})[seed] = float(entry["score"])
        steps, seconds = _cost(arm, entry, manifest)
        out["steps"].setdefault(arm.name, []).append(steps)
        out["seconds"].setdefault(arm.name, []).append(seconds)
        if entry.get("curve"):
            out["curves"].setdefault(arm.name, []).append(entry["curve"])
    return out


def _pct(x: float) -> str:
    return "-" if math.isnan(x) else f"{100 * x:.1f}"


def summary(sweep: Sweep, data: dict[str, Any]) -> dict[str, Any]:
    """The JSON-able numbers: every arm's summary over seeds and every comparison's paired test."""
    arms = {}
    for arm in sweep.arms:
        scores = data["scores"].get(arm.name, {})
        steps = [s for s in data["steps"].get(arm.name, []) if s is not None]
        arms[arm.name] = {
            "label": arm.label,
            "kind": arm.kind,
            "scores": {str(k): v for k, v in scores.items()},
            **summarise(list(scores.values())).as_dict(),
            "steps": sum(steps) / len(steps) if steps else None,
            "seconds": sum(data["seconds"].get(arm.name, [0.0])) / max(1, len(data["seconds"].get(arm.name, []))),
        }
    comparisons = []
    for c in sweep.compare:
        p = paired(data["scores"].get(c.a, {}), data["scores"].get(c.b, {}))
        comparisons.append({"a": c.a, "b": c.b, "claim": c.claim, "says": c.says, **p.as_dict()})
    return {"arms": arms, "comparisons": comparisons, "pending": data["pending"]}


def _verdict(sweep: Sweep, c: dict[str, Any]) -> str:
    if c["verdict"] == "a":
        return f"**{sweep.arm(c['a']).label} better**"
    if c["verdict"] == "b":
        return f"**{sweep.arm(c['b']).label} better**"
    return "tie (within 2 SE)" if c["verdict"] == "tie" else c["verdict"]


def _basis(s: dict[str, Any], c: dict[str, Any]) -> str:
    a, b = s["arms"][c["a"]], s["arms"][c["b"]]
    if not a["n"] or not b["n"]:
        return "pending"
    wall = f"train time {a['seconds'] / 60:.1f} vs {b['seconds'] / 60:.1f} min"
    if a["steps"] is None or b["steps"] is None:
        return f"no training for one side; {wall}"
    if abs(a["steps"] - b["steps"]) < 0.5:
        return f"equal optimiser steps ({a['steps']:.0f}); {wall}"
    return f"{a['steps']:.0f} vs {b['steps']:.0f} optimiser steps; {wall}"


def convergence_lines(sweep: Sweep, curves: dict[str, list[list[dict[str, Any]]]]) -> list[str]:
    """The learning-curve table: per training arm and score, its best mean validation top-1 and its level-off step."""
    rows = []
    for arm in sweep.arms:
        if arm.kind != "train" or not curves.get(arm.name):
            continue
        for metric, what in (("valid/linear_acc", "linear probe"), ("valid/head_acc", "its head")):
            lv = level_off(*mean_curve(curves[arm.name], metric))
            if lv is None:
                continue
            note = "**still climbing**" if lv.still_climbing else "levelled off"
            rows.append(
                f"| {arm.label} | {what} | {100 * lv.best:.1f} | {lv.best_step} | {lv.level_step} of {lv.last_step} "
                f"| {note} |"
            )
    if not rows:
        return []
    head = [
        "",
        f"Learning curves (validation top-1, mean over seeds): the first evaluation within {100 * TOLERANCE:.0f} "
        f"points of the curve's best is where it levels off. A curve that gets there only in the last "
        f"{100 * (1 - LATE):.0f} % of its steps, where the cosine schedule has all but stopped the learning rate, "
        "counts as still climbing: a comparison at that length tests it below its minimum training.",
        "",
        "| arm | scored by | best validation top-1 (%) | at step | within 2 points of it from step | |",
        "|---|---|---|---|---|---|",
    ]
    return head + rows


def markdown(
    sweep: Sweep,
    s: dict[str, Any],
    meta: dict[str, str],
    figures: list[str],
    curves: dict[str, list[list[dict[str, Any]]]] | None = None,
) -> str:
    """The sweep's section of docs/results.md."""
    curves = curves or {}
    lines = [f"## {sweep.title}", "", meta["line"], ""]
    if sweep.note:
        lines += [sweep.note.strip(), ""]
    unit = sweep.seed_name
    lines += [f"| arm | optimiser steps | train time (min) | {unit}s | test top-1 (%) mean ± SD | per {unit} |",
              "|---|---|---|---|---|---|"]  # fmt: skip
    for a in s["arms"].values():
        steps = "-" if a["steps"] is None else f"{a['steps']:.0f}"
        per_seed = ", ".join(f"{k}: {100 * v:.1f}" for k, v in a["scores"].items()) or "pending"
        spread = "" if math.isnan(a["sd"]) else f" ± {100 * a['sd']:.1f}"
        lines.append(
            f"| {a['label']} | {steps} | {a['seconds'] / 60:.1f} | {a['n']} | {_pct(a['mean'])}{spread} | {per_seed} |"
        )
    if s["comparisons"]:
        lines += ["", f"| claim | comparison | difference (pp), paired by {unit} | 2 SE (pp) | verdict | basis |",
                  "|---|---|---|---|---|---|"]  # fmt: skip
        for c in s["comparisons"]:
            what = f"{sweep.arm(c['a']).label} − {sweep.arm(c['b']).label}"
            two_se = "-" if math.isnan(c["se"]) else f"{200 * c['se']:.1f}"
            diff = "-" if math.isnan(c["diff"]) else f"{100 * c['diff']:+.1f}"
            lines.append(
                f"| ({c['claim']}) {c['says']} | {what} | {diff} | {two_se} | {_verdict(sweep, c)} | {_basis(s, c)} |"
            )
    lines += convergence_lines(sweep, curves)
    if s["pending"]:
        lines += ["", f"Pending ({len(s['pending'])} cells): {', '.join(s['pending'])}. Run the command again to "
                  "continue; the table fills in as cells finish."]  # fmt: skip
    lines += [""] + [f"![{sweep.name}: {f}](results/{f})" for f in figures]
    return "\n".join(lines).rstrip() + "\n"


def augment_means(sweep: Sweep, s: dict[str, Any], tiny: bool = False) -> dict[tuple[str, ...], float]:
    """Mean score of each training arm that uses one augmentation or a pair, keyed by the names in canonical order."""
    from core.augment.sets import CANONICAL_ORDER, resolve_set
    from experiments.sweep import cell_config

    out = {}
    for arm in sweep.arms:
        if arm.kind != "train" or math.isnan(s["arms"][arm.name]["mean"]):
            continue
        names = resolve_set(cell_config(sweep, arm, sweep.seeds_of(arm, tiny)[0], tiny).augment.names)
        if len(names) <= 2:
            out[tuple(sorted(names, key=CANONICAL_ORDER.index))] = s["arms"][arm.name]["mean"]
    return out


def report_sweep(
    sweep: Sweep, *, tiny: bool = False, out: str | None = None, publish: bool = False, png: bool = True
) -> str:
    """Write ``results.json``, ``results.md`` and the figures into the sweep's folder; returns the markdown.

    With ``publish``, the section of ``docs/results.md``, ``docs/results/<name>.json`` and the PNGs are written too.
    """
    from experiments.figures import augment_matrix_figure, curves_figure, scores_figure

    folder = output_dir(sweep, tiny, out)
    manifest = read_manifest(folder)
    data = collect(sweep, manifest, tiny)
    s = summary(sweep, data)
    done = [e for e in manifest["cells"].values() if e.get("done")]
    hours = sum(cell_hours(e) for e in done)
    flag = " --tiny" if tiny else ""
    meta = {
        "line": f"Reproduce: `python -m experiments run {sweep.name}{flag} --threads 1` (resumable), then "
        f"`python -m experiments report {sweep.name}{flag} --publish`. "
        f"Commit {(git_commit() or 'unknown')[:10]}; {cpu_description()}, torch {torch.__version__}; "
        f"{len(done)} of {len(cells(sweep, tiny))} cells done, {hours:.2f} h of wall time in all; "
        f"drawn {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC.",
    }
    figs = {f"{sweep.name}_scores": scores_figure(sweep, data["scores"])} if "scores" in sweep.figures else {}
    if data["curves"] and "curves" in sweep.figures:
        figs[f"{sweep.name}_curves"] = curves_figure(sweep, data["curves"])
    if "augment_matrix" in sweep.figures:
        figs[f"{sweep.name}_matrix"] = augment_matrix_figure(sweep, augment_means(sweep, s, tiny))
    names = [f"{n}.png" for n in figs] if png else []
    text = markdown(sweep, s, meta, names, data["curves"])
    (folder / "results.json").write_text(json.dumps({**s, "meta": meta}, indent=1))
    (folder / "results.md").write_text(text)
    if png:
        from experiments.png import write_pngs

        write_pngs(figs, folder / "results")
    if publish:
        target = DOCS / "results"
        target.mkdir(parents=True, exist_ok=True)
        (target / f"{sweep.name}.json").write_text(json.dumps({**s, "meta": meta}, indent=1))
        if png:
            for n in names:
                (target / n).write_bytes((folder / "results" / n).read_bytes())
        replace_section(DOCS / "results.md", "results", sweep.name, text, "Results")
        if not tiny and out is None:
            publish_budget()
    return text


def publish_budget() -> str:
    """Rewrite the budget section of docs/results.md from every sweep's manifest; returns its markdown."""
    text = budget_markdown(spent())
    replace_section(DOCS / "results.md", "results", "budget", text, "Results")
    return text
