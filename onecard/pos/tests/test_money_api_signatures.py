"""Signatures on a money call: a changed body, a reused nonce, a clock 300+ s off change nothing and spend
no Idempotency-Key."""

import json
import math
import time

import pytest

from onecard.core.models import IdempotencyKey
from onecard.loyalty.models.stored_value import CardTransaction, CardTxKind
from onecard.testing.pos import idempotency_key, problem_code, send_keyed, terminal_transactions
from onecard.testing.stored_value import assert_ledger_clean, balances

pytestmark = pytest.mark.usefixtures("api_urls")  # served the API urlconf only

BASE = "/api/v1/pos"


# ---- signatures on a money call --------------------------------------------------------------------------


def test_a_charge_whose_body_was_changed_is_refused_and_spends_neither_money_nor_key(
    terminal, pos, card_with_100_yuan
):
    # given the till signed a ¥10 charge, and ¥90 arrives
    key = idempotency_key()
    signed = {"card_no": card_with_100_yuan.number, "amount": 1_000}
    sent = {"card_no": card_with_100_yuan.number, "amount": 9_000}
    response = send_keyed(
        pos,
        terminal,
        f"{BASE}/charges",
        sent,
        key,
        body=json.dumps(sent).encode(),
        signed_body=json.dumps(signed).encode(),
    )
    # then refused, nothing charged, the key not claimed: the genuine request with it goes through
    assert response.status_code == 401 and problem_code(response) == "invalid_signature"
    assert balances(card_with_100_yuan) == (10_000, 0, 0)
    assert not IdempotencyKey.objects.filter(key=key).exists()
    genuine = send_keyed(pos, terminal, f"{BASE}/charges", signed, key)
    assert genuine.status_code == 200 and genuine["Idempotent-Replayed"] == "false"
    assert balances(card_with_100_yuan) == (9_000, 0, 0)
    assert_ledger_clean()


def test_a_charge_replayed_with_its_nonce_is_refused_even_under_a_new_key(terminal, pos, card_with_100_yuan):
    payload = {"card_no": card_with_100_yuan.number, "amount": 1_000}
    first = send_keyed(pos, terminal, f"{BASE}/charges", payload, idempotency_key(), nonce="money-nonce-1")
    # when a captured request is sent again with its nonce, under another idempotency key
    replay = send_keyed(pos, terminal, f"{BASE}/charges", payload, idempotency_key(), nonce="money-nonce-1")
    # then
    assert first.status_code == 200
    assert replay.status_code == 401 and problem_code(replay) == "replayed_nonce"
    assert CardTransaction.objects.filter(card=card_with_100_yuan, kind=CardTxKind.CHARGE).count() == 1
    assert balances(card_with_100_yuan) == (9_000, 0, 0)


@pytest.mark.parametrize("skew", [-301, 301, -3_600])
def test_a_top_up_signed_more_than_300_seconds_off_is_refused_and_changes_nothing(
    terminal, pos, card_with_100_yuan, skew
):
    key = idempotency_key()
    response = send_keyed(
        pos,
        terminal,
        f"{BASE}/topups",
        {"card_no": card_with_100_yuan.number, "amount": 5_000},
        key,
        # Round away from now so the server sees at least |skew| seconds (int() could lose up to one).
        timestamp=(math.ceil(time.time()) if skew > 0 else math.floor(time.time())) + skew,
    )
    assert response.status_code == 401 and problem_code(response) == "stale_timestamp"
    assert balances(card_with_100_yuan) == (10_000, 0, 0)
    assert not IdempotencyKey.objects.filter(key=key).exists()
    assert not terminal_transactions(terminal).exists()
