"""The invoice facts report (/reports/invoices/): per store over a period, what to invoice under 601 and under
goods and services and what must not be invoiced, the facts one by one, and the same as .xlsx.

Needs invoices.view; the stores in the viewer's scope (sales.invoice_report).
"""

from django.contrib.auth.decorators import login_required, permission_required
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from onecard.core.paging import filters_query, page_of
from onecard.core.spreadsheets import XlsxWriter, yuan_cell
from onecard.org.queries import merchant_for_request, stores_in_scope
from onecard.promotions.reports import period_export_query, period_from
from onecard.sales.invoice_report import invoice_report, visible_facts


@login_required
@permission_required("invoices.view", raise_exception=True)
@require_GET
def report(request):
    """Per store: 601 top-ups and paybacks, goods and services sold and returned, what is not invoiced."""
    merchant = merchant_for_request(request)
    period = period_from(request.GET)
    facts = visible_facts(request.user, merchant, period)
    store = request.GET.get("store") or ""
    if store.isdecimal() and store.isascii():
        facts = facts.filter(store_id=int(store))
    summary = invoice_report(facts)
    facts = facts.select_related("store", "sale", "card_transaction").order_by("-occurred_at", "-id")
    if request.GET.get("export") == "xlsx":
        return _xlsx(summary, facts, period, merchant)
    return render(
        request,
        "sales/reports/invoices.html",
        {
            "report": summary,
            "page": page_of(request, facts, 100),
            "period": period,
            "merchant": merchant,
            "stores": stores_in_scope(request.user, merchant),
            "params": request.GET,
            "export_query": period_export_query(request.GET, period),
            "query": filters_query(request.GET),
        },
    )


def _summary_sheet(workbook, summary):
    sheet = workbook.sheet(_("By store"))
    sheet.append([
        _("Store"), _("601 top-ups and packages (¥)"), _("601 paid back (¥)"), _("601 net (¥)"), _("Goods sold (¥)"),
        _("Goods returned (¥)"), _("Goods net (¥)"), _("Paid with stored value (¥)"), _("Paid with points (¥)"),
        _("Paid from packages (¥)"), _("Bonus value granted (¥)"),
    ])  # fmt: skip
    for name, line in [*((line.store.name, line) for line in summary.lines), (_("Total"), summary.total)]:
        sheet.append([
            name, yuan_cell(line.topups), yuan_cell(line.topups_paid_back), yuan_cell(line.prepaid_net), yuan_cell(line.sales),
            yuan_cell(line.returns), yuan_cell(line.goods_net), yuan_cell(line.stored_value), yuan_cell(line.points),
            yuan_cell(line.package), yuan_cell(line.bonus),
        ])  # fmt: skip


def _facts_sheet(workbook, facts):
    sheet = workbook.sheet(_("Facts"))
    sheet.append([
        _("Time"), _("Store"), _("Kind"), _("Reference"), _("Invoice category"), _("Tax"), _("Amount (¥)"),
        _("To invoice (¥)"), _("Paid with stored value (¥)"), _("Paid with points (¥)"), _("Paid from packages (¥)"),
        _("Bonus value (¥)"),
    ])  # fmt: skip
    for fact in facts.iterator(chunk_size=2000):
        sheet.append([
            timezone.localtime(fact.occurred_at).strftime("%Y-%m-%d %H:%M:%S"), fact.store.name,
            fact.get_kind_display(), reference(fact), fact.get_category_display(), str(fact.tax_treatment),
            yuan_cell(fact.amount), yuan_cell(fact.invoiceable), yuan_cell(fact.stored_value), yuan_cell(fact.points),
            yuan_cell(fact.package), yuan_cell(fact.bonus),
        ])  # fmt: skip


def reference(fact) -> str:
    """What the fact is about: the sale's reference, the card transaction's or the package's number."""
    if fact.sale_id is not None:
        return fact.sale.business_ref
    if fact.member_package_id is not None:
        return f"{_('Package')} #{fact.member_package_id}"
    return f"#{fact.card_transaction_id}" if fact.card_transaction_id else ""


def _xlsx(summary, facts, period, merchant):
    workbook = XlsxWriter()
    _summary_sheet(workbook, summary)
    _facts_sheet(workbook, facts)
    return workbook.response(f"invoices-{merchant.code}-{period.first:%Y%m%d}-{period.last:%Y%m%d}.xlsx")
