"""The description of one sweep (``experiments/<name>/sweep.yaml``), read and checked.

A sweep is a set of **arms** run at every seed. An arm is one of:

- a training run (``config``: a YAML file of the experiment folder, with optional ``set`` overrides), scored by one
  of the run's final metrics (``score``, e.g. ``test/best/head_acc``);
- a fine-tuning of another arm's checkpoint (``finetune_of``, with ``finetune`` options: ``epochs``, ``lr``,
  ``head_lr``, ``batch_size``, ``init``: ``random`` or ``probe``), scored by its test top-1;
- a linear probe of another arm's checkpoint at another label fraction (``probe_of``, with ``probe`` options:
  ``label_fraction``), scored by its test top-1: a self-supervised encoder is trained once and probed at 1 %,
  10 % and 100 % of the labels (nested: the 1 % labels are among the 10 % ones of the same seed);
- the trivial baseline on another arm's exact splits and labels (``baseline_of``): logistic regression on the
  per-bin mean and standard deviation of the log-Mel (:mod:`core.evaluate.baseline`). It needs only that arm's
  config (its splits and labelled clips), not its finished training, so it can run before it (``--only``);
- another score of another arm's runs (``score_of`` with ``score``), e.g. CLAR scored by a linear probe as well as
  by its head: no compute of its own.

Each seed sets every key of ``seed_keys`` (default ``runtime.seed`` and ``data.label_seed``), so within a seed every
arm sees the same labelled clips and comparisons can be paired. A cross-validation makes the test fold its "seed"
(``seed_keys: [data.test_fold]``, ``seed_name: fold``): each cell is then the run ``python -m core cv`` makes for
that fold, and comparisons are paired by fold. ``compare`` lists the pairs the report tests, and
``tiny`` the overrides of the small version CI runs end to end.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.config.safe_yaml import parse_yaml
from core.errors import ConfigError

HERE = Path(__file__).resolve().parent
ARM_KEYS = {
    "name", "label", "config", "set", "score", "finetune_of", "finetune", "probe_of", "probe", "baseline_of",
    "score_of", "seeds",
}  # fmt: skip
SWEEP_KEYS = {
    "title", "claims", "seeds", "seed_keys", "seed_name", "arms", "compare", "tiny", "tiny_seeds", "note", "figures"
}  # fmt: skip
FIGURES = ("scores", "curves", "augment_matrix")
FINETUNE_KEYS = {"epochs", "lr", "head_lr", "batch_size", "init"}
PROBE_KEYS = {"label_fraction"}


@dataclass(frozen=True)
class Arm:
    """One arm of a sweep.

    Attributes:
        name: its name in tables (letters, digits, ``_``).
        label: its name in figures and prose.
        kind: ``train``, ``finetune``, ``probe``, ``baseline`` or ``metric``.
        config: the training config (``train``), a path inside the experiment folder.
        overrides: ``key=value`` overrides of the config.
        score: the metric the arm is scored by (a run's final metric for ``train``; ``test_top1`` otherwise).
        source: the arm whose checkpoint (``finetune``, ``probe``) or splits (``baseline``) it uses.
        options: a fine-tuning's options (epochs, lr, head_lr, batch_size, init), or a probe's (label_fraction).
        seeds: the seeds of this arm (None: the sweep's).
    """

    name: str
    label: str
    kind: str
    config: Path | None = None
    overrides: tuple[str, ...] = ()
    score: str = "test_top1"
    source: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    seeds: tuple[int, ...] | None = None


@dataclass(frozen=True)
class Comparison:
    """Arm ``a`` against arm ``b``, for one of the paper's claims."""

    a: str
    b: str
    claim: str
    says: str


@dataclass(frozen=True)
class Sweep:
    """A sweep: its arms, seeds, comparisons and CI-sized overrides."""

    name: str
    folder: Path
    title: str
    claims: tuple[str, ...]
    seeds: tuple[int, ...]
    seed_keys: tuple[str, ...]
    arms: tuple[Arm, ...]
    compare: tuple[Comparison, ...]
    tiny: tuple[str, ...]
    tiny_seeds: tuple[int, ...]
    note: str = ""
    figures: tuple[str, ...] = ("scores", "curves")
    seed_name: str = "seed"

    def arm(self, name: str) -> Arm:
        """The arm called ``name``."""
        for a in self.arms:
            if a.name == name:
                return a
        raise ConfigError(f"{self.folder / 'sweep.yaml'}: no arm is called {name!r}")

    def seeds_of(self, arm: Arm, tiny: bool = False) -> tuple[int, ...]:
        """The seeds ``arm`` runs at (the tiny version runs at most ``tiny_seeds``)."""
        seeds = arm.seeds if arm.seeds is not None else self.seeds
        return tuple(s for s in seeds if s in self.tiny_seeds) if tiny else seeds

    def digest(self) -> str:
        """A short hash of the sweep file and every config it names (a changed sweep is a different sweep)."""
        h = hashlib.sha256()
        for p in sorted(self.folder.glob("*.yaml")):
            h.update(p.name.encode() + b"\0" + p.read_bytes())
        return h.hexdigest()[:12]


def _fail(path: Path, problem: str) -> ConfigError:
    return ConfigError(f"{path}: {problem}")


def _ints(value: Any, path: Path, key: str) -> tuple[int, ...]:
    ints = isinstance(value, list) and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    if not ints or not value:
        raise _fail(path, f"{key} must be a non-empty list of integers, got {json.dumps(value, default=str)}")
    return tuple(value)


def _strings(value: Any, path: Path, key: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _fail(path, f"{key} must be a list of strings")
    return tuple(value)


def _arm(d: Any, path: Path, names: set[str]) -> Arm:
    if not isinstance(d, dict) or not isinstance(d.get("name"), str) or not d["name"].isidentifier():
        raise _fail(path, f"every arm needs a name made of letters, digits and _, got {json.dumps(d, default=str)}")
    name = d["name"]
    unknown = set(d) - ARM_KEYS
    if unknown:
        raise _fail(path, f"arm {name}: unknown key(s) {', '.join(sorted(unknown))}")
    kinds = [k for k in ("config", "finetune_of", "probe_of", "baseline_of", "score_of") if k in d]
    if len(kinds) != 1:
        raise _fail(path, f"arm {name}: give exactly one of config, finetune_of, probe_of, baseline_of or score_of")
    seeds = _ints(d["seeds"], path, f"arm {name}: seeds") if "seeds" in d else None
    label = str(d.get("label", name))
    if "config" in d:
        config = (path.parent / str(d["config"])).resolve()
        if config.parent != path.parent or not config.is_file():
            raise _fail(path, f"arm {name}: config {d['config']!r} is not a file of this experiment's folder")
        if not isinstance(d.get("score"), str):
            raise _fail(path, f"arm {name}: a training arm needs score, a final metric such as test/best/head_acc")
        overrides = _strings(d.get("set", []), path, f"arm {name}: set")
        return Arm(name, label, "train", config, overrides, d["score"], seeds=seeds)
    source = d.get("finetune_of") or d.get("probe_of") or d.get("baseline_of") or d.get("score_of")
    if source not in names:
        raise _fail(path, f"arm {name}: {source!r} is not an arm defined above it")
    if "score_of" in d:
        if not isinstance(d.get("score"), str):
            raise _fail(path, f"arm {name}: score_of needs score, the other arm's final metric to read")
        return Arm(name, label, "metric", score=d["score"], source=source, seeds=seeds)
    if "finetune_of" in d:
        opts = d.get("finetune", {})
        if not isinstance(opts, dict) or set(opts) - FINETUNE_KEYS:
            raise _fail(path, f"arm {name}: finetune takes {', '.join(sorted(FINETUNE_KEYS))}")
        return Arm(name, label, "finetune", source=source, options=dict(opts), seeds=seeds)
    if "probe_of" in d:
        opts = d.get("probe", {})
        fraction = opts.get("label_fraction") if isinstance(opts, dict) else None
        # not a mapping: no fraction, refused before its keys are looked at
        if not isinstance(fraction, (int, float)) or isinstance(fraction, bool) or set(opts) - PROBE_KEYS:
            raise _fail(path, f"arm {name}: probe takes label_fraction, a number in (0, 1]")
        if not 0.0 < float(fraction) <= 1.0:
            raise _fail(path, f"arm {name}: probe label_fraction {fraction} is not in (0, 1]")
        return Arm(name, label, "probe", source=source, options={"label_fraction": float(fraction)}, seeds=seeds)
    return Arm(name, label, "baseline", source=source, seeds=seeds)


def load_sweep(name_or_path: str) -> Sweep:
    """Read ``experiments/<name>/sweep.yaml`` (or a folder or file path) and check it.

    Raises:
        ConfigError: one line naming the file and the problem.
    """
    p = Path(name_or_path)
    if not p.exists():
        p = HERE / name_or_path
    if p.is_dir():
        p = p / "sweep.yaml"
    if not p.is_file():
        known = sorted(q.parent.name for q in HERE.glob("*/sweep.yaml"))
        raise ConfigError(f"experiment {name_or_path!r} not found; known: {', '.join(known)}")
    p = p.resolve()
    d = parse_yaml(p.read_bytes(), str(p))
    if not isinstance(d, dict):
        raise _fail(p, "a sweep is a mapping")
    unknown = set(d) - SWEEP_KEYS
    if unknown:
        raise _fail(p, f"unknown key(s) {', '.join(sorted(unknown))}")
    if not isinstance(d.get("arms"), list) or not d["arms"]:
        raise _fail(p, "arms must be a non-empty list")
    arms: list[Arm] = []
    for item in d["arms"]:
        arm = _arm(item, p, {a.name for a in arms})
        if any(a.name == arm.name for a in arms):
            raise _fail(p, f"two arms are called {arm.name}")
        arms.append(arm)
    names = {a.name for a in arms}
    compare = []
    for c in d.get("compare", []):
        if not isinstance(c, dict) or c.get("a") not in names or c.get("b") not in names:
            raise _fail(p, f"compare: {json.dumps(c, default=str)} must name two arms as a and b")
        compare.append(Comparison(c["a"], c["b"], str(c.get("claim", "")), str(c.get("says", ""))))
    seeds = _ints(d.get("seeds", [0]), p, "seeds")
    figures = _strings(d.get("figures", ["scores", "curves"]), p, "figures")
    if set(figures) - set(FIGURES):
        raise _fail(p, f"figures: {', '.join(sorted(set(figures) - set(FIGURES)))} not one of {', '.join(FIGURES)}")
    return Sweep(
        name=p.parent.name,
        folder=p.parent,
        title=str(d.get("title", p.parent.name)),
        claims=_strings(d.get("claims", []), p, "claims"),
        seeds=seeds,
        seed_keys=_strings(d.get("seed_keys", ["runtime.seed", "data.label_seed"]), p, "seed_keys"),
        arms=tuple(arms),
        compare=tuple(compare),
        tiny=_strings(d.get("tiny", []), p, "tiny"),
        tiny_seeds=_ints(d.get("tiny_seeds", list(seeds[:2])), p, "tiny_seeds"),
        note=str(d.get("note", "")),
        figures=figures,
        seed_name=str(d.get("seed_name", "seed")),
    )


def known_sweeps() -> list[str]:
    """The experiments shipped in this folder."""
    return sorted(q.parent.name for q in HERE.glob("*/sweep.yaml"))
