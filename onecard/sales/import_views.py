"""Historical sales import pages (issue 11): upload, the check (dry run) and its report, confirm, progress,
the error report and the template.

Views parse, check the permission `sales.import`, call `importing`, render. An import is only reachable by
staff whose scope contains the node it was uploaded at; its rows may only name stores in the importer's scope.
"""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from onecard.core.errors import BusinessError
from onecard.core.lookups import first_or_404
from onecard.core.permissions import permission_required
from onecard.core.spreadsheets import xlsx_response
from onecard.members.choices import ImportStatus
from onecard.org.queries import merchant_for_request

from . import importing
from .importing.columns import label

ERRORS_SHOWN = 200
PERMISSION = "sales.import"


class UploadForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("File"),
        help_text=gettext_lazy(
            "An .xlsx or .csv file (UTF-8 or GBK) with the column names in the first row, up to 200,000 rows."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".xlsx,.csv"}),
    )


def _job_or_404(user, pk):
    return first_or_404(importing.visible_jobs(user).filter(pk=pk), _("No such import."))


@login_required
@permission_required(all_of=[PERMISSION])
@require_http_methods(["GET", "POST"])
def import_start(request):
    """Upload form and the recent sales imports the user may see; an upload is checked at once (dry run)."""
    user = request.user
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            job = importing.create_import_job(user, merchant_for_request(request), form.cleaned_data["file"])
            importing.check_import(user, job)
        except BusinessError as exc:
            form.add_error("file", str(exc.message))
        else:
            return redirect("sales_import:detail", pk=job.pk)
    return render(request, "sales/import_start.html", {"form": form, "jobs": importing.recent_jobs(user)})


@login_required
@permission_required(all_of=[PERMISSION])
@require_http_methods(["GET", "POST"])
def import_detail(request, pk):
    """The columns recognised, the check's result and its errors, the confirm button and the progress."""
    user = request.user
    job = _job_or_404(user, pk)
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "check":
                importing.check_import(user, job)
            elif action == "confirm":
                importing.start_import(user, job)
            else:
                raise BusinessError(_("Unknown action."))
        except BusinessError as exc:
            messages.error(request, str(exc.message))
        return redirect("sales_import:detail", pk=job.pk)
    errors = job.errors or []
    columns = [
        {"header": header, "field": label(field) if field else ""}
        for header, field in zip(job.headers, job.columns or [], strict=False)
    ]
    return render(
        request,
        "sales/import_detail.html",
        {
            "job": job,
            "columns": columns,
            "errors_shown": errors[:ERRORS_SHOWN],
            "errors_hidden": max(0, len(errors) - ERRORS_SHOWN),
            "skipped_shown": (job.skipped or [])[:ERRORS_SHOWN],
            "earlier": list(importing.earlier_imports_of_same_file(job)[:3]),
            "checkable": job.status in (ImportStatus.UPLOADED, ImportStatus.VALIDATED, ImportStatus.FAILED),
            "progress": importing.progress_of(job),
        },
    )


@login_required
@permission_required(all_of=[PERMISSION])
@require_GET
def import_progress(request, pk):
    """The progress bar (htmx polls it every second while the import runs), then the result."""
    job = _job_or_404(request.user, pk)
    return render(request, "sales/import_progress.html", {"job": job, "progress": importing.progress_of(job)})


@login_required
@permission_required(all_of=[PERMISSION])
@require_GET
def import_error_report(request, pk):
    """The rows with errors or skipped as .xlsx: their original values, the row number and what is wrong."""
    job = _job_or_404(request.user, pk)
    if job.status == ImportStatus.UPLOADED:
        raise Http404(_("Check the file first."))
    return xlsx_response(importing.error_report_xlsx(job), f"sales-import-{job.pk}-errors.xlsx")


@login_required
@permission_required(all_of=[PERMISSION])
@require_GET
def import_template(request):
    """The file to fill in: the Chinese column names, one example row and a sheet of notes."""
    user = request.user
    merchant = user.merchant if not user.sees_everything else merchant_for_request(request)
    return xlsx_response(importing.template_xlsx(user, merchant), "sales-import-template.xlsx")
