"""Invoice facts (CHINA-RULES): a top-up is invoiced under 601, the stored-value part of a sale is not invoiced again."""

import datetime

import pytest
from django.utils import timezone, translation

from onecard.core.errors import BusinessError
from onecard.loyalty.cards.services import card_balances
from onecard.loyalty.stored_value import services as stored_value
from onecard.sales import checkout, invoicing, returns
from onecard.sales import services as sales
from onecard.sales.models import InvoiceFact, Sale
from onecard.testing.cards import active_card, stock

FIELDS = ("kind", "category", "amount", "invoiceable", "stored_value", "points", "package", "bonus")


def _fact(**where):
    return InvoiceFact.objects.values_list(*FIELDS).get(**where)


def test_a_top_up_is_invoiced_under_601_and_its_bonus_is_not(chain, card):
    # given a 充500送50 rule
    stored_value.create_bonus_rule(
        None,
        chain.merchant,
        name="充500送50",
        tiers=[[50000, 5000]],
        valid_from=timezone.now() - datetime.timedelta(days=1),
    )
    # when ¥500 is topped up by WeChat
    tx = stored_value.topup(chain.cashier_a1, card, 50000, store=chain.a1, tender="wechat")
    # then ¥500 is to be invoiced under 601 and the ¥50 bonus is not
    assert _fact(card_transaction=tx) == ("topup", "601", 50000, 50000, 0, 0, 0, 5000)
    fact = InvoiceFact.objects.get(card_transaction=tx)
    with translation.override("en"):
        assert (fact.store, fact.merchant, str(fact.tax_treatment)) == (chain.a1, chain.merchant, "Not taxed")


def test_a_refused_top_up_records_no_fact(chain, card):
    # given a top-up above the card's cap (¥5,000 for a registered card)
    with pytest.raises(BusinessError):
        stored_value.topup(chain.cashier_a1, card, 600_000, store=chain.a1)
    # then nothing was recorded
    assert not InvoiceFact.objects.exists()


def test_a_checkout_invoices_only_what_money_paid(chain, shop):
    # given a ¥130 cart paid ¥50 stored value, 1000 points (¥10), ¥40 cash and ¥30 WeChat
    sale = checkout.checkout(
        chain.cashier_a1,
        store=chain.a1,
        card=shop.card,
        items=[("CAKE-1", 4), ("TEA-1", 2)],
        tenders={"stored_value": 5000, "points": 1000, "cash": 4000, "wechat": 3000},
        business_ref="INV-1",
    )
    # then ¥70 is to be invoiced (goods); ¥50 stored value and ¥10 of points are not
    assert _fact(sale=sale, kind="sale") == ("sale", "goods", 13000, 7000, 5000, 1000, 0, 0)
    # when half the cakes come back
    cake_line = sale.lines.get(sku="CAKE-1")
    back = returns.return_sale(
        chain.cashier_a1, sale, store=chain.a1, lines={cake_line.pk: 2}, reason="stale"
    )
    # then the return's fact takes back each tender's share, negative
    shares = {row["kind"]: row["amount"] for row in back.tenders}
    assert _fact(sale_return=back) == (
        "sale_return",
        "goods",
        -back.amount,
        -(shares.get("cash", 0) + shares.get("wechat", 0)),
        -shares.get("stored_value", 0),
        -shares.get("points", 0),
        0,
        0,
    )


def test_a_plain_charge_is_all_stored_value_and_its_refund_takes_it_back(chain, card_with_balance):
    # given a ¥88 charge at the till
    tx = sales.charge_card(chain.cashier_a1, card_with_balance, 8800, store=chain.a1)
    sale = Sale.objects.get(tenders__card_transaction=tx)
    # then nothing of it is invoiced again
    assert _fact(sale=sale, kind="sale") == ("sale", "goods", 8800, 0, 8800, 0, 0, 0)
    assert not InvoiceFact.objects.filter(card_transaction=tx).exists()
    # when ¥8 is refunded, then the return's fact is −¥8 of stored value
    sales.refund_charge(chain.cashier_a1, tx, 800, store=chain.a1, reason="price")
    assert _fact(kind="sale_return") == ("sale_return", "goods", -800, 0, -800, 0, 0, 0)


def test_paying_a_top_up_back_is_a_negative_601_fact(chain, card):
    # given a ¥300 top-up
    topup = stored_value.topup(chain.cashier_a1, card, 30000, store=chain.a1)
    # when ¥100 of it is paid back to the bank, then the card cancelled with its ¥200 paid out
    refund = stored_value.refund_topup(chain.store_manager, topup, 10000, store=chain.a1, reason="moving")
    cancelled = stored_value.cancel_card(chain.store_manager, card, reason="closing", payout_store=chain.a1)
    # then both are negative 601 facts of the money paid back
    assert _fact(card_transaction=refund) == ("topup_refund", "601", -10000, -10000, 0, 0, 0, 0)
    assert _fact(card_transaction=cancelled.payout) == ("topup_refund", "601", -20000, -20000, 0, 0, 0, 0)
    assert sum(InvoiceFact.objects.values_list("invoiceable", flat=True)) == 0
    assert card_balances(card).get("member_principal", 0) == 0


