"""The POS money API end to end: signed requests, Idempotency-Key, refusals with their codes, the ledger clean."""

import datetime
import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from onecard.core.models import IdempotencyKey
from onecard.loyalty.cards import qr
from onecard.loyalty.cards import services as cards
from onecard.loyalty.ledger.services import MAX_AMOUNT
from onecard.loyalty.models import JournalEntry
from onecard.loyalty.models.stored_value import CardTransaction, CardTxKind, CardTxStatus
from onecard.loyalty.points import services as points
from onecard.loyalty.stored_value import holds
from onecard.loyalty.stored_value import services as stored_value
from onecard.loyalty.tiers import services as tiers
from onecard.testing.pos import idempotency_key, problem_code, send_keyed
from onecard.testing.stored_value import assert_ledger_clean, balances, sv_card

pytestmark = pytest.mark.usefixtures("api_urls")  # served the API urlconf only

BASE = "/api/v1/pos"


# ---- lookup ----------------------------------------------------------------------------------------------


def test_lookup_by_card_number_shows_member_tier_balances_and_open_holds(
    chain, terminal, pos, card_with_100_yuan
):
    # given a tier with 10% off and an open hold of ¥20
    tier = tiers.create_tier(None, chain.merchant, name="金卡", rank=1, discount_rate=Decimal("0.9"))
    tiers.set_member_tier(None, card_with_100_yuan.member, tier, reason="test")
    hold = holds.hold(None, card_with_100_yuan, 2_000, store=chain.a1)
    # when
    response = pos.get(terminal, f"{BASE}/cards/lookup?q={card_with_100_yuan.number}")
    # then
    assert response.status_code == 200, response.content
    [result] = response.json()["results"]
    assert result["number"] == card_with_100_yuan.number
    assert result["status"] == "active"
    assert result["accepted_here"] is True
    assert result["member"]["id"] == str(card_with_100_yuan.member.pk)
    assert (
        result["member"]["phone_masked"]
        == card_with_100_yuan.member.phone[:3] + "****" + card_with_100_yuan.member.phone[-4:]
    )
    assert result["tier"] == {"name": "金卡", "discount_rate": "0.900"}
    assert result["balances"] == {"principal": 8_000, "bonus": 0, "held": 2_000, "points": 0}
    assert result["open_holds"][0]["id"] == str(hold.pk)
    assert result["open_holds"][0]["amount"] == 2_000


def test_lookup_by_phone_lists_every_card_of_the_member(chain, terminal, pos, member_factory):
    member = member_factory()
    first, second = sv_card(chain, member), sv_card(chain, member)
    response = pos.get(terminal, f"{BASE}/cards/lookup?q={member.phone}")
    assert response.status_code == 200, response.content
    assert sorted(r["number"] for r in response.json()["results"]) == sorted([first.number, second.number])


def test_lookup_by_dynamic_qr_and_the_qr_is_spent(terminal, pos, card_with_100_yuan):
    payload = qr.current_qr(card_with_100_yuan).payload
    response = pos.get(terminal, f"{BASE}/cards/lookup?q={payload}")
    assert response.status_code == 200, response.content
    assert response.json()["results"][0]["number"] == card_with_100_yuan.number
    again = pos.get(terminal, f"{BASE}/cards/lookup?q={payload}")
    assert problem_code(again) == "qr_replayed"


def test_lookup_of_an_unknown_card_is_card_not_found(terminal, pos, db):
    response = pos.get(terminal, f"{BASE}/cards/lookup?q=nothing-here")
    assert response.status_code == 404
    assert problem_code(response) == "card_not_found"


# ---- top-up and charge --------------------------------------------------------------------------------------


