"""Building a config dataclass from a plain dict, field by field, with type checks (int -> float allowed)."""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import math
import types
import typing
from typing import Any

from core.errors import ConfigError


def _check_type(value: Any, tp: Any, key: str, source: str) -> Any:
    """Return ``value`` converted to type ``tp`` (int -> float allowed) or raise ConfigError."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if type(None) in args and (value is None or (isinstance(value, str) and value.lower() in ("none", "null"))):
            return None  # an optional field: null, or the words none / null
        errors = []
        for a in args:
            if a is type(None):
                continue
            try:
                return _check_type(value, a, key, source)
            except ConfigError as e:
                errors.append(str(e))
        raise ConfigError(f"{source}: {key}: expected {_type_name(tp)}, got {value!r}")
    if tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
    elif tp is float:
        number = None
        if isinstance(value, int | float) and not isinstance(value, bool):
            number = float(value)
        elif isinstance(value, str):  # YAML 1.1 reads "3e-4" (no dot) as a string
            with contextlib.suppress(ValueError):
                number = float(value)
        if number is not None:
            if not math.isfinite(number):
                raise ConfigError(f"{source}: {key}: {value!r} is not a finite number")
            return number
    elif tp is str:
        if isinstance(value, str):
            return value
    elif tp is dict or origin is dict:
        if isinstance(value, dict):
            return copy.deepcopy(value)
    elif tp is list or origin is list:
        if isinstance(value, list | tuple):
            return list(value)
    else:  # pragma: no cover - every field uses one of the types above
        return value
    raise ConfigError(f"{source}: {key}: expected {_type_name(tp)}, got {value!r}")


def _type_name(tp: Any) -> str:
    args = typing.get_args(tp)
    if args:
        return " or ".join("null" if a is type(None) else a.__name__ for a in args)
    return getattr(tp, "__name__", str(tp))


def build_dataclass(cls: type, d: Any, source: str, prefix: str) -> Any:
    """An instance of dataclass ``cls`` from the dict ``d``, type-checked field by field (not yet validated)."""
    if not isinstance(d, dict):
        raise ConfigError(f"{source}: {prefix.rstrip('.') or 'config'}: expected a mapping, got {d!r}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(d) - set(names))
    if unknown:
        raise ConfigError(
            f"{source}: unknown key {prefix}{unknown[0]!s}; valid keys here: {', '.join(prefix + n for n in names)}"
        )
    kwargs = {}
    for name in names:
        if name not in d:
            continue
        tp = hints[name]
        key = prefix + name
        if dataclasses.is_dataclass(tp):
            kwargs[name] = build_dataclass(tp, d[name], source, key + ".")
        else:
            kwargs[name] = _check_type(d[name], tp, key, source)
    return cls(**kwargs)
