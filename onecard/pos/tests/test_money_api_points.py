"""The POS API and points, rebates and alliance cards: charge/capture/refund answers, POST points/earn."""

import pytest
from django.core.management import call_command

from onecard.loyalty.models import CardProduct, PointsLot
from onecard.loyalty.stored_value import holds, rebates
from onecard.org.models import Alliance
from onecard.pos import services
from onecard.testing.points import assert_books, points_balance, rule
from onecard.testing.pos import idempotency_key, send_keyed
from onecard.testing.stored_value import assert_ledger_clean, balances

pytestmark = pytest.mark.usefixtures("api_urls")  # served the API urlconf only

BASE = "/api/v1/pos"


@pytest.fixture
def alliance_terminal(chain, card_with_balance):
    """Both merchants in one alliance, the card's product accepted there, a terminal of the other merchant."""
    alliance = Alliance.objects.create(name="联盟")
    for merchant in (chain.merchant, chain.other):
        merchant.alliance = alliance
        merchant.save(update_fields=["alliance"])
    CardProduct.objects.filter(pk=card_with_balance.product_id).update(alliance_accepted=True)
    return services.register_terminal(chain.other_manager, store=chain.other_store, name="联盟收银")


# ---- charge, capture, refund answers ---------------------------------------------------------------------


def test_charge_and_refund_answers_carry_points_and_rebate(chain, terminal, pos, card_with_balance):
    # given: 1 point per ¥1 and 2% back as bonus
    rule(chain, "1")
    rebates.create_rebate_rule(None, chain.merchant, name="返2%", percent="2")
    # when: a charge of ¥50
    charged = send_keyed(
        pos,
        terminal,
        f"{BASE}/charges",
        {"card_no": card_with_balance.number, "amount": 5_000},
        idempotency_key(),
    )
    # then
    assert charged.status_code == 200, charged.content
    tx = charged.json()["transaction"]
    assert (tx["points_earned"], tx["rebate_bonus"], tx["rebate_points"]) == (50, 100, 0)
    assert charged.json()["balances"] == {"principal": 95_000, "bonus": 100, "held": 0, "points": 50}
    # when: ¥20 refunded
    refunded = send_keyed(
        pos,
        terminal,
        f"{BASE}/refunds",
        {"transaction_id": tx["id"], "amount": 2_000, "reason": "退货"},
        idempotency_key(),
    )
    # then
    assert refunded.status_code == 200, refunded.content
    back = refunded.json()["transaction"]
    assert (back["points_reversed"], back["points_shortfall"], back["rebate_bonus"]) == (20, 0, 40)
    assert refunded.json()["balances"]["points"] == 30
    assert_books(card_with_balance)


def test_a_capture_answer_carries_the_points_earned(chain, terminal, pos, card_with_balance):
    rule(chain, "2")
    hold = holds.hold(None, card_with_balance, 3_000, store=chain.a1)
    captured = send_keyed(
        pos, terminal, f"{BASE}/holds/{hold.pk}/capture", {"amount": 2_000}, idempotency_key()
    )
    assert captured.status_code == 200, captured.content
    assert captured.json()["transaction"]["points_earned"] == 40
    assert_books(card_with_balance)


# ---- POST points/earn ------------------------------------------------------------------------------------


def test_points_earn_grants_points_for_a_sale_paid_outside_onecard(chain, terminal, pos, card_with_balance):
    rule(chain, "1.5")
    answer = send_keyed(
        pos,
        terminal,
        f"{BASE}/points/earn",
        {"card_no": card_with_balance.number, "amount": 12_345},
        idempotency_key(),
    )
    assert answer.status_code == 200, answer.content
    body = answer.json()
    lot = PointsLot.objects.get(card=card_with_balance)
    assert (body["points"], body["lot"], body["entry_id"]) == (185, str(lot.pk), str(lot.entry_id))
    assert (body["kind"], body["card_no"], body["amount"]) == ("earn", card_with_balance.number, 12_345)
    assert body["balances"]["points"] == 185
    assert body["explanation"][-1].endswith("185")
    assert lot.business_ref == f"pos:{terminal.terminal.terminal_id}"
    assert_books(card_with_balance)


