"""The sales dashboards (/analytics/dashboards/): HQ, region, store and cashier, each scoped as the user is.

Who sees which: a holder of analytics.view sees the stores of their org node (HQ: every store, a region
its stores, a store itself); a holder of till.operate without it sees the cashier dashboard, only the
sales and top-ups they made themselves. Figures: analytics.dashboards; the lists a click opens:
analytics.dashboards.lists. Every chart exports its figures and every list its rows as .xlsx.
"""

import dataclasses
from decimal import Decimal
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from onecard.analytics.dashboards import lists as dashboard_lists
from onecard.analytics.dashboards import queries as dashboards
from onecard.analytics.dashboards import rollup
from onecard.core.spreadsheets import XlsxWriter
from onecard.org.queries import merchant_for_request

PAGE_SIZE = 50
AUDIENCE_TITLES = {
    "hq": gettext_lazy("Head office dashboard"),
    "region": gettext_lazy("Region dashboard"),
    "store": gettext_lazy("Store dashboard"),
    "cashier": gettext_lazy("My sales"),
}


def dashboard_scope(request):
    """(scope, period) of the request: analytics.view → the user's node; till.operate alone → their own sales."""
    user = request.user
    if user.has_perm("analytics.view"):
        cashier = False
    elif user.has_perm("till.operate"):
        cashier = True
    else:
        raise PermissionDenied("analytics.view")
    merchant = merchant_for_request(request)
    scope = dashboards.DashboardScope.for_user(user, merchant, cashier=cashier)
    return scope, dashboards.Period.last(request.GET.get("period"))


def with_rollups(scope, period):
    """The period reading the closed days from the rollups, brought up to yesterday first if the job did not.

    The cashier dashboard reads its own sales raw and rolls nothing up.
    """
    if scope.is_cashier:
        return period
    return dataclasses.replace(period, rolled_through=rollup.roll_up_lazily(scope.merchant_id))


def _base_query(request, period) -> dict:
    query = {"period": period.code}
    if request.GET.get("merchant"):
        query["merchant"] = request.GET["merchant"]
    return query


def _drill_urls(request, period) -> dict:
    """{(list name, parameter): URL to which a clicked category's key is appended}."""
    query = urlencode(_base_query(request, period))
    return {
        (name, param): f"{reverse('dashboards:list', args=[name])}?{query}&{param}="
        for name, drill in dashboard_lists.LISTS.items()
        for param in drill.params
    }


def _table(chart) -> dict:
    """A chart's figures as rows (for print and the screen reader): label, then a (value, unit) per series."""
    rows = [
        (label, [(series.values[i], series.unit) for series in chart.series])
        for i, label in enumerate(chart.labels)
    ]
    return {
        "chart": chart,
        "rows": rows,
        "partial_label": chart.labels[-1] if chart.partial and rows else None,
    }


@login_required
@require_GET
def dashboard(request):
    """The user's dashboard: takings, tenders, stores, top-ups, liability, members, classes, top products."""
    scope, period = dashboard_scope(request)
    period = with_rollups(scope, period)
    charts = dashboards.dashboard_charts(scope, period)
    drill_urls = _drill_urls(request, period)
    base = _base_query(request, period)
    return render(
        request,
        "analytics/dashboards/dashboard.html",
        {
            "title": AUDIENCE_TITLES[scope.audience],
            "scope": scope,
            "period": period,
            "periods": [("30d", _("Last 30 days, by day")), ("12m", _("Last 12 months, by month"))],
            "charts_data": [chart.as_json(drill_urls) for chart in charts],
            "tables": [_table(chart) for chart in charts],
            "export_query": urlencode({**base, "export": "xlsx"}),
            "now": timezone.localtime(),
        },
    )


def _yuan(fen) -> Decimal:
    return Decimal(fen or 0) / 100


def _headed(label, unit):
    return f"{label} (¥)" if unit == "fen" else str(label)


@login_required
@require_GET
def chart_export(request, name):
    """One chart's figures as .xlsx: a row per category (day, month, tender, store, class...)."""
    scope, period = dashboard_scope(request)
    chart = dashboards.chart_named(scope, with_rollups(scope, period), name)
    if chart is None:
        raise Http404
    workbook = XlsxWriter()
    sheet = workbook.sheet(str(chart.title)[:31])
    sheet.append(
        [
            _("Period") if chart.shape in ("time", "line") else "",
            *(_headed(s.label, s.unit) for s in chart.series),
            "",
        ]
    )
    for i, label in enumerate(chart.labels):
        note = _("partial: not over yet") if chart.partial and i == len(chart.labels) - 1 else ""
        sheet.append(
            [label, *(_yuan(s.values[i]) if s.unit == "fen" else s.values[i] for s in chart.series), note]
        )
    return workbook.response(f"dashboard-{name}-{period.code}-{timezone.localdate():%Y%m%d}.xlsx")


def _cell(column, row):
    value = column.read(row)
    if column.kind == "time" and value is not None:
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
    return value


def _list_xlsx(drill, rows, period):
    workbook = XlsxWriter()
    sheet = workbook.sheet(str(drill.title)[:31])
    sheet.append([_headed(c.header, c.kind) for c in drill.columns])
    for row in rows.iterator(chunk_size=2000):
        sheet.append([_yuan(c.read(row)) if c.kind == "fen" else _cell(c, row) for c in drill.columns])
    return workbook.response(f"dashboard-{drill.name}-{period.code}-{timezone.localdate():%Y%m%d}.xlsx")


@login_required
@require_GET
def drill_list(request, name):
    """The rows behind one figure of a chart (paginated; ?export=xlsx: all of them)."""
    drill = dashboard_lists.LISTS.get(name)
    if drill is None:
        raise Http404
    scope, period = dashboard_scope(request)
    if scope.is_cashier and not drill.for_cashier:
        raise PermissionDenied("analytics.view")
    rows = dashboard_lists.drill_rows(drill, scope, period, request.GET)
    if request.GET.get("export") == "xlsx":
        return _list_xlsx(drill, rows, period)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    filters = {p: request.GET[p] for p in drill.params if request.GET.get(p)}
    query = urlencode({**_base_query(request, period), **filters})
    return render(
        request,
        "analytics/dashboards/list.html",
        {
            "drill": drill,
            "page": page,
            "rows": [[(c, _cell(c, row)) for c in drill.columns] for row in page.object_list],
            "filters": dashboard_lists.describe_filters(drill, scope, period, filters),
            "period": period,
            "query": query,
            "back_query": urlencode(_base_query(request, period)),
        },
    )
