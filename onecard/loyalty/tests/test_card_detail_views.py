"""The card pages (/cards/): the card list, one card's detail and its life-cycle actions; every page renders."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from onecard.loyalty.cards.choices import CardStatus, TierMetric
from onecard.loyalty.cards.services import card_balances
from onecard.loyalty.ledger.choices import AccountKind
from onecard.loyalty.models import (
    CardTransaction,
    PointsEarnRule,
)
from onecard.loyalty.models.stored_value import CardTxKind
from onecard.loyalty.points import services as points
from onecard.loyalty.tiers import services as tiers
from onecard.testing.cards import active_card, put_value, reload, stock

pytestmark = pytest.mark.django_db
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def url(name, *args, **kwargs):
    return reverse(f"cards:{name}", args=args, kwargs=kwargs)


def act(client, card, action, **data):
    return client.post(url("card_action", number=card.number, action=action), data, **EN)


# ---- card list and detail -----------------------------------------------------------------------------------


def test_card_list_search_and_scope(chain, login, wang_wus_card_with_100_yuan, card_product, b1_manager):
    # given a card in stock at B1 as well
    b1_card = stock(card_product, chain.b1, count=1, prefix="8802")[0]
    client = login(chain.store_manager)
    # when searching by the member's phone's last 4
    body = client.get(url("list"), {"q": "1234"}, **EN).content.decode()
    # then
    assert wang_wus_card_with_100_yuan.number in body and "139****1234" in body and "13900001234" not in body
    # status filter and scope: A1's manager does not see B1's stock
    body = client.get(url("list"), {"status": "in_stock"}, **EN).content.decode()
    assert b1_card.number not in body and wang_wus_card_with_100_yuan.number not in body
    body = login(b1_manager).get(url("list"), {"status": "in_stock"}, **EN).content.decode()
    assert b1_card.number in body and wang_wus_card_with_100_yuan.number not in body


def test_card_detail_shows_balances_and_journal(chain, login, wang_wus_card_with_100_yuan):
    # given points and a hold on the card
    put_value(chain, wang_wus_card_with_100_yuan, bonus=1_000, points=300, hold=2_000)
    # when
    response = login(chain.cashier_a1).get(url("card", number=wang_wus_card_with_100_yuan.number), **EN)
    # then
    body = response.content.decode()
    assert response.status_code == 200
    assert 'data-balance="principal">¥80.00' in body and 'data-balance="bonus">¥10.00' in body
    assert 'data-balance="held">¥20.00' in body
    assert "王五" in body and "139****1234" in body
    journal = body.split('id="card-journal"', 1)[1]
    assert journal.count("<tr><td>") == 5  # principal, bonus, points, and the hold's two postings
    # a cashier manages cards but neither cancels nor adjusts points
    assert (
        'data-action="freeze"' in body
        and 'data-action="cancel"' not in body
        and 'data-action="points"' not in body
    )


def test_card_of_another_store_is_404(chain, login, wang_wus_card_with_100_yuan, b1_manager):
    client = login(b1_manager)
    assert client.get(url("card", number=wang_wus_card_with_100_yuan.number)).status_code == 404
    assert act(client, wang_wus_card_with_100_yuan, "freeze").status_code == 404
    assert reload(wang_wus_card_with_100_yuan).status == CardStatus.ACTIVE


def test_card_pages_need_cards_view(login, nobody, wang_wus_card_with_100_yuan):
    assert login(nobody).get(url("card", number=wang_wus_card_with_100_yuan.number)).status_code == 403
    assert login(nobody).get(url("list")).status_code == 403


# ---- actions ------------------------------------------------------------------------------------------------


def test_freeze_unfreeze_lost_found(chain, login, wang_wus_card_with_100_yuan):
    client = login(chain.cashier_a1)
    assert act(client, wang_wus_card_with_100_yuan, "freeze", reason="member asked").status_code == 302
    assert reload(wang_wus_card_with_100_yuan).status == CardStatus.FROZEN
    assert act(client, wang_wus_card_with_100_yuan, "unfreeze").status_code == 302
    assert reload(wang_wus_card_with_100_yuan).status == CardStatus.ACTIVE
    assert (
        act(client, wang_wus_card_with_100_yuan, "report_lost", reason="lost on the bus").status_code == 302
    )
    assert reload(wang_wus_card_with_100_yuan).status == CardStatus.LOST
    assert act(client, wang_wus_card_with_100_yuan, "report_found").status_code == 302
    assert reload(wang_wus_card_with_100_yuan).status == CardStatus.ACTIVE


def test_refused_transition_shows_the_service_message(chain, login, wang_wus_card_with_100_yuan):
    # given an active card
    client = login(chain.cashier_a1)
    # when unfreezing it
    response = act(client, wang_wus_card_with_100_yuan, "unfreeze")
    # then
    assert response.status_code == 400
    assert "This card is already active." in response.content.decode()
    assert reload(wang_wus_card_with_100_yuan).status == CardStatus.ACTIVE


def test_bind_by_phone_then_activate(chain, login, card_product, member_factory):
    # given a registered card in stock and a member
    new = stock(card_product, chain.a1, count=1, prefix="8803")[0]
    member = member_factory(name="孙七", phone="13700007777")
    client = login(chain.cashier_a1)
    # when activating before binding: refused, nothing changes
    response = act(client, new, "activate")
    assert response.status_code == 400 and reload(new).status == CardStatus.IN_STOCK
    # when binding by phone and activating
    assert act(client, new, "bind", member="137 0000 7777").status_code == 302
    assert act(client, new, "activate").status_code == 302
    # then
    new = reload(new)
    assert (new.member_id, new.status) == (member.pk, CardStatus.ACTIVE)


def test_bind_unknown_member_shows_error_in_place(chain, login, card_product):
    new = stock(card_product, chain.a1, count=1, prefix="8803")[0]
    response = act(login(chain.cashier_a1), new, "bind", member="13799999999")
    body = response.content.decode()
    assert response.status_code == 400
    assert 'data-error-for="member"' in body and "No member with this phone or member no." in body
    assert reload(new).member_id is None


def test_replace_moves_balance_to_a_card_from_stock(chain, login, wang_wus_card_with_100_yuan, card_product):
    # given a card from stock
    new = stock(card_product, chain.a1, count=1, prefix="8804")[0]
    client = login(chain.cashier_a1)
    # when
    response = act(client, wang_wus_card_with_100_yuan, "replace", new_number=new.number, reason="worn out")
    # then
    assert response.status_code == 302 and response["Location"] == url("card", number=new.number)
    assert (
        reload(wang_wus_card_with_100_yuan).status == CardStatus.REPLACED
        and reload(new).status == CardStatus.ACTIVE
    )
    assert card_balances(new)[AccountKind.MEMBER_PRINCIPAL] == 10_000
    assert card_balances(wang_wus_card_with_100_yuan)[AccountKind.MEMBER_PRINCIPAL] == 0


def test_replace_with_unknown_number_changes_nothing(chain, login, wang_wus_card_with_100_yuan):
    response = act(login(chain.cashier_a1), wang_wus_card_with_100_yuan, "replace", new_number="123")
    assert response.status_code == 400 and 'data-error-for="new_number"' in response.content.decode()
    assert reload(wang_wus_card_with_100_yuan).status == CardStatus.ACTIVE


def test_merge_into_another_card_of_the_member(chain, login, wang_wus_card_with_100_yuan, card_product):
    # given a second active card of the same member
    other = active_card(
        stock(card_product, chain.a1, count=1, prefix="8805")[0], wang_wus_card_with_100_yuan.member
    )
    # when
    response = act(login(chain.cashier_a1), wang_wus_card_with_100_yuan, "merge", target=other.number)
    # then
    assert response.status_code == 302
    assert reload(wang_wus_card_with_100_yuan).status == CardStatus.MERGED
    assert card_balances(other)[AccountKind.MEMBER_PRINCIPAL] == 10_000


def test_cancel_shows_principal_and_refuses_cash_above_100(chain, login, wang_wus_card_with_100_yuan):
    # given ¥150 principal
    put_value(chain, wang_wus_card_with_100_yuan, principal=5_000)
    client = login(chain.store_manager)
    page = client.get(url("card", number=wang_wus_card_with_100_yuan.number), **EN).content.decode()
    assert "Principal to pay out: ¥150.00, from the cash of 徐汇店." in page
    # when paying out in cash
    response = act(
        client, wang_wus_card_with_100_yuan, "cancel", method="cash", reason="moving away", confirm="on"
    )
    # then refused in place, the card still active
    assert response.status_code == 400 and 'data-error-for="method"' in response.content.decode()
    assert reload(wang_wus_card_with_100_yuan).status == CardStatus.ACTIVE
    # when by bank transfer
    response = act(
        client, wang_wus_card_with_100_yuan, "cancel", method="bank", reason="moving away", confirm="on"
    )
    # then the card is cancelled and its principal left A1's cash by bank transfer
    assert response.status_code == 302 and reload(wang_wus_card_with_100_yuan).status == CardStatus.CANCELLED
    assert card_balances(wang_wus_card_with_100_yuan)[AccountKind.MEMBER_PRINCIPAL] == 0
    payout = CardTransaction.objects.get(card=wang_wus_card_with_100_yuan, kind=CardTxKind.REFUND)
    assert (payout.amount, payout.tender, payout.store) == (15_000, "bank", chain.a1)
    assert "¥150.00 refunded" in client.get(response["Location"], **EN).content.decode()


def test_cancel_needs_cards_cancel(chain, login, wang_wus_card_with_100_yuan):
    assert (
        act(
            login(chain.cashier_a1),
            wang_wus_card_with_100_yuan,
            "cancel",
            method="bank",
            reason="x",
            confirm="on",
        ).status_code
        == 403
    )
    assert reload(wang_wus_card_with_100_yuan).status == CardStatus.ACTIVE


def test_set_and_remove_card_password(chain, login, wang_wus_card_with_100_yuan):
    client = login(chain.cashier_a1)
    assert act(client, wang_wus_card_with_100_yuan, "password", password="123456").status_code == 302
    assert reload(wang_wus_card_with_100_yuan).has_password
    response = act(client, wang_wus_card_with_100_yuan, "password", password="12")
    assert response.status_code == 400 and "A card password is 4 to 12 digits." in response.content.decode()
    assert act(client, wang_wus_card_with_100_yuan, "password", password="").status_code == 302
    assert not reload(wang_wus_card_with_100_yuan).has_password


def test_points_adjustment_needs_permission_and_reason(chain, login, wang_wus_card_with_100_yuan):
    # a cashier may not adjust points
    assert (
        act(
            login(chain.cashier_a1), wang_wus_card_with_100_yuan, "points", points="100", reason="goodwill"
        ).status_code
        == 403
    )
    client = login(chain.store_manager)
    # without a reason: refused in place
    response = act(client, wang_wus_card_with_100_yuan, "points", points="100", reason="")
    assert response.status_code == 400 and 'data-error-for="reason"' in response.content.decode()
    assert points.available_points(wang_wus_card_with_100_yuan) == 0
    # with a reason
    assert (
        act(client, wang_wus_card_with_100_yuan, "points", points="100", reason="goodwill").status_code == 302
    )
    assert points.available_points(wang_wus_card_with_100_yuan) == 100
    assert (
        act(client, wang_wus_card_with_100_yuan, "points", points="-30", reason="correction").status_code
        == 302
    )
    assert points.available_points(wang_wus_card_with_100_yuan) == 70


def test_unknown_action_is_404(chain, login, wang_wus_card_with_100_yuan):
    assert act(login(chain.store_manager), wang_wus_card_with_100_yuan, "explode").status_code == 404


def test_reactivate_expired_card(chain, login, wang_wus_card_with_100_yuan):
    from onecard.loyalty.cards.services import expire_due_cards
    from onecard.loyalty.models import Card

    Card.objects.filter(pk=wang_wus_card_with_100_yuan.pk).update(
        expires_at=timezone.now() - datetime.timedelta(days=1)
    )
    expire_due_cards()
    assert act(login(chain.cashier_a1), wang_wus_card_with_100_yuan, "reactivate").status_code == 302
    assert reload(wang_wus_card_with_100_yuan).status == CardStatus.ACTIVE


# ---- every page renders ---------------------------------------------------------------------------------------


def test_every_page_renders_for_head_office(chain, login, wang_wus_card_with_100_yuan):
    # given a tier, rules and a batch to edit
    tier = tiers.create_tier(
        None, chain.merchant, name="银卡", rank=1, rules=[(TierMetric.SPEND, 100_000, 365)]
    )
    rule = PointsEarnRule.objects.create(merchant=chain.merchant, name="基本", points_per_yuan=Decimal(1))
    client = login(chain.hq_admin)
    pages = [url("list"), url("products"), url("product_create"), url("product_edit", wang_wus_card_with_100_yuan.product_id), url("tiers"),
             url("tier_create"), url("tier_edit", tier.pk), url("rules"), url("bonus_rule_create"),
             url("earn_rule_create"), url("earn_rule_edit", rule.pk), url("points_policy"), url("batches"),
             url("batch_sheet", wang_wus_card_with_100_yuan.batch_id), url("card", number=wang_wus_card_with_100_yuan.number)]  # fmt: skip
    # when / then
    for page in pages:
        response = client.get(page, **EN)
        assert response.status_code == 200, page
    edit = client.get(url("tier_edit", tier.pk), **EN).content.decode()
    assert 'value="1000.00"' in edit  # the rule's threshold shown in yuan


def test_pages_of_unknown_objects_are_404(chain, login):
    client = login(chain.hq_admin)
    for page in (url("product_edit", 999), url("tier_edit", 999), url("earn_rule_edit", 999),
                 url("batch_sheet", 999), url("card", number="88000000000")):  # fmt: skip
        assert client.get(page).status_code == 404, page


def test_card_list_query_count_does_not_grow_with_rows(chain, login, card_product, member_factory):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url("list")).status_code == 200
        return len(captured)

    # given
    client = login(chain.store_manager)
    for n, card in enumerate(stock(card_product, chain.a1, count=2, prefix="8806")):
        active_card(card, member_factory(phone=f"1360000{n:04d}"))
    few = queries()
    # when six more bound cards are listed
    for n, card in enumerate(stock(card_product, chain.a1, count=6, prefix="8807")):
        active_card(card, member_factory(phone=f"1350000{n:04d}"))
    # then
    assert queries() == few
