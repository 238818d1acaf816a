"""Every way a member pays records exactly one sale: the till's and the API's charge, a capture, a package
use (till and API); refunds record returns; a refused payment and a retried key record none."""

import threading
import uuid

import pytest
from django.db import connection
from django.urls import reverse

from onecard.loyalty.ledger.errors import InsufficientBalance
from onecard.loyalty.models import CardTransaction
from onecard.loyalty.models.stored_value import CardTxKind
from onecard.loyalty.packages import services as packages
from onecard.loyalty.stored_value import holds
from onecard.loyalty.stored_value import services as stored_value
from onecard.sales import services as sales
from onecard.sales.models import Sale, SaleKind, SaleReturn, TenderKind
from onecard.testing.concurrency import run_clients
from onecard.testing.packages import wash_package
from onecard.testing.stored_value import assert_ledger_clean

pytestmark = pytest.mark.django_db

BASE = "/api/v1/pos"


@pytest.fixture
def card(chain, card):
    """The shared card (onecard.testing) with ¥200 principal topped up at A1."""
    stored_value.topup(None, card, 20_000, store=chain.a1)
    return card


def _api(pos, terminal, path, payload, key=None):
    return pos.post(terminal, path, payload, headers={"HTTP_IDEMPOTENCY_KEY": key or uuid.uuid4().hex})


def _only_sale(kind) -> Sale:
    [sale] = Sale.objects.filter(kind=kind).prefetch_related("lines", "tenders")
    return sale


def _assert_card_sale(sale, tx, *, name):
    assert (sale.card_id, sale.member_id, sale.store_id) == (tx.card_id, tx.member_id, tx.store_id)
    assert (sale.list_total, sale.discount_total, sale.total_due) == (tx.list_amount, tx.discount, tx.amount)
    [line] = sale.lines.all()
    assert (line.product_id, line.name, line.quantity, line.due) == (None, name, 1, tx.amount)
    [tender] = sale.tenders.all()
    assert (tender.kind, tender.amount, tender.card_transaction_id) == (
        TenderKind.STORED_VALUE,
        tx.amount,
        tx.pk,
    )


def test_a_charge_through_the_service_records_one_unitemised_sale(chain, card):
    # given a card with ¥200; when charging ¥30
    tx = sales.charge_card(None, card, 3_000, store=chain.a1, business_ref="ref-1")
    # then one sale of the charge: one line "消费" of ¥30, one stored-value tender pointing at the charge
    sale = _only_sale(SaleKind.CHARGE)
    _assert_card_sale(sale, tx, name="消费")
    assert sale.business_ref == "ref-1" and sale.merchant_id == chain.merchant.pk
    assert Sale.objects.count() == 1
    assert_ledger_clean()


def test_a_refused_charge_records_no_sale(chain, card):
    # when charging more than the card holds
    with pytest.raises(InsufficientBalance):
        sales.charge_card(None, card, 50_000, store=chain.a1)
    # then neither money nor sale moved
    assert not CardTransaction.objects.filter(kind=CardTxKind.CHARGE).exists()
    assert not Sale.objects.exists()


def test_the_charge_api_records_one_sale_and_a_retry_none(chain, terminal, pos, card):
    # given a charge of ¥30 with a key
    key = uuid.uuid4().hex
    first = _api(pos, terminal, f"{BASE}/charges", {"card_no": card.number, "amount": 3_000}, key)
    # when the terminal retries with the same key
    again = _api(pos, terminal, f"{BASE}/charges", {"card_no": card.number, "amount": 3_000}, key)
    # then the same answer, and one sale
    assert first.status_code == again.status_code == 200, first.content
    assert again["Idempotent-Replayed"] == "true" and again.json() == first.json()
    tx = CardTransaction.objects.get(kind=CardTxKind.CHARGE)
    _assert_card_sale(_only_sale(SaleKind.CHARGE), tx, name="消费")
    assert _only_sale(SaleKind.CHARGE).business_ref == f"pos:{terminal.terminal.terminal_id}"


def test_a_refused_charge_api_records_no_sale(chain, terminal, pos, card):
    response = _api(pos, terminal, f"{BASE}/charges", {"card_no": card.number, "amount": 50_000})
    assert response.status_code == 422 and response.json()["code"] == "insufficient_balance"
    assert not Sale.objects.exists()


