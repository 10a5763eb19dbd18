"""Run one attack in a fresh Python process with a memory cap, and report what it raised, how long it took and how
much memory it used.

The child imports what the attack needs first, then caps its data segment (``RLIMIT_DATA``: heap and anonymous
mappings, which is where numpy and torch allocate) at its current size plus ``extra_gib``, and only then runs
``attack()``. An attack that tries to allocate more fails with MemoryError instead of swapping the machine, and the
report's ``error`` then says MemoryError rather than the typed error the test expects.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

_TEMPLATE = """
import json, resource, sys, time
{imports}

def _vm_data():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmData:"):
                return int(line.split()[1]) * 1024
    return 0

{body}

_limit = _vm_data() + int({extra_gib} * 2**30)
resource.setrlimit(resource.RLIMIT_DATA, (_limit, _limit))
_rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
_t0 = time.perf_counter()
try:
    _value = attack()
    _out = {{"error": None, "value": repr(_value)[:500]}}
except BaseException as e:
    _out = {{"error": type(e).__name__, "mro": [c.__name__ for c in type(e).__mro__], "message": str(e)}}
_out["seconds"] = time.perf_counter() - _t0
_out["rss_delta_bytes"] = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - _rss0) * 1024
print("BOUNDED-REPORT " + json.dumps(_out))
"""


def run_bounded(imports: str, body: str, *, extra_gib: float = 1.0, wall_s: float = 120.0) -> dict:
    """Run ``body`` (which defines ``attack()``) after ``imports`` in a capped child; return its report.

    The report has ``error`` (the exception's type name, or None), ``mro`` (its class names), ``message``,
    ``seconds`` (time spent in ``attack()``) and ``rss_delta_bytes`` (growth of the peak resident set).
    """
    code = _TEMPLATE.format(imports=textwrap.dedent(imports), body=textwrap.dedent(body), extra_gib=extra_gib)
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=wall_s, env=env, cwd=REPO
    )
    for line in proc.stdout.splitlines():
        if line.startswith("BOUNDED-REPORT "):
            return json.loads(line.removeprefix("BOUNDED-REPORT "))
    raise AssertionError(f"the attack process died (exit {proc.returncode}): {proc.stderr[-2000:]}")


def assert_typed_and_bounded(report: dict, error: str, *, seconds: float = 10.0, extra_bytes: float = 2**30) -> None:
    """The attack raised ``error`` (a class name in its MRO) with a one-line message, in time and memory."""
    assert report["error"] is not None, f"the attack was accepted: {report.get('value')}"
    assert error in report["mro"], f"expected {error}, got {report['error']}: {report['message']}"
    assert "\n" not in report["message"].strip(), f"not a one-line message: {report['message']!r}"
    assert report["seconds"] < seconds, f"took {report['seconds']:.1f} s: {report['message']}"
    assert report["rss_delta_bytes"] < extra_bytes, f"used {report['rss_delta_bytes'] / 2**20:.0f} MiB"