def test_topup_answers_the_transaction_and_balances_and_names_the_terminal(chain, terminal, pos, card):
    # when
    response = send_keyed(
        pos,
        terminal,
        f"{BASE}/topups",
        {"card_no": card.number, "amount": 5_000, "tender": "cash"},
        idempotency_key(),
    )
    # then
    assert response.status_code == 200, response.content
    body = response.json()
    tx = body["transaction"]
    assert tx["kind"] == "topup" and tx["amount"] == 5_000 and isinstance(tx["id"], str)
    assert datetime.datetime.fromisoformat(tx["created_at"]).utcoffset() is not None
    assert body["balances"] == {"principal": 5_000, "bonus": 0, "held": 0, "points": 0}
    assert response["Idempotent-Replayed"] == "false"
    row = CardTransaction.objects.get(pk=tx["id"])
    assert row.store_id == chain.a1.pk and row.actor_id is None
    assert row.business_ref == f"pos:{terminal.terminal.terminal_id}"
    assert row.entry.business_ref == f"pos:{terminal.terminal.terminal_id}"
    assert row.entry.idempotency_key.startswith(f"terminal:{terminal.terminal.pk}:")
    assert_ledger_clean()


def test_charge_replayed_with_the_same_key_returns_the_identical_answer_and_charges_once(
    terminal, pos, card_with_100_yuan
):
    key, payload = idempotency_key(), {"card_no": card_with_100_yuan.number, "amount": 1_999}
    # when: sent three times with one key (each signed afresh)
    answers = [send_keyed(pos, terminal, f"{BASE}/charges", payload, key) for _ in range(3)]
    # then
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert answers[0].json() == answers[1].json() == answers[2].json()
    assert [a["Idempotent-Replayed"] for a in answers] == ["false", "true", "true"]
    assert CardTransaction.objects.filter(card=card_with_100_yuan, kind=CardTxKind.CHARGE).count() == 1
    assert balances(card_with_100_yuan) == (10_000 - 1_999, 0, 0)
    assert_ledger_clean()


def test_the_same_key_with_another_body_is_a_conflict_and_changes_nothing(terminal, pos, card_with_100_yuan):
    key = idempotency_key()
    first = send_keyed(
        pos, terminal, f"{BASE}/charges", {"card_no": card_with_100_yuan.number, "amount": 1_000}, key
    )
    assert first.status_code == 200
    # when
    other = send_keyed(
        pos, terminal, f"{BASE}/charges", {"card_no": card_with_100_yuan.number, "amount": 2_000}, key
    )
    # then
    assert other.status_code == 409
    assert problem_code(other) == "idempotency_conflict"
    assert other["Content-Type"] == "application/problem+json"
    assert balances(card_with_100_yuan) == (9_000, 0, 0)
    assert_ledger_clean()


def test_a_money_call_without_a_key_is_refused(terminal, pos, card_with_100_yuan):
    response = send_keyed(
        pos, terminal, f"{BASE}/charges", {"card_no": card_with_100_yuan.number, "amount": 1_000}
    )
    assert response.status_code == 400
    assert problem_code(response) == "idempotency_key_required"
    assert balances(card_with_100_yuan) == (10_000, 0, 0)


def test_a_charge_refused_for_lack_of_funds_stays_refused_after_a_topup(
    chain, terminal, pos, card_with_100_yuan
):
    key, payload = idempotency_key(), {"card_no": card_with_100_yuan.number, "amount": 20_000}
    # when: refused, then the card is topped up, then the same key again
    first = send_keyed(pos, terminal, f"{BASE}/charges", payload, key)
    top = send_keyed(
        pos,
        terminal,
        f"{BASE}/topups",
        {"card_no": card_with_100_yuan.number, "amount": 50_000},
        idempotency_key(),
    )
    again = send_keyed(pos, terminal, f"{BASE}/charges", payload, key)
    # then
    assert first.status_code == 422 and problem_code(first) == "insufficient_balance"
    assert top.status_code == 200
    assert again.status_code == 422 and again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert CardTransaction.objects.filter(card=card_with_100_yuan, kind=CardTxKind.CHARGE).count() == 0
    assert balances(card_with_100_yuan) == (60_000, 0, 0)
    # a new key goes through
    fresh = send_keyed(pos, terminal, f"{BASE}/charges", payload, idempotency_key())
    assert fresh.status_code == 200
    assert_ledger_clean()


