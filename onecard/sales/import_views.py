"""Historical sales import pages (issue 11): upload, the check (dry run) and its report, confirm, progress,
the error report and the template.

Views parse, check the permission `sales.import`, call `importing`, render. An import is only reachable by
staff whose scope contains the node it was uploaded at; its rows may only name stores in the importer's scope.
"""

from django.contrib.auth.decorators import login_required
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from onecard.core.lookups import first_or_404
from onecard.core.permissions import permission_required
from onecard.core.spreadsheets import xlsx_response
from onecard.members import import_pages
from onecard.members.import_pages import ImportFileForm
from onecard.members.importing.lifecycle import CHECKABLE
from onecard.org.queries import merchant_for_request

from . import importing
from .importing.columns import label

PERMISSION = "sales.import"


def _job_or_404(user, pk):
    return first_or_404(importing.visible_jobs(user).filter(pk=pk), _("No such import."))


@login_required
@permission_required(all_of=[PERMISSION])
@require_http_methods(["GET", "POST"])
def import_start(request):
    """Upload form and the recent sales imports the user may see; an upload is checked at once (dry run)."""
    return import_pages.start_page(
        request,
        ImportFileForm(request.POST or None, request.FILES or None),
        create=lambda data: _upload_and_check(request, data["file"]),
        recent=importing.recent_jobs,
        template="sales/import_start.html",
        detail_url="sales_import:detail",
    )


def _upload_and_check(request, upload):
    """A new sales import is checked (the dry run) as soon as it is uploaded."""
    job = importing.create_import_job(request.user, merchant_for_request(request), upload)
    importing.check_import(request.user, job)
    return job


@login_required
@permission_required(all_of=[PERMISSION])
@require_http_methods(["GET", "POST"])
def import_detail(request, pk):
    """The columns recognised, the check's result and its errors, the confirm button and the progress."""
    user = request.user
    job = _job_or_404(user, pk)

    def page_context():
        columns = [
            {"header": header, "field": label(field) if field else ""}
            for header, field in zip(job.headers, job.columns or [], strict=False)
        ]
        return {
            "columns": columns,
            "skipped_shown": (job.skipped or [])[: import_pages.ERRORS_SHOWN],
            "checkable": job.status in CHECKABLE,
        }

    return import_pages.detail_page(
        request,
        job,
        actions={
            "check": lambda: importing.check_import(user, job),
            "confirm": lambda: importing.start_import(user, job),
        },
        detail_url="sales_import:detail",
        template="sales/import_detail.html",
        progress_of=importing.progress_of,
        page_context=page_context,
    )


@login_required
@permission_required(all_of=[PERMISSION])
@require_GET
def import_progress(request, pk):
    """The progress bar (htmx polls it every second while the import runs), then the result."""
    job = _job_or_404(request.user, pk)
    return import_pages.progress_page(request, job, "sales/import_progress.html", importing.progress_of)


@login_required
@permission_required(all_of=[PERMISSION])
@require_GET
def import_error_report(request, pk):
    """The rows with errors or skipped as .xlsx: their original values, the row number and what is wrong."""
    job = _job_or_404(request.user, pk)
    return import_pages.error_report(job, importing.error_report_xlsx, f"sales-import-{job.pk}-errors.xlsx")


@login_required
@permission_required(all_of=[PERMISSION])
@require_GET
def import_template(request):
    """The file to fill in: the Chinese column names, one example row and a sheet of notes."""
    user = request.user
    merchant = user.merchant if not user.sees_everything else merchant_for_request(request)
    return xlsx_response(importing.template_xlsx(user, merchant), "sales-import-template.xlsx")
