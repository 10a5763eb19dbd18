"""The run store: runs, their metrics and artifacts in one SQLite (WAL) file shared by every process."""

from core.runs.heartbeat import HeartbeatThread, running
from core.runs.runs import new_run_id
from core.runs.schema import FINAL_STATUSES, STATUSES
from core.runs.store import DB_ENV, RunStore, default_db_path

__all__ = [
    "DB_ENV",
    "FINAL_STATUSES",
    "STATUSES",
    "HeartbeatThread",
    "RunStore",
    "default_db_path",
    "new_run_id",
    "running",
]
