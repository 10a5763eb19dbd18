"""Recording evaluation outputs (embeddings, probes, reports) as artifacts of their run in the run store."""

from __future__ import annotations

import warnings
from pathlib import Path


def record_artifact(
    run_id: str, kind: str, path: str | Path, meta: dict | None = None, db: str | Path | None = None
) -> bool:
    """Record an evaluation output as an artifact of its run, where the run store knows it.

    Add ``path`` as a ``kind`` artifact of ``run_id`` when the run store (``db``, default its default path) exists and
    knows that run.

    A checkpoint from elsewhere (no store file, or a run it does not know) is not an error: nothing is
    recorded, and no store file is created. Returns whether the artifact was recorded.
    """
    from core.errors import RunStoreError
    from core.runs import RunStore, default_db_path

    db_path = Path(db) if db is not None else default_db_path()
    if not run_id or not db_path.is_file():
        return False
    try:
        store = RunStore(db_path)
        store.get_run(run_id)
    except RunStoreError:
        return False
    try:
        store.add_artifact(run_id, kind, str(path), meta)
    except RunStoreError as e:
        warnings.warn(f"could not record the {kind} of run {run_id} in the run store: {e}", stacklevel=2)
        return False
    return True
