"""The import itself, run in the background: re-check the file, insert the valid rows in one transaction."""

import logging

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from onecard.core import audit
from onecard.core.errors import BusinessError
from onecard.org.models import Staff

from ..choices import ImportStatus, Source
from ..models import ImportJob
from ..services import insert_members
from .checking import check_rows
from .progress import clear_progress, set_progress

logger = logging.getLogger(__name__)


def run_import(job_id, actor_id):
    """Re-check the file against the database as it is now and insert the valid rows in one transaction.

    Called by the background task. Anything that goes wrong rolls everything back and marks the job failed.
    """
    job = ImportJob.objects.select_related("merchant", "node").get(pk=job_id)
    if job.status != ImportStatus.RUNNING:
        return job  # started twice by the queue, or cancelled
    actor = Staff.objects.filter(pk=actor_id).first()
    try:
        with transaction.atomic():
            total = job.total_rows
            set_progress(job.pk, "checking", 0, total)
            result = check_rows(
                job, actor, progress=lambda done: set_progress(job.pk, "checking", done, total)
            )
            rows = [member for _number, member in result.valid]
            set_progress(job.pk, "importing", 0, len(rows))
            members = insert_members(
                actor,
                job.merchant,
                [{"source": Source.IMPORT, **row} for row in rows],
                import_job=job,
                progress=lambda done, count: set_progress(job.pk, "importing", done, count),
            )
            counts = {
                "total_rows": result.total,
                "valid_rows": len(rows),
                "error_rows": result.error_rows,
                "imported_rows": len(members),
                "processed_rows": result.total,
            }
            audit.record(
                actor,
                "import",
                job,
                after={"file": job.original_name, "sha256": job.file_sha256, **counts},
                note=_("%(n)s members imported from %(file)s")
                % {"n": len(members), "file": job.original_name},
            )
            ImportJob.objects.filter(pk=job.pk).update(
                status=ImportStatus.DONE, errors=result.errors, finished_at=timezone.now(), **counts
            )
    except Exception as exc:
        if isinstance(exc, BusinessError):
            reason = str(exc.message)
        elif isinstance(exc, IntegrityError):
            reason = _(
                "A phone number in the file was registered by someone else meanwhile. Check the file again."
            )
        else:
            logger.exception("Import job %s failed", job.pk)
            reason = str(exc) or exc.__class__.__name__
        message = _("The import failed and nothing was imported: %(reason)s") % {"reason": reason}
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportStatus.FAILED, message=message[:300], imported_rows=0, finished_at=timezone.now()
        )
    clear_progress(job.pk)  # from now on the job row says how it ended
    job.refresh_from_db()
    return job
