"""Prepaid liability per issuing store and per merchant."""

import pytest

from onecard.loyalty.stored_value import holds
from onecard.loyalty.stored_value import liability as reports
from onecard.loyalty.stored_value import services as stored_value
from onecard.testing.cards import active_card, make_product, stock
from onecard.testing.stored_value import assert_ledger_clean, bonus_rule

pytestmark = pytest.mark.django_db


def test_liability_by_issuing_store_and_by_merchant(chain, member_factory):
    # given: two cards issued at A1, one at B1; top-ups at any store count for the issuing store
    product = make_product(chain)
    a1_cards = [active_card(c, member_factory()) for c in stock(product, chain.a1, count=2, prefix="8801")]
    b1_card = active_card(stock(product, chain.b1, count=1, prefix="8802")[0], member_factory())
    bonus_rule(chain, [[50_000, 5_000]])
    stored_value.topup(None, a1_cards[0], 50_000, store=chain.a1)
    stored_value.topup(None, a1_cards[1], 20_000, store=chain.b1)
    stored_value.topup(None, b1_card, 10_000, store=chain.a1)
    stored_value.charge(None, a1_cards[0], 11_000, store=chain.a2)  # 10000 principal + 1000 bonus
    holds.hold(None, b1_card, 3_000, store=chain.b1)
    # when
    by_store = reports.liability_by_store(chain.merchant)
    by_merchant = reports.liability_by_merchant()
    # then
    rows = {(r.store_id, r.principal, r.bonus, r.held, r.total) for r in by_store}
    assert rows == {(chain.a1.pk, 60_000, 4_000, 0, 64_000), (chain.b1.pk, 7_000, 0, 3_000, 10_000)}
    assert [(r.merchant_id, r.store_id, r.total) for r in by_merchant] == [(chain.merchant.pk, None, 74_000)]
    assert reports.liability_by_store(chain.other) == []
    assert_ledger_clean()
