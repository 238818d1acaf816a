"""Helpers of the stored-value tests: a stored-value card of a member, balances, a clean-ledger check."""

import datetime

from django.utils import timezone

from onecard.loyalty.cards import services as cards
from onecard.loyalty.ledger.choices import AccountKind
from onecard.loyalty.ledger.verify import verify_ledger
from onecard.loyalty.models.stored_value import StoredValueSettings, TopupBonusRule
from onecard.testing.cards import active_card, make_product, stock

_counter = {"n": 0}


def sv_card(chain, member, *, order=None, **product_fields):
    """An active stored-value card of `member`, from a fresh product (consumption `order` if given)."""
    _counter["n"] += 1
    n = _counter["n"]
    product = make_product(chain, name=f"储值卡{n}", **product_fields)
    if order:
        StoredValueSettings.objects.create(product=product, consumption_order=order)
    card = stock(product, chain.a1, count=1, prefix=f"88{n:02d}")[0]
    return active_card(card, member)


def balances(card):
    """(principal, bonus, held) of the card, in fen."""
    values = cards.card_balances(card)
    return (
        values.get(AccountKind.MEMBER_PRINCIPAL, 0),
        values.get(AccountKind.MEMBER_BONUS, 0),
        values.get(AccountKind.HOLD_RESERVE, 0),
    )


def bonus_rule(chain, tiers, *, store=None, priority=0, days_ago=1, days_left=30, name="充值送"):
    now = timezone.now()
    return TopupBonusRule.objects.create(
        merchant=chain.merchant,
        store=store,
        name=name,
        tiers=tiers,
        priority=priority,
        valid_from=now - datetime.timedelta(days=days_ago),
        valid_to=now + datetime.timedelta(days=days_left) if days_left is not None else None,
    )


def assert_ledger_clean():
    report = verify_ledger()
    assert report.ok, [str(p) for p in report.problems]
    assert all(total == 0 for total in report.totals.values()), report.totals
