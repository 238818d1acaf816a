"""The promotion and coupon ROI page (/analytics/roi/): per promotion and coupon template, the treated and matched
control groups, their spend per member before and during the run, the incremental sales, the cost and the ROI,
with the method in words; the same as .xlsx. The method and every figure: analytics/roi/queries.py.

Needs analytics.view. Scope: the members the viewer may see and their sales at the stores the viewer may see
(a store manager: their store's members and sales).
"""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from onecard.analytics.roi import queries as roi
from onecard.core.permissions import permission_required
from onecard.core.spreadsheets import XlsxWriter, time_cell, yuan_cell
from onecard.org.queries import merchant_for_request
from onecard.promotions.reports import period_export_query, period_from


@login_required
@permission_required(all_of=("analytics.view",))
@require_GET
def report(request):
    """ROI per promotion and coupon template whose run overlaps the period; .xlsx with ?export=xlsx."""
    merchant = merchant_for_request(request)
    period = period_from(request.GET)
    data = roi.roi_report(request.user, merchant, period)
    if request.GET.get("export") == "xlsx":
        return _xlsx(data, merchant, period)
    return render(
        request,
        "analytics/roi.html",
        {
            **data,
            "period": period,
            "merchant": merchant,
            "export_query": period_export_query(request.GET, period),
            "today": timezone.localdate(),
            "method": method_texts(),
        },
    )


def _row(line):
    return [
        time_cell(line.start), time_cell(line.end), line.treated, line.matched, line.not_matched, line.control,
        yuan_cell(line.treated_before), yuan_cell(line.treated_during), yuan_cell(line.control_before),
        yuan_cell(line.control_during), yuan_cell(line.incremental), yuan_cell(line.discounts), yuan_cell(line.gifts),
        yuan_cell(line.cost), line.roi,
    ]  # fmt: skip


def _headers():
    return [
        _("Run from"), _("Run to"), _("Treated"), _("Matched"), _("Not matched"), _("Control"),
        _("Treated before (¥/member)"), _("Treated during (¥/member)"), _("Control before (¥/member)"),
        _("Control during (¥/member)"), _("Incremental sales (¥)"), _("Discounts (¥)"), _("Gifts (¥)"),
        _("Cost (¥)"), _("ROI"),
    ]  # fmt: skip


def _xlsx(data, merchant, period):
    workbook = XlsxWriter()
    promotions = workbook.sheet(_("Promotions"), [_("Promotion"), *_headers()])
    for line in data["promotions"]:
        promotions.append([line.subject.name, *_row(line)])
    coupons = workbook.sheet(_("Coupon templates"), [_("Coupon template"), *_headers()])
    for line in data["coupons"]:
        coupons.append([line.subject.name, *_row(line)])
    workbook.sheet(_("Method"), [_("Method")]).extend([[text] for text in method_texts()])
    return workbook.response(f"roi-{merchant.code}-{period.first:%Y%m%d}-{period.last:%Y%m%d}.xlsx")


def method_texts() -> list:
    """The method in words, as the page states it (the sheet repeats it)."""
    return [
        _("There is no holdout group: the promotions app holds no member back from a promotion or a coupon "
          "issue, so every figure compares with a matched control group of members who did not get it."),
        _("Treated: for a promotion, members with a sale in its run that applied it; for a coupon template, "
          "members issued one of its coupons. Control: the other members in your scope. Only members who "
          "joined before the run started count."),
        _("Matching: each member falls in a cell of spend band (none, under ¥100, ¥100–500, ¥500–2,000, "
          "¥2,000 and more) × purchases band (0, 1, 2–3, 4–7, 8 and more) over the %(weeks)s weeks before "
          "the run. Treated members in a cell without control members are not matched; the control's "
          "figures are each cell's average weighted by the treated members in the cell.")
        % {"weeks": roi.PRE_DAYS // 7},
        _("Spend per member: net of returns, every way of paying, at the stores in your scope. Before: "
          "the %(weeks)s weeks before the run, scaled to the run's length.")
        % {"weeks": roi.PRE_DAYS // 7},
        _("Incremental sales (difference in differences) = ((treated during − treated before) − (control "
          "during − control before)) × matched treated members. Cost = discounts and gifts' list value on "
          "the matched treated members' sales in the run. ROI = (incremental sales − cost) ÷ cost."),
        _("A promotion's treated members bought in its run by definition, so its estimate leans high; a "
          "coupon template's are those issued a coupon, whether they used it or not."),
    ]  # fmt: skip
