"""``key=value`` overrides with dotted keys (``optim.lr=3e-4``), applied to a config's nested dict."""

from __future__ import annotations

import dataclasses
import typing
from typing import Any

import yaml

from core.config.safe_yaml import NoAliasLoader
from core.errors import ConfigError


def parse_override(item: str) -> tuple[str, Any]:
    """``"optim.lr=3e-4"`` -> ``("optim.lr", 0.0003)``; the value is parsed as YAML (aliases are refused)."""
    if "=" not in item:
        raise ConfigError(f"--set {item!r}: expected key=value, e.g. optim.lr=0.001")
    key, _, text = item.partition("=")
    key = key.strip()
    if not key:
        raise ConfigError(f"--set {item!r}: empty key")
    if len(text) > 10_000:
        raise ConfigError(f"--set {key}: the value is longer than 10000 characters")
    try:
        value = yaml.load(text, Loader=NoAliasLoader) if text.strip() else ""
    except yaml.YAMLError:
        value = text
    return key, value


def apply_overrides(
    d: dict[str, Any],
    overrides: list[str] | dict[str, Any],
    root: type,
    source: str = "--set",
    renamed: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Apply dotted-key overrides to a config dict in place.

    Apply dotted-key overrides to the nested dict ``d`` of dataclass ``root`` in place (types are checked when the
    dataclass is built). Unknown keys raise ConfigError naming the valid ones; a key in ``renamed`` (old -> new) is
    applied to its new name.
    """
    items = overrides.items() if isinstance(overrides, dict) else (parse_override(o) for o in overrides)
    for key, value in items:
        key = (renamed or {}).get(key, key)
        parts = key.split(".")
        node: Any = d
        cls: Any = root
        for i, part in enumerate(parts[:-1]):
            if cls is not None:
                names = {f.name: f for f in dataclasses.fields(cls)}
                if part not in names:
                    where = ".".join(parts[:i]) or "top level"
                    raise ConfigError(f"{source}: unknown key {key!r} ({part!r} is not a section of {where})")
                tp = typing.get_type_hints(cls)[part]
                cls = tp if dataclasses.is_dataclass(tp) else None
            if not isinstance(node.get(part), dict):
                if cls is None and node.get(part) is None:
                    node[part] = {}
                else:
                    raise ConfigError(f"{source}: unknown key {key!r} ({part!r} is not a section)")
            node = node[part]
        last = parts[-1]
        if cls is not None:
            names = [f.name for f in dataclasses.fields(cls)]
            if last not in names:
                raise ConfigError(f"{source}: unknown key {key!r}; valid keys here: {', '.join(names)}")
            if dataclasses.is_dataclass(typing.get_type_hints(cls)[last]):
                raise ConfigError(f"{source}: {key!r} is a section; set one of its keys instead")
        node[last] = value
    return d
