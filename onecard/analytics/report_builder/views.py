"""The report builder's pages under /analytics/reports/: build and run, save, the list, a saved report
(page, .xlsx, print), and its owner's share, pin and delete.

Building and saving needs reports.build; a report shared with one of the viewer's roles opens with
analytics.view. Every run reads the rows of the viewer's own scope (report_builder.runner).
"""

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from onecard.analytics.report_builder import services
from onecard.analytics.report_builder.catalogue import (
    AGGREGATE_LABELS,
    DATASETS,
    OPERATOR_LABELS,
    TRUNCATION_LABELS,
)
from onecard.analytics.report_builder.definition import validate
from onecard.analytics.report_builder.forms import definition_from_params, form_rows, params_from_definition
from onecard.analytics.report_builder.queries import find_report, is_owner, visible_reports
from onecard.analytics.report_builder.runner import run
from onecard.core.errors import BusinessError, ValidationFailed
from onecard.core.ids import parse_id
from onecard.core.paging import filters_query, page_of
from onecard.core.permissions import permission_required
from onecard.core.spreadsheets import XlsxWriter
from onecard.org.models import Role
from onecard.org.queries import merchant_for_request

PAGE_SIZE = 50
PRINT_ROWS = 2000


def error_texts(exc) -> list[str]:
    """The messages of a refusal, one per mistake."""
    if isinstance(exc, ValidationFailed):
        return [str(m) for messages_ in exc.errors.values() for m in messages_]
    return [str(exc.message)]


def _builder_context(request, params, report=None):
    """The form's choices and, when a dataset is chosen and the form was sent, the checked definition and its run."""
    dataset = DATASETS.get(params.get("dataset"))
    context = {
        "datasets": DATASETS.values(),
        "dataset": dataset,
        "params": params,
        "picked": params.getlist("fields"),
        "operators": OPERATOR_LABELS.items(),
        "truncations": TRUNCATION_LABELS.items(),
        "aggregate_fns": AGGREGATE_LABELS.items(),
        "report": report,
        **form_rows(params),
    }
    if dataset is None or "run" not in params:
        return context
    raw, errors = definition_from_params(params)
    try:
        definition = validate(raw)
    except ValidationFailed as exc:
        context["errors"] = errors + error_texts(exc)
        return context
    if errors:
        context["errors"] = errors
        return context
    context.update(
        definition=definition, definition_json=json.dumps(definition.as_json(), ensure_ascii=False)
    )
    context["result"] = run(definition, request.user, merchant_for_request(request))
    return context


def _sheet_title(title) -> str:
    """A sheet name Excel accepts: at most 31 characters, none of []:*?/\\."""
    cleaned = "".join(" " if ch in "[]:*?/\\" else ch for ch in str(title)).strip()
    return cleaned[:31] or _("Report")


def _respond(request, template, context, title):
    """The page, or with ?export=xlsx the whole result as a workbook, or with ?print=1 the print view."""
    result = context.get("result")
    if result is not None and request.GET.get("export") == "xlsx":
        services.record_export(request.user, title, result.definition)
        workbook = XlsxWriter()
        sheet = workbook.sheet(_sheet_title(title), result.export_header())
        sheet.extend(result.export_rows())
        return workbook.response(f"report-{result.definition.dataset.key}.xlsx")
    if result is not None:
        printing = request.GET.get("print") == "1"
        rows = list(result.rows[:PRINT_ROWS]) if printing else page_of(request, result.rows, PAGE_SIZE)
        context["page"] = None if printing else rows
        shown = rows if printing else rows.object_list
        context["rows"] = [list(zip(result.columns, result.texts(row), strict=True)) for row in shown]
        context["query"] = filters_query(request.GET)
        if printing:
            context["title"] = title
            return render(request, "analytics/report_builder/print.html", context)
    return render(request, template, context)


@login_required
@permission_required(all_of=["reports.build"])
@require_GET
def builder(request):
    """The builder: choose a dataset, fields, filters, groupings and totals; run it and see the table."""
    report = None
    params = request.GET
    report_id = parse_id(params.get("report"))
    if report_id:
        report = find_report(request.user, report_id)
        if report is None or not is_owner(request.user, report):
            raise Http404
        if "dataset" not in params:
            params = params_from_definition(report.definition)
            params["report"] = str(report.pk)
            if "run" in request.GET:
                params["run"] = "1"
    context = _builder_context(request, params, report)
    return _respond(request, "analytics/report_builder/builder.html", context, _("Report"))


