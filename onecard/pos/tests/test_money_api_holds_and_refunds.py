"""Holds and refunds through the signed money API: an expired hold's funds pay a charge again; a refund
takes back points and bonus in proportion."""

import datetime

import pytest
from django.utils import timezone

from onecard.loyalty.models.stored_value import CardTransaction, CardTxKind, CardTxStatus
from onecard.loyalty.stored_value import holds
from onecard.loyalty.stored_value import services as stored_value
from onecard.testing.points import lots_total, points_balance
from onecard.testing.points import rule as earn_rule
from onecard.testing.pos import idempotency_key, problem_code, send_keyed
from onecard.testing.stored_value import assert_ledger_clean, balances, bonus_rule, sv_card

pytestmark = pytest.mark.usefixtures("api_urls")  # served the API urlconf only

BASE = "/api/v1/pos"


# ---- holds -----------------------------------------------------------------------------------------------


def test_an_expired_holds_funds_pay_a_charge_again_through_the_api(chain, member_factory, terminal, pos):
    # given ¥100 on the card, all of it held by a hold that has expired
    card = sv_card(chain, member_factory())
    stored_value.topup(None, card, 10_000, store=chain.a1)
    hold = holds.hold(None, card, 10_000, store=chain.a1)
    CardTransaction.objects.filter(pk=hold.pk).update(
        expires_at=timezone.now() - datetime.timedelta(seconds=1)
    )
    # when the till tries to capture it, then charges the full ¥100
    capture = send_keyed(
        pos, terminal, f"{BASE}/holds/{hold.pk}/capture", {"amount": 10_000}, idempotency_key()
    )
    charge = send_keyed(
        pos, terminal, f"{BASE}/charges", {"card_no": card.number, "amount": 10_000}, idempotency_key()
    )
    # then the capture is refused, the hold is expired, and the released funds paid the charge
    assert capture.status_code == 422 and problem_code(capture) == "hold_expired"
    assert charge.status_code == 200, charge.content
    hold.refresh_from_db()
    assert hold.status == CardTxStatus.EXPIRED
    assert not CardTransaction.objects.filter(kind=CardTxKind.CAPTURE).exists()
    assert balances(card) == (0, 0, 0)
    assert_ledger_clean()


# ---- refunds ---------------------------------------------------------------------------------------------


def test_a_refund_through_the_api_takes_back_points_and_bonus_in_proportion(
    chain, member_factory, terminal, pos
):
    # given ¥300 + ¥50 bonus on the card, 1 point per yuan, and a charge of ¥100.01 (bonus 1428, 100 points)
    card = sv_card(chain, member_factory())
    bonus_rule(chain, [[30_000, 5_000]])
    earn_rule(chain, "1")
    stored_value.topup(None, card, 30_000, store=chain.a1)
    charged = send_keyed(
        pos, terminal, f"{BASE}/charges", {"card_no": card.number, "amount": 10_001}, idempotency_key()
    )
    assert charged.status_code == 200, charged.content
    tx = charged.json()["transaction"]
    assert (tx["principal"], tx["bonus"], tx["points_earned"]) == (8_573, 1_428, 100)
    assert charged.json()["balances"]["points"] == 100
    # when a third is refunded, then the rest
    first = send_keyed(
        pos,
        terminal,
        f"{BASE}/refunds",
        {"transaction_id": tx["id"], "amount": 3_333, "reason": "退一件"},
        idempotency_key(),
    )
    rest = send_keyed(
        pos, terminal, f"{BASE}/refunds", {"transaction_id": tx["id"], "reason": "全退"}, idempotency_key()
    )
    # then each takes back its floor share of the bonus and the points, and together exactly all of them
    assert first.status_code == 200 and rest.status_code == 200, (first.content, rest.content)
    one, two = first.json()["transaction"], rest.json()["transaction"]
    assert (one["principal"], one["bonus"], one["points_reversed"]) == (2_858, 475, 33)
    assert (two["principal"], two["bonus"], two["points_reversed"]) == (8_573 - 2_858, 1_428 - 475, 67)
    assert first.json()["balances"]["points"] == 67
    assert rest.json()["balances"] == {"principal": 30_000, "bonus": 5_000, "held": 0, "points": 0}
    assert points_balance(card) == lots_total(card) == 0
    over = send_keyed(
        pos,
        terminal,
        f"{BASE}/refunds",
        {"transaction_id": tx["id"], "amount": 1, "reason": "x"},
        idempotency_key(),
    )
    assert over.status_code == 422 and problem_code(over) == "over_refund"
    assert_ledger_clean()