@pytest.mark.parametrize("amount", ["1999", 19.99, 1999.0, 0, -100, True, None, MAX_AMOUNT + 1, [1999]])
@pytest.mark.parametrize("path", ["topups", "charges", "holds"])
def test_bad_amounts_are_invalid_amount_and_change_nothing(terminal, pos, card_with_100_yuan, amount, path):
    key = idempotency_key()
    entries = JournalEntry.objects.count()
    # when
    response = send_keyed(
        pos, terminal, f"{BASE}/{path}", {"card_no": card_with_100_yuan.number, "amount": amount}, key
    )
    # then
    assert response.status_code == 400, response.content
    assert problem_code(response) == "invalid_amount"
    assert JournalEntry.objects.count() == entries
    assert balances(card_with_100_yuan) == (10_000, 0, 0)
    assert not IdempotencyKey.objects.filter(key=key).exists()  # bad input spends no key
    assert_ledger_clean()


@pytest.mark.parametrize("payload", [{"amount": 0}, {"amount": "5"}, {"amount": -1}])
def test_bad_capture_and_refund_amounts_are_invalid_amount(chain, terminal, pos, card_with_100_yuan, payload):
    hold = holds.hold(None, card_with_100_yuan, 1_000, store=chain.a1)
    charge = stored_value.charge(None, card_with_100_yuan, 1_000, store=chain.a1)
    capture = send_keyed(pos, terminal, f"{BASE}/holds/{hold.pk}/capture", payload, idempotency_key())
    refund = send_keyed(
        pos,
        terminal,
        f"{BASE}/refunds",
        {"transaction_id": str(charge.pk), "reason": "x", **payload},
        idempotency_key(),
    )
    assert (capture.status_code, problem_code(capture)) == (400, "invalid_amount")
    assert (refund.status_code, problem_code(refund)) == (400, "invalid_amount")
    assert balances(card_with_100_yuan) == (8_000, 0, 1_000)
    assert_ledger_clean()


def test_a_frozen_card_is_refused_with_card_frozen(terminal, pos, card_with_100_yuan):
    cards.freeze(None, card_with_100_yuan)
    response = send_keyed(
        pos,
        terminal,
        f"{BASE}/charges",
        {"card_no": card_with_100_yuan.number, "amount": 100},
        idempotency_key(),
    )
    assert response.status_code == 422 or response.status_code == 400
    assert problem_code(response) == "card_frozen"
    assert balances(card_with_100_yuan) == (10_000, 0, 0)
    assert_ledger_clean()


def test_a_card_not_accepted_at_the_terminals_store_is_refused(chain, terminal, pos, card_with_100_yuan):
    # given the card's product is accepted at store A2 only (the terminal is at A1)
    card_with_100_yuan.product.stores.set([chain.a2])
    # when
    looked = pos.get(terminal, f"{BASE}/cards/lookup?q={card_with_100_yuan.number}")
    response = send_keyed(
        pos,
        terminal,
        f"{BASE}/charges",
        {"card_no": card_with_100_yuan.number, "amount": 100},
        idempotency_key(),
    )
    # then
    assert looked.json()["results"][0]["accepted_here"] is False
    assert problem_code(response) == "card_not_accepted_here"
    assert balances(card_with_100_yuan) == (10_000, 0, 0)
    assert_ledger_clean()


def test_an_unknown_card_is_card_not_found(terminal, pos, db):
    response = send_keyed(
        pos, terminal, f"{BASE}/charges", {"card_no": "8899999999", "amount": 100}, idempotency_key()
    )
    assert response.status_code == 404
    assert problem_code(response) == "card_not_found"


