"""Basket pages under /analytics/basket/: product pairs bought together, what one product is bought with,
and each member's top products for campaigns, each also as .xlsx.

Needs analytics.view. Scope: sales at the stores in the viewer's scope (sales.reports.SaleScope), members
the viewer may see (members.queries.visible_members). The rules of every figure: analytics/basket/queries.py.
"""

from decimal import Decimal
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext
from django.views.decorators.http import require_GET

from onecard.analytics.basket import queries as basket
from onecard.catalog.models import Product
from onecard.core.masking import mask_phone
from onecard.core.permissions import permission_required
from onecard.core.spreadsheets import XlsxWriter
from onecard.org.queries import merchant_for_request
from onecard.promotions.reports import period_from
from onecard.sales.reports import SaleScope

MEMBERS_PER_PAGE = 50
MAX_TOP_PAIRS = 500
MAX_TOP_PRODUCTS = 20
CHART_BARS = 15
PAIR_RANKINGS = [("lift", gettext_lazy("Lift")), ("support", gettext_lazy("Support"))]
PARTNER_RANKINGS = [("confidence", gettext_lazy("Confidence")), ("lift", gettext_lazy("Lift"))]


def _number(params, name, default, high) -> int:
    """The whole number ?name=, between 1 and `high`; `default` when missing or not a number."""
    try:
        value = int(params.get(name, ""))
    except ValueError:
        return default
    return min(max(value, 1), high)


def _choice(params, name, choices) -> str:
    value = params.get(name, "")
    return value if value in choices else choices[0]


def _window(request):
    """The period, thresholds and ranking the page was asked for, and its query string without paging."""
    params = request.GET
    window = {
        "period": period_from(params),
        "min_both": _number(params, "min", basket.DEFAULT_MIN_BOTH, 1_000_000),
        "top": _number(params, "top", basket.DEFAULT_TOP_PAIRS, MAX_TOP_PAIRS),
    }
    query = {"from": window["period"].first.isoformat(), "to": window["period"].last.isoformat()}
    query.update({"min": window["min_both"], "top": window["top"]})
    if params.get("merchant"):
        query["merchant"] = params["merchant"]
    window["query"] = urlencode(query)
    return window


@login_required
@permission_required(all_of=("analytics.view",))
@require_GET
def pairs(request):
    """The window's product pairs bought together, by lift or support; ?export=xlsx for the sheet."""
    merchant = merchant_for_request(request)
    window = _window(request)
    rank_by = _choice(request.GET, "rank", basket.PAIR_RANKINGS)
    report = basket.product_pairs(
        SaleScope.for_user(request.user, merchant),
        window["period"],
        min_both=window["min_both"],
        top=window["top"],
        rank_by=rank_by,
    )
    if request.GET.get("export") == "xlsx":
        return _pairs_xlsx(report, window["period"], merchant)
    context = {"report": report, "rank_by": rank_by, "rankings": PAIR_RANKINGS, "today": timezone.localdate()}
    return render(request, "analytics/basket/pairs.html", {**context, **window})


@login_required
@permission_required(all_of=("analytics.view",))
@require_GET
def product(request, pk):
    """What one product was bought with in the window, by confidence or lift; ?export=xlsx for the sheet."""
    merchant = merchant_for_request(request)
    item = get_object_or_404(Product, pk=pk, merchant=merchant)
    window = _window(request)
    rank_by = _choice(request.GET, "rank", basket.PARTNER_RANKINGS)
    result = basket.bought_with(
        SaleScope.for_user(request.user, merchant),
        window["period"],
        item,
        min_both=window["min_both"],
        top=window["top"],
        rank_by=rank_by,
    )
    if request.GET.get("export") == "xlsx":
        return _bought_with_xlsx(result, window["period"], merchant)
    context = {
        "result": result,
        "rank_by": rank_by,
        "rankings": PARTNER_RANKINGS,
        "today": timezone.localdate(),
        "chart": [
            {"name": p.product_b.name, "confidence": round(p.confidence_ab_percent, 1)}
            for p in result.partners[:CHART_BARS]
        ],
    }
    return render(request, "analytics/basket/product.html", {**context, **window})


@login_required
@permission_required(all_of=("analytics.view",))
@require_GET
def members(request):
    """The members in scope with their top products by spend, a page at a time; ?export=xlsx for all of them."""
    top = _number(request.GET, "top", basket.DEFAULT_TOP_PRODUCTS, MAX_TOP_PRODUCTS)
    everyone = basket.members_with_products(request.user)
    if request.GET.get("export") == "xlsx":
        return _members_xlsx(basket.members_top_products(everyone, top), top)
    page = Paginator(everyone, MEMBERS_PER_PAGE).get_page(request.GET.get("page"))
    ranked = basket.top_products([m.pk for m in page.object_list], top)
    rows = [(m, mask_phone(m.phone), ranked.get(m.pk, [])) for m in page.object_list]
    context = {"page": page, "rows": rows, "top": top, "query": urlencode({"top": top})}
    return render(request, "analytics/basket/members.html", context)


# ---- .xlsx ---------------------------------------------------------------------------------------------------------


def _ratio(value) -> Decimal:
    return round(Decimal(value), 6)


def _pair_cells(pair):
    return [
        pair.both, pair.sales_a, pair.sales_b, _ratio(pair.support), _ratio(pair.confidence_ab),
        _ratio(pair.confidence_ba), _ratio(pair.lift),
    ]  # fmt: skip


def _pair_headers():
    return [
        _("Sales with both"), _("Sales with A"), _("Sales with B"), _("Support"), _("Confidence A→B"),
        _("Confidence B→A"), _("Lift"),
    ]  # fmt: skip


def _pairs_xlsx(report, period, merchant):
    workbook = XlsxWriter()
    header = [_("SKU A"), _("Product A"), _("SKU B"), _("Product B"), *_pair_headers()]
    sheet = workbook.sheet(_("Product pairs"), header)
    for pair in report.pairs:
        a, b = pair.product_a, pair.product_b
        sheet.append([a.sku, a.name, b.sku, b.name, *_pair_cells(pair)])
    return workbook.response(f"basket-{merchant.code}-{period.first:%Y%m%d}-{period.last:%Y%m%d}.xlsx")


def _bought_with_xlsx(result, period, merchant):
    workbook = XlsxWriter()
    header = [_("SKU"), _("Bought with"), *_pair_headers()]
    sheet = workbook.sheet(_("Bought with"), header)
    for pair in result.partners:
        sheet.append([pair.product_b.sku, pair.product_b.name, *_pair_cells(pair)])
    return workbook.response(
        f"bought-with-{result.product.sku}-{period.first:%Y%m%d}-{period.last:%Y%m%d}.xlsx"
    )


def _members_xlsx(rows, top):
    workbook = XlsxWriter()
    ranks = []
    for n in range(1, top + 1):
        ranks += [_("Product %(n)d") % {"n": n}, _("Spend %(n)d (¥)") % {"n": n}]
    sheet = workbook.sheet(
        _("Top products"), [_("Member no."), pgettext("person", "Name"), _("Phone"), *ranks]
    )
    for member, facts in rows:
        cells = [member.member_no, member.name, mask_phone(member.phone)]
        for fact in facts:
            cells += [fact.product.name, Decimal(fact.spend) / 100]
        sheet.append(cells)
    return workbook.response(f"member-top-products-{timezone.localdate():%Y%m%d}.xlsx")
