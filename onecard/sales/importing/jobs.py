"""The steps of a sales import: upload (columns recognised), check (the dry run), confirm, import; the error
report and the history."""

import datetime
import hashlib
from pathlib import Path

from django.utils.translation import gettext as _

from onecard.core.errors import BusinessError, Conflict, PermissionDenied
from onecard.core.scoping import scope
from onecard.core.spreadsheets import XlsxWriter
from onecard.members.choices import ImportStatus
from onecard.members.importing.files import MAX_FILE_BYTES, open_job_table, open_table

from ..models import SaleImport
from .background import dispatch_import
from .checking import check_rows
from .columns import missing_fields, recognise
from .progress import set_progress

PERMISSION = "sales.import"
CHECKABLE = (ImportStatus.UPLOADED, ImportStatus.VALIDATED, ImportStatus.FAILED)


def create_import_job(actor, merchant, uploaded_file):
    """Store an uploaded file as a new sales import with its headers and the field each column fills."""
    if not actor.has_perm(PERMISSION) or (not actor.sees_everything and actor.merchant != merchant):
        raise PermissionDenied()
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
    columns = recognise(headers)
    missing = missing_fields(columns)
    if missing:
        raise BusinessError(
            _("The file has no column for: %(fields)s. Use the column names of the template.")
            % {"fields": "、".join(missing)},
            code="import_columns",
        )
    node = actor.node if actor.node_id else merchant.nodes.filter(parent__isnull=True).first()
    job = SaleImport(
        merchant=merchant,
        node=node,
        created_by=actor,
        original_name=Path(uploaded_file.name).name[:200],
        file_sha256=digest.hexdigest(),
        headers=headers,
        columns=columns,
    )
    job.file.save(
        f"{job.file_sha256[:16]}{Path(uploaded_file.name).suffix.lower()}", uploaded_file, save=False
    )
    job.save()
    return job


def check_import(actor, job):
    """The dry run: check every row and keep the counts, the errors and the skipped rows on the job; no sale is written."""
    if job.status not in CHECKABLE:
        raise Conflict(_("This import has already been started."), code="import_already_started")
    result = check_rows(job, actor)
    job.total_rows = result.total
    job.valid_rows = len(result.rows)
    job.error_rows = result.error_rows
    job.skipped_rows = len(result.skipped)
    job.imported_rows = job.imported_amount = 0
    job.errors, job.skipped = result.errors, result.skipped
    job.status, job.message = ImportStatus.VALIDATED, ""
    job.save(
        update_fields=[
            "total_rows",
            "valid_rows",
            "error_rows",
            "skipped_rows",
            "imported_rows",
            "imported_amount",
            "errors",
            "skipped",
            "status",
            "message",
        ]  # fmt: skip
    )
    return result


def start_import(actor, job):
    """The user confirms a checked file without errors: mark it running and hand it to the background."""
    if not actor.has_perm(PERMISSION):
        raise PermissionDenied()
    if job.error_rows:
        raise BusinessError(
            _("Fix the rows with errors first: nothing is imported while any row has an error."),
            code="import_has_errors",
        )
    # One conditional UPDATE: of two clicks (or two tabs) exactly one finds the job still "validated".
    started = SaleImport.objects.filter(pk=job.pk, status=ImportStatus.VALIDATED, error_rows=0).update(
        status=ImportStatus.RUNNING, message="", imported_rows=0
    )
    if not started:
        raise Conflict(_("This import has already been started."), code="import_already_started")
    job.status = ImportStatus.RUNNING
    set_progress(job.pk, "queued", 0, job.valid_rows)
    dispatch_import(job.pk, actor.pk)
    return job


def visible_jobs(actor):
    """The sales imports the user may see: of their merchant, made at their node or below."""
    qs = SaleImport.objects.select_related("merchant", "node", "created_by")
    if not actor.sees_everything:
        qs = qs.filter(merchant_id=actor.merchant.pk if actor.merchant else None)
    return scope(qs, actor, "node")


def recent_jobs(actor, limit=20):
    """The latest imports the user may see."""
    return visible_jobs(actor)[:limit]


def earlier_imports_of_same_file(job):
    """Finished imports of a file with the same content, for a warning before importing it again."""
    return SaleImport.objects.filter(
        merchant=job.merchant, file_sha256=job.file_sha256, status=ImportStatus.DONE
    ).exclude(pk=job.pk)


def error_report_xlsx(job):
    """The rows with errors or skipped, with their original values, the row number and what is wrong."""
    problems = {}
    for error in job.errors or []:
        problems.setdefault(error["row"], []).append(f"{error['column']}: {error['message']}")
    for skipped in job.skipped or []:
        problems.setdefault(skipped["row"], []).append(skipped["message"])
    workbook = XlsxWriter()
    with open_job_table(job) as (headers, rows):
        sheet = workbook.sheet(_("Errors"), [*headers, _("Row"), _("Problems")])
        for number, cells in rows:
            if number in problems:
                values = [v.replace(tzinfo=None) if isinstance(v, datetime.datetime) else v for v in cells]
                sheet.append([*values, number, "; ".join(problems[number])])
    return workbook.to_bytes()
