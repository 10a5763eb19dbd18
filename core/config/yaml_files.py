"""Config files: YAML with a ``defaults:`` chain of parent files, merged, bounded and validated.

A config file is a YAML mapping with the sections ``data``, ``features``, ``augment``, ``model``, ``loss``,
``optim``, ``schedule``, ``eval`` and ``runtime`` (all optional; missing values take the schema's defaults). A
file may start with ``defaults: [other.yaml, ...]`` (paths relative to the file): those are loaded first, in
order, and the file's own values are merged over them (mappings merge key by key; everything else replaces).
A chain is at most :data:`MAX_DEFAULTS_DEPTH` files deep; every file is read with
:func:`core.config.safe_yaml.parse_yaml` (UTF-8, no aliases, at most 1 MB).
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

from core.config.safe_yaml import parse_yaml
from core.config.schema import CONFIGS_DIR, TrainConfig, rename_old_keys
from core.config.typed import build_dataclass
from core.errors import ConfigError
from core.limits import check_plain

MAX_DEFAULTS_DEPTH = 16
"""Files in one ``defaults:`` chain."""


def deep_merge(base: dict, over: dict) -> dict:
    """``over`` merged into a copy of ``base``: mappings merge recursively; other values replace."""
    out = copy.deepcopy(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def resolve_config_path(path: str | os.PathLike) -> Path:
    """``path`` as given, else relative to the repository's ``configs/`` folder (``.yaml`` may be left off)."""
    p = Path(path).expanduser()
    candidates = [p, CONFIGS_DIR / p]
    if p.suffix not in (".yaml", ".yml"):
        candidates += [p.with_suffix(".yaml"), CONFIGS_DIR / p.with_suffix(".yaml")]
    for c in candidates:
        try:
            if c.is_file():
                return c
        except OSError:
            continue
    raise ConfigError(f"{path}: config file not found (also looked in {CONFIGS_DIR})")


def _read(p: Path) -> bytes:
    try:
        with open(p, "rb") as f:
            return f.read(10_000_001)
    except OSError as e:
        raise ConfigError(f"{p}: cannot read the config ({e.strerror or e})") from None


def load_yaml_dict(path: str | os.PathLike, _seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """The merged dict of a YAML config and its ``defaults:`` chain (not yet validated)."""
    p = resolve_config_path(path).resolve()
    if p in _seen:
        raise ConfigError(f"{p}: 'defaults' forms a cycle through {', '.join(str(s) for s in _seen)}")
    if len(_seen) >= MAX_DEFAULTS_DEPTH:
        raise ConfigError(f"{p}: 'defaults' chain is deeper than {MAX_DEFAULTS_DEPTH} files")
    raw = parse_yaml(_read(p), str(p)) or {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{p}: expected a mapping at the top level, got {type(raw).__name__}")
    parents = raw.pop("defaults", None) or []
    if isinstance(parents, str):
        parents = [parents]
    if not isinstance(parents, list) or not all(isinstance(x, str) for x in parents):
        raise ConfigError(f"{p}: 'defaults' must be a path or a list of paths")
    merged: dict[str, Any] = {}
    for parent in parents:
        parent_path = (p.parent / parent) if not Path(parent).is_absolute() else Path(parent)
        merged = deep_merge(merged, load_yaml_dict(parent_path, (*_seen, p)))
    out = deep_merge(merged, raw)
    check_plain(out, str(p))
    return out


def load_config(path: str | os.PathLike, overrides: list[str] | dict[str, Any] | None = None) -> TrainConfig:
    """Load a YAML config (with its ``defaults:``), apply ``key=value`` overrides, and validate."""
    d = load_yaml_dict(path)
    source = str(resolve_config_path(path))
    cfg = build_dataclass(TrainConfig, rename_old_keys(d), source, prefix="")
    if overrides:
        return cfg.with_overrides(overrides)
    cfg.validate(source)
    return cfg
