"""The steps of a sales import: upload (columns recognised), check (the dry run), confirm, import; the error
report and the history. The life cycle itself is the member import's (members.importing.lifecycle)."""

from django.utils.translation import gettext as _

from onecard.core.errors import BusinessError, PermissionDenied
from onecard.members.importing import lifecycle

from ..models import SaleImport
from .background import dispatch_import
from .checking import check_rows
from .columns import missing_fields, recognise
from .progress import SALES_IMPORTS

PERMISSION = "sales.import"


def create_import_job(actor, merchant, uploaded_file):
    """Store an uploaded file as a new sales import with its headers and the field each column fills."""
    if not actor.has_perm(PERMISSION) or (not actor.sees_everything and actor.merchant != merchant):
        raise PermissionDenied()
    sha256, headers = lifecycle.read_upload(uploaded_file)
    columns = recognise(headers)
    missing = missing_fields(columns)
    if missing:
        raise BusinessError(
            _("The file has no column for: %(fields)s. Use the column names of the template.")
            % {"fields": "、".join(missing)},
            code="import_columns",
        )
    return lifecycle.new_job(SaleImport, actor, merchant, uploaded_file, sha256, headers, columns=columns)


def check_import(actor, job):
    """The dry run: check every row and keep the counts, the errors and the skipped rows on the job; no sale is written."""
    lifecycle.refuse_if_started(job)
    result = check_rows(job, actor)
    lifecycle.save_check(
        job,
        total_rows=result.total,
        valid_rows=len(result.rows),
        error_rows=result.error_rows,
        skipped_rows=len(result.skipped),
        imported_rows=0,
        imported_amount=0,
        errors=result.errors,
        skipped=result.skipped,
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
    return lifecycle.claim_start(
        actor,
        job,
        permission=PERMISSION,
        progress=SALES_IMPORTS,
        dispatch=dispatch_import,
        reset={"imported_rows": 0},
        error_rows=0,
    )


def visible_jobs(actor):
    """The sales imports the user may see: of their merchant, made at their node or below."""
    return lifecycle.visible_jobs(SaleImport, actor, "merchant", "node", "created_by")


def recent_jobs(actor, limit=20):
    """The latest imports the user may see."""
    return visible_jobs(actor)[:limit]


def error_report_xlsx(job):
    """The rows with errors or skipped, with their original values, the row number and what is wrong."""
    problems = lifecycle.errors_by_row(job)
    for skipped in job.skipped or []:
        problems.setdefault(skipped["row"], []).append(skipped["message"])
    return lifecycle.problem_report_xlsx(job, problems, _("Problems"))
