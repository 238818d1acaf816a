"""Prepaid liability (预付卡余额): what the merchant owes card holders, by issuing store and by merchant.

Liability = principal + bonus + funds reserved by open holds, summed over every card's accounts,
grouped by the card's issuing store (CHINA-RULES: custody report per issuing company). Amounts
in fen. Bonus is shown apart: it is owed as service, never paid out in cash.
"""

from dataclasses import dataclass

from django.db.models import Sum

from .choices import AccountKind
from .models import Account, Card

LIABILITY_KINDS = (AccountKind.MEMBER_PRINCIPAL, AccountKind.MEMBER_BONUS, AccountKind.HOLD_RESERVE)


@dataclass(frozen=True)
class LiabilityRow:
    merchant_id: int
    store_id: int | None
    principal: int
    bonus: int
    held: int

    @property
    def total(self) -> int:
        return self.principal + self.bonus + self.held


def _by_card(merchant=None) -> dict:
    accounts = Account.objects.filter(kind__in=LIABILITY_KINDS, card_id__isnull=False)
    if merchant is not None:
        accounts = accounts.filter(merchant=merchant)
    sums = accounts.values("card_id", "kind").annotate(total=Sum("balance"))
    result = {}
    for row in sums:
        result.setdefault(row["card_id"], {})[row["kind"]] = row["total"] or 0
    return result


def liability_by_store(merchant=None) -> list[LiabilityRow]:
    """One row per (merchant, issuing store) with a non-zero balance, in merchant and store order."""
    balances = _by_card(merchant)
    cards = Card.objects.filter(pk__in=list(balances)).values_list("pk", "merchant_id", "issued_store_id")
    rows = {}
    for card_id, merchant_id, store_id in cards:
        p, b, h = rows.get((merchant_id, store_id), (0, 0, 0))
        kinds = balances[card_id]
        rows[(merchant_id, store_id)] = (
            p + kinds.get(AccountKind.MEMBER_PRINCIPAL, 0),
            b + kinds.get(AccountKind.MEMBER_BONUS, 0),
            h + kinds.get(AccountKind.HOLD_RESERVE, 0),
        )
    return [
        LiabilityRow(merchant_id, store_id, *amounts)
        for (merchant_id, store_id), amounts in sorted(rows.items())
        if any(amounts)
    ]


def liability_by_merchant(merchant=None) -> list[LiabilityRow]:
    """One row per merchant (store_id None): the sum of its stores' rows."""
    totals = {}
    for row in liability_by_store(merchant):
        p, b, h = totals.get(row.merchant_id, (0, 0, 0))
        totals[row.merchant_id] = (p + row.principal, b + row.bonus, h + row.held)
    return [LiabilityRow(merchant_id, None, *amounts) for merchant_id, amounts in sorted(totals.items())]
