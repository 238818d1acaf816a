"""The import itself, run in the background: re-check the file, insert the valid rows in one transaction."""

import logging

from django.db import IntegrityError
from django.utils.translation import gettext as _

from ..choices import Source
from ..models import ImportJob
from ..services import insert_members
from .checking import check_rows
from .lifecycle import ImportRun
from .progress import MEMBER_IMPORTS

logger = logging.getLogger(__name__)


class MemberImportRun(ImportRun):
    """A member import's run: the valid rows become members; rows with errors are left out."""

    model = ImportJob
    progress = MEMBER_IMPORTS
    check_rows = staticmethod(check_rows)
    logger = logger

    def write(self):
        """Re-check, insert the valid rows as members, and mark the job done with its counts."""
        job, result = self.job, self.check_again()
        rows = [member for _number, member in result.valid]
        self.importing(0, len(rows))
        members = insert_members(
            self.actor,
            job.merchant,
            [{"source": Source.IMPORT, **row} for row in rows],
            import_job=job,
            progress=self.importing,
        )
        counts = {
            "total_rows": result.total,
            "valid_rows": len(rows),
            "error_rows": result.error_rows,
            "imported_rows": len(members),
            "processed_rows": result.total,
        }
        note = _("%(n)s members imported from %(file)s") % {"n": len(members), "file": job.original_name}
        self.finish(counts, note, errors=result.errors)

    def reason(self, exc):
        """A phone taken meanwhile (the unique index) is told as such; other errors as ImportRun says."""
        if isinstance(exc, IntegrityError):
            return _(
                "A phone number in the file was registered by someone else meanwhile. Check the file again."
            )
        return super().reason(exc)


def run_import(job_id, actor_id):
    """Re-check the file against the database as it is now and insert the valid rows in one transaction.

    Called by the background task. Anything that goes wrong rolls everything back and marks the job failed.
    """
    return MemberImportRun.run(job_id, actor_id)
