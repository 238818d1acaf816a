"""What the pages of every file import share (the member import here, the historical sales import in
sales.import_views): the upload form, the start page, the detail page's actions, the progress bar and the
error report download. Each import passes in its own functions, templates and url names.
"""

from django import forms
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from onecard.core.errors import BusinessError
from onecard.core.spreadsheets import xlsx_response

from .choices import ImportStatus
from .importing.lifecycle import earlier_imports_of_same_file

ERRORS_SHOWN = 200


class ImportFileForm(forms.Form):
    """The file to import."""

    file = forms.FileField(
        label=gettext_lazy("File"),
        help_text=gettext_lazy(
            "An .xlsx or .csv file (UTF-8 or GBK) with the column names in the first row, up to 200,000 rows."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".xlsx,.csv"}),
    )


def start_page(request, form, *, create, recent, template, detail_url):
    """The upload form and the recent imports; a valid upload becomes a job (`create`) and opens its page."""
    if request.method == "POST" and form.is_valid():
        try:
            job = create(form.cleaned_data)
        except BusinessError as exc:
            form.add_error("default_store" if exc.field == "default_store" else "file", str(exc.message))
        else:
            return redirect(detail_url, pk=job.pk)
    return render(request, template, {"form": form, "jobs": recent(request.user)})


def detail_action(request, job, actions, detail_url):
    """Run the posted action ("check", "confirm", ...) on the job; a refusal is shown as a message."""
    action = actions.get(request.POST.get("action"))
    try:
        if action is None:
            raise BusinessError(_("Unknown action."))
        action()
    except BusinessError as exc:
        messages.error(request, str(exc.message))
    return redirect(detail_url, pk=job.pk)


def detail_page(request, job, *, actions, detail_url, template, progress_of, page_context):
    """A job's page: a POST runs one of `actions`; a GET shows the import's own `page_context()` and the
    check's errors, the earlier imports of the same file and the progress."""
    if request.method == "POST":
        return detail_action(request, job, actions, detail_url)
    context = {"job": job, **page_context(), **error_list(job.errors or [])}
    context["earlier"] = list(earlier_imports_of_same_file(job)[:3])
    context["progress"] = progress_of(job)
    return render(request, template, context)


def error_list(errors):
    """The first errors shown on the page and how many more are only in the download."""
    return {"errors_shown": errors[:ERRORS_SHOWN], "errors_hidden": max(0, len(errors) - ERRORS_SHOWN)}


def progress_page(request, job, template, progress_of):
    """The progress bar (htmx polls it every second while the import runs), then the result."""
    return render(request, template, {"job": job, "progress": progress_of(job)})


def error_report(job, report_xlsx, filename):
    """The rows with problems as .xlsx; there are none to give before the file is checked."""
    if job.status == ImportStatus.UPLOADED:
        raise Http404(_("Check the file first."))
    return xlsx_response(report_xlsx(job), filename)
