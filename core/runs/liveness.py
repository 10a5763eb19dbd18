"""Is a ``running`` run still alive? Stale-run detection by heartbeat, process liveness and PID reuse.

Every read of the runs table marks ``interrupted`` a run still ``running`` whose heartbeat is older than the run's
own ``stale_after_s`` (the store's default where the run has none); on the run's own host, a run whose process is
gone (or a zombie), or whose PID now belongs to a process with another start time (PID reuse), is marked at once.
Runs on other hosts are judged by their heartbeat alone.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable

from core.runs import procinfo


def stale_reason(row: sqlite3.Row, now: float, default_stale_after_s: float) -> str | None:
    """Why the ``running`` run in ``row`` is dead, or None when it may still be alive (or is not running)."""
    if row["status"] != "running":
        return None
    recorded = row["proc_start"]
    # Same host name and (on Linux) the same boot: the PID can be checked here. After a reboot, or for a
    # machine that merely shares the host name, only the heartbeat counts.
    local = row["host"] == procinfo.hostname() and (
        not recorded or procinfo.same_boot(recorded, procinfo.process_start_token(os.getpid()))
    )
    if local and row["pid"] is not None:
        alive = procinfo.pid_alive(row["pid"])
        if alive is False:
            return f"process {row['pid']} is gone"
        token = procinfo.process_start_token(row["pid"]) if alive else None
        if token and recorded and procinfo.same_boot(token, recorded) and token != recorded:
            return f"pid {row['pid']} now belongs to another process (start {token}, run's {recorded})"
    limit = row["stale_after_s"] if row["stale_after_s"] else default_stale_after_s
    heartbeat = row["heartbeat"] if row["heartbeat"] is not None else row["created"]
    if now - heartbeat > limit:
        return f"no heartbeat for {now - heartbeat:.0f} s (timeout {limit:g} s)"
    return None


def reap(
    rows: list[sqlite3.Row],
    now: float,
    default_stale_after_s: float,
    write: Callable[[Callable[[sqlite3.Connection], None]], None],
) -> bool:
    """Mark the stale runs among ``rows`` ``interrupted`` in one write; True if any was."""
    stale = [(row, reason) for row in rows if (reason := stale_reason(row, now, default_stale_after_s))]
    if not stale:
        return False

    def update(conn: sqlite3.Connection) -> None:
        for row, reason in stale:
            # Conditional on the row being unchanged since it was read: a fresh heartbeat or a resume wins.
            conn.execute(
                "UPDATE runs SET status = 'interrupted', ended = ?, status_reason = ? "
                "WHERE id = ? AND status = 'running' AND pid IS ? AND heartbeat IS ? AND owner IS ?",
                (now, f"stale: {reason}", row["id"], row["pid"], row["heartbeat"], row["owner"]),
            )

    write(update)
    return True
