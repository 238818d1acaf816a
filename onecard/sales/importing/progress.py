"""Where a running sales import is, for the progress bar: in the cache (and a file when the cache is private
to one process), never in the job row, which the import's transaction only changes when it ends.

The same arrangement as the member import (members/importing/progress.py), under keys of its own.
"""

import json
import logging
import os
from pathlib import Path

from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.locmem import LocMemCache

from onecard.members.choices import ImportStatus

logger = logging.getLogger(__name__)

PROGRESS_TTL = 6 * 3600
CHECK_SHARE = 40  # share of the bar given to the check before the writes


def progress_key(job_id):
    return f"onecard:sales:import:{job_id}:progress"


def progress_file(job_id):
    """Where progress is also kept when the cache is private to one process; None with a shared cache."""
    if not isinstance(caches["default"], LocMemCache):
        return None
    return Path(settings.VAR_DIR) / "sales-import-progress" / f"{job_id}.json"


def set_progress(job_id, phase, done=0, total=0):
    """Publish where an import is; `percent` covers the check (first 40 %) and the writes (the rest)."""
    fraction = min(done / total, 1) if total else 0
    percent = {
        "checking": round(CHECK_SHARE * fraction),
        "importing": round(CHECK_SHARE + (100 - CHECK_SHARE) * fraction),
        "done": 100,
    }.get(phase, 0)
    state = {"phase": phase, "done": done, "total": total, "percent": percent}
    cache.set(progress_key(job_id), state, PROGRESS_TTL)
    path = progress_file(job_id)
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.with_suffix(f".{os.getpid()}.tmp")
            temporary.write_text(json.dumps(state))
            os.replace(temporary, path)  # atomic: a reader sees the old or the new state, never half
        except OSError:
            logger.warning("Cannot write import progress to %s", path, exc_info=True)


def read_progress(job_id):
    state = cache.get(progress_key(job_id))
    path = progress_file(job_id)
    if state is None and path is not None:
        try:
            state = json.loads(path.read_text())
        except (OSError, ValueError):
            state = None
    return state


def clear_progress(job_id):
    cache.delete(progress_key(job_id))
    path = progress_file(job_id)
    if path is not None:
        path.unlink(missing_ok=True)


def progress_of(job):
    """What the progress bar shows: the job row once it is finished, the cache while it runs."""
    job.refresh_from_db()
    if job.status == ImportStatus.RUNNING:
        state = read_progress(job.pk) or {"phase": "queued", "done": 0, "total": job.valid_rows}
        state.setdefault("percent", 0)
    elif job.status == ImportStatus.DONE:
        state = {"phase": "done", "done": job.imported_rows, "total": job.imported_rows, "percent": 100}
    else:
        state = {"phase": str(job.status), "done": 0, "total": job.valid_rows, "percent": 0}
    return {**state, "status": job.status, "finished": job.status in (ImportStatus.DONE, ImportStatus.FAILED)}
