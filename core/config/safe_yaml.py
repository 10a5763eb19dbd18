"""YAML for untrusted configs: PyYAML's safe loader with aliases refused, UTF-8 only, size-capped."""

from __future__ import annotations

from typing import Any

import yaml

from core.errors import ConfigError
from core.limits import MAX_CONFIG_BYTES, check_plain


class NoAliasLoader(yaml.SafeLoader):
    """A ``yaml.SafeLoader`` that refuses aliases.

    ``yaml.SafeLoader`` that refuses aliases (``*name``): a config never needs one, and a few hundred bytes of nested
    aliases expand to gigabytes in whatever walks the result (the "billion laughs" attack).
    """

    def compose_node(self, parent: Any, index: Any) -> Any:
        """Compose the next node, refusing an alias."""
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.YAMLError(
                f"YAML aliases are not allowed in configs (*{event.anchor} at line {event.start_mark.line + 1})"
            )
        return super().compose_node(parent, index)


def parse_yaml(raw: bytes, source: str) -> Any:
    """The value of a YAML config document, checked.

    The value of the YAML document in ``raw``; ConfigError naming ``source`` for anything not a plain, UTF-8, alias-free
    document of at most :data:`core.limits.MAX_CONFIG_BYTES` bytes.
    """
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{source}: {len(raw)} bytes is larger than the {MAX_CONFIG_BYTES}-byte limit for a config")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError(f"{source}: not UTF-8 text (byte {e.start} is 0x{raw[e.start]:02x})") from None
    try:
        value = yaml.load(text, Loader=NoAliasLoader)
    except yaml.YAMLError as e:
        raise ConfigError(f"{source}: not a valid config: {' '.join(str(e).split())}") from None
    except RecursionError:
        raise ConfigError(f"{source}: nested too deeply to parse") from None
    check_plain(value, source)
    return value
