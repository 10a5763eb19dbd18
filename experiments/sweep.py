"""Run a sweep cell by cell, recording each in a manifest so that a killed sweep continues where it stopped.

Everything a sweep writes lives in its output folder (default ``experiments/out/<name>``, ``<name>-tiny`` for
the CI-sized version): ``runs.sqlite`` (the run store; point the app at it with ``CLAR_RUNS_DB`` to browse the
learning curves), ``checkpoints/`` and ``manifest.json``. Cells run seed by seed (every arm at seed 0, then at
seed 1, ...), so a sweep stopped early still has whole seeds to compare. The manifest is rewritten atomically
after every cell and as soon as a run has an id; a lock file keeps two sweeps out of one folder.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from core.config import TrainConfig, load_config
from core.errors import ConfigError
from core.runs import RunStore
from experiments.cells import baseline_cell, config_digest, finetune_cell, probe_cell, train_cell
from experiments.spec import Arm, Sweep

MANIFEST = "manifest.json"
OUT_ROOT = Path(__file__).resolve().parent / "out"


def output_dir(sweep: Sweep, tiny: bool = False, out: str | os.PathLike | None = None) -> Path:
    """Where ``sweep`` writes: ``out`` if given, else ``experiments/out/<name>[-tiny]``."""
    return Path(out) if out else OUT_ROOT / (sweep.name + ("-tiny" if tiny else ""))


def read_manifest(folder: Path) -> dict[str, Any]:
    """The manifest in ``folder`` (an empty one if there is none yet).

    Raises:
        ConfigError: the manifest is not valid JSON (it is only ever replaced whole, so this means it was edited).
    """
    path = folder / MANIFEST
    if not path.is_file():
        return {"cells": {}}
    try:
        data = json.loads(path.read_text())
    except ValueError as e:
        raise ConfigError(f"{path}: not a valid manifest ({e}); move it away to start the sweep afresh") from e
    if not isinstance(data, dict) or not isinstance(data.get("cells"), dict):
        raise ConfigError(f"{path}: not a sweep manifest (no cells)")
    return data


def _write(folder: Path, manifest: dict[str, Any]) -> None:
    path = folder / MANIFEST
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)
        f.flush()
        os.fsync(f.fileno())
    tmp.replace(path)


@contextmanager
def _locked(folder: Path) -> Iterator[None]:
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as e:
            raise ConfigError(f"{folder}: another sweep is running in this folder") from e
        yield


def cell_config(sweep: Sweep, arm: Arm, seed: int, tiny: bool) -> TrainConfig:
    """The training config of ``arm`` at ``seed`` (of its source arm for fine-tuning and the baseline).

    The seed's keys come first, then the tiny version's overrides, then the arm's own (which win).
    """
    while arm.kind != "train":
        arm = sweep.arm(arm.source)
    overrides = [*(f"{k}={seed}" for k in sweep.seed_keys), *(sweep.tiny if tiny else ()), *arm.overrides]
    return load_config(arm.config, overrides)


def cells(sweep: Sweep, tiny: bool = False) -> list[tuple[Arm, int]]:
    """Every ``(arm, seed)`` of the sweep in run order: seed by seed, arms in the order of the file."""
    seeds = sorted({s for a in sweep.arms for s in sweep.seeds_of(a, tiny)})
    return [(a, s) for s in seeds for a in sweep.arms if s in sweep.seeds_of(a, tiny)]


def run_sweep(
    sweep: Sweep,
    *,
    tiny: bool = False,
    out: str | os.PathLike | None = None,
    threads: int | None = None,
    device: str = "cpu",
    only: set[str] | None = None,
    progress: bool = True,
    log=print,
) -> dict[str, Any]:
    """Run every cell not yet done (of the arms in ``only``, if given); returns the manifest.

    Raises:
        ConfigError: a cell's config changed since it ran (use another ``out``), a run ended without completing
            (run again to resume it), another sweep holds the folder, or a bad sweep file.
    """
    folder = output_dir(sweep, tiny, out)
    with _locked(folder):
        manifest = read_manifest(folder)
        manifest.update({"sweep": sweep.name, "tiny": tiny, "digest": sweep.digest()})
        store = RunStore(folder / "runs.sqlite")
        todo = [(a, s) for a, s in cells(sweep, tiny) if only is None or a.name in only]
        for n, (arm, seed) in enumerate(todo, 1):
            key = f"{arm.name}/{seed}"
            config = cell_config(sweep, arm, seed, tiny)
            if device != "cpu":
                config = config.with_overrides({"runtime.device": device})
            digest = config_digest(config)
            if arm.kind in ("finetune", "probe"):
                digest += "+" + json.dumps(arm.options, sort_keys=True)
            elif arm.kind == "metric":
                digest += "+" + arm.score
            entry = manifest["cells"].get(key, {})
            if entry and entry.get("config") != digest and arm.kind != "train":
                log(f"{key}: its settings changed since it ran; computing it again")
                entry = {}
            if entry and entry.get("config") != digest:
                raise ConfigError(
                    f"{folder}: cell {key} ran with another config ({entry.get('config')} != {digest}); "
                    "use another --out folder for the changed sweep"
                )
            if entry.get("done"):
                continue
            log(f"[{n}/{len(todo)}] {key}: {arm.kind}")
            t0 = time.time()
            entry = {**entry, "arm": arm.name, "seed": seed, "kind": arm.kind, "config": digest}
            if arm.kind == "train":

                def record(run_id: str, key: str = key, entry: dict = entry) -> None:
                    entry["run_id"] = run_id
                    manifest["cells"][key] = entry
                    _write(folder, manifest)

                result = train_cell(
                    config,
                    entry,
                    store=store,
                    checkpoint_root=folder / "checkpoints",
                    on_run_id=record,
                    threads=threads,
                    progress=progress,
                )
                result["score"] = result["final"].get(arm.score)
                if result["score"] is None:
                    raise ConfigError(f"cell {key}: the run has no final metric {arm.score!r} to score it by")
            else:
                source = manifest["cells"].get(f"{arm.source}/{seed}", {})
                # a baseline needs only the source's splits (its config, already in ``config``), not its training
                if arm.kind != "baseline" and not source.get("done"):
                    raise ConfigError(f"cell {key} needs {arm.source}/{seed}, which has not finished")
                if arm.kind == "finetune":
                    options = {**arm.options, "epochs": 2} if tiny else arm.options
                    result = finetune_cell(source, options, device, progress)
                elif arm.kind == "probe":
                    result = probe_cell(source, arm.options["label_fraction"], device, progress)
                elif arm.kind == "metric":
                    if arm.score not in source.get("final", {}):
                        raise ConfigError(f"cell {key}: {arm.source}/{seed} has no final metric {arm.score!r}")
                    result = {"test_top1": source["final"][arm.score], "source_run": source["run_id"]}
                else:
                    result = baseline_cell(config, progress)
                result["score"] = result["test_top1"]
            entry.update(result, done=True, finished=time.time(), cell_s=time.time() - t0)
            manifest["cells"][key] = entry
            _write(folder, manifest)
            log(f"[{n}/{len(todo)}] {key}: score {entry['score']:.4f} in {entry['cell_s']:.0f} s")
        _write(folder, manifest)
    return manifest
