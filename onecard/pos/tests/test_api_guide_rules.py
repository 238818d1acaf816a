"""What docs/pos-api.md promises beyond the happy path: the canonical target that is signed, one rule for
points and amounts, and the answers it documents (void, refund, held money, tenders, pages, unknown fields,
Idempotent-Replayed on refusals)."""

import json

import pytest

from onecard.core.models import IdempotencyKey
from onecard.loyalty.models import JournalEntry
from onecard.loyalty.points import services as points
from onecard.loyalty.points.rules import MAX_POINTS
from onecard.loyalty.stored_value import services as stored_value
from onecard.pos import signing
from onecard.testing.cards import put_value
from onecard.testing.pos import idempotency_key, problem_code, send_keyed
from onecard.testing.stored_value import assert_ledger_clean, balances

pytestmark = pytest.mark.usefixtures("api_urls")

BASE = "/api/v1/pos"


def _keyed(pos, terminal, path, body):
    """A signed money call under a fresh Idempotency-Key."""
    return send_keyed(pos, terminal, f"{BASE}/{path}", body, idempotency_key())


# ---- the canonical target (item: sign one canonical form) --------------------------------------------------


@pytest.mark.parametrize(
    ("sent", "canonical"),
    [
        ("/api/v1/pos/sales/pos:T-1:k", "/api/v1/pos/sales/pos%3AT-1%3Ak"),
        ("/api/v1/pos/sales/pos%3aT-1%3Ak", "/api/v1/pos/sales/pos%3AT-1%3Ak"),
        ("/api/v1/pos/x/%7e%41", "/api/v1/pos/x/~A"),
        ("/api/v1/pos/members/lookup?q=张", "/api/v1/pos/members/lookup?q=%E5%BC%A0"),
        ("/api/v1/pos/members/lookup?q=%e5%bc%a0", "/api/v1/pos/members/lookup?q=%E5%BC%A0"),
        ("/p?q=a+b&&page=2&x", "/p?q=a%20b&page=2&x="),
        ("/p?q=a%2Bb&r=1/2", "/p?q=a%2Bb&r=1%2F2"),
        ("/p/a%2541", "/p/a%2541"),
        ("/p?", "/p"),
    ],
)
def test_the_canonical_target_decodes_and_encodes_one_way(sent, canonical):
    # when / then: every spelling of a target has one canonical form, and that form is its own
    assert signing.canonical_target(sent) == canonical
    assert signing.canonical_target(canonical) == canonical


def test_the_server_rebuilds_the_canonical_target_from_the_decoded_path_and_the_raw_query():
    assert signing.received_target("/p/pos:T-1:k", "q=%e5%bc%a0") == "/p/pos%3AT-1%3Ak?q=%E5%BC%A0"
    assert signing.received_target("/p/a%41", "") == "/p/a%2541"  # a decoded % came from %25


@pytest.mark.parametrize(
    "wire",
    [
        "/api/v1/pos/sales/pos%3AT-A1-0001%3Ak1",
        "/api/v1/pos/sales/pos%3aT-A1-0001%3ak1",
        "/api/v1/pos/sales/pos:T-A1-0001:k1",
    ],
)
def test_a_reference_with_colons_verifies_however_the_client_escapes_it(terminal, pos, wire):
    # given a client that signs the canonical form of what it sends
    # when
    response = pos.get(terminal, wire, signed_path=signing.canonical_target(wire))
    # then the signature holds (the sale is unknown: 404, not 401)
    assert response.status_code == 404, response.content
    assert problem_code(response) == "sale_not_found"


def test_signing_the_escapes_of_a_library_that_rewrote_them_still_verifies(terminal, pos):
    # given a client that signed "%3a" but whose library sent ":" (the canonical forms are equal)
    response = pos.get(
        terminal, "/api/v1/pos/sales/pos:T-A1-0001:k1", signed_path="/api/v1/pos/sales/pos%3aT-A1-0001%3ak1"
    )
    # then
    assert response.status_code == 404, response.content


def test_a_lookup_by_name_signed_in_canonical_form_finds_the_member(terminal, pos, member_factory):
    # given
    member = member_factory(name="张三")
    # when the query is sent raw and signed canonical (%E5%BC%A0...)
    response = pos.get(terminal, f"{BASE}/members/lookup?q=%e5%bc%a0")
    # then
    assert response.status_code == 200, response.content
    assert str(member.pk) in [row["id"] for row in response.json()["results"]]


