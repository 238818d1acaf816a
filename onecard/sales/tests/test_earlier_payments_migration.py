"""The data migration that records the sales of the payments made before every payment recorded one,
run on a database that holds the demo data (whose ledger history goes through loyalty directly)."""

import importlib
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db.models import Sum

from onecard.loyalty.cards.choices import CardKind
from onecard.loyalty.ledger.verify import verify_ledger
from onecard.loyalty.models import Card, CardTransaction, PackageUse
from onecard.loyalty.models.stored_value import CardTxKind
from onecard.loyalty.packages import services as packages
from onecard.loyalty.stored_value import holds
from onecard.loyalty.stored_value import services as stored_value
from onecard.sales.models import InvoiceFact, Sale, SaleKind, SaleReturn, SaleTender
from onecard.testing.packages import wash_package

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

migration = importlib.import_module("onecard.sales.migrations.0003_sales_of_earlier_payments")


def test_every_earlier_charge_capture_and_package_use_gets_one_sale(db):
    # given the demo: a month of charges, refunds, holds and checkouts, none of the plain payments with a sale
    call_command("seed_demo", members=80, cards=60, history_days=200, sales=20, verbosity=0)
    plain_sales = Sale.objects.exclude(kind=SaleKind.CHECKOUT)
    assert plain_sales.exists()  # seed-demo recorded them; the migration must make them again
    InvoiceFact.objects.filter(sale__in=plain_sales).delete()  # their invoice facts go with them
    SaleReturn.objects.filter(sale__in=plain_sales).delete()
    plain_sales.delete()
    # and, made through loyalty alone as before this change, a capture and two package uses
    card = (
        Card.objects.filter(member__isnull=False, product__kind=CardKind.STORED_VALUE).order_by("pk").first()
    )
    store = card.issued_store
    holds.capture(None, holds.hold(None, card, 1_000, store=store), 600, store=store)
    charged = stored_value.charge(None, card, 900, store=store)
    stored_value.refund(None, charged, 300, store=store, reason="退货")
    stored_value.refund(None, charged, 200, store=store, reason="退货")
    sold = packages.sell_package(
        None, card, wash_package(SimpleNamespace(merchant=card.merchant)), store=store
    )
    packages.use_package(None, sold, "洗车", store=store, count=2)
    packages.use_package(None, sold, "洗车", store=store)
    checkouts = Sale.objects.filter(kind=SaleKind.CHECKOUT).count()
    paid = CardTransaction.objects.filter(kind__in=(CardTxKind.CHARGE, CardTxKind.CAPTURE))
    plain = paid.exclude(
        pk__in=SaleTender.objects.filter(card_transaction__isnull=False).values("card_transaction")
    )
    assert plain.filter(pk=charged.pk, refunded_total=500).exists()
    assert plain.filter(kind=CardTxKind.CAPTURE, card=card, amount=600).exists()
    assert PackageUse.objects.count() == 2
    plain = list(plain.order_by("pk"))

    # when the migration runs, and runs again
    migration.forward(apps, None)
    migration.forward(apps, None)

    # then one sale per plain charge or capture, of its amount, dated with it, its refunds as returns
    for tx in plain:
        [sale] = Sale.objects.filter(tenders__card_transaction=tx)
        assert sale.kind == tx.kind
        assert (sale.total_due, sale.list_total, sale.discount_total) == (
            tx.amount,
            tx.list_amount,
            tx.discount,
        )
        assert (sale.member_id, sale.store_id, sale.created_at) == (tx.member_id, tx.store_id, tx.created_at)
        assert sale.returned_due == tx.refunded_total
        assert sale.returns.count() == tx.followups.filter(kind=CardTxKind.REFUND).count()
        assert sale.lines.get().due == tx.amount
    # and one sale per package use, of the value it recognised
    for use in PackageUse.objects.all():
        [sale] = Sale.objects.filter(lines__package_use=use)
        assert (sale.total_due, sale.created_at, sale.member_id) == (
            use.value,
            use.created_at,
            card.member_id,
        )
        assert sale.lines.get().quantity == use.count
    assert sorted(Sale.objects.filter(kind=SaleKind.PACKAGE_USE).values_list("total_due", flat=True)) == [
        3_000,
        6_000,
    ]
    # and the checkouts are untouched, nothing counted twice
    assert Sale.objects.filter(kind=SaleKind.CHECKOUT).count() == checkouts
    assert Sale.objects.exclude(kind=SaleKind.CHECKOUT).count() == len(plain) + PackageUse.objects.count()
    spent = Sale.objects.filter(kind__in=(SaleKind.CHARGE, SaleKind.CAPTURE)).aggregate(s=Sum("total_due"))[
        "s"
    ]
    assert spent == sum(tx.amount for tx in plain)
    # and the ledger is as it was
    report = verify_ledger()
    assert report.ok, report.problems
