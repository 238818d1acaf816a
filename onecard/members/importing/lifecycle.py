"""The life cycle every file import shares (members here, historical sales in sales.importing).

One job row per uploaded file walks uploaded → validated → running → done | failed:
  read_upload / new_job      the size limit, the sha256 and the header row, then the job with its file;
  refuse_if_started          checking (or re-mapping) is only allowed before the import starts;
  check_each_row / save_check  the dry run feeds every row to the import's own checker and keeps the counts;
  claim_start                the confirm: one conditional UPDATE lets exactly one of two clicks through;
  ImportRun                  the background run: re-check, write in ONE transaction, end done or failed;
  problem_report_xlsx        the rows with problems, with their original values, for download.

What differs between imports (the job model, the row checker, the writer, the permission, the texts) is
passed in or filled in by a subclass of ImportRun.
"""

import datetime
import hashlib
import logging
from pathlib import Path

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from onecard.core import audit
from onecard.core.errors import BusinessError, Conflict, PermissionDenied
from onecard.core.scoping import scope
from onecard.core.spreadsheets import XlsxWriter
from onecard.org.models import Staff

from ..choices import ImportStatus
from .files import MAX_FILE_BYTES, open_job_table, open_table

CHECKABLE = (ImportStatus.UPLOADED, ImportStatus.VALIDATED, ImportStatus.FAILED)
PROGRESS_EVERY = 1000

# ---- upload ------------------------------------------------------------------------------------------------


