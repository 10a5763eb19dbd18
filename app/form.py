"""The Train page's form as data: which fields a run has, their values from a config, and the overrides they make.

Nothing here draws anything, so the form's logic is tested without a browser. The page draws one widget per
:class:`Field`; :func:`overrides` turns the values back into ``key=value`` overrides of the starting config (only
the ones that differ), and validation is ``core``'s own (:func:`core.train.launcher.validate_overrides`), whose
error names a config key that :func:`field_of` maps back to the field that shows it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.augment import AUGMENTATION_SETS, CANONICAL_ORDER, resolve_set
from core.config import TrainConfig
from core.config.schema import CONFIGS_DIR
from core.data import DATASET_NAMES, family
from core.models import ENCODERS
from core.models.factory import ENCODER_INPUT
from core.regimes import regime_names

INPUTS = {"features": "spectrogram (2D: log-power STFT, phase, log-power Mel)", "waveform": "raw waveform (1D)"}
AUGMENT_MODES = ("named set", "custom pick")


@dataclass(frozen=True)
class Field:
    """One widget of the form.

    Attributes:
        name: the form's key (also the widget key, after the starting config's name).
        label: what the user reads.
        kind: ``select``, ``multiselect``, ``radio``, ``int``, ``float``, ``fraction`` or ``text``.
        key: the config key it sets (None: it shapes another field, like ``input``).
        choices: the options of a select, radio or multiselect.
        help: the tooltip.
    """

    name: str
    label: str
    kind: str
    key: str | None = None
    choices: tuple = ()
    help: str = ""


def shipped_configs() -> list[str]:
    """The configs under ``configs/`` by name (``demo``, ``smoke``, ``paper/fsdd/clar_2d``, ...), demo first.

    A ``dataset.yaml`` and ``base.yaml`` hold shared settings, not a run, and are left out.
    """
    names = [
        p.relative_to(CONFIGS_DIR).with_suffix("").as_posix()
        for p in sorted(CONFIGS_DIR.rglob("*.yaml"))
        if p.stem not in ("dataset", "base")
    ]
    return sorted(names, key=lambda n: (n != "demo", "/" in n, n))


def initial_values(cfg: TrainConfig) -> dict[str, Any]:
    """The form's values for a config (what each field shows before the user changes anything)."""
    d, aug = cfg.data, cfg.augment
    named = aug.names in AUGMENTATION_SETS or aug.names == "none"
    return {
        "dataset": d.dataset,
        "root": d.root or "",
        "task": d.task,
        "version": d.version,
        "test_fold": d.test_fold,
        "test_group": d.test_group or "",
        "regime": cfg.model.regime,
        "input": cfg.input_kind,
        "encoder": cfg.model.encoder,
        "aug_mode": AUGMENT_MODES[0] if named else AUGMENT_MODES[1],
        "aug_set": aug.names if named else "all",
        "aug_pick": list(resolve_set(aug.names)) if aug.names != "none" else [],
        "aug_p": aug.p,
        "label_fraction": d.label_fraction,
        "epochs": cfg.schedule.epochs,
        "batch_size": d.batch_size,
        "lr": cfg.optim.lr,
        "temperature": cfg.loss.temperature,
        "seed": cfg.runtime.seed,
        "name": cfg.runtime.name or "",
    }