def test_a_signature_over_another_path_is_still_refused(terminal, pos):
    response = pos.get(terminal, f"{BASE}/sales/pos:a", signed_path=f"{BASE}/sales/pos:b")
    assert response.status_code == 401 and problem_code(response) == "invalid_signature"


# ---- one rule for points and amounts --------------------------------------------------------------------------


@pytest.mark.parametrize("value", [-1, 0, 1.5, 5.0, "5", True, None, [5], MAX_POINTS + 1])
def test_bad_points_are_invalid_points_like_bad_amounts_are_invalid_amount(
    chain, terminal, pos, card_with_100_yuan, value
):
    # given
    points.earn(None, card_with_100_yuan, 300, store=chain.a1)
    entries, key, charge_key = JournalEntry.objects.count(), idempotency_key(), idempotency_key()
    card_no = card_with_100_yuan.number
    # when
    redeem = send_keyed(pos, terminal, f"{BASE}/points/redeem", {"card_no": card_no, "points": value}, key)
    charge = send_keyed(pos, terminal, f"{BASE}/charges", {"card_no": card_no, "amount": value}, charge_key)
    # then points refuse what amounts refuse, the same way: 400 before the key, nothing changed
    assert (redeem.status_code, problem_code(redeem)) == (400, "invalid_points"), redeem.content
    if value != MAX_POINTS + 1:  # a valid amount of fen, but more points than a card may hold
        assert (charge.status_code, problem_code(charge)) == (400, "invalid_amount")
        assert JournalEntry.objects.count() == entries
    assert "Idempotent-Replayed" not in redeem
    assert not IdempotencyKey.objects.filter(key__endswith=key).exists()


# ---- the answers the guide documents ---------------------------------------------------------------------------


def test_held_money_is_not_in_principal_or_bonus_and_a_void_answers_the_release(
    chain, terminal, pos, card_with_100_yuan
):
    # given ¥100 principal and ¥20 bonus, ¥30 held
    put_value(chain, card_with_100_yuan, bonus=2_000)
    held = _keyed(pos, terminal, "holds", {"card_no": card_with_100_yuan.number, "amount": 3_000})
    hold = held.json()["transaction"]
    # then the held ¥30 left principal and bonus in proportion
    assert held.json()["balances"] == {"principal": 7_500, "bonus": 1_500, "held": 3_000, "points": 0}
    assert (hold["kind"], hold["status"], hold["amount"]) == ("hold", "open", 3_000)
    # when
    voided = _keyed(pos, terminal, f"holds/{hold['id']}/void", None)
    # then the void is its own transaction naming the hold, taking nothing (amount 0)
    tx = voided.json()["transaction"]
    assert voided.status_code == 200, voided.content
    assert (tx["kind"], tx["status"], tx["original_id"]) == ("void", "done", hold["id"])
    assert (tx["amount"], tx["principal"], tx["bonus"]) == (0, 0, 0)
    assert voided.json()["balances"] == {"principal": 10_000, "bonus": 2_000, "held": 0, "points": 0}
    assert_ledger_clean()


@pytest.mark.parametrize(
    ("original", "body", "principal_after"),
    [
        ("charge", {"amount": 500, "reason": "退一件"}, 8_500),  # ¥100 − ¥20 charged + ¥5 back
        ("topup", {"amount": 2_000, "reason": "多充", "method": "cash"}, 8_000),  # ¥100 − ¥20 paid back
    ],
)
def test_refund_amounts_are_positive_whichever_way_the_money_goes(
    chain, terminal, pos, card_with_100_yuan, original, body, principal_after
):
    # given a charge of ¥20, or a top-up of ¥50
    if original == "charge":
        tx = stored_value.charge(None, card_with_100_yuan, 2_000, store=chain.a1)
    else:
        tx = stored_value.topup(None, card_with_100_yuan, 5_000, store=chain.a1)
        principal_after += 5_000
    # when part of it is refunded
    response = _keyed(pos, terminal, "refunds", {"transaction_id": str(tx.pk), **body})
    # then the refund's amount and parts are positive; the balance says which way it went
    refund = response.json()["transaction"]
    assert response.status_code == 200, response.content
    assert (refund["kind"], refund["amount"], refund["principal"], refund["bonus"]) == (
        "refund",
        body["amount"],
        body["amount"],
        0,
    )
    assert refund["original_id"] == str(tx.pk)
    assert response.json()["balances"]["principal"] == principal_after