def read_upload(uploaded_file):
    """The sha256 and the header row of an uploaded file; a file over the size limit is refused."""
    if uploaded_file.size > MAX_FILE_BYTES:
        raise BusinessError(
            _("The file is larger than %(mb)s MB; split it into smaller files.")
            % {"mb": MAX_FILE_BYTES // (1024 * 1024)},
            code="import_too_large",
        )
    digest = hashlib.sha256()
    for chunk in uploaded_file.chunks():
        digest.update(chunk)
    uploaded_file.seek(0)
    with open_table(uploaded_file, uploaded_file.name) as (headers, _rows):
        pass
    uploaded_file.seek(0)
    return digest.hexdigest(), headers


def new_job(model, actor, merchant, uploaded_file, sha256, headers, **fields):
    """Save a job of `model` for an uploaded file, at the actor's node (the merchant's root for head office)."""
    node = actor.node if actor.node_id else merchant.nodes.filter(parent__isnull=True).first()
    job = model(
        merchant=merchant,
        node=node,
        created_by=actor,
        original_name=Path(uploaded_file.name).name[:200],
        file_sha256=sha256,
        headers=headers,
        **fields,
    )
    job.file.save(
        f"{job.file_sha256[:16]}{Path(uploaded_file.name).suffix.lower()}", uploaded_file, save=False
    )
    job.save()
    return job


# ---- the check (dry run) -----------------------------------------------------------------------------------


def refuse_if_started(job):
    """A job may only be checked or changed before its import starts (or after it failed)."""
    if job.status not in CHECKABLE:
        raise Conflict(_("This import has already been started."), code="import_already_started")


def check_each_row(job, checker, result, progress=None):
    """Hand every row of the job's file to `checker.check_row`, counting them in `result.total`."""
    with open_job_table(job) as (_headers, rows):
        for number, cells in rows:
            result.total += 1
            if progress is not None and result.total % PROGRESS_EVERY == 0:
                progress(result.total)
            checker.check_row(number, cells)


def save_check(job, **counts):
    """Keep the dry run's counts (and reports) on the job and mark it validated."""
    for name, value in counts.items():
        setattr(job, name, value)
    job.status, job.message = ImportStatus.VALIDATED, ""
    job.save(update_fields=[*counts, "status", "message"])


# ---- confirm -----------------------------------------------------------------------------------------------


def claim_start(actor, job, *, permission, progress, dispatch, reset, **conditions):
    """Mark a validated job running and hand it to the background; a second confirm is refused."""
    if not actor.has_perm(permission):
        raise PermissionDenied()
    # One conditional UPDATE: of two clicks (or two tabs) exactly one finds the job still "validated".
    started = (
        type(job)
        .objects.filter(pk=job.pk, status=ImportStatus.VALIDATED, **conditions)
        .update(status=ImportStatus.RUNNING, message="", **reset)
    )
    if not started:
        raise Conflict(_("This import has already been started."), code="import_already_started")
    job.status = ImportStatus.RUNNING
    progress.set(job.pk, "queued", 0, job.valid_rows)
    dispatch(job.pk, actor.pk)
    return job


# ---- the run in the background -----------------------------------------------------------------------------


class ImportRun:
    """One background run of a confirmed job: re-check, write in one transaction, end done or failed.

    A subclass names the job `model`, its `progress` (an ImportProgress), its `check_rows` and a `logger`,
    and writes the checked rows in `write`, which ends with `finish`.
    """

    model = None
    progress = None
    logger = logging.getLogger(__name__)
    log_message = "Import job %s failed"

    def __init__(self, job, actor):
        self.job, self.actor, self.result = job, actor, None

    @classmethod
    def run(cls, job_id, actor_id):
        """Run the job if it is still marked running; anything that goes wrong rolls back and marks it failed."""
        job = cls.model.objects.select_related("merchant", "node").get(pk=job_id)
        if job.status != ImportStatus.RUNNING:
            return job  # started twice by the queue, or cancelled
        this = cls(job, Staff.objects.filter(pk=actor_id).first())
        try:
            with transaction.atomic():
                this.write()
        except Exception as exc:
            this.fail(exc)
        cls.progress.clear(job.pk)  # from now on the job row says how it ended
        job.refresh_from_db()
        return job

    def check_rows(self, job, actor, *, progress):
        """The import's own check of every row (a subclass sets its module's `check_rows`)."""
        raise NotImplementedError

    def write(self):
        """Inside the transaction: re-check (`check_again`), write the rows, end with `finish`."""
        raise NotImplementedError

    def check_again(self):
        """The check against the database as it is now, with the first part of the progress bar."""
        job, total = self.job, self.job.total_rows
        self.progress.set(job.pk, "checking", 0, total)
        self.result = self.check_rows(
            job, self.actor, progress=lambda done: self.progress.set(job.pk, "checking", done, total)
        )
        return self.result

    def importing(self, done, count):
        """Publish how many of `count` rows are written (the rest of the progress bar)."""
        self.progress.set(self.job.pk, "importing", done, count)

    def finish(self, counts, note, **fields):
        """Inside the transaction: one audit row and the job marked done with its counts."""
        job = self.job
        audit.record(
            self.actor,
            "import",
            job,
            after={"file": job.original_name, "sha256": job.file_sha256, **counts},
            note=note,
        )
        self.model.objects.filter(pk=job.pk).update(
            status=ImportStatus.DONE, finished_at=timezone.now(), **fields, **counts
        )

    def reason(self, exc):
        """What the user is told went wrong; an unexpected error is logged with its traceback."""
        if isinstance(exc, BusinessError):
            return str(exc.message)
        self.logger.exception(self.log_message, self.job.pk)
        return str(exc) or exc.__class__.__name__

    def failed_fields(self):
        """What else a failed job's row keeps, besides the message and no rows imported."""
        return {}

    def fail(self, exc):
        """Mark the job failed with the reason; nothing was imported."""
        message = _("The import failed and nothing was imported: %(reason)s") % {"reason": self.reason(exc)}
        self.model.objects.filter(pk=self.job.pk).update(
            status=ImportStatus.FAILED,
            message=message[:300],
            imported_rows=0,
            finished_at=timezone.now(),
            **self.failed_fields(),
        )


# ---- history and downloads ---------------------------------------------------------------------------------


def visible_jobs(model, actor, *related):
    """The jobs of `model` the user may see: of their merchant, made at their node or below."""
    qs = model.objects.select_related(*related)
    if not actor.sees_everything:
        qs = qs.filter(merchant_id=actor.merchant.pk if actor.merchant else None)
    return scope(qs, actor, "node")


def earlier_imports_of_same_file(job):
    """Finished imports of a file with the same content (sha256), for a warning before importing it again."""
    return (
        type(job)
        .objects.filter(merchant=job.merchant, file_sha256=job.file_sha256, status=ImportStatus.DONE)
        .exclude(pk=job.pk)
    )


def errors_by_row(job):
    """The job's check errors as "column: message" texts, by spreadsheet row number."""
    problems = {}
    for error in job.errors or []:
        problems.setdefault(error["row"], []).append(f"{error['column']}: {error['message']}")
    return problems


def problem_report_xlsx(job, problems, last_column):
    """The rows named in `problems`, with their original values, the row number and what is wrong."""
    workbook = XlsxWriter()
    with open_job_table(job) as (headers, rows):
        sheet = workbook.sheet(_("Errors"), [*headers, _("Row"), last_column])
        for number, cells in rows:
            if number in problems:
                values = [v.replace(tzinfo=None) if isinstance(v, datetime.datetime) else v for v in cells]
                sheet.append([*values, number, "; ".join(problems[number])])
    return workbook.to_bytes()