def fields(values: dict[str, Any]) -> list[Field]:
    """The fields to draw for the current values (a dataset without tasks has no task field, and so on)."""
    fam = family(values["dataset"])
    out = [Field("dataset", "Dataset", "select", "data.dataset", DATASET_NAMES, "where the clips come from")]
    if fam.needs_root or values.get("root"):
        out.append(Field("root", "Dataset location", "text", "data.root", help="a folder (or CSV file) on the server"))
    if fam.tasks:
        out.append(Field("task", "Task", "select", "data.task", (None, *fam.tasks), "None: the dataset's default"))
    if fam.versions:
        out.append(Field("version", "Version", "select", "data.version", (None, *fam.versions), "None: detected"))
    if fam.folds:
        out.append(Field("test_fold", "Test fold", "select", "data.test_fold", fam.folds, "the fold held out"))
    if fam.group:
        out.append(
            Field(
                "test_group",
                f"Test {fam.group} (optional)",
                "text",
                "data.test_group",
                help=f"leave this {fam.group} out of training and test on it; empty: the official test split",
            )
        )
    kind = values["input"]
    out += [
        Field("regime", "Regime", "radio", "model.regime", regime_names(), "supervised, SimCLR or CLAR"),
        Field("input", "Input", "radio", None, tuple(INPUTS), "what the encoder reads"),
        Field("encoder", "Encoder", "select", "model.encoder", tuple(e for e in ENCODERS if ENCODER_INPUT[e] == kind)),
        Field("aug_mode", "Augmentations", "radio", None, AUGMENT_MODES),
    ]
    if values["aug_mode"] == AUGMENT_MODES[0]:
        out.append(Field("aug_set", "Augmentation set", "select", "augment.names", (*AUGMENTATION_SETS, "none")))
    else:
        out.append(Field("aug_pick", "Pick augmentations", "multiselect", "augment.names", CANONICAL_ORDER))
    out += [
        Field("aug_p", "p (each augmentation, each view)", "fraction", "augment.p"),
        Field("label_fraction", "Label fraction", "fraction", "data.label_fraction", help="share of labels used"),
        Field("epochs", "Epochs", "int", "schedule.epochs"),
        Field("batch_size", "Batch size", "int", "data.batch_size", help="clips per step (two views each)"),
        Field("lr", "Learning rate", "float", "optim.lr", help="peak, after the warm-up"),
        Field("temperature", "Temperature", "float", "loss.temperature", help="NT-Xent temperature"),
        Field("seed", "Seed", "int", "runtime.seed"),
        Field("name", "Run name (optional)", "text", "runtime.name"),
    ]
    return out


def _augment_names(values: dict[str, Any]) -> str:
    if values["aug_mode"] == AUGMENT_MODES[0]:
        return str(values["aug_set"])
    picked = [n for n in CANONICAL_ORDER if n in values["aug_pick"]]
    return "+".join(picked) if picked else "none"


def config_values(values: dict[str, Any]) -> dict[str, Any]:
    """The config keys the form sets, with the values it gives them (None where a field does not apply)."""
    fam = family(values["dataset"])
    out: dict[str, Any] = {
        "data.dataset": values["dataset"],
        "data.root": values.get("root") or None,
        "data.task": values.get("task") if fam.tasks else None,
        "data.version": values.get("version") if fam.versions else None,
        "data.test_fold": values.get("test_fold") if fam.folds else None,
        "data.test_group": (values.get("test_group") or None) if fam.group else None,
        "model.regime": values["regime"],
        "model.encoder": values["encoder"],
        "augment.names": _augment_names(values),
        "augment.p": values["aug_p"],
        "data.label_fraction": values["label_fraction"],
        "schedule.epochs": values["epochs"],
        "data.batch_size": values["batch_size"],
        "optim.lr": values["lr"],
        "loss.temperature": values["temperature"],
        "runtime.seed": values["seed"],
        "runtime.name": values.get("name") or None,
    }
    return out


_PLAIN = re.compile(r"^[A-Za-z0-9_./+:@-]+$")


def format_value(value: Any) -> str:
    """A value as it goes after ``key=`` (YAML): plain where that is unambiguous, else quoted."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    text = str(value)
    if _PLAIN.match(text) and text.lower() not in ("null", "true", "false", "yes", "no", "on", "off", "~"):
        try:
            float(text)
        except ValueError:
            return text
    return json.dumps(text)


def _get(cfg: TrainConfig, key: str) -> Any:
    section, name = key.split(".")
    return getattr(getattr(cfg, section), name)


def overrides(base: TrainConfig, values: dict[str, Any]) -> list[str]:
    """The ``key=value`` overrides that turn ``base`` into the form's run (only the keys that differ).

    A dataset other than the base's also resets the clip length (``data.num_samples=null``: the new dataset's
    default), since the base's length is its own dataset's.
    """
    out = []
    wanted = config_values(values)
    for key, value in wanted.items():
        if _get(base, key) != value:
            out.append(f"{key}={format_value(value)}")
    if wanted["data.dataset"] != base.data.dataset and base.data.num_samples is not None:
        out.append("data.num_samples=null")
    return out


def field_of(config_key: str | None) -> str | None:
    """The form field that shows ``config_key`` (None when the form does not show it)."""
    if config_key is None:
        return None
    names = {"augment.names": "aug_set", "runtime.name": "name"}
    if config_key in names:
        return names[config_key]
    for f in fields({"dataset": "esc10", "input": "features", "aug_mode": AUGMENT_MODES[0], "root": "x"}) + fields(
        {"dataset": "nsynth", "input": "features", "aug_mode": AUGMENT_MODES[0]}
    ):
        if f.key == config_key:
            return f.name
    return None


def config_path(name: str) -> Path:
    """The file of a shipped config name."""
    return CONFIGS_DIR / f"{name}.yaml"