@pytest.mark.parametrize("tender", ["cash", "bank_card", "wechat", "alipay"])
def test_the_four_topup_tenders_are_accepted(terminal, pos, card, tender):
    response = _keyed(pos, terminal, "topups", {"card_no": card.number, "amount": 100, "tender": tender})
    assert response.status_code == 200, response.content
    assert response.json()["transaction"]["tender"] == tender


@pytest.mark.parametrize("tender", ["WeChat", "credit", "", "现金"])
def test_another_topup_tender_is_invalid_tender_before_the_key(terminal, pos, card, tender):
    key = idempotency_key()
    response = send_keyed(
        pos, terminal, f"{BASE}/topups", {"card_no": card.number, "amount": 100, "tender": tender}, key
    )
    assert response.status_code == 400, response.content
    assert problem_code(response) == "invalid_tender"
    assert "Idempotent-Replayed" not in response
    assert balances(card) == (0, 0, 0) and not IdempotencyKey.objects.filter(key__endswith=key).exists()


def test_history_pages_hold_at_most_200(chain, terminal, pos, card_with_100_yuan):
    for _ in range(3):
        stored_value.charge(None, card_with_100_yuan, 100, store=chain.a1)
    response = pos.get(terminal, f"{BASE}/cards/{card_with_100_yuan.number}/history?page_size=1000")
    assert response.status_code == 200
    assert response.json()["count"] == 4 and len(response.json()["results"]) == 4


def test_unknown_fields_are_ignored_but_belong_to_the_request_a_retry_repeats(
    terminal, pos, card_with_100_yuan
):
    # given
    key = idempotency_key()
    body = {"card_no": card_with_100_yuan.number, "amount": 1_000, "note": "till memo"}
    # when
    first = send_keyed(pos, terminal, f"{BASE}/charges", body, key)
    same = send_keyed(pos, terminal, f"{BASE}/charges", body, key)
    without = send_keyed(
        pos, terminal, f"{BASE}/charges", {k: v for k, v in body.items() if k != "note"}, key
    )
    # then
    assert first.status_code == 200 and "note" not in json.dumps(first.json())
    assert same.json() == first.json() and same["Idempotent-Replayed"] == "true"
    assert (without.status_code, problem_code(without)) == (409, "idempotency_conflict")
    assert balances(card_with_100_yuan) == (9_000, 0, 0)


def test_idempotent_replayed_comes_with_stored_refusals_but_not_with_refusals_before_the_key(
    terminal, pos, card_with_100_yuan
):
    # given
    key = idempotency_key()
    card_no = card_with_100_yuan.number
    # when: a business refusal, its retry, a conflict, bad input, no key
    refused = send_keyed(pos, terminal, f"{BASE}/charges", {"card_no": card_no, "amount": 99_999}, key)
    retried = send_keyed(pos, terminal, f"{BASE}/charges", {"card_no": card_no, "amount": 99_999}, key)
    conflict = send_keyed(pos, terminal, f"{BASE}/charges", {"card_no": card_no, "amount": 1}, key)
    bad = send_keyed(pos, terminal, f"{BASE}/charges", {"card_no": card_no, "amount": "1"}, idempotency_key())
    keyless = send_keyed(pos, terminal, f"{BASE}/charges", {"card_no": card_no, "amount": 1})
    unknown = send_keyed(
        pos, terminal, f"{BASE}/charges", {"card_no": "8800999999", "amount": 1}, idempotency_key()
    )
    # then
    assert (refused.status_code, refused["Idempotent-Replayed"]) == (422, "false")
    assert (retried.status_code, retried["Idempotent-Replayed"]) == (422, "true")
    assert retried.json() == refused.json()
    assert (unknown.status_code, unknown["Idempotent-Replayed"]) == (404, "false")
    for response in (conflict, bad, keyless):
        assert "Idempotent-Replayed" not in response, response.status_code
    assert [conflict.status_code, bad.status_code, keyless.status_code] == [409, 400, 400]


def test_checkout_answers_carry_idempotent_replayed_too(shop, terminal, pos, card_with_100_yuan):
    key = idempotency_key()
    body = {
        "card_no": card_with_100_yuan.number,
        "items": [{"sku": shop.cake.sku, "quantity": 1}],
        "tenders": {"cash": 1},
    }
    refused = send_keyed(pos, terminal, f"{BASE}/checkout", body, key)
    assert refused.status_code == 422 and problem_code(refused) == "tenders_mismatch"
    assert refused["Idempotent-Replayed"] == "false"