def test_refunds_of_a_charge_are_returns_of_its_sale(chain, terminal, pos, card):
    # given a charge of ¥30 through the API
    _api(pos, terminal, f"{BASE}/charges", {"card_no": card.number, "amount": 3_000})
    tx = CardTransaction.objects.get(kind=CardTxKind.CHARGE)
    # when ¥10 then the rest are refunded
    part = _api(
        pos, terminal, f"{BASE}/refunds", {"transaction_id": str(tx.pk), "amount": 1_000, "reason": "x"}
    )
    rest = _api(pos, terminal, f"{BASE}/refunds", {"transaction_id": str(tx.pk), "reason": "y"})
    assert part.status_code == rest.status_code == 200, rest.content
    # then two returns of the one sale, for ¥10 and ¥20, and the line counts as returned once all is back
    sale = _only_sale(SaleKind.CHARGE)
    returns = list(SaleReturn.objects.filter(sale=sale).order_by("pk"))
    assert [r.amount for r in returns] == [1_000, 2_000]
    refunds = list(CardTransaction.objects.filter(kind=CardTxKind.REFUND).order_by("pk"))
    assert [r.tenders[0]["card_transaction"] for r in returns] == [r.pk for r in refunds]
    assert sale.returned_due == 3_000
    [line] = sale.lines.all()
    assert (line.returned_quantity, line.returned_due) == (1, 3_000)
    assert sale.tenders.get().returned_amount == 3_000
    assert Sale.objects.count() == 1
    assert_ledger_clean()


def test_the_tills_charge_and_refund_record_a_sale_and_its_return(chain, login, card):
    client = login(chain.cashier_a1)
    # when the cashier charges ¥30 and refunds ¥10 of it
    response = client.post(
        reverse("till:charge"), {"card": card.number, "amount": "30.00", "token": uuid.uuid4().hex}
    )
    assert response.status_code == 302
    tx = CardTransaction.objects.get(kind=CardTxKind.CHARGE)
    client.post(
        reverse("till:refund"),
        {
            "card": card.number,
            "original": tx.pk,
            "amount": "10.00",
            "reason": "退货",
            "token": uuid.uuid4().hex,
        },
    )
    # then one sale for ¥30 by the cashier, with a ¥10 return
    sale = _only_sale(SaleKind.CHARGE)
    _assert_card_sale(sale, tx, name="消费")
    assert sale.actor_id == chain.cashier_a1.pk
    assert sale.returns.get().amount == 1_000 and sale.returned_due == 1_000


def test_a_capture_records_one_sale_of_the_captured_amount(chain, terminal, pos, card):
    # given a hold of ¥50
    hold = holds.hold(None, card, 5_000, store=chain.a1)
    # when ¥35 of it is captured through the API, and the call is retried
    key = uuid.uuid4().hex
    first = _api(pos, terminal, f"{BASE}/holds/{hold.pk}/capture", {"amount": 3_500}, key)
    again = _api(pos, terminal, f"{BASE}/holds/{hold.pk}/capture", {"amount": 3_500}, key)
    assert first.status_code == again.status_code == 200, first.content
    # then one sale of ¥35 paid by the capture
    capture = CardTransaction.objects.get(kind=CardTxKind.CAPTURE)
    sale = _only_sale(SaleKind.CAPTURE)
    _assert_card_sale(sale, capture, name="预授权消费")
    assert sale.total_due == 3_500 and Sale.objects.count() == 1


def test_an_expired_hold_is_refused_and_records_no_sale(chain, card):
    hold = holds.hold(None, card, 5_000, store=chain.a1)
    CardTransaction.objects.filter(pk=hold.pk).update(expires_at=hold.created_at)
    with pytest.raises(holds.HoldExpired):
        sales.capture_hold(None, hold)
    # the release committed as holds.capture commits it; no sale
    assert CardTransaction.objects.filter(kind=CardTxKind.EXPIRE).count() == 1
    assert not Sale.objects.exists()


def test_a_package_use_through_the_api_records_a_line_for_the_service(chain, terminal, pos, card):
    # given a wash card of 10 uses for ¥300 sold to the card
    sold = packages.sell_package(None, card, wash_package(chain), store=chain.a1)
    # when 2 washes are used, and the call retried
    key = uuid.uuid4().hex
    first = _api(pos, terminal, f"{BASE}/packages/{sold.pk}/use", {"service": "洗车", "count": 2}, key)
    again = _api(pos, terminal, f"{BASE}/packages/{sold.pk}/use", {"service": "洗车", "count": 2}, key)
    assert first.status_code == again.status_code == 200, first.content
    # then one sale: 洗车 × 2 at the value the use recognised (¥60), paid by the package
    sale = _only_sale(SaleKind.PACKAGE_USE)
    assert (sale.member_id, sale.card_id, sale.total_due) == (card.member_id, card.pk, 6_000)
    [line] = sale.lines.all()
    assert (line.name, line.quantity, line.due, line.package_use_id) == (
        "洗车10次 · 洗车",
        2,
        6_000,
        sold.uses.get().pk,
    )
    [tender] = sale.tenders.all()
    assert (tender.kind, tender.amount) == (TenderKind.PACKAGE, 6_000)
    # and selling the package recorded no sale (a prepayment, like a top-up)
    assert Sale.objects.count() == 1
    assert_ledger_clean()


