"""Where a running import is, for the progress bar (the state is kept by core.progress).

The bar covers the re-check (first 40 %) and the insert (the rest); once an import ends, the job row is
what counts.
"""

from onecard.core import progress

from ..choices import ImportStatus

# Share of the progress bar given to the re-check before the insert.
CHECK_SHARE = 40


def _name(job_id) -> str:
    return f"members-import-{job_id}"


def progress_file(job_id):
    """Where progress is also kept when the cache is private to one process; None with a shared cache."""
    return progress.progress_file(_name(job_id))


def set_progress(job_id, phase, done=0, total=0):
    """Publish where an import is; `percent` covers the re-check (first 40 %) and the insert (the rest)."""
    fraction = min(done / total, 1) if total else 0
    if phase == "checking":
        percent = round(CHECK_SHARE * fraction)
    elif phase == "importing":
        percent = round(CHECK_SHARE + (100 - CHECK_SHARE) * fraction)
    elif phase == "done":
        percent = 100
    else:
        percent = 0
    progress.publish(_name(job_id), {"phase": phase, "done": done, "total": total, "percent": percent})


def read_progress(job_id):
    return progress.read(_name(job_id))


def clear_progress(job_id):
    progress.clear(_name(job_id))


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
