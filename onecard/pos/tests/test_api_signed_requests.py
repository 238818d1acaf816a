"""Signed requests end to end: what is accepted, what is refused (and with which code), ping and lookup."""

import time

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from onecard.pos import services
from onecard.pos.models import UsedNonce

pytestmark = pytest.mark.usefixtures("api_urls")  # served the API urlconf only

PING = "/api/v1/pos/ping"
LOOKUP = "/api/v1/pos/members/lookup"


def _code(response):
    return response.json()["code"]


# ---- accepted ----------------------------------------------------------------------------------------


def test_a_correctly_signed_request_is_accepted(chain, terminal, pos):
    # when
    response = pos.get(terminal, PING)
    # then
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["terminal"]["terminal_id"] == terminal.terminal.terminal_id
    assert body["store"] == {
        "id": str(chain.a1.pk),
        "code": "A1",
        "name": chain.a1.name,
        "merchant": str(chain.merchant.pk),
    }
    assert abs(int(time.time()) - _epoch(body["server_time"])) < 5
    terminal.terminal.refresh_from_db()
    assert terminal.terminal.last_seen_at is not None


def _epoch(iso):
    from datetime import datetime

    return int(datetime.fromisoformat(iso).timestamp())


@pytest.mark.parametrize("skew", [-290, 290])
def test_a_timestamp_within_300_seconds_is_accepted(terminal, pos, skew):
    response = pos.get(terminal, PING, timestamp=int(time.time()) + skew)
    assert response.status_code == 200


def test_a_signed_post_with_a_body_is_accepted_by_the_authentication(terminal, pos):
    # given a POST to the ping (GET only): authentication passes, then the method is refused
    response = pos.post(terminal, PING, {"x": 1})
    # then
    assert response.status_code == 405
    assert _code(response) == "method_not_allowed"


# ---- refused -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("skew", [-301 - 10, 301 + 10])
def test_clock_skew_over_300_seconds_is_refused_both_ways(terminal, pos, skew):
    # when
    response = pos.get(terminal, PING, timestamp=int(time.time()) + skew)
    # then
    assert response.status_code == 401
    assert _code(response) == "stale_timestamp"
    assert response["Content-Type"] == "application/problem+json"
    assert response["WWW-Authenticate"] == "OneCard-HMAC-SHA256"


def test_a_timestamp_that_is_not_unix_seconds_is_refused(terminal, pos):
    headers = {"HTTP_X_TIMESTAMP": "2025-11-25T10:00:00Z"}
    response = pos.get(terminal, PING, headers=headers)
    assert response.status_code == 401
    assert _code(response) == "stale_timestamp"


def test_a_reused_nonce_is_refused(terminal, pos):
    # given
    first = pos.get(terminal, PING, nonce="nonce-0001")
    assert first.status_code == 200
    # when the identical request is sent again (a replay), or a fresh one with the same nonce
    replay = pos.get(terminal, PING, nonce="nonce-0001")
    # then
    assert replay.status_code == 401
    assert _code(replay) == "replayed_nonce"
    assert UsedNonce.objects.filter(terminal=terminal.terminal, nonce="nonce-0001").count() == 1


def test_the_same_nonce_is_fine_for_another_terminal(chain, terminal, pos):
    other = services.register_terminal(chain.store_manager, store=chain.a1, name="Till 2")
    assert pos.get(terminal, PING, nonce="shared-nonce").status_code == 200
    assert pos.get(other, PING, nonce="shared-nonce").status_code == 200


def test_a_badly_signed_request_does_not_spend_its_nonce(terminal, pos):
    # given a request signed with a wrong secret
    bad = pos.get(terminal, PING, nonce="nonce-0002", secret="wrong")
    assert _code(bad) == "invalid_signature"
    # when the genuine request with that nonce follows
    good = pos.get(terminal, PING, nonce="nonce-0002")
    # then
    assert good.status_code == 200


def test_a_changed_body_is_refused(terminal, pos):
    # given the terminal signed one body, and another arrives
    signed = b'{"amount": 100}'
    response = pos.post(terminal, PING, body=b'{"amount": 999}', signed_body=signed)
    # then
    assert response.status_code == 401
    assert _code(response) == "invalid_signature"


def test_a_changed_query_string_is_refused(terminal, pos, member_factory):
    response = pos.get(terminal, f"{LOOKUP}?q=13800000002", signed_path=f"{LOOKUP}?q=13800000001")
    assert response.status_code == 401
    assert _code(response) == "invalid_signature"


def test_a_changed_path_is_refused(terminal, pos):
    response = pos.get(terminal, PING, signed_path=f"{LOOKUP}?q=1")
    assert response.status_code == 401
    assert _code(response) == "invalid_signature"


def test_a_changed_method_is_refused(terminal, pos):
    # given signed as POST with an empty body, sent as GET
    from onecard.pos.signing import as_wsgi_headers, sign_request

    headers = sign_request(terminal.secret, "POST", PING, b"", terminal_id=terminal.terminal.terminal_id)
    response = APIClient().get(PING, **as_wsgi_headers(headers))
    assert response.status_code == 401
    assert _code(response) == "invalid_signature"


