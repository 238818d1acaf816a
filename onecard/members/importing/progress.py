"""Where a running import is, for the progress bar (the state is kept by core.progress).

The bar covers the re-check (first 40 %) and the insert (the rest); once an import ends, the job row is
what counts.
"""

from onecard.core import progress

from ..choices import ImportStatus

# Share of the progress bar given to the re-check before the insert.
CHECK_SHARE = 40


class ImportProgress:
    """The progress bars of one kind of import (members, sales), under the names "<kind>-<job id>"."""

    def __init__(self, kind):
        self.kind = kind

    def name(self, job_id) -> str:
        return f"{self.kind}-{job_id}"

    def file(self, job_id):
        """Where progress is also kept when the cache is private to one process; None with a shared cache."""
        return progress.progress_file(self.name(job_id))

    def set(self, job_id, phase, done=0, total=0):
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
        progress.publish(
            self.name(job_id), {"phase": phase, "done": done, "total": total, "percent": percent}
        )

    def read(self, job_id):
        return progress.read(self.name(job_id))

    def clear(self, job_id):
        progress.clear(self.name(job_id))

    def of(self, job):
        """What the progress bar shows: the job row once it is finished, the cache while it runs."""
        job.refresh_from_db()
        if job.status == ImportStatus.RUNNING:
            state = self.read(job.pk) or {"phase": "queued", "done": 0, "total": job.valid_rows}
            state.setdefault("percent", 0)
        elif job.status == ImportStatus.DONE:
            state = {"phase": "done", "done": job.imported_rows, "total": job.imported_rows, "percent": 100}
        else:
            state = {"phase": str(job.status), "done": 0, "total": job.valid_rows, "percent": 0}
        finished = job.status in (ImportStatus.DONE, ImportStatus.FAILED)
        return {**state, "status": job.status, "finished": finished}


MEMBER_IMPORTS = ImportProgress("members-import")
progress_file = MEMBER_IMPORTS.file
set_progress = MEMBER_IMPORTS.set
progress_of = MEMBER_IMPORTS.of
