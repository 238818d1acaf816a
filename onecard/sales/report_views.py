"""The promotion and coupon report (/reports/promotions/): figures per promotion and coupon template over a
period, the outstanding coupon liability, and the same as .xlsx. Rules of every figure: sales/reports.py
and promotions/reports.py (the period, the liability).

Needs promotions.view. Scope: promotions and templates the viewer may see (their own and those of the
nodes above them), sales at the stores in their scope, coupons of the members in their scope and bearer
coupons (coupon_queries).
"""

from django.contrib.auth.decorators import login_required, permission_required
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, pgettext
from django.views.decorators.http import require_GET

from onecard.core.spreadsheets import XlsxWriter, time_cell, yuan_cell
from onecard.org.queries import merchant_for_request
from onecard.promotions import reports as coupon_reports
from onecard.promotions.coupon_queries import visible_coupons, visible_templates
from onecard.promotions.promotion_views import visible_promotions
from onecard.sales import reports


def report_data(user, merchant, period, *, now=None) -> dict:
    """The three tables of the page for `user`: promotions, coupon templates, coupon liability."""
    now = now or timezone.now()
    scope = reports.SaleScope.for_user(user, merchant)
    templates = visible_templates(user).filter(merchant=merchant)
    coupons = visible_coupons(user).filter(merchant=merchant)
    return {
        "promotions": reports.promotion_report(visible_promotions(user, merchant), scope, period),
        "coupons": reports.coupon_report(templates, coupons, scope, period, now=now),
        "liability": coupon_reports.liability_report(templates, coupons, now=now),
    }


@login_required
@permission_required("promotions.view", raise_exception=True)
@require_GET
def report(request):
    """Per promotion and coupon template: sales, members, discount (and net of returns); coupon liability."""
    merchant = merchant_for_request(request)
    period = coupon_reports.period_from(request.GET)
    data = report_data(request.user, merchant, period)
    if request.GET.get("export") == "xlsx":
        return _xlsx(data, period, merchant)
    return render(
        request,
        "sales/reports/promotions.html",
        {
            **data,
            "period": period,
            "merchant": merchant,
            "export_query": coupon_reports.period_export_query(request.GET, period),
            "today": timezone.localdate(),
            "now": timezone.localtime(),
        },
    )


# ---- .xlsx ---------------------------------------------------------------------------------------------------


def _sales_cells(line):
    return [
        line.sales, line.members, yuan_cell(line.amount), yuan_cell(line.returned), yuan_cell(line.discount),
        yuan_cell(line.discount_net),
    ]  # fmt: skip


# Marked for translation here, translated when the sheet is written.
SALES_HEADERS = (
    gettext_noop("Sales"), gettext_noop("Members"), gettext_noop("Sales amount (¥)"),
    gettext_noop("Returned (¥)"), gettext_noop("Discount (¥)"), gettext_noop("Discount net of returns (¥)"),
)  # fmt: skip


def _promotion_sheet(workbook, report):
    sheet = workbook.sheet(_("Promotions"))
    sheet.append([
        _("Promotion"), _("Type"), pgettext("org unit", "Owner"), _("Valid from"), _("Valid to"),
        *map(_, SALES_HEADERS), _("Gift units"), _("Stock used"), _("Stock total"), _("Stock left now"),
    ])  # fmt: skip
    for line in report.lines:
        p = line.promotion
        sheet.append([
            p.name, p.get_kind_display(), p.node.name, time_cell(p.valid_from), time_cell(p.valid_to),
            *_sales_cells(line), line.gifts, line.stock_used, p.stock_total, line.stock_left,
        ])  # fmt: skip
    total = report.total
    sheet.append(
        [_("Total"), "", "", "", "", *_sales_cells(total), total.gifts, total.stock_used, None, None]
    )


def _coupon_sheet(workbook, report):
    sheet = workbook.sheet(_("Coupon templates"))
    sheet.append([
        _("Coupon template"), _("Kind"), pgettext("coupon", "Issued"), pgettext("coupon", "Redeemed"),
        _("Expired"), _("Void"), _("Outstanding"), _("Uses"), *map(_, SALES_HEADERS),
    ])  # fmt: skip
    rows = [(line.template.name, line.template.get_kind_display(), line) for line in report.lines]
    for name, kind, line in [*rows, (_("Total"), "", report.total)]:
        sheet.append([
            name, kind, line.issued, line.redeemed, line.expired, line.void, line.outstanding, line.uses,
            *_sales_cells(line),
        ])  # fmt: skip


def _liability_sheet(workbook, report):
    sheet = workbook.sheet(_("Coupon liability"))
    sheet.append([
        _("Coupon template"), _("Kind"), _("Outstanding coupons"), _("Uses left"), _("Face value (¥)"),
        _("Liability (¥)"),
    ])  # fmt: skip
    for line in report.lines:
        face = None if line.face_value is None else yuan_cell(line.face_value)
        sheet.append([
            line.template.name, line.template.get_kind_display(), line.outstanding, line.uses_left, face,
            yuan_cell(line.liability),
        ])  # fmt: skip
    total = report.total
    sheet.append([_("Total"), "", total.outstanding, total.uses_left, None, yuan_cell(total.liability)])


def _xlsx(data, period, merchant):
    workbook = XlsxWriter()
    _promotion_sheet(workbook, data["promotions"])
    _coupon_sheet(workbook, data["coupons"])
    _liability_sheet(workbook, data["liability"])
    return workbook.response(f"promotions-{merchant.code}-{period.first:%Y%m%d}-{period.last:%Y%m%d}.xlsx")
