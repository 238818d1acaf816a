"""The cohort page (/analytics/cohorts/): retention by join month as a heat map, new/returning/lost per month,
the members behind each figure, and the same as .xlsx. Definitions of every figure: analytics/cohorts/queries.py.

Needs analytics.view. Scope: the members of the viewer's node and below (a store manager: their store's);
the store filter offers the stores in that scope only.
"""

import re
from decimal import Decimal

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from onecard.analytics.cohorts import queries as cohorts
from onecard.core.ids import parse_id
from onecard.core.masking import mask_phone
from onecard.core.paging import filters_query, page_of
from onecard.core.permissions import permission_required
from onecard.core.scoping import node_in_scope
from onecard.core.spreadsheets import XlsxWriter
from onecard.org.choices import NodeKind
from onecard.org.queries import merchant_for_request, scoped_nodes

PERMISSION = "analytics.view"
MEMBERS_PER_PAGE = 50


def _stores(user, merchant):
    return scoped_nodes(user).filter(merchant=merchant, kind=NodeKind.STORE)


def _store_from(request, merchant):
    """The store of ?store= (403 outside the viewer's scope, 404 when no such store), or None."""
    raw = request.GET.get("store")
    if not raw:
        return None
    store = _stores_any(merchant).filter(pk=parse_id(raw)).first()
    if store is None:
        raise Http404
    if not node_in_scope(request.user, store):
        raise PermissionDenied(PERMISSION)
    return store


def _offset(text) -> int | None:
    """k of ?k= (months after joining, 0..MONTHS − 1), or None."""
    text = str(text).strip()
    return int(text) if re.fullmatch(r"[0-9]{1,2}", text) and int(text) < cohorts.MONTHS else None


def _stores_any(merchant):
    return merchant.nodes.filter(kind=NodeKind.STORE)


def _shade(share: float) -> str:
    """The heat-map cell's background: the brand colour, more opaque as the share grows (print keeps it)."""
    return f"rgba(194, 65, 12, {min(max(share, 0.0), 1.0) * 0.85 + 0.04:.2f})" if share else "transparent"


def _flow_chart(report) -> dict:
    return {
        "months": [f"{f.month:%Y-%m}" for f in report.flows],
        "new": [f.new for f in report.flows],
        "returning": [f.returning for f in report.flows],
        "lost": [f.lost for f in report.flows],
        "labels": {"new": _("New"), "returning": _("Returning"), "lost": _("Lost")},
    }


@login_required
@permission_required(all_of=(PERMISSION,))
@require_GET
def report(request):
    """Retention by join month (heat map, cells link to their members), new/returning/lost per month; .xlsx."""
    merchant = merchant_for_request(request)
    store = _store_from(request, merchant)
    last_month = cohorts.parse_month(request.GET.get("to"))
    data = cohorts.cohort_report(request.user, merchant, store=store, last_month=last_month)
    if request.GET.get("export") == "xlsx":
        return _xlsx(data, merchant, store)
    for row in data.rows:
        for cell in row.cells:
            if cell is not None:
                cell.shade = _shade(cell.share)
                cell.dark = cell.share >= 0.5
    query = request.GET.copy()
    query["export"] = "xlsx"
    return render(
        request,
        "analytics/cohorts.html",
        {
            "report": data,
            "offsets": range(cohorts.MONTHS),
            "store": store,
            "stores": _stores(request.user, merchant),
            "merchant": merchant,
            "export_query": query.urlencode(),
            "scope_query": _scope_query(request, store),
            "chart": _flow_chart(data),
            "this_month": cohorts.month_start(timezone.localdate()),
        },
    )


def _scope_query(request, store) -> str:
    """The query string part that keeps the merchant and store on the drill-down links."""
    query = request.GET.copy()
    for key in list(query):
        if key not in ("merchant", "store"):
            query.pop(key)
    return query.urlencode()


@login_required
@permission_required(all_of=(PERMISSION,))
@require_GET
def members(request):
    """The members behind one figure of the cohort page: a cohort's cell (?cohort=&k=) or a flow (?flow=&month=)."""
    merchant = merchant_for_request(request)
    store = _store_from(request, merchant)
    params = request.GET
    if params.get("flow"):
        month = cohorts.parse_month(params.get("month"))
        if month is None or params["flow"] not in cohorts.FLOW_KINDS:
            raise Http404
        rows = cohorts.flow_members(request.user, merchant, params["flow"], month, store=store)
        title = {
            "new": _("New buyers in %(month)s"),
            "returning": _("Returning buyers in %(month)s"),
            "lost": _("Members lost in %(month)s"),
        }[params["flow"]] % {"month": f"{month:%Y-%m}"}
    else:
        cohort = cohorts.parse_month(params.get("cohort"))
        k = _offset(params["k"]) if params.get("k") else None
        if cohort is None or (params.get("k") and k is None):
            raise Http404
        rows = cohorts.cell_members(request.user, merchant, cohort, k, store=store)
        if k is None:
            title = _("Members who joined in %(month)s") % {"month": f"{cohort:%Y-%m}"}
        else:
            title = _("Joined in %(cohort)s, bought in %(month)s") % {
                "cohort": f"{cohort:%Y-%m}",
                "month": f"{cohorts.add_months(cohort, k):%Y-%m}",
            }
    page = page_of(request, rows.select_related("home_store"), MEMBERS_PER_PAGE)
    for member in page.object_list:
        member.masked_phone = mask_phone(member.phone)
    return render(
        request,
        "analytics/cohort_members.html",
        {
            "page": page,
            "title": title,
            "store": store,
            "query": filters_query(params),
            "back": _scope_query(request, store),
        },
    )


# ---- .xlsx ---------------------------------------------------------------------------------------------------


def _percent(share) -> Decimal:
    return (Decimal(share) * 100).quantize(Decimal("0.1"))


def _xlsx(data, merchant, store):
    workbook = XlsxWriter()
    offsets = [_("Month %(k)s") % {"k": k} for k in range(cohorts.MONTHS)]
    shares = workbook.sheet(_("Retention (%)"), [_("Joined in"), _("Members"), *offsets])
    counts = workbook.sheet(_("Retention (members)"), [_("Joined in"), _("Members"), *offsets])
    for row in data.rows:
        month = f"{row.month:%Y-%m}"
        shares.append([month, row.size, *(None if c is None else _percent(c.share) for c in row.cells)])
        counts.append([month, row.size, *(None if c is None else c.count for c in row.cells)])
    flows = workbook.sheet(
        _("New, returning, lost"), [_("Purchase month"), _("Buyers"), _("New"), _("Returning"), _("Lost")]
    )
    for flow in data.flows:
        flows.append([f"{flow.month:%Y-%m}", flow.buyers, flow.new, flow.returning, flow.lost])
    suffix = f"-{store.code}" if store is not None else ""
    return workbook.response(f"cohorts-{merchant.code}{suffix}-{data.last_month:%Y%m}.xlsx")
