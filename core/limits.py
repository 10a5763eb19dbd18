"""Limits on untrusted input (configs, checkpoints, audio, archives), checked before anything large is allocated.

Every limit here is generous for real use and small enough that a hostile file costs bounded time and memory:
a few seconds and well under 1 GiB. ``docs/security.md`` lists them with what each one defends against.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from core.errors import ConfigError

MAX_AUDIO_SAMPLES = 10 * 60 * 96_000 * 2
"""Samples x channels decoded from one file when the whole file is read: 10 minutes of 96 kHz stereo
(115.2 M). Longer or wider files are refused from their header, before decoding."""

MAX_MODEL_PARAMETERS = 100_000_000
"""Weights a checkpoint's or a config's model may have (ResNet18 with its heads has about 12 M)."""

MAX_CLASSES = 10_000
"""Classes a checkpoint or dataset may declare."""

MAX_CONFIG_BYTES = 1_000_000
"""Size of a YAML config file, and of any config once every shared reference is expanded."""

MAX_PLAIN_NODES = 100_000
"""Values (dict entries, list items, scalars) in a config or in checkpoint metadata once expanded."""

MAX_PLAIN_DEPTH = 64
"""Nesting depth of a config or of checkpoint metadata."""

MAX_INT_BITS = 64
"""Integers in configs and metadata: at most 64 bits of magnitude (seeds are 64-bit)."""


def check_plain(
    obj: Any,
    what: str,
    *,
    max_nodes: int = MAX_PLAIN_NODES,
    max_bytes: int = MAX_CONFIG_BYTES,
    max_depth: int = MAX_PLAIN_DEPTH,
    leaf: Callable[[Any], bool] | None = None,
    error: type[Exception] = ConfigError,
) -> None:
    """Refuse data that is not plain JSON-like data of bounded expanded size, in time O(max_nodes).

    The walk follows every reference as if the data were written out in full, so a YAML alias bomb or a
    pickle whose lists share references (a few hundred bytes that expand to gigabytes) is caught after at
    most ``max_nodes`` steps, before ``json.dumps``, ``copy.deepcopy`` or ``dataclasses.asdict`` would
    expand it.

    Args:
        obj: the data: dicts with string keys, lists, tuples, str, int, float, bool and None.
        what: names the data in the error message (a file, or "checkpoint config").
        max_nodes: most values counted with sharing expanded.
        max_bytes: most characters of strings (plus 8 per number) with sharing expanded.
        max_depth: deepest nesting.
        leaf: a predicate for other objects allowed as opaque leaves (tensors in a checkpoint).
        error: the exception type raised (ConfigError by default, CheckpointError for checkpoints).

    Raises:
        error: one line naming ``what`` and the limit or the type at fault.
    """
    stack: list[tuple[Any, int]] = [(obj, 0)]
    nodes = 0
    size = 0
    while stack:
        x, depth = stack.pop()
        nodes += 1
        if depth > max_depth:
            raise error(f"{what}: nested more than {max_depth} levels deep")
        if isinstance(x, str):
            size += len(x)
        elif isinstance(x, bool) or x is None:
            size += 1
        elif isinstance(x, int):
            if x.bit_length() > MAX_INT_BITS:
                raise error(f"{what}: an integer of {x.bit_length()} bits (the limit is {MAX_INT_BITS})")
            size += 8
        elif isinstance(x, float):
            size += 8
        elif isinstance(x, dict):
            for k in x:
                if not isinstance(k, str | int):
                    raise error(f"{what}: a mapping key of type {type(k).__name__} (only strings are allowed)")
            children = [*x.keys(), *x.values()]
            size += 2
        elif isinstance(x, list | tuple):
            children = list(x)
            size += 2
        elif leaf is not None and leaf(x):
            continue
        else:
            raise error(f"{what}: unexpected value of type {type(x).__name__} (only plain data is allowed)")
        if isinstance(x, dict | list | tuple):
            if nodes + len(stack) + len(children) > max_nodes:
                raise error(
                    f"{what}: more than {max_nodes} values once shared references are expanded "
                    "(an alias or reference bomb?)"
                )
            stack.extend((c, depth + 1) for c in children)
        if size > max_bytes:
            raise error(f"{what}: more than {max_bytes} bytes once shared references are expanded")
