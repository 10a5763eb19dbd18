"""Who is running: host name, process liveness and a process start-time token that detects PID reuse.

The start token is ``"<boot id>:<start ticks>"`` on Linux (field 22 of ``/proc/<pid>/stat``, clock ticks
since boot, plus ``/proc/sys/kernel/random/boot_id``), ``"psutil:<create time>"`` where psutil is installed,
``"ps:<lstart>"`` from ``ps -o lstart=`` on other POSIX systems, and None where none of these is available.
Two tokens are comparable only when they come from the same method and, on Linux, the same boot.
"""

from __future__ import annotations

import functools
import os
import socket
import subprocess
import sys


@functools.cache
def hostname() -> str:
    """This machine's host name (as ``socket.gethostname()`` reports it)."""
    return socket.gethostname()


@functools.cache
def _boot_id() -> str | None:
    try:
        with open("/proc/sys/kernel/random/boot_id") as f:
            return f.read().strip()
    except OSError:
        return None


def _linux_stat(pid: int) -> tuple[str, int] | None:
    """(state letter, start ticks since boot) from ``/proc/<pid>/stat``, or None if there is no such process."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read().decode("ascii", "replace")
    except (FileNotFoundError, ProcessLookupError):
        return None
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may itself contain spaces or parentheses.
    rest = raw[raw.rindex(")") + 2 :].split()
    return rest[0], int(rest[19])  # field 3 (state) and field 22 (starttime), counted from field 3


def process_start_token(pid: int) -> str | None:
    """An opaque token identifying process ``pid``'s start, or None if unknown or no such process."""
    if sys.platform.startswith("linux") and os.path.exists("/proc/self/stat"):
        st = _linux_stat(pid)
        if st is None:
            return None
        return f"{_boot_id() or 'noboot'}:{st[1]}"
    try:
        import psutil  # optional

        return f"psutil:{psutil.Process(pid).create_time():.3f}"
    except ImportError:
        pass
    except Exception:
        return None
    if os.name == "posix":
        try:
            out = subprocess.run(
                ["ps", "-o", "lstart=", "-p", str(pid)], capture_output=True, text=True, timeout=5, check=False
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return None
        return f"ps:{out}" if out else None
    return None


def pid_alive(pid: int) -> bool | None:
    """True if process ``pid`` exists and is not a zombie, False if it does not, None if this cannot be told."""
    if pid <= 0:
        return False
    if sys.platform.startswith("linux") and os.path.exists("/proc/self/stat"):
        st = _linux_stat(pid)
        return st is not None and st[0] not in ("Z", "X")
    if os.name == "posix":
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        except OSError:
            return None
        return True
    try:
        import psutil  # optional; os.kill on Windows would terminate the process

        return psutil.pid_exists(pid)
    except ImportError:
        return None


def same_boot(token_a: str | None, token_b: str | None) -> bool:
    """True when two start tokens were taken by the same method (and, on Linux, during the same boot)."""
    if not token_a or not token_b:
        return False
    return token_a.split(":", 1)[0] == token_b.split(":", 1)[0]
