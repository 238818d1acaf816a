"""The cashier screen (收银台) and the member 360 sections through the Django test client."""

import uuid
from decimal import Decimal

import pytest
from django.urls import reverse

from onecard.loyalty.models import CardTransaction
from onecard.loyalty.models.stored_value import CardTxKind
from onecard.loyalty.points import services as points
from onecard.loyalty.stored_value import services as stored_value
from onecard.loyalty.tiers import services as tiers
from onecard.testing.stored_value import assert_ledger_clean, balances, sv_card

pytestmark = pytest.mark.django_db


def token():
    return uuid.uuid4().hex


@pytest.fixture
def wang_wus_card_with_200_yuan(chain, member_factory):
    """An active stored-value card of an A1 member (phone 13900001234) with ¥200.00 principal."""
    member = member_factory(name="王五", phone="13900001234")
    card = sv_card(chain, member)
    stored_value.topup(None, card, 20_000, store=chain.a1)
    return card


def post(client, name, **data):
    data.setdefault("token", token())
    return client.post(reverse(f"till:{name}"), data)


# ---- lookup ------------------------------------------------------------------------------------------------


def test_lookup_by_card_number_shows_member_panel(chain, login, wang_wus_card_with_200_yuan):
    client = login(chain.cashier_a1)
    response = client.get(
        reverse("till:lookup"), {"q": wang_wus_card_with_200_yuan.number}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "王五" in body and wang_wus_card_with_200_yuan.member.member_no in body
    assert "139****1234" in body and "13900001234" not in body
    assert "¥200.00" in body


def test_lookup_by_phone_one_card_and_several(chain, login, wang_wus_card_with_200_yuan):
    client = login(chain.cashier_a1)
    response = client.get(reverse("till:cashier"), {"q": "13900001234"})
    assert response.status_code == 200
    assert 'id="member-panel"' in response.content.decode()
    # a second card of the same member: a choice list
    second = sv_card(chain, wang_wus_card_with_200_yuan.member)
    body = client.get(reverse("till:lookup"), {"q": "13900001234"}).content.decode()
    assert (
        'id="card-choices"' in body and wang_wus_card_with_200_yuan.number in body and second.number in body
    )
    assert 'id="member-panel"' not in body


def test_lookup_unknown_card_is_refused_in_the_panel(chain, login, wang_wus_card_with_200_yuan):
    client = login(chain.cashier_a1)
    body = client.get(reverse("till:lookup"), {"q": "99999"}).content.decode()
    assert 'id="till-error"' in body and 'id="member-panel"' not in body


def test_cashier_page_needs_till_permission(chain, login):
    assert login(chain.marketer).get(reverse("till:cashier")).status_code == 403


# ---- actions -----------------------------------------------------------------------------------------------


def test_topup_through_the_page_changes_balance_and_shows_receipt(chain, login, wang_wus_card_with_200_yuan):
    client = login(chain.cashier_a1)
    response = post(
        client, "topup", card=wang_wus_card_with_200_yuan.number, amount="100.00", tender="wechat"
    )
    assert response.status_code == 302
    tx = CardTransaction.objects.get(kind=CardTxKind.TOPUP, actor=chain.cashier_a1)
    assert response.url == reverse("till:receipt", args=[tx.pk])
    assert (tx.amount, tx.tender, tx.store) == (10_000, "wechat", chain.a1)
    assert balances(wang_wus_card_with_200_yuan)[0] == 30_000
    receipt = client.get(response.url).content.decode()
    assert "¥100.00" in receipt and "¥300.00" in receipt
    assert wang_wus_card_with_200_yuan.number not in receipt  # masked
    assert (
        wang_wus_card_with_200_yuan.number[:4] in receipt
        and wang_wus_card_with_200_yuan.number[-4:] in receipt
    )
    assert_ledger_clean()


def test_charge_shows_tier_discount_and_takes_the_due_amount(chain, login, wang_wus_card_with_200_yuan):
    tier = tiers.create_tier(None, chain.merchant, name="金卡", rank=2, discount_rate=Decimal("0.9"))
    tiers.set_member_tier(None, wang_wus_card_with_200_yuan.member, tier, reason="test")
    client = login(chain.cashier_a1)
    panel = client.get(reverse("till:lookup"), {"q": wang_wus_card_with_200_yuan.number}).content.decode()
    assert "金卡" in panel and "0.9" in panel
    quote = client.get(
        reverse("till:charge_quote"), {"card": wang_wus_card_with_200_yuan.number, "amount": "30.00"}
    ).content.decode()
    assert "¥30.00" in quote and "¥3.00" in quote and "¥27.00" in quote

    response = post(client, "charge", card=wang_wus_card_with_200_yuan.number, amount="30.00")
    assert response.status_code == 302
    tx = CardTransaction.objects.get(kind=CardTxKind.CHARGE)
    assert (tx.list_amount, tx.discount, tx.amount) == (3_000, 300, 2_700)
    assert balances(wang_wus_card_with_200_yuan)[0] == 20_000 - 2_700
    receipt = client.get(response.url).content.decode()
    assert "¥30.00" in receipt and "-¥3.00" in receipt and "¥27.00" in receipt and "¥173.00" in receipt


def test_charge_refused_shows_the_reason_and_writes_nothing(chain, login, wang_wus_card_with_200_yuan):
    client = login(chain.cashier_a1)
    response = post(client, "charge", card=wang_wus_card_with_200_yuan.number, amount="500.00")
    assert response.status_code == 400
    assert 'id="till-error"' in response.content.decode()
    assert not CardTransaction.objects.filter(kind=CardTxKind.CHARGE).exists()
    assert balances(wang_wus_card_with_200_yuan)[0] == 20_000
    # bad amounts never reach the service
    for amount in ("0", "-1", "1.999", "abc"):
        assert (
            post(client, "charge", card=wang_wus_card_with_200_yuan.number, amount=amount).status_code == 400
        )
    assert not CardTransaction.objects.filter(kind=CardTxKind.CHARGE).exists()


def test_charge_in_chinese_shows_chinese_error(chain, login, wang_wus_card_with_200_yuan):
    client = login(chain.cashier_a1)
    response = client.post(
        reverse("till:charge"),
        {"card": wang_wus_card_with_200_yuan.number, "amount": "500.00", "token": token()},
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert response.status_code == 400
    assert "余额" in response.content.decode()


def test_double_submit_with_same_token_charges_once(chain, login, wang_wus_card_with_200_yuan):
    client = login(chain.cashier_a1)
    same = token()
    first = post(client, "charge", card=wang_wus_card_with_200_yuan.number, amount="10.00", token=same)
    second = post(client, "charge", card=wang_wus_card_with_200_yuan.number, amount="10.00", token=same)
    assert first.status_code == second.status_code == 302
    assert first.url == second.url
    assert CardTransaction.objects.filter(kind=CardTxKind.CHARGE).count() == 1
    assert balances(wang_wus_card_with_200_yuan)[0] == 19_000


def test_refund_through_the_page(chain, login, wang_wus_card_with_200_yuan):
    client = login(chain.cashier_a1)
    post(client, "charge", card=wang_wus_card_with_200_yuan.number, amount="30.00")
    original = CardTransaction.objects.get(kind=CardTxKind.CHARGE)
    response = post(
        client,
        "refund",
        card=wang_wus_card_with_200_yuan.number,
        original=original.pk,
        amount="10.00",
        reason="退货",
    )
    assert response.status_code == 302
    refund = CardTransaction.objects.get(kind=CardTxKind.REFUND)
    assert (refund.amount, refund.original_id) == (1_000, original.pk)
    assert balances(wang_wus_card_with_200_yuan)[0] == 20_000 - 3_000 + 1_000
    assert "¥10.00" in client.get(response.url).content.decode()
    assert_ledger_clean()


def test_refund_above_threshold_needs_manager(chain, login, wang_wus_card_with_200_yuan, settings):
    settings.ONECARD_TILL_REFUND_APPROVAL_FEN = 5_000
    original = stored_value.charge(None, wang_wus_card_with_200_yuan, 8_000, store=chain.a1)
    cashier = login(chain.cashier_a1)
    response = post(
        cashier,
        "refund",
        card=wang_wus_card_with_200_yuan.number,
        original=original.pk,
        amount="60.00",
        reason="退货",
    )
    assert response.status_code == 400
    assert not CardTransaction.objects.filter(kind=CardTxKind.REFUND).exists()
    # up to the limit the cashier may refund
    assert (
        post(
            cashier,
            "refund",
            card=wang_wus_card_with_200_yuan.number,
            original=original.pk,
            amount="20.00",
            reason="x",
        ).status_code
        == 302
    )
    # nor split a large refund into small ones: ¥20 + ¥40 passes the ¥50 limit
    response = post(
        cashier,
        "refund",
        card=wang_wus_card_with_200_yuan.number,
        original=original.pk,
        amount="40.00",
        reason="x",
    )
    assert response.status_code == 400
    assert CardTransaction.objects.filter(kind=CardTxKind.REFUND).count() == 1
    manager = login(chain.store_manager)
    response = post(
        manager,
        "refund",
        card=wang_wus_card_with_200_yuan.number,
        original=original.pk,
        amount="60.00",
        reason="退货",
    )
    assert response.status_code == 302
    assert (
        sum(CardTransaction.objects.filter(kind=CardTxKind.REFUND).values_list("amount", flat=True)) == 8_000
    )
    assert balances(wang_wus_card_with_200_yuan)[0] == 20_000


def test_refund_of_another_cards_charge_is_refused(chain, login, wang_wus_card_with_200_yuan, member_factory):
    other = sv_card(chain, member_factory())
    stored_value.topup(None, other, 5_000, store=chain.a1)
    foreign = stored_value.charge(None, other, 1_000, store=chain.a1)
    client = login(chain.cashier_a1)
    response = post(
        client,
        "refund",
        card=wang_wus_card_with_200_yuan.number,
        original=foreign.pk,
        amount="5.00",
        reason="x",
    )
    assert response.status_code == 400
    assert not CardTransaction.objects.filter(kind=CardTxKind.REFUND).exists()


def test_redeem_points_through_the_page(chain, login, wang_wus_card_with_200_yuan):
    points.earn(None, wang_wus_card_with_200_yuan, 500, store=chain.a1)
    client = login(chain.cashier_a1)
    response = post(client, "redeem", card=wang_wus_card_with_200_yuan.number, points="200")
    assert response.status_code == 302
    assert points.available_points(wang_wus_card_with_200_yuan) == 300
    response = post(client, "redeem", card=wang_wus_card_with_200_yuan.number, points="400")
    assert response.status_code == 400
    assert points.available_points(wang_wus_card_with_200_yuan) == 300


# ---- scope -------------------------------------------------------------------------------------------------


def test_b1_cashier_serves_an_a1_card_but_cannot_open_the_member(chain, login, wang_wus_card_with_200_yuan):
    client = login(chain.cashier_b1)
    assert wang_wus_card_with_200_yuan.member.home_store == chain.a1
    response = post(client, "charge", card=wang_wus_card_with_200_yuan.number, amount="12.34")
    assert response.status_code == 302
    tx = CardTransaction.objects.get(kind=CardTxKind.CHARGE)
    assert tx.store == chain.b1 and tx.amount == 1_234
    assert client.get(response.url).status_code == 200  # their own receipt
    assert (
        client.get(reverse("members:detail", args=[wang_wus_card_with_200_yuan.member.pk])).status_code == 404
    )


def test_staff_above_stores_pick_a_store_in_scope(chain, login, wang_wus_card_with_200_yuan):
    client = login(chain.region_manager)
    page = client.get(reverse("till:cashier")).content.decode()
    assert 'name="store"' in page and 'id="card-input"' not in page
    client.post(reverse("till:choose_store"), {"store": chain.b1.pk})  # not in East
    assert 'id="card-input"' not in client.get(reverse("till:cashier")).content.decode()
    client.post(reverse("till:choose_store"), {"store": chain.a2.pk})
    assert 'id="card-input"' in client.get(reverse("till:cashier")).content.decode()
    assert (
        post(
            client, "topup", card=wang_wus_card_with_200_yuan.number, amount="1.00", tender="cash"
        ).status_code
        == 302
    )
    assert CardTransaction.objects.get(kind=CardTxKind.TOPUP, actor=chain.region_manager).store == chain.a2


def test_receipt_of_another_region_is_404(chain, login, member_factory):
    member = member_factory(store=chain.b1)
    card = sv_card(chain, member)
    tx = stored_value.topup(None, card, 1_000, store=chain.b1)
    # B1 staff see receipts of their store; another merchant's manager does not
    assert login(chain.cashier_b1).get(reverse("till:receipt", args=[tx.pk])).status_code == 200
    assert login(chain.other_manager).get(reverse("till:receipt", args=[tx.pk])).status_code == 404


def test_receipt_width_58(chain, login, wang_wus_card_with_200_yuan):
    tx = CardTransaction.objects.get(kind=CardTxKind.TOPUP)
    body = login(chain.store_manager).get(reverse("till:receipt", args=[tx.pk]), {"w": "58"}).content.decode()
    assert "58mm" in body and 'data-print id="print"' in body and reverse("till:cashier") in body


# ---- member 360 --------------------------------------------------------------------------------------------


def test_member_detail_shows_cards_lots_holds_and_journal(chain, login, wang_wus_card_with_200_yuan):
    from onecard.loyalty.stored_value import holds

    points.earn(None, wang_wus_card_with_200_yuan, 300, store=chain.a1)
    charge = stored_value.charge(None, wang_wus_card_with_200_yuan, 2_500, store=chain.a1)
    holds.hold(None, wang_wus_card_with_200_yuan, 1_000, store=chain.a1)
    body = (
        login(chain.store_manager)
        .get(reverse("members:detail", args=[wang_wus_card_with_200_yuan.member.pk]))
        .content.decode()
    )
    assert 'id="member-cards"' in body and wang_wus_card_with_200_yuan.number in body
    assert "¥165.00" in body  # 200 − 25 − 10 held
    assert "¥10.00" in body
    assert 'id="member-points-lots"' in body and 'id="member-holds"' in body
    assert 'id="member-journal"' in body
    assert reverse("till:receipt", args=[charge.pk]) in body
