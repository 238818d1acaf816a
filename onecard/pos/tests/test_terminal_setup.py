"""Terminal set-up without the pages: the staff API /api/v1/terminals/ and `onecard terminal` (docs/pos-api.md)."""

import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from onecard.core.models import AuditEntry
from onecard.pos.models import Terminal

pytestmark = pytest.mark.usefixtures("api_urls")

API = "/api/v1/terminals/"


def _signed_ping(pos, terminal_id, secret):
    issued = type("Issued", (), {"secret": secret, "terminal": type("T", (), {"terminal_id": terminal_id})})
    return pos.get(issued, "/api/v1/pos/ping")


def test_a_store_manager_registers_a_terminal_and_gets_its_secret_once(chain, api, pos):
    # given
    client = api(chain.store_manager)
    # when
    response = client.post(API, {"store": str(chain.a1.pk), "name": "Till 7"}, format="json")
    # then the answer carries the secret, uncached, and the secret signs requests
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["terminal"]["terminal_id"] == "T-A1-0001"
    assert body["terminal"]["store_code"] == "A1" and body["terminal"]["kind"] == "pos"
    assert len(body["secret"]) == 43
    assert "no-store" in response["Cache-Control"]
    assert _signed_ping(pos, "T-A1-0001", body["secret"]).status_code == 200
    # and no read shows it again
    listed = client.get(API).json()["results"]
    detail = client.get(f"{API}{body['terminal']['id']}/").json()
    assert [t["terminal_id"] for t in listed] == ["T-A1-0001"]
    assert "secret" not in listed[0] and "secret" not in detail
    assert body["secret"] not in json.dumps([listed, detail])
    # and the audit log has the registration without the secret
    entry = AuditEntry.objects.filter(subject_type="pos.terminal").latest("pk")
    assert entry.action == "create" and body["secret"] not in json.dumps(entry.after, default=str)


def test_rotate_answers_a_new_secret_and_the_old_one_stops_working(chain, api, pos, terminal):
    # given
    client = api(chain.store_manager)
    # when
    response = client.post(f"{API}{terminal.terminal.pk}/rotate/")
    # then
    assert response.status_code == 200, response.content
    new_secret = response.json()["secret"]
    assert new_secret != terminal.secret and "no-store" in response["Cache-Control"]
    assert _signed_ping(pos, terminal.terminal.terminal_id, terminal.secret).status_code == 401
    assert _signed_ping(pos, terminal.terminal.terminal_id, new_secret).status_code == 200


def test_deactivate_refuses_the_terminal_from_then_on(chain, api, pos, terminal):
    # when
    response = api(chain.store_manager).post(f"{API}{terminal.terminal.pk}/deactivate/")
    # then
    assert response.status_code == 200, response.content
    assert response.json()["is_active"] is False and "secret" not in response.json()
    refused = _signed_ping(pos, terminal.terminal.terminal_id, terminal.secret)
    assert refused.status_code == 401 and refused.json()["code"] == "invalid_terminal"


def test_a_cashier_without_the_permission_is_refused_and_nothing_is_made(chain, api):
    # when
    response = api(chain.cashier_a1).post(API, {"store": str(chain.a1.pk), "name": "x"}, format="json")
    # then
    assert response.status_code == 403 and response.json()["code"] == "permission_denied"
    assert not Terminal.objects.exists()


def test_a_store_outside_the_managers_scope_is_refused(chain, api):
    # when a1's manager registers a terminal at B1, and at another merchant's store
    client = api(chain.store_manager)
    b1 = client.post(API, {"store": str(chain.b1.pk), "name": "x"}, format="json")
    other = client.post(API, {"store": str(chain.other_store.pk), "name": "x"}, format="json")
    # then
    assert b1.status_code == 403 and b1.json()["code"] == "permission_denied"
    assert other.status_code == 400 and "store" in other.json()["errors"]
    assert not Terminal.objects.exists()


def test_a_terminal_of_another_store_is_not_found_for_a_store_manager(chain, api):
    # given a terminal of B1 registered by HQ
    from onecard.pos import services

    issued = services.register_terminal(chain.hq_admin, store=chain.b1, name="B1 till")
    # when
    response = api(chain.store_manager).post(f"{API}{issued.terminal.pk}/rotate/")
    # then
    assert response.status_code == 404
    assert Terminal.objects.get(pk=issued.terminal.pk).secret == issued.secret


def test_a_missing_name_is_a_validation_error(chain, api):
    response = api(chain.store_manager).post(API, {"store": str(chain.a1.pk)}, format="json")
    assert response.status_code == 400 and "name" in response.json()["errors"]
    assert not Terminal.objects.exists()


# ---- the command ---------------------------------------------------------------------------------------------


def _run(*args):
    out = io.StringIO()
    call_command("terminal", *args, stdout=out)
    return out.getvalue()


def test_the_command_adds_a_terminal_by_store_code_and_prints_the_secret_once(chain, pos):
    # when
    text = _run("add", "--store", "A1", "--name", "Till 9")
    # then
    terminal = Terminal.objects.get()
    secret = text.split("secret:", 1)[1].split()[0]
    assert f"terminal id: {terminal.terminal_id}" in text and terminal.name == "Till 9"
    assert secret == terminal.secret
    assert _signed_ping(pos, terminal.terminal_id, secret).status_code == 200
    assert secret not in _run("list")


def test_the_command_answers_json_for_scripts_and_rotates_and_deactivates(chain, pos):
    # given
    added = json.loads(
        _run("add", "--store", str(chain.a2.pk), "--name", "Kiosk", "--kind", "kiosk", "--json")
    )
    # when
    rotated = json.loads(_run("rotate", added["terminal_id"], "--json"))
    deactivated = json.loads(_run("deactivate", added["terminal_id"], "--json"))
    # then
    assert added["terminal_id"] == "T-A2-0001" and added["kind"] == "kiosk" and added["store"] == "A2"
    assert rotated["secret"] != added["secret"] and deactivated["is_active"] is False
    assert _signed_ping(pos, added["terminal_id"], rotated["secret"]).status_code == 401
    assert json.loads(_run("list", "--json"))["results"][0]["is_active"] is False


def test_the_command_acts_as_a_staff_member_within_their_scope(chain):
    with pytest.raises(CommandError, match="cannot manage"), translation.override("en"):
        _run("add", "--store", "B1", "--name", "x", "--as", "a1mgr")
    assert not Terminal.objects.exists()


def test_the_command_says_what_is_wrong_with_an_unknown_store_or_terminal(chain):
    with pytest.raises(CommandError, match="No store"):
        _run("add", "--store", "ZZ", "--name", "x")
    with pytest.raises(CommandError, match="No terminal"):
        _run("rotate", "T-NOPE-0001")