def test_charge_applies_the_tier_discount(chain, terminal, pos, card_with_100_yuan):
    tier = tiers.create_tier(None, chain.merchant, name="银卡", rank=1, discount_rate=Decimal("0.95"))
    tiers.set_member_tier(None, card_with_100_yuan.member, tier, reason="test")
    response = send_keyed(
        pos,
        terminal,
        f"{BASE}/charges",
        {"card_no": card_with_100_yuan.number, "amount": 1_999},
        idempotency_key(),
    )
    tx = response.json()["transaction"]
    # 1999 × 0.95 = 1899.05 → 1899 (half-up)
    assert (tx["list_amount"], tx["amount"], tx["discount"]) == (1_999, 1_899, 100)
    assert response.json()["balances"]["principal"] == 10_000 - 1_899
    assert_ledger_clean()


def test_a_charge_above_the_threshold_needs_the_card_password(terminal, pos, card_with_100_yuan):
    cards.set_card_password(None, card_with_100_yuan, "246810")
    card_with_100_yuan.password_threshold = 500
    card_with_100_yuan.save(update_fields=["password_threshold"])
    payload = {"card_no": card_with_100_yuan.number, "amount": 1_000}
    missing = send_keyed(pos, terminal, f"{BASE}/charges", payload, idempotency_key())
    wrong = send_keyed(pos, terminal, f"{BASE}/charges", {**payload, "password": "111111"}, idempotency_key())
    key = idempotency_key()
    right = send_keyed(pos, terminal, f"{BASE}/charges", {**payload, "password": "246810"}, key)
    assert problem_code(missing) == "card_password_required"
    assert problem_code(wrong) == "wrong_card_password"
    assert right.status_code == 200, right.content
    assert balances(card_with_100_yuan) == (9_000, 0, 0)
    # the password is not part of the stored fingerprint: the retry with it replays
    replay = send_keyed(pos, terminal, f"{BASE}/charges", {**payload, "password": "246810"}, key)
    assert replay.json() == right.json() and replay["Idempotent-Replayed"] == "true"
    assert_ledger_clean()


# ---- holds ---------------------------------------------------------------------------------------------------


def test_hold_then_partial_capture(terminal, pos, card_with_100_yuan):
    held = send_keyed(
        pos,
        terminal,
        f"{BASE}/holds",
        {"card_no": card_with_100_yuan.number, "amount": 3_000},
        idempotency_key(),
    )
    assert held.status_code == 200, held.content
    hold_id = held.json()["transaction"]["id"]
    assert held.json()["transaction"]["status"] == "open"
    assert held.json()["balances"]["held"] == 3_000
    # when
    captured = send_keyed(
        pos, terminal, f"{BASE}/holds/{hold_id}/capture", {"amount": 2_000}, idempotency_key()
    )
    # then
    assert captured.status_code == 200, captured.content
    assert captured.json()["transaction"]["kind"] == "capture"
    assert captured.json()["transaction"]["original_id"] == hold_id
    assert captured.json()["balances"] == {"principal": 8_000, "bonus": 0, "held": 0, "points": 0}
    again = send_keyed(pos, terminal, f"{BASE}/holds/{hold_id}/void", None, idempotency_key())
    assert problem_code(again) == "hold_not_open"
    assert_ledger_clean()


def test_hold_then_void_gives_everything_back(terminal, pos, card_with_100_yuan):
    held = send_keyed(
        pos,
        terminal,
        f"{BASE}/holds",
        {"card_no": card_with_100_yuan.number, "amount": 3_000},
        idempotency_key(),
    )
    hold_id = held.json()["transaction"]["id"]
    voided = send_keyed(pos, terminal, f"{BASE}/holds/{hold_id}/void", None, idempotency_key())
    assert voided.status_code == 200, voided.content
    assert voided.json()["transaction"]["kind"] == "void"
    assert voided.json()["balances"] == {"principal": 10_000, "bonus": 0, "held": 0, "points": 0}
    assert_ledger_clean()


