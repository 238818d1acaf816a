"""The till's void (撤销) from a receipt, the confirmation markers of its money forms, and the product search."""

import datetime
import uuid

import pytest
from django.urls import reverse

from onecard.catalog import services as catalog
from onecard.loyalty.models.stored_value import CardTransaction, CardTxKind, CardTxStatus
from onecard.loyalty.stored_value import services as stored_value
from onecard.sales import services as sales
from onecard.testing.stored_value import assert_ledger_clean, balances, sv_card

pytestmark = pytest.mark.django_db


@pytest.fixture
def topped_up(chain, member_factory):
    """A card with ¥100 topped up by the A1 cashier: (card, top-up)."""
    card = sv_card(chain, member_factory(name="赵六", phone="13911112222"))
    return card, stored_value.topup(chain.cashier_a1, card, 10_000, store=chain.a1, tender="wechat")


def void(client, tx, **data):
    data.setdefault("token", uuid.uuid4().hex)
    return client.post(reverse("till:void"), {"original": tx.pk, **data})


def age(tx, minutes):
    """Move the transaction `minutes` into the past (a test shortcut around the immutable row)."""
    CardTransaction.objects.filter(pk=tx.pk).update(
        created_at=tx.created_at - datetime.timedelta(minutes=minutes)
    )


def test_the_cashier_voids_their_own_top_up_from_its_receipt(chain, login, topped_up):
    card, topup = topped_up
    client = login(chain.cashier_a1)
    # given the receipt offers a void in a dialog, without asking for a manager
    page = client.get(reverse("till:receipt", args=[topup.pk])).content.decode()
    assert 'id="void-open"' in page and 'id="void-dialog"' in page and 'id="void-manager"' not in page
    # when the cashier confirms it
    token = uuid.uuid4().hex
    response = void(client, topup, token=token, reason="金额输错")
    # then the void's receipt follows and the card is empty again
    done = CardTransaction.objects.get(kind=CardTxKind.VOID)
    assert response.status_code == 302 and response.url == reverse("till:receipt", args=[done.pk])
    assert balances(card) == (0, 0, 0)
    receipt = client.get(response.url).content.decode()
    assert "金额输错" in receipt and 'id="receipt-original"' in receipt
    # and a resubmit of the same token answers the same receipt, moving nothing
    again = void(client, topup, token=token, reason="金额输错")
    assert again.url == response.url and CardTransaction.objects.filter(kind=CardTxKind.VOID).count() == 1
    # and the original's receipt says it was voided and offers no void any more
    original = client.get(reverse("till:receipt", args=[topup.pk])).content.decode()
    assert 'id="receipt-voided"' in original and 'id="void-open"' not in original
    assert_ledger_clean()


def test_past_the_window_a_manager_signs_in_to_approve(chain, login, topped_up):
    card, topup = topped_up
    age(topup, 11)
    client = login(chain.cashier_a1)
    page = client.get(reverse("till:receipt", args=[topup.pk])).content.decode()
    assert 'id="void-approval"' in page and 'id="void-manager"' in page
    # when the cashier voids alone, or with a wrong password: refused with a message, nothing moved
    for extra, said in (
        ({}, "需要店长批准"),
        ({"manager": "a1mgr", "manager_password": "wrong"}, "密码不正确"),
    ):
        response = void(client, topup, **extra)
        assert response.status_code == 302 and response.url == reverse("till:receipt", args=[topup.pk])
        assert said in client.get(response.url).content.decode()
        assert balances(card) == (10_000, 0, 0)
    # when the store manager types their user name and password: voided
    response = void(client, topup, manager="a1mgr", manager_password="pass-word-123")
    assert balances(card) == (0, 0, 0)
    topup.refresh_from_db()
    assert topup.status == CardTxStatus.VOIDED
    assert response.url == reverse(
        "till:receipt", args=[CardTransaction.objects.get(kind=CardTxKind.VOID).pk]
    )
    assert "已撤销：卡内余额已恢复" in client.get(response.url).content.decode()


def test_a_manager_voids_another_cashiers_charge_without_signing_in_again(chain, login, topped_up):
    card, _topup = topped_up
    charge = sales.charge_card(chain.cashier_a1, card, 2_500, store=chain.a1)
    client = login(chain.store_manager)
    page = client.get(reverse("till:receipt", args=[charge.pk])).content.decode()
    assert 'id="void-approval"' in page and 'id="void-manager"' not in page
    void(client, charge)
    assert balances(card) == (10_000, 0, 0)


def test_a_malformed_or_unknown_original_is_a_404(chain, login, topped_up):
    client = login(chain.cashier_a1)
    for original in ("²", "abc", "999999"):
        response = client.post(reverse("till:void"), {"original": original, "token": uuid.uuid4().hex})
        assert response.status_code == 404


def test_money_forms_ask_for_confirmation_with_amount_card_and_member(chain, login, topped_up):
    card, _topup = topped_up
    client = login(chain.cashier_a1)
    panel = client.get(reverse("till:lookup"), {"q": card.number}).content.decode()
    assert 'data-confirm-dialog="确认充值"' in panel and 'data-confirm-dialog="确认消费"' in panel
    assert (
        f'data-confirm-value="{card.number[:4]}' in panel and 'data-confirm-value="赵六 139****2222"' in panel
    )
    page = client.get(reverse("till:cashier")).content.decode()
    assert 'id="till-confirm"' in page and "onecard/till.js" in page


def test_a_cashier_finds_a_product_by_pinyin_and_reads_its_price(chain, login):
    catalog.create_product(
        None, chain.merchant, sku="TEA-1", barcode="6901234567892", name="乌龙茶", list_price=500
    )
    client = login(chain.cashier_a1)
    for q in ("wlc", "乌龙", "6901234567892", "tea-1"):
        body = client.get(reverse("till_sale:products"), {"q": q}, HTTP_HX_REQUEST="true").content.decode()
        assert "乌龙茶" in body and "¥5.00" in body and 'id="add-tea-1"' in body
    body = client.get(reverse("till_sale:products"), {"q": "咖啡"}).content.decode()
    assert 'id="product-results-empty"' in body
    # and the sale screen has the search field
    assert 'id="product-search-input"' in client.get(reverse("till_sale:sale")).content.decode()