def test_an_unknown_terminal_is_refused(terminal, pos):
    response = pos.get(terminal, PING, terminal_id="T-NOPE-0001")
    assert response.status_code == 401
    assert _code(response) == "invalid_terminal"


def test_an_inactive_terminal_is_refused(chain, terminal, pos):
    # given
    services.deactivate_terminal(chain.store_manager, terminal.terminal)
    # when
    response = pos.get(terminal, PING)
    # then
    assert response.status_code == 401
    assert _code(response) == "invalid_terminal"


def test_after_rotation_the_old_secret_is_refused_and_the_new_one_works(chain, terminal, pos):
    # given
    rotated = services.rotate_secret(chain.store_manager, terminal.terminal)
    # when
    old = pos.get(terminal, PING)
    new = pos.get(rotated, PING)
    # then
    assert old.status_code == 401
    assert _code(old) == "invalid_signature"
    assert new.status_code == 200


def test_missing_signature_headers_are_refused(terminal, pos):
    no_headers = APIClient().get(PING)
    assert no_headers.status_code == 401
    assert _code(no_headers) == "not_authenticated"
    no_signature = pos.get(terminal, PING, headers={"HTTP_X_SIGNATURE": ""})
    assert _code(no_signature) == "invalid_signature"
    bad_nonce = pos.get(terminal, PING, nonce="short")
    assert _code(bad_nonce) == "invalid_signature"


def test_a_staff_token_does_not_open_the_pos_api(chain, api):
    response = api(chain.hq_admin).get(PING)
    assert response.status_code == 401


def test_old_nonces_are_purged_after_15_minutes(terminal, pos):
    # given
    import datetime

    from django.utils import timezone

    now = timezone.now()
    services.remember_nonce(terminal.terminal, "old-nonce-1", now=now - datetime.timedelta(minutes=16))
    services.remember_nonce(terminal.terminal, "new-nonce-1", now=now - datetime.timedelta(minutes=11))
    # when
    deleted = services.purge_nonces(now=now)
    # then
    assert deleted == 1
    assert list(UsedNonce.objects.values_list("nonce", flat=True)) == ["new-nonce-1"]


# ---- member lookup -----------------------------------------------------------------------------------


def test_lookup_finds_members_of_the_terminals_merchant_only_with_masked_phones(
    chain, terminal, pos, member_factory
):
    # given a member at A1, one at B1 (same merchant, another store) and one of another merchant
    mine = member_factory(store=chain.a1, name="张三", phone="13912345678")
    sister = member_factory(store=chain.b1, name="张四", phone="13912340000")
    member_factory(store=chain.other_store, name="张五", phone="13912345678")
    # when
    by_phone = pos.get(terminal, f"{LOOKUP}?q=13912345678").json()["results"]
    by_name = pos.get(terminal, f"{LOOKUP}?q=%E5%BC%A0").json()["results"]  # 张, percent-encoded
    # then
    assert by_phone == [
        {"id": str(mine.pk), "member_no": mine.member_no, "name": "张三", "phone_masked": "139****5678"}
    ]
    assert {r["id"] for r in by_name} == {str(mine.pk), str(sister.pk)}
    assert "13912345678" not in str(by_name)


def test_lookup_without_q_is_a_validation_error(terminal, pos):
    response = pos.get(terminal, LOOKUP)
    assert response.status_code == 400
    assert _code(response) == "validation_error"


def test_lookup_by_member_number(chain, terminal, pos, member_factory):
    member = member_factory(store=chain.a2)
    results = pos.get(terminal, f"{LOOKUP}?q={member.member_no}").json()["results"]
    assert [r["member_no"] for r in results] == [member.member_no]


# ---- schema ------------------------------------------------------------------------------------------


def test_schema_describes_the_signature_headers_and_validates(db, tmp_path):
    import yaml

    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    schema = yaml.safe_load(out.read_text())
    schemes = schema["components"]["securitySchemes"]
    assert schemes["TerminalSignature"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-Signature",
        "description": schemes["TerminalSignature"]["description"],
    }
    ping = schema["paths"]["/api/v1/pos/ping"]["get"]
    assert ping["security"] == [
        {"TerminalId": [], "TerminalTimestamp": [], "TerminalNonce": [], "TerminalSignature": []}
    ]
    assert "/api/v1/pos/members/lookup" in schema["paths"]


# ---- across processes --------------------------------------------------------------------------------


@pytest.mark.postgres
def test_one_nonce_sent_concurrently_passes_exactly_once(transactional_db, chain, terminal):
    """Eight copies of one signed request race on separate connections: the unique index lets one in."""
    import threading

    from django.db import connection

    from onecard.pos.signing import as_wsgi_headers, sign_request

    # given
    headers = as_wsgi_headers(
        sign_request(terminal.secret, "GET", PING, b"", terminal_id=terminal.terminal.terminal_id)
    )
    barrier = threading.Barrier(8)
    statuses = []

    def send():
        try:
            barrier.wait()
            response = APIClient().get(PING, **headers)
            statuses.append((response.status_code, response.json().get("code")))
        finally:
            connection.close()

    # when
    threads = [threading.Thread(target=send) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # then
    assert sorted(statuses, key=str) == [(200, None)] + [(401, "replayed_nonce")] * 7