def test_an_expired_hold_cannot_be_captured_and_its_funds_come_back(chain, terminal, pos, card_with_100_yuan):
    hold = holds.hold(None, card_with_100_yuan, 3_000, store=chain.a1)
    CardTransaction.objects.filter(pk=hold.pk).update(
        expires_at=timezone.now() - datetime.timedelta(seconds=1)
    )
    key = idempotency_key()
    # when
    response = send_keyed(pos, terminal, f"{BASE}/holds/{hold.pk}/capture", {}, key)
    again = send_keyed(pos, terminal, f"{BASE}/holds/{hold.pk}/capture", {}, key)
    # then
    assert response.status_code == 422, response.content
    assert problem_code(response) == "hold_expired"
    assert again.json() == response.json()
    hold.refresh_from_db()
    assert hold.status == CardTxStatus.EXPIRED
    assert balances(card_with_100_yuan) == (10_000, 0, 0)
    assert not CardTransaction.objects.filter(kind=CardTxKind.CAPTURE).exists()
    assert_ledger_clean()


def test_an_unknown_hold_is_hold_not_found(terminal, pos, db):
    response = send_keyed(pos, terminal, f"{BASE}/holds/999999/capture", {}, idempotency_key())
    assert response.status_code == 404
    assert problem_code(response) == "hold_not_found"


# ---- refunds, points, history ---------------------------------------------------------------------------------


def test_partial_refunds_then_an_over_refund_is_refused(terminal, pos, card_with_100_yuan):
    charged = send_keyed(
        pos,
        terminal,
        f"{BASE}/charges",
        {"card_no": card_with_100_yuan.number, "amount": 4_000},
        idempotency_key(),
    )
    tx_id = charged.json()["transaction"]["id"]
    first = send_keyed(
        pos,
        terminal,
        f"{BASE}/refunds",
        {"transaction_id": tx_id, "amount": 1_500, "reason": "退货"},
        idempotency_key(),
    )
    assert first.status_code == 200, first.content
    assert first.json()["transaction"]["kind"] == "refund"
    assert first.json()["balances"]["principal"] == 10_000 - 4_000 + 1_500
    # when: more than what remains (2500)
    over = send_keyed(
        pos,
        terminal,
        f"{BASE}/refunds",
        {"transaction_id": tx_id, "amount": 2_501, "reason": "x"},
        idempotency_key(),
    )
    # then
    assert problem_code(over) == "over_refund"
    assert balances(card_with_100_yuan) == (7_500, 0, 0)
    rest = send_keyed(
        pos, terminal, f"{BASE}/refunds", {"transaction_id": tx_id, "reason": "rest"}, idempotency_key()
    )
    assert rest.json()["transaction"]["amount"] == 2_500
    assert balances(card_with_100_yuan) == (10_000, 0, 0)
    assert_ledger_clean()


def test_a_refund_of_an_unknown_transaction_is_transaction_not_found(terminal, pos, db):
    response = send_keyed(
        pos, terminal, f"{BASE}/refunds", {"transaction_id": "999999", "reason": "x"}, idempotency_key()
    )
    assert response.status_code == 404
    assert problem_code(response) == "transaction_not_found"


