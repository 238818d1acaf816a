"""The prepaid-liability report (L3): what each issuing store owes card holders, and points outstanding."""

from dataclasses import dataclass

from django.contrib.auth.decorators import login_required, permission_required
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from onecard.core.scoping import scope_node_ids
from onecard.core.spreadsheets import XlsxWriter
from onecard.loyalty.stored_value import liability as reports
from onecard.org.models import Merchant, OrgNode

EXPIRING_DAYS = 30


@dataclass
class StoreLine:
    """One row of the report: an issuing store (or a merchant total) with its balances."""

    merchant: str
    store: str
    principal: int = 0
    bonus: int = 0
    held: int = 0
    packages: int = 0
    points: int = 0
    points_expiring: int = 0

    @property
    def total(self) -> int:
        return self.principal + self.bonus + self.held + self.packages


def liability_lines(user, *, now=None):
    """(store lines, merchant total lines) in the user's scope; a total sums the stores the user sees."""
    visible = scope_node_ids(user)
    liability = {(r.merchant_id, r.store_id): r for r in reports.liability_by_store()}
    points = reports.points_by_store(days=EXPIRING_DAYS, now=now)
    keys = set(liability) | set(points)
    node_ids = {store_id for _merchant, store_id in keys if store_id is not None}
    nodes = OrgNode.objects.in_bulk(node_ids)
    merchants = Merchant.objects.in_bulk({merchant_id for merchant_id, _store in keys})
    lines, totals = [], {}
    for merchant_id, store_id in sorted(keys, key=lambda key: (key[0], key[1] or 0)):
        node = nodes.get(store_id)
        in_scope = visible is None or (node is not None and node.pk in visible)
        if not in_scope:
            continue
        row = liability.get((merchant_id, store_id))
        outstanding, expiring = points.get((merchant_id, store_id), (0, 0))
        line = StoreLine(
            merchant=merchants[merchant_id].name,
            store=node.name if node else _("(no issuing store)"),
            principal=row.principal if row else 0,
            bonus=row.bonus if row else 0,
            held=row.held if row else 0,
            packages=row.packages if row else 0,
            points=outstanding,
            points_expiring=expiring,
        )
        if not (line.total or line.points):
            continue
        lines.append(line)
        total = totals.setdefault(merchant_id, StoreLine(merchant=line.merchant, store=_("All stores")))
        for field in ("principal", "bonus", "held", "packages", "points", "points_expiring"):
            setattr(total, field, getattr(total, field) + getattr(line, field))
    return lines, [totals[key] for key in sorted(totals)]


def _yuan(fen) -> str:
    return f"{fen / 100:,.2f}"


def _xlsx(lines, totals):
    workbook = XlsxWriter()
    sheet = workbook.sheet(_("Prepaid liability"))
    sheet.append([
        _("Merchant"), _("Issuing store"), _("Principal (¥)"), _("Bonus (¥)"), _("Held (¥)"), _("Packages (¥)"), _("Total (¥)"),
        _("Points outstanding"), _("Points expiring in 30 days"),
    ])  # fmt: skip
    for line in [*lines, *totals]:
        sheet.append([
            line.merchant, line.store, line.principal / 100, line.bonus / 100, line.held / 100, line.packages / 100, line.total / 100,
            line.points, line.points_expiring,
        ])  # fmt: skip
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    return workbook.response(f"prepaid-liability-{stamp}.xlsx")


@login_required
@permission_required("cards.view", raise_exception=True)
@require_GET
def liability(request):
    """预付卡余额: principal, bonus and held funds per issuing store, merchant totals, points expiring soon."""
    lines, totals = liability_lines(request.user)
    if request.GET.get("export") == "xlsx":
        return _xlsx(lines, totals)
    return render(
        request,
        "loyalty/reports/liability.html",
        {"lines": lines, "totals": totals, "days": EXPIRING_DAYS, "now": timezone.localtime()},
    )
