"""Prepaid liability (预付卡余额): what the merchant owes card holders, by issuing store and by merchant.

Liability = principal + bonus + funds reserved by open holds + count and period cards not yet
used, summed over every card's accounts, grouped by the card's issuing store (CHINA-RULES:
custody report per issuing company). Amounts in fen. Bonus is shown apart: it is owed as service, never paid out in cash.
"""

import datetime
from dataclasses import dataclass

from django.db import connection
from django.db.models import Sum
from django.utils import timezone

from onecard.loyalty.ledger.choices import AccountKind
from onecard.loyalty.models import Account, Card, PointsLot

LIABILITY_KINDS = (
    AccountKind.MEMBER_PRINCIPAL,
    AccountKind.MEMBER_BONUS,
    AccountKind.HOLD_RESERVE,
    AccountKind.MEMBER_PACKAGE,
)


@dataclass(frozen=True)
class LiabilityRow:
    merchant_id: int
    store_id: int | None
    principal: int
    bonus: int
    held: int
    packages: int = 0  # count and period cards sold and not yet used (packages.py)

    @property
    def total(self) -> int:
        return self.principal + self.bonus + self.held + self.packages


def _sums_by_issuing_store(kinds, merchant=None) -> dict:
    """{(merchant id, issuing store id): {kind: sum of balances}} over card accounts, in one query."""
    accounts = connection.ops.quote_name(Account._meta.db_table)
    cards = connection.ops.quote_name(Card._meta.db_table)
    placeholders = ", ".join(["%s"] * len(kinds))
    sql = (
        f"SELECT c.merchant_id, c.issued_store_id, a.kind, SUM(a.balance) FROM {accounts} a "  # noqa: S608 - names from the models, values bound
        f"JOIN {cards} c ON c.id = a.card_id WHERE a.kind IN ({placeholders})"
    )
    params = list(kinds)
    if merchant is not None:
        sql += " AND a.merchant_id = %s"
        params.append(getattr(merchant, "pk", merchant))
    sql += " GROUP BY c.merchant_id, c.issued_store_id, a.kind"
    result = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for merchant_id, store_id, kind, total in cursor.fetchall():
            result.setdefault((merchant_id, store_id), {})[kind] = int(total or 0)
    return result


def liability_by_store(merchant=None) -> list[LiabilityRow]:
    """One row per (merchant, issuing store) with a non-zero balance, in merchant and store order."""
    sums = _sums_by_issuing_store(LIABILITY_KINDS, merchant)
    rows = []
    for (merchant_id, store_id), kinds in sorted(
        sums.items(), key=lambda item: (item[0][0], item[0][1] or 0)
    ):
        amounts = [kinds.get(kind, 0) for kind in LIABILITY_KINDS]
        if any(amounts):
            rows.append(LiabilityRow(merchant_id, store_id, *amounts))
    return rows


def points_by_store(merchant=None, *, days=30, now=None) -> dict:
    """{(merchant id, issuing store id): (points outstanding, points expiring within `days`)}."""
    now = now or timezone.now()
    outstanding = _sums_by_issuing_store((AccountKind.MEMBER_POINTS,), merchant)
    lots = PointsLot.objects.filter(
        remaining__gt=0, expires_at__gt=now, expires_at__lte=now + datetime.timedelta(days=days)
    )
    if merchant is not None:
        lots = lots.filter(merchant_id=getattr(merchant, "pk", merchant))
    expiring = {
        (row["merchant_id"], row["card__issued_store_id"]): row["points"]
        for row in lots.values("merchant_id", "card__issued_store_id").annotate(points=Sum("remaining"))
    }
    keys = set(outstanding) | set(expiring)
    return {
        key: (outstanding.get(key, {}).get(AccountKind.MEMBER_POINTS, 0), expiring.get(key, 0) or 0)
        for key in keys
    }


def liability_by_merchant(merchant=None) -> list[LiabilityRow]:
    """One row per merchant (store_id None): the sum of its stores' rows."""
    totals = {}
    for row in liability_by_store(merchant):
        p, b, h, k = totals.get(row.merchant_id, (0, 0, 0, 0))
        totals[row.merchant_id] = (p + row.principal, b + row.bonus, h + row.held, k + row.packages)
    return [LiabilityRow(merchant_id, None, *amounts) for merchant_id, amounts in sorted(totals.items())]
