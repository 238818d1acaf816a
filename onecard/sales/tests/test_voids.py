"""A voided charge's sale is returned in full; a checkout's stored-value tender is never voided on its own."""

import pytest
from django.utils import translation

from onecard.catalog import services as catalog
from onecard.loyalty.models import JournalEntry
from onecard.loyalty.models.stored_value import CardTxStatus
from onecard.loyalty.stored_value import services as stored_value
from onecard.sales import checkout
from onecard.sales import services as sales
from onecard.sales.models import InvoiceCategory, InvoiceFact, Sale, SaleKind
from onecard.testing.errors import refused
from onecard.testing.stored_value import assert_ledger_clean, balances, sv_card

pytestmark = pytest.mark.django_db


def test_a_voided_charge_returns_its_sale_in_full(chain, member_factory):
    # given a charge of ¥40 at the till, recorded as a sale
    card = sv_card(chain, member_factory())
    stored_value.topup(chain.cashier_a1, card, 10_000, store=chain.a1)
    charge = sales.charge_card(chain.cashier_a1, card, 4_000, store=chain.a1)
    sale = Sale.objects.get(kind=SaleKind.CHARGE)
    # when the cashier voids it with a reason
    void = sales.void_card_transaction(chain.cashier_a1, charge, store=chain.a1, reason="重复刷卡")
    # then the sale shows it all came back, as a return that says it was a void
    sale.refresh_from_db()
    assert sale.returned_due == sale.total_due == 4_000
    line = sale.lines.get()
    assert (line.returned_quantity, line.returned_due) == (1, 4_000)
    returned = sale.returns.get()
    assert (returned.amount, returned.reason) == (4_000, "撤销：重复刷卡")
    assert returned.tenders[0]["card_transaction"] == void.pk
    assert sale.tenders.get().returned_amount == 4_000
    assert balances(card) == (10_000, 0, 0)
    charge.refresh_from_db()
    assert charge.status == CardTxStatus.VOIDED
    assert_ledger_clean()


def test_a_void_without_reason_is_named_so_and_a_top_up_makes_no_return(chain, member_factory):
    card = sv_card(chain, member_factory())
    topup = stored_value.topup(chain.cashier_a1, card, 10_000, store=chain.a1)
    sales.void_card_transaction(chain.cashier_a1, topup, store=chain.a1)
    assert balances(card) == (0, 0, 0)
    stored_value.topup(chain.cashier_a1, card, 10_000, store=chain.a1)
    charge = sales.charge_card(chain.cashier_a1, card, 1_000, store=chain.a1)
    sales.void_card_transaction(chain.cashier_a1, charge, store=chain.a1)
    assert Sale.objects.get().returns.get().reason == "撤销"


def test_a_checkout_tender_is_refused_and_nothing_changes(chain, member_factory):
    # given a checkout paid ¥5 from stored value
    catalog.create_product(None, chain.merchant, sku="TEA-1", name="乌龙茶", list_price=500)
    card = sv_card(chain, member_factory())
    stored_value.topup(chain.cashier_a1, card, 10_000, store=chain.a1)
    sold = checkout.checkout(
        chain.cashier_a1, store=chain.a1, card=card, items=[("TEA-1", 1)],
        tenders={"stored_value": 500}, business_ref="S-1",
    )  # fmt: skip
    tender = sold.tenders.get(kind="stored_value").card_transaction
    entries = JournalEntry.objects.count()
    # when its stored-value payment is voided: refused, the sale is returned instead
    with translation.override("en"):
        error = refused(
            "void_part_of_sale", sales.void_card_transaction, chain.cashier_a1, tender, store=chain.a1
        )
        assert "return the sale" in str(error.message)
    assert JournalEntry.objects.count() == entries
    assert balances(card) == (9_500, 0, 0)


def test_the_invoice_facts_of_a_voided_top_up_and_charge_add_up_to_nothing(chain, member_factory):
    # given a top-up and a charge, both voided
    card = sv_card(chain, member_factory())
    topup = stored_value.topup(chain.cashier_a1, card, 10_000, store=chain.a1)
    charge = sales.charge_card(chain.cashier_a1, card, 3_000, store=chain.a1)
    sales.void_card_transaction(chain.cashier_a1, charge, store=chain.a1)
    sales.void_card_transaction(chain.cashier_a1, topup, store=chain.a1)
    # then the 601 facts of the top-up and its void cancel out, and so do the sale's and its return's
    facts = InvoiceFact.objects.all()
    assert sorted(f.amount for f in facts if f.category == InvoiceCategory.PREPAID) == [-10_000, 10_000]
    assert sum(f.amount for f in facts if f.category == InvoiceCategory.GOODS) == 0
    assert sum(f.invoiceable for f in facts) == 0
