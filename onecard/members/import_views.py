"""Member import pages (M7): upload, map columns, check (dry run), confirm, progress, downloads.

Views parse, check the permission `members.import`, call `importing`, render. A job is only reachable by
staff whose scope contains the node it was uploaded at.
"""

from django import forms
from django.contrib.auth.decorators import login_required, permission_required
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from onecard.core.errors import BusinessError
from onecard.core.lookups import first_or_404
from onecard.core.scoping import scope
from onecard.core.spreadsheets import xlsx_response

from . import import_pages, importing
from .import_pages import ImportFileForm
from .importing.lifecycle import CHECKABLE
from .models import ImportJob
from .queries import merchant_ids_for


class UploadForm(ImportFileForm):
    default_store = forms.ModelChoiceField(
        label=gettext_lazy("Default store"),
        queryset=None,
        required=False,
        empty_label=gettext_lazy("— none: the file names the store —"),
        help_text=gettext_lazy("For rows that name no store, or when the file has no store column."),
    )

    def __init__(self, *args, stores, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["default_store"].queryset = stores
        if len(stores) == 1:
            self.fields["default_store"].initial = stores.first().pk


def _job_or_404(user, pk):
    jobs = ImportJob.objects.filter(merchant_id__in=merchant_ids_for(user)).select_related(
        "merchant", "node", "created_by"
    )
    return first_or_404(scope(jobs, user, "node").filter(pk=pk), _("No such import."))


@login_required
@permission_required("members.import", raise_exception=True)
@require_http_methods(["GET", "POST"])
def import_start(request):
    """Upload form (file, default store) and the recent imports the user may see."""
    user = request.user
    form = UploadForm(request.POST or None, request.FILES or None, stores=importing.stores_for(user))
    return import_pages.start_page(
        request,
        form,
        create=lambda data: importing.create_import_job(
            user, data["file"], default_store=data["default_store"]
        ),
        recent=importing.recent_jobs,
        template="members/import_start.html",
        detail_url="members:import_detail",
    )


def _mapping_rows(job, choices):
    columns = (job.mapping or {}).get("columns") or []
    try:
        preview = importing.preview_rows(job)
    except BusinessError:
        preview = []
    rows = []
    for index, header in enumerate(job.headers):
        rows.append(
            {
                "index": index,
                "header": header,
                "target": columns[index] if index < len(columns) else "",
                "samples": [row[index] for row in preview if row[index]],
            }
        )
    return rows


def _map_and_check(request, job):
    """The "check" action: take the mapping and the default store from the form, then the dry run."""
    user = request.user
    store_id = request.POST.get("default_store") or None
    store = importing.stores_for(user, job.merchant).filter(pk=store_id).first() if store_id else None
    if store_id and store is None:
        raise BusinessError(_("You can only import members into your own stores."))
    columns = [request.POST.get(f"col_{i}", "") for i in range(len(job.headers))]
    importing.set_mapping(user, job, columns, default_store=store)
    importing.check_import(user, job)


@login_required
@permission_required("members.import", raise_exception=True)
@require_http_methods(["GET", "POST"])
def import_detail(request, pk):
    """Mapping, the check (dry run) and its error report, the confirm button and the progress."""
    user = request.user
    job = _job_or_404(user, pk)

    def page_context():
        choices = importing.target_choices(job.merchant)
        return {
            "choices": choices,
            "mapping_rows": _mapping_rows(job, choices) if job.status in CHECKABLE else [],
            "stores": importing.stores_for(user, job.merchant),
            "default_store": importing.default_store_of(job),
        }

    return import_pages.detail_page(
        request,
        job,
        actions={
            "check": lambda: _map_and_check(request, job),
            "confirm": lambda: importing.start_import(user, job),
        },
        detail_url="members:import_detail",
        template="members/import_detail.html",
        progress_of=importing.progress_of,
        page_context=page_context,
    )


@login_required
@permission_required("members.import", raise_exception=True)
@require_GET
def import_progress(request, pk):
    """The progress bar (htmx polls it every second while the import runs), then the result."""
    job = _job_or_404(request.user, pk)
    return import_pages.progress_page(request, job, "members/import_progress.html", importing.progress_of)


@login_required
@permission_required("members.import", raise_exception=True)
@require_GET
def import_error_report(request, pk):
    """The rows with errors as .xlsx: their original values, the row number and what is wrong."""
    job = _job_or_404(request.user, pk)
    return import_pages.error_report(job, importing.error_report_xlsx, f"import-{job.pk}-errors.xlsx")


@login_required
@permission_required("members.import", raise_exception=True)
@require_GET
def import_template(request):
    """An empty import file with the Chinese column names and one example row."""
    user = request.user
    return xlsx_response(importing.template_xlsx(user, user.merchant), "member-import-template.xlsx")