def test_points_earn_replayed_with_one_key_earns_once_and_answers_identically(
    chain, terminal, pos, card_with_balance
):
    rule(chain, "1")
    key, payload = idempotency_key(), {"card_no": card_with_balance.number, "amount": 5_000}
    answers = [send_keyed(pos, terminal, f"{BASE}/points/earn", payload, key) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert answers[0].json() == answers[1].json() == answers[2].json()
    assert [a["Idempotent-Replayed"] for a in answers] == ["false", "true", "true"]
    assert PointsLot.objects.filter(card=card_with_balance).count() == 1
    assert points_balance(card_with_balance) == 50
    # the same key with another amount is a conflict and earns nothing
    other = send_keyed(
        pos, terminal, f"{BASE}/points/earn", {"card_no": card_with_balance.number, "amount": 9_000}, key
    )
    assert (other.status_code, other.json()["code"]) == (409, "idempotency_conflict")
    assert points_balance(card_with_balance) == 50
    assert_books(card_with_balance)


@pytest.mark.parametrize(
    ("payload", "key", "status", "code"),
    [
        ({"amount": 0}, True, 400, "invalid_amount"),
        ({"amount": "100"}, True, 400, "invalid_amount"),
        ({"amount": 100}, False, 400, "idempotency_key_required"),
    ],
)
def test_points_earn_refuses_bad_input(chain, terminal, pos, card_with_balance, payload, key, status, code):
    rule(chain, "1")
    answer = send_keyed(
        pos,
        terminal,
        f"{BASE}/points/earn",
        {"card_no": card_with_balance.number, **payload},
        idempotency_key() if key else None,
    )
    assert (answer.status_code, answer.json()["code"]) == (status, code)
    assert points_balance(card_with_balance) == 0


def test_points_earn_without_a_rule_is_refused_and_stays_refused(chain, terminal, pos, card_with_balance):
    key, payload = idempotency_key(), {"card_no": card_with_balance.number, "amount": 5_000}
    first = send_keyed(pos, terminal, f"{BASE}/points/earn", payload, key)
    assert (first.status_code, first.json()["code"]) == (422, "points_rate_missing")
    rule(chain, "1")
    again = send_keyed(pos, terminal, f"{BASE}/points/earn", payload, key)
    assert again.json() == first.json()
    assert points_balance(card_with_balance) == 0


def test_points_earn_for_an_alliance_card_is_refused_at_the_other_merchant(
    chain, pos, card_with_balance, alliance_terminal
):
    rule(chain, "1")
    answer = send_keyed(
        pos,
        alliance_terminal,
        f"{BASE}/points/earn",
        {"card_no": card_with_balance.number, "amount": 5_000},
        idempotency_key(),
    )
    assert (answer.status_code, answer.json()["code"]) == (422, "card_not_accepted_here")


def test_the_schema_lists_points_earn(db, tmp_path):
    import yaml

    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    schema = yaml.safe_load(out.read_text())
    operation = schema["paths"]["/api/v1/pos/points/earn"]["post"]
    assert operation["operationId"] == "pos_points_earn"
    assert any(p["name"] == "Idempotency-Key" for p in operation["parameters"])


# ---- alliance cards at another merchant's terminal ------------------------------------------------------------


def test_an_alliance_terminal_finds_the_card_by_number_but_not_by_phone(
    chain, pos, card_with_balance, alliance_terminal
):
    by_number = pos.get(alliance_terminal, f"{BASE}/cards/lookup?q={card_with_balance.number}")
    assert by_number.status_code == 200, by_number.content
    [found] = by_number.json()["results"]
    assert (found["number"], found["accepted_here"]) == (card_with_balance.number, True)
    by_phone = pos.get(alliance_terminal, f"{BASE}/cards/lookup?q={card_with_balance.member.phone}")
    assert (by_phone.status_code, by_phone.json()["code"]) == (404, "card_not_found")


def test_a_card_without_alliance_acceptance_is_not_found_at_the_other_merchant(
    chain, pos, card_with_balance, alliance_terminal
):
    CardProduct.objects.filter(pk=card_with_balance.product_id).update(alliance_accepted=False)
    answer = pos.get(alliance_terminal, f"{BASE}/cards/lookup?q={card_with_balance.number}")
    assert (answer.status_code, answer.json()["code"]) == (404, "card_not_found")


def test_an_alliance_terminal_charges_holds_captures_and_refunds_but_does_not_top_up(
    chain, pos, card_with_balance, alliance_terminal
):
    charged = send_keyed(
        pos,
        alliance_terminal,
        f"{BASE}/charges",
        {"card_no": card_with_balance.number, "amount": 3_000},
        idempotency_key(),
    )
    assert charged.status_code == 200, charged.content
    tx = charged.json()["transaction"]
    assert tx["store"] == str(chain.other_store.pk)
    refunded = send_keyed(
        pos,
        alliance_terminal,
        f"{BASE}/refunds",
        {"transaction_id": tx["id"], "amount": 1_000, "reason": "x"},
        idempotency_key(),
    )
    assert refunded.status_code == 200, refunded.content
    held = send_keyed(
        pos,
        alliance_terminal,
        f"{BASE}/holds",
        {"card_no": card_with_balance.number, "amount": 2_000},
        idempotency_key(),
    )
    assert held.status_code == 200, held.content
    hold_id = held.json()["transaction"]["id"]
    captured = send_keyed(pos, alliance_terminal, f"{BASE}/holds/{hold_id}/capture", {}, idempotency_key())
    assert captured.status_code == 200, captured.content
    topup = send_keyed(
        pos,
        alliance_terminal,
        f"{BASE}/topups",
        {"card_no": card_with_balance.number, "amount": 1_000},
        idempotency_key(),
    )
    assert (topup.status_code, topup.json()["code"]) == (422, "card_not_accepted_here")
    assert balances(card_with_balance) == (100_000 - 3_000 + 1_000 - 2_000, 0, 0)
    assert_ledger_clean()