def test_missing_facts_are_written_once_exactly_as_the_live_ones(chain, shop, card):
    # given a top-up, a checkout and a return, with their facts
    stored_value.topup(chain.cashier_a1, card, 20000, store=chain.a1, tender="alipay")
    sale = checkout.checkout(
        chain.cashier_a1, store=chain.a1, card=shop.card, items=[("CAKE-1", 2)],
        tenders={"stored_value": 2000, "cash": 4000}, business_ref="INV-2",
    )  # fmt: skip
    returns.return_sale(chain.cashier_a1, sale, store=chain.a1, reason="whole")
    live = sorted(InvoiceFact.objects.values_list("kind", *FIELDS[1:], "store_id", "occurred_at"))
    # when the facts are lost and written again from the rows
    InvoiceFact.objects.all().delete()
    written = invoicing.record_missing_facts()
    # then the same facts come back, and a second run writes nothing
    assert written == len(live) == 3
    assert sorted(InvoiceFact.objects.values_list("kind", *FIELDS[1:], "store_id", "occurred_at")) == live
    assert invoicing.record_missing_facts() == 0


def test_another_stores_card_top_up_is_facted_at_the_store_that_took_the_money(
    chain, card_product, member_factory
):
    # given a card issued at A1 topped up at A2
    card = active_card(stock(card_product, chain.a1, count=1, prefix="8811")[0], member_factory())
    tx = stored_value.topup(chain.cashier_a1, card, 10000, store=chain.a2)
    # then A2 invoices it
    assert InvoiceFact.objects.get(card_transaction=tx).store == chain.a2


@pytest.mark.parametrize(
    ("tenders", "parts"),
    [
        ([], (0, 0, 0, 0, 0)),
        ([("cash", 100), ("bank_card", 5), ("alipay", 1)], (106, 106, 0, 0, 0)),
        ([("stored_value", 7), ("package", 3), ("points", 2), ("wechat", 1)], (13, 1, 7, 2, 3)),
    ],
)
def test_tender_parts_add_up(tenders, parts):
    got = invoicing.tender_parts(tenders)
    assert tuple(got[k] for k in ("amount", "invoiceable", "stored_value", "points", "package")) == parts
    assert invoicing.tender_parts(tenders, sign=-1)["amount"] == -parts[0]


def test_a_package_sale_is_invoiced_under_601_and_its_refund_paid_back(chain, card):
    from onecard.loyalty.packages import services as packages
    from onecard.testing.packages import wash_package

    # given a ¥300 count card sold by WeChat at A1
    sold = packages.sell_package(None, card, wash_package(chain), store=chain.a1, tender="wechat")
    # then its price is to be invoiced under 601, like a top-up
    assert _fact(member_package=sold) == ("package_sale", "601", 30000, 30000, 0, 0, 0, 0)
    # when one of ten uses is taken (that use is a sale paid from the package: not invoiced again)
    use = sales.use_package(None, sold, "洗车", store=chain.a1)
    assert _fact(sale__lines__package_use=use) == ("sale", "goods", 3000, 0, 0, 0, 3000, 0)
    # and the rest is refunded at A2
    packages.refund_package(None, sold, store=chain.a2, reason="moving away", method="bank")
    # then ¥270 paid back is negative under 601, at the store that paid it
    refund = InvoiceFact.objects.get(member_package=sold, kind="package_refund")
    assert (refund.category, refund.amount, refund.invoiceable, refund.store) == (
        "601",
        -27000,
        -27000,
        chain.a2,
    )
    assert InvoiceFact.objects.filter(member_package=sold).count() == 2


def test_missing_package_facts_are_written_once_exactly_as_the_live_ones(chain, card):
    from onecard.loyalty.packages import services as packages
    from onecard.testing.packages import gym_package, wash_package

    # given a package refunded and one still running, with their facts
    refunded = packages.sell_package(None, card, wash_package(chain), store=chain.a1)
    packages.refund_package(None, refunded, store=chain.a1, reason="changed mind", method="bank")
    packages.sell_package(None, card, gym_package(chain), store=chain.a2, tender="alipay")
    columns = ("kind", *FIELDS[1:], "store_id", "occurred_at", "member_package_id")
    live = sorted(InvoiceFact.objects.values_list(*columns))
    # when the facts are lost and written again from the packages
    InvoiceFact.objects.filter(member_package__isnull=False).delete()
    written = invoicing.record_missing_package_facts()
    # then the same three facts come back, and a second run writes nothing
    assert written == len(live) == 3
    assert sorted(InvoiceFact.objects.values_list(*columns)) == live
    assert invoicing.record_missing_package_facts() == 0
