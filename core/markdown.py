"""Markdown sections that programs own: the text between ``<!-- TAG:NAME -->`` and ``<!-- /TAG:NAME -->``.

The benchmarks (``bench/``) write their tables into docs/benchmarks.md and the experiments (``experiments/``)
their results into docs/results.md this way: a new run replaces its own section and leaves the rest of the page,
the prose around it included, alone.
"""

from __future__ import annotations

import re
from pathlib import Path


def replace_section(path: Path, tag: str, name: str, body: str, title: str) -> Path:
    """Replace the ``tag:name`` section of ``path`` with ``body`` (appended, or a new page headed ``title``)."""
    start, end = f"<!-- {tag}:{name} -->", f"<!-- /{tag}:{name} -->"
    block = f"{start}\n{body.strip()}\n{end}"
    text = path.read_text() if path.exists() else f"# {title}\n"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    text = pattern.sub(lambda _: block, text) if pattern.search(text) else text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text)
    return path