def test_redeem_points_spends_the_lot_that_expires_first(chain, terminal, pos, card_with_100_yuan):
    points.earn(None, card_with_100_yuan, 300, store=chain.a1)
    response = send_keyed(
        pos,
        terminal,
        f"{BASE}/points/redeem",
        {"card_no": card_with_100_yuan.number, "points": 120},
        idempotency_key(),
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["points"] == 120 and body["balances"]["points"] == 180
    assert sum(lot["points"] for lot in body["lots"]) == 120
    too_many = send_keyed(
        pos,
        terminal,
        f"{BASE}/points/redeem",
        {"card_no": card_with_100_yuan.number, "points": 181},
        idempotency_key(),
    )
    assert problem_code(too_many) == "insufficient_points"
    assert_ledger_clean()


def test_history_lists_the_cards_transactions_newest_first_a_page_at_a_time(
    chain, terminal, pos, card_with_100_yuan
):
    for amount in (100, 200, 300):
        stored_value.charge(None, card_with_100_yuan, amount, store=chain.a1)
    response = pos.get(terminal, f"{BASE}/cards/{card_with_100_yuan.number}/history?page_size=2")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["count"] == 4
    assert [r["amount"] for r in body["results"]] == [300, 200]
    assert body["next"]
    missing = pos.get(terminal, f"{BASE}/cards/8899999999/history")
    assert problem_code(missing) == "card_not_found"


def test_schema_validates_with_the_money_endpoints(db, tmp_path):
    from django.core.management import call_command

    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    text = target.read_text()
    for operation in ("pos_charge", "pos_topup", "pos_hold_capture", "pos_refund", "pos_card_lookup"):
        assert operation in text


# ---- PostgreSQL: five copies at once --------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_same_charge_sent_five_times_at_once_charges_once(chain, terminal, pos, member_factory):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL")
    card = sv_card(chain, member_factory())
    stored_value.topup(None, card, 10_000, store=chain.a1)
    key, payload = idempotency_key(), {"card_no": card.number, "amount": 2_500}
    barrier = threading.Barrier(5)
    answers, errors = [None] * 5, []

    def client(n):
        try:
            barrier.wait()
            answers[n] = send_keyed(pos, terminal, f"{BASE}/charges", payload, key)
        except Exception as error:  # noqa: BLE001 - re-raised below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert [a.status_code for a in answers] == [200] * 5
    assert all(a.json() == answers[0].json() for a in answers)
    assert sorted(a["Idempotent-Replayed"] for a in answers) == ["false"] + ["true"] * 4
    assert CardTransaction.objects.filter(card=card, kind=CardTxKind.CHARGE).count() == 1
    assert balances(card) == (7_500, 0, 0)
    assert_ledger_clean()


def test_a_topup_is_refunded_by_bank_with_its_bonus_withdrawn_and_cash_above_the_limit_refused(
    chain, terminal, pos, card
):
    # given: a ¥500 top-up with 充500送50 through the API
    from onecard.testing.stored_value import bonus_rule

    bonus_rule(chain, [[50_000, 5_000]])
    topped = send_keyed(
        pos, terminal, f"{BASE}/topups", {"card_no": card.number, "amount": 50_000}, idempotency_key()
    )
    assert topped.status_code == 200, topped.content
    tx_id = topped.json()["transaction"]["id"]
    # when: ¥200 back in cash (above the ¥100 cash limit)
    cash = send_keyed(
        pos, terminal, f"{BASE}/refunds",
        {"transaction_id": tx_id, "amount": 20_000, "reason": "退卡", "method": "cash"}, idempotency_key(),
    )  # fmt: skip
    # then refused, nothing moved
    assert problem_code(cash) == "cash_refund_too_large"
    assert balances(card) == (50_000, 5_000, 0)
    # when: ¥200 back by bank transfer
    bank = send_keyed(
        pos, terminal, f"{BASE}/refunds",
        {"transaction_id": tx_id, "amount": 20_000, "reason": "退卡", "method": "bank"}, idempotency_key(),
    )  # fmt: skip
    # then: principal −¥200 and the matching 2/5 of the ¥50 bonus withdrawn
    assert bank.status_code == 200, bank.content
    assert (bank.json()["transaction"]["kind"], bank.json()["transaction"]["amount"]) == ("refund", 20_000)
    assert balances(card) == (30_000, 3_000, 0)
    assert_ledger_clean()
