"""A finished run's test report (``test_report.json`` in its checkpoint folder): written atomically, read warily.

The trainer writes it at the end of a completed run: the class names and, for the last model (and the best
checkpoint, with validation), the head's and the linear probe's classification reports on the test split
(:func:`core.probes.metrics.classification_report`: top-1, balanced accuracy, per-class accuracy, confusion
matrix). The app reads it back from a folder it does not control, so :func:`read_report` bounds its size, checks
its shape and says in one line what is wrong with a bad one.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from core.errors import RunStoreError
from core.limits import MAX_CLASSES, check_plain

REPORT_NAME = "test_report.json"
MAX_REPORT_BYTES = 64_000_000
"""A 2,000-class report with two confusion matrices for head and probe is about 40 MB of JSON."""


def write_report(folder: str | os.PathLike, report: dict[str, Any]) -> Path:
    """Write ``report`` as ``<folder>/test_report.json`` (temporary file, fsync, rename); returns its path."""
    path = Path(folder) / REPORT_NAME
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(report, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return path


def _bad(path: Path, problem: str) -> RunStoreError:
    return RunStoreError(f"{path}: {problem}")


def _check_scores(path: Path, where: str, rep: Any, num_classes: int) -> None:
    if not isinstance(rep, dict):
        raise _bad(path, f"{where} is not an object")
    cm = rep.get("confusion_matrix")
    if cm is not None:
        ok = (
            isinstance(cm, list)
            and len(cm) == num_classes
            and all(isinstance(r, list) and len(r) == num_classes for r in cm)
            and all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for r in cm for v in r)
        )
        if not ok and cm != []:
            raise _bad(path, f"{where}.confusion_matrix is not a {num_classes}x{num_classes} matrix of counts")
    top1 = rep.get("top1")
    if top1 is not None and not (isinstance(top1, int | float) and 0.0 <= float(top1) <= 1.0):
        raise _bad(path, f"{where}.top1 = {top1!r} is not an accuracy in [0, 1]")


def read_json(path: str | os.PathLike, what: str = "JSON report", max_bytes: int = MAX_REPORT_BYTES) -> Any:
    """Read a JSON file written by a run (a report), bounded in size and checked as plain data.

    Raises:
        RunStoreError: naming the file and what is wrong (missing, too big, unreadable, not JSON, too deep).
    """
    p = Path(path)
    try:
        size = p.stat().st_size
        if size > max_bytes:
            raise _bad(p, f"{size} bytes is over the {max_bytes}-byte limit of a {what}")
        with open(p, "rb") as f:
            data = f.read(max_bytes + 1)
    except FileNotFoundError:
        raise _bad(p, "no such file (was the run's folder moved or deleted?)") from None
    except OSError as e:
        raise _bad(p, f"cannot be read ({e.strerror or e})") from None
    try:
        value = json.loads(data.decode("utf-8"))
    except RecursionError:
        raise _bad(p, f"nested too deeply to be a {what}") from None
    except (UnicodeDecodeError, ValueError) as e:
        raise _bad(p, f"not a {what} ({type(e).__name__}: {str(e).splitlines()[0]})") from None
    check_plain(value, str(p), max_bytes=max_bytes, max_nodes=10_000_000, error=RunStoreError)
    return value


def read_report(path: str | os.PathLike) -> dict[str, Any]:
    """Read and check a test report.

    Raises:
        RunStoreError: naming the file and what is wrong (missing, too big, not JSON, wrong shape).
    """
    p = Path(path)
    report = read_json(p, "JSON test report")
    if not isinstance(report, dict):
        raise _bad(p, "not a JSON object")
    names = report.get("class_names")
    if not (isinstance(names, list) and 0 < len(names) <= MAX_CLASSES and all(isinstance(n, str) for n in names)):
        raise _bad(p, f"class_names must be a list of 1 to {MAX_CLASSES} strings")
    for which in ("last", "best"):
        part = report.get(which)
        if part is None:
            continue
        if not isinstance(part, dict):
            raise _bad(p, f"{which} is not an object")
        for scorer, rep in part.items():
            _check_scores(p, f"{which}.{scorer}", rep, len(names))
    return report