@login_required
@permission_required(all_of=["reports.build"])
@require_POST
def save(request):
    """Save the definition the builder ran (a new report, or the change of one of the user's own)."""
    report = None
    report_id = parse_id(request.POST.get("report"))
    if report_id:
        report = find_report(request.user, report_id)
        if report is None:
            raise Http404
    try:
        definition = json.loads(request.POST.get("definition") or "null")
    except ValueError:
        definition = None
    try:
        report = services.save_report(
            request.user,
            merchant_for_request(request),
            name=request.POST.get("name"),
            definition=definition,
            report=report,
        )
    except BusinessError as exc:
        for text in error_texts(exc):
            messages.error(request, text)
        back = params_from_definition(definition) if isinstance(definition, dict) else QueryDict(mutable=True)
        if report is not None:
            back["report"] = str(report.pk)
        back["run"] = "1"
        return redirect(f"{reverse('report_builder:builder')}?{back.urlencode()}")
    messages.success(request, _("The report is saved."))
    return redirect("report_builder:detail", pk=report.pk)


@login_required
@permission_required(any_of=["reports.build", "analytics.view"])
@require_GET
def report_list(request):
    """My reports and those shared with one of my roles."""
    reports = list(visible_reports(request.user))
    mine = [r for r in reports if is_owner(request.user, r)]
    shared = [r for r in reports if not is_owner(request.user, r)]
    return render(request, "analytics/report_builder/list.html", {"mine": mine, "shared": shared})


def _report_or_404(request, pk):
    report = find_report(request.user, pk)
    if report is None:
        raise Http404
    return report


@login_required
@permission_required(any_of=["reports.build", "analytics.view"])
@require_GET
def detail(request, pk):
    """A saved report run with the viewer's scope: the table, .xlsx and print; sharing for its owner."""
    report = _report_or_404(request, pk)
    context = {"report": report, "owner": is_owner(request.user, report)}
    try:
        definition = validate(report.definition)
    except ValidationFailed as exc:
        # A definition stored before the catalogue changed: say what no longer fits instead of failing.
        context["errors"] = error_texts(exc)
        return render(request, "analytics/report_builder/detail.html", context)
    context["result"] = run(definition, request.user, report.merchant)
    if context["owner"]:
        shared = set(report.shared_with_roles.values_list("pk", flat=True))
        roles = Role.objects.filter(merchant__isnull=True) | Role.objects.filter(merchant=report.merchant)
        context["roles"] = [(role, role.pk in shared) for role in roles.order_by("-is_builtin", "id")]
    return _respond(request, "analytics/report_builder/detail.html", context, report.name)


def _owner_action(request, pk, action, success):
    report = _report_or_404(request, pk)
    try:
        action(report)
    except BusinessError as exc:
        for text in error_texts(exc):
            messages.error(request, text)
        return redirect("report_builder:detail", pk=pk)
    messages.success(request, success)
    return None


@login_required
@permission_required(all_of=["reports.build"])
@require_POST
def share(request, pk):
    """Share the report with the roles ticked (none: stop sharing)."""
    ids = [i for i in map(parse_id, request.POST.getlist("roles")) if i]
    roles = list(Role.objects.filter(pk__in=ids))
    response = _owner_action(
        request, pk, lambda r: services.share_report(request.user, r, roles), _("Sharing is saved.")
    )
    return response or redirect("report_builder:detail", pk=pk)


@login_required
@permission_required(all_of=["reports.build"])
@require_POST
def pin(request, pk):
    """Pin the report to the home page, or take it off."""
    pinned = request.POST.get("pinned") == "1"
    message = _("The report is on the home page.") if pinned else _("The report is off the home page.")
    response = _owner_action(request, pk, lambda r: services.pin_report(request.user, r, pinned), message)
    return response or redirect("report_builder:detail", pk=pk)


@login_required
@permission_required(all_of=["reports.build"])
@require_POST
def delete(request, pk):
    """Delete the report."""
    response = _owner_action(
        request, pk, lambda r: services.delete_report(request.user, r), _("The report is deleted.")
    )
    return response or redirect("report_builder:list")
