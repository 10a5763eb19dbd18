"""Provenance saved with every run: git commit, package versions, Python, device and host."""

from __future__ import annotations

import importlib.metadata
import platform
import socket
import subprocess
from pathlib import Path
from typing import Any

_PACKAGES = ("torch", "torchaudio", "numpy", "scipy", "librosa", "soundfile", "scikit-learn", "PyYAML")


def git_commit(repo: Path | None = None) -> str | None:
    """The checked-out git commit (with ``-dirty`` when there are uncommitted changes), or None."""
    repo = repo or Path(__file__).resolve().parents[2]
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=repo,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return sha + ("-dirty" if dirty else "")


def cpu_description() -> str:
    """The CPU's model name and the cores this process may use, e.g. ``AMD EPYC 7B13, 2 cores``."""
    import os

    name = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{name}, {cores} cores"


def provenance(device: str) -> dict[str, Any]:
    """Git commit, package versions, device and host: saved with every run beside the config."""
    versions = {}
    for name in _PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    import torch

    dev = str(device)
    if dev.startswith("cuda") and torch.cuda.is_available():
        dev += f" ({torch.cuda.get_device_name(torch.device(dev))})"
    return {
        "git_commit": git_commit(),
        "packages": versions,
        "python": platform.python_version(),
        "device": dev,
        "host": socket.gethostname(),
        "platform": platform.platform(),
    }
