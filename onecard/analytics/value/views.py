"""The lifetime-value page (/analytics/value/): the last fit of the CLV models, the bands of predicted 12-month
value, the top members by predicted value, the same as .xlsx, and a button to fit again.

Needs analytics.view (fitting again: analytics.manage). Members: those in the viewer's scope
(analytics.value.queries); the fit's parameters are the merchant's.
"""

from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from onecard.analytics import recompute
from onecard.analytics.value import queries as value_queries
from onecard.core.errors import BusinessError
from onecard.core.permissions import permission_required
from onecard.core.spreadsheets import XlsxWriter
from onecard.members import privacy
from onecard.org.queries import merchant_for_request


def page_data(user, merchant) -> dict:
    """What the page shows to `user`: the merchant's last fit, the bands and the top members in scope."""
    bands = value_queries.value_bands(user, merchant)
    return {
        "fit": value_queries.latest_fit(merchant),
        "bands": bands,
        "band_total": sum(band.members for band in bands),
        "top": value_queries.top_members(user, merchant),
    }


@login_required
@permission_required(all_of=("analytics.view",))
@require_GET
def fit(request):
    """The last fit's parameters, the distribution of predicted value and the top members."""
    merchant = merchant_for_request(request)
    data = page_data(request.user, merchant)
    if request.GET.get("export") == "xlsx":
        return _xlsx(data, merchant)
    # The page shows members' names: a look at personal data (PIPL). The sheet carries member numbers only,
    # so it needs neither members.export nor a purpose.
    privacy.record_list(request.user, [facts.member for facts in data["top"]])
    band_rows = [(_band_label(band), band) for band in data["bands"]]
    chart = [{"band": label, "members": band.members} for label, band in band_rows]
    return render(
        request,
        "analytics/value.html",
        {
            **data,
            "merchant": merchant,
            "band_rows": band_rows,
            "chart": chart,
            "can_fit": request.user.has_perm("analytics.manage"),
            "recompute": recompute.state_of(merchant, "fit"),
            "today": timezone.localdate(),
        },
    )


@login_required
@permission_required(all_of=("analytics.manage",))
@require_POST
def fit_again(request):
    """Start fitting the models to every sale up to today (in the background); the page shows its progress."""
    merchant = merchant_for_request(request)
    try:
        recompute.start(request.user, merchant, "fit")
    except BusinessError as refusal:
        messages.error(request, str(refusal.message))
    return redirect(f"{reverse('analytics_value:fit')}?merchant={merchant.pk}")


COST_COLUMNS = (
    "historic_value",
    "cost_bonus",
    "cost_points",
    "cost_coupons",
    "cost_discounts",
    "cost_to_serve",
)


def _yuan(fen) -> Decimal:
    return Decimal(fen or 0) / 100


def _band_label(band) -> str:
    if band.high is None:
        return _("¥%(low)s and more") % {"low": f"{_yuan(band.low):,.0f}"}
    return _("¥%(low)s to ¥%(high)s") % {"low": f"{_yuan(band.low):,.0f}", "high": f"{_yuan(band.high):,.0f}"}


def _xlsx(data, merchant):
    workbook = XlsxWriter()
    sheet = workbook.sheet(_("Predicted value"))
    sheet.append([_("Predicted value, 12 months"), _("Members"), _("Predicted value (¥)")])
    for band in data["bands"]:
        sheet.append([_band_label(band), band.members, _yuan(band.value)])
    top = workbook.sheet(_("Top members"))
    top.append([
        _("Member no."), _("Home store"), _("Predicted purchases, 12 months"),
        _("Predicted value, 12 months (¥)"), _("Spend so far (¥)"), _("Bonus (¥)"), _("Points (¥)"),
        _("Coupons (¥)"), _("Discounts (¥)"), _("Cost to serve (¥)"),
    ])  # fmt: skip
    for facts in data["top"]:
        member = facts.member
        value = getattr(member, "value", None)
        costs = (
            [_yuan(getattr(value, name)) for name in COST_COLUMNS]
            if value is not None
            else [None] * len(COST_COLUMNS)
        )
        top.append([
            member.member_no, member.home_store.name, round(facts.predicted_purchases, 2),
            _yuan(facts.predicted_value), *costs,
        ])  # fmt: skip
    return workbook.response(f"member-value-{merchant.code}-{timezone.localdate():%Y%m%d}.xlsx")
