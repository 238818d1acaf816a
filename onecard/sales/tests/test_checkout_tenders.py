"""A checkout takes the tenders it always took: a package pays only for its own uses."""

import pytest

from onecard.catalog import services as catalog
from onecard.sales import checkout
from onecard.sales.errors import InvalidTender
from onecard.sales.models import Sale

pytestmark = pytest.mark.django_db


def test_a_package_tender_is_refused_at_checkout(chain):
    catalog.create_product(None, chain.merchant, sku="TEA-1", name="乌龙茶", list_price=500)
    with pytest.raises(InvalidTender) as refused:
        checkout.checkout(
            chain.cashier_a1, store=chain.a1, card=None, items=[("TEA-1", 1)],
            tenders={"package": 500}, business_ref="S-1",
        )  # fmt: skip
    assert refused.value.extra == {"tender": "package"}
    assert not Sale.objects.exists()


def test_a_stored_value_checkout_earns_on_what_its_charge_locked(chain, shop):
    # given the member's card (¥100 principal + ¥20 bonus, 1000 points), 1 point per ¥1, and a first
    # sale of one cake (¥30) on the card: bonus part floor(3000 × 2000 / 12000) = 500, 25 points earned
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from onecard.testing.cards import reload
    from onecard.testing.points import assert_books, points_balance
    from onecard.testing.stored_value import assert_ledger_clean, balances

    def sale(ref, cakes, tenders):
        return checkout.checkout(chain.cashier_a1, store=chain.a1, card=shop.card, items=[("CAKE-1", cakes)],
                                 tenders=tenders, business_ref=ref)  # fmt: skip

    sale("S-SV1", 1, {"stored_value": 3000})
    # when three cakes (¥90) are paid ¥60 stored value + ¥30 cash
    with CaptureQueriesContext(connection) as captured:
        second = sale("S-SV2", 3, {"stored_value": 6000, "cash": 3000})
    # then the card paid ¥60, bonus in proportion: floor(6000 × 1500 / 9000) = 1000
    assert balances(reload(shop.card)) == (7500 - 5000, 1500 - 1000, 0)
    # and points were earned on ¥90 − ¥10 of bonus = ¥80 → 80 points, on the books
    assert (second.earn_base, second.points_earned) == (8000, 80)
    assert points_balance(shop.card) == 1000 + 25 + 80
    assert_books(shop.card)
    assert_ledger_clean()
    # and the card was read twice (the buyer, then the charge's locking read), never again to earn
    card_reads = [q for q in captured.captured_queries if 'FROM "loyalty_card"' in q["sql"]]
    assert len(card_reads) == 2
    # and the only savepoint is the checkout's own (this test runs in a transaction): no step opens one
    savepoints = [q for q in captured.captured_queries if q["sql"].startswith("SAVEPOINT")]
    assert len(savepoints) == 1
