"""Shared helpers for the benchmarks: machine description, timing, and writing result tables into docs.

Each benchmark owns one section of ``docs/benchmarks.md``, delimited by ``<!-- bench:NAME -->`` and
``<!-- /bench:NAME -->``. A new run replaces that section's contents (the table states machine and date),
and leaves the other sections alone.
"""

from __future__ import annotations

import datetime as _dt
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch

from core.config.provenance import cpu_description
from core.markdown import replace_section

DOCS = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"


def machine_info(device: torch.device | str = "cpu") -> str:
    """One line naming the machine: CPU model and cores (or GPU), torch version, and the date (UTC)."""
    dev = torch.device(device)
    gpu = f", GPU {torch.cuda.get_device_name(dev)}" if dev.type == "cuda" else ""
    date = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"{date}; {cpu_description()}{gpu}; torch {torch.__version__}, {torch.get_num_threads()} threads"


def time_calls(fn: Callable[[], object], repeat: int = 3, warmup: int = 1, sync: bool = False) -> list[float]:
    """Wall times of ``fn()`` over ``repeat`` runs after ``warmup`` runs, in seconds (CUDA synchronised if ``sync``)."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        if sync and torch.cuda.is_available():
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        fn()
        if sync and torch.cuda.is_available():
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    return times


def median_time(fn: Callable[[], object], repeat: int, sync: bool = False) -> float:
    """Median wall time of ``fn()`` over ``repeat`` runs after one warm-up run, in seconds: every table's protocol."""
    return statistics.median(time_calls(fn, repeat=repeat, warmup=1, sync=sync))


def time_call(fn: Callable[[], object], repeat: int = 3, warmup: int = 1, sync: bool = False) -> float:
    """Best wall time of ``fn()`` over ``repeat`` runs after ``warmup`` runs, in seconds."""
    return min(time_calls(fn, repeat, warmup, sync))


def wait_for_port(port: int, timeout_s: float = 60.0) -> bool:
    """Wait until something accepts connections on 127.0.0.1:``port``; False when ``timeout_s`` passes first."""
    import socket

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.2)
    return False


def markdown_table(header: list[str], rows: list[list[object]]) -> str:
    """A GitHub-flavoured markdown table."""
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def write_section(name: str, markdown: str, path: Path = DOCS) -> Path:
    """Replace (or append) the ``name`` section of docs/benchmarks.md with ``markdown``."""
    return replace_section(path, "bench", name, markdown, "Benchmarks")