def test_a_package_use_at_the_till_records_one_sale(chain, login, card):
    sold = packages.sell_package(None, card, wash_package(chain), store=chain.a1)
    client = login(chain.cashier_a1)
    response = client.post(
        reverse("till:package_use"),
        {"card": card.number, "package": sold.pk, "service": "洗车", "count": 1, "token": uuid.uuid4().hex},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    sale = _only_sale(SaleKind.PACKAGE_USE)
    assert (sale.total_due, sale.actor_id, sale.lines.get().quantity) == (3_000, chain.cashier_a1.pk, 1)


def test_a_refused_package_use_records_no_sale(chain, card):
    sold = packages.sell_package(None, card, wash_package(chain, uses=1), store=chain.a1)
    with pytest.raises(packages.PackageUsedUp):
        sales.use_package(None, sold, "洗车", store=chain.a1, count=2)
    assert not Sale.objects.exists()


def test_top_ups_record_no_sale(chain, terminal, pos, card):
    response = _api(
        pos, terminal, f"{BASE}/topups", {"card_no": card.number, "amount": 5_000, "tender": "cash"}
    )
    assert response.status_code == 200, response.content
    assert not Sale.objects.exists()


# ---- concurrency (PostgreSQL) ---------------------------------------------------------------------------


def _at_once(count, call):
    """`count` calls started together (a barrier), each on its own connection; their answers in order."""
    barrier, answers = threading.Barrier(count), [None] * count

    def client(n):
        barrier.wait()
        answers[n] = call(n)

    run_clients(count, client)
    return answers


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_same_charge_sent_four_times_at_once_records_one_sale(chain, terminal, pos, card):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL")
    key, payload = uuid.uuid4().hex, {"card_no": card.number, "amount": 2_500}
    # when four terminals' retries of one charge arrive together
    answers = _at_once(4, lambda n: _api(pos, terminal, f"{BASE}/charges", payload, key))
    # then one answer four times, one charge, one sale
    assert [a.status_code for a in answers] == [200] * 4
    assert sorted(a["Idempotent-Replayed"] for a in answers) == ["false"] + ["true"] * 3
    tx = CardTransaction.objects.get(kind=CardTxKind.CHARGE)
    _assert_card_sale(_only_sale(SaleKind.CHARGE), tx, name="消费")
    assert_ledger_clean()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_charges_beyond_the_balance_record_a_sale_for_each_that_went_through(
    chain, terminal, pos, card
):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL")
    # given ¥200 on the card; when five different ¥50 charges arrive together
    payload = {"card_no": card.number, "amount": 5_000}
    answers = _at_once(5, lambda n: _api(pos, terminal, f"{BASE}/charges", payload))
    # then four go through and one is refused, and each charge that went through has exactly one sale
    assert sorted(a.status_code for a in answers) == [200] * 4 + [422]
    charges = CardTransaction.objects.filter(kind=CardTxKind.CHARGE)
    assert charges.count() == 4
    assert sorted(
        Sale.objects.filter(kind=SaleKind.CHARGE).values_list("tenders__card_transaction", flat=True)
    ) == sorted(charges.values_list("pk", flat=True))
    assert_ledger_clean()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_refunds_of_one_charge_add_up_on_its_sale(chain, terminal, pos, card):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL")
    # given a charge of ¥30; when three ¥10 refunds of it arrive together
    tx = sales.charge_card(None, card, 3_000, store=chain.a1)
    payload = {"transaction_id": str(tx.pk), "amount": 1_000, "reason": "x"}
    answers = _at_once(3, lambda n: _api(pos, terminal, f"{BASE}/refunds", payload))
    # then every refund is a return, and the sale's figures add up to the whole charge
    assert [a.status_code for a in answers] == [200] * 3
    sale = _only_sale(SaleKind.CHARGE)
    assert sale.returns.count() == 3 and sale.returned_due == 3_000
    assert sale.tenders.get().returned_amount == 3_000
    assert sale.lines.get().returned_quantity == 1
