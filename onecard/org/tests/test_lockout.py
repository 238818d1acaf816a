"""Log-in defences: lock-out per account name and per address with a cool-off, an administrator's unlock,
and every failed and successful log-in and every log-out in the audit log (org.lockout)."""

import datetime

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from onecard.core.clock import moved_now
from onecard.core.errors import PermissionDenied
from onecard.core.models import AuditEntry
from onecard.org import services
from onecard.org.choices import LockScope
from onecard.org.models import LoginLock
from onecard.testing.second_factor import verify_session

pytestmark = pytest.mark.django_db

GOOD = "pass-word-123"  # the chain's password for every account
BROWSER = {"REMOTE_ADDR": "198.51.100.7", "HTTP_USER_AGENT": "Mozilla/5.0 (till PC)"}
START = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)


def log_in(client, username, password, **request):
    return client.post(
        reverse("login"), {"username": username, "password": password}, **{**BROWSER, **request}
    )


def logged_in_as(client):
    return client.session.get("_auth_user_id")


def test_the_sixth_wrong_password_in_a_minute_is_refused_in_chinese_on_the_login_page_and_audited(
    chain, client
):
    with moved_now(START) as clock:
        # given five wrong passwords for one account, ten seconds apart
        for _n in range(5):
            answer = log_in(client, "a1cash", "wrong")
            assert answer.status_code == 200
            assert "用户名或密码错误" in answer.content.decode()
            clock.advance(datetime.timedelta(seconds=10))
        # when the sixth comes
        refused = log_in(client, "a1cash", "wrong")
    # then it is refused in Chinese on the log-in page, saying until when (09:00 UTC + 15 min = 17:15 Shanghai)
    page = refused.content.decode()
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) == 15 * 60 - 10  # locked at the fifth (0:40), refused at 0:50
    assert "登录失败次数过多" in page and "17:15" in page
    assert 'class="login-card"' in page and 'name="password"' in page  # the log-in page's own layout
    assert "用户名或密码错误" not in page
    # and every attempt is audited with the address and browser; the fifth placed the lock, the sixth was refused
    rows = list(AuditEntry.objects.filter(action="login_failed").order_by("id"))
    assert [row.note for row in rows] == ["wrong password"] * 4 + [
        "wrong password; locked",
        "refused: log-in locked",
    ]
    assert {(row.ip, row.user_agent, row.subject_id) for row in rows} == {
        ("198.51.100.7", "Mozilla/5.0 (till PC)", str(chain.cashier_a1.pk))
    }
    assert rows[4].after == {"username": "a1cash", "locked": ["account", "address"]}
    assert rows[5].after["locked"] == "account"
    assert rows[5].node_id == chain.a1.pk  # the store's managers read it in their audit log


def test_a_locked_account_refuses_the_right_password_until_the_cool_off_has_passed(chain, client):
    with moved_now(START) as clock:
        # given a locked account
        for _n in range(5):
            log_in(client, "a1cash", "wrong")
        # when the right password comes during the lock, from another address too
        refused = log_in(client, "a1cash", GOOD, REMOTE_ADDR="203.0.113.50")
        # then it is refused and nobody is logged in
        assert refused.status_code == 429
        assert logged_in_as(client) is None
        # and a minute before the end of the cool-off still refused
        clock.advance(datetime.timedelta(minutes=14))
        assert log_in(client, "a1cash", GOOD).status_code == 429
        # when the cool-off has passed
        clock.advance(datetime.timedelta(minutes=1, seconds=1))
        answer = log_in(client, "a1cash", GOOD)
        # then the right password logs in again (the session read on the moved clock: it is from March)
        assert answer.status_code == 302
        assert logged_in_as(client) == str(chain.cashier_a1.pk)
    assert AuditEntry.objects.filter(action="login", actor=chain.cashier_a1, ip="198.51.100.7").count() == 1


def test_failures_further_apart_than_the_window_do_not_lock(chain, client):
    with moved_now(START) as clock:
        # given six wrong passwords 20 s apart: never five within one minute
        for _n in range(6):
            assert log_in(client, "a1cash", "wrong").status_code == 200
            clock.advance(datetime.timedelta(seconds=20))
        # when the right one comes
        answer = log_in(client, "a1cash", GOOD)
    # then it logs in
    assert answer.status_code == 302
    assert not LoginLock.objects.exists()


def test_five_failures_from_one_address_across_accounts_lock_the_address(chain, client):
    # given five wrong passwords from one address, each for another account name (one that does not exist)
    for username in ("a1cash", "a1mgr", "hqadmin", "eastmgr", "nobody"):
        assert log_in(client, username, "wrong").status_code == 200
    # when someone logs in from there with a right password
    refused = log_in(client, "b1cash", GOOD)
    # then the address is refused, for every account
    assert refused.status_code == 429
    assert "登录失败次数过多" in refused.content.decode()
    assert LoginLock.objects.get().scope == LockScope.ADDRESS
    # and from another address the same person logs in
    assert log_in(client, "b1cash", GOOD, REMOTE_ADDR="203.0.113.50").status_code == 302


def test_an_account_name_that_does_not_exist_is_locked_like_one_that_does(db, client):
    # given five wrong passwords for an unknown name, from five addresses
    for n in range(5):
        log_in(client, "ghost", "wrong", REMOTE_ADDR=f"203.0.113.{n + 1}")
    # when a sixth comes from yet another address
    refused = log_in(client, "ghost", "wrong", REMOTE_ADDR="203.0.113.99")
    # then the answer is the lock-out, which tells nobody whether the account exists
    assert refused.status_code == 429
    entry = AuditEntry.objects.filter(action="login_failed").latest("id")
    assert (entry.subject_type, entry.subject_id, entry.subject_repr) == ("org.staff", "", "ghost")


def test_an_administrator_unlocks_from_the_staff_page_and_the_person_logs_in_again(chain, client):
    # given a cashier who mistyped five times (their account and their address are locked)
    for _n in range(5):
        log_in(client, "a1cash", "wrong")
    assert log_in(client, "a1cash", GOOD).status_code == 429
    admin = Client()
    admin.force_login(chain.store_manager)  # staff.view only: sees the lock, has no button
    verify_session(admin, chain.store_manager)  # past the second step: this test is not about it
    assert (
        "data-login-locked"
        in admin.get(reverse("org:staff_edit", args=[chain.cashier_a1.pk])).content.decode()
    )
    assert admin.post(reverse("org:staff_unlock", args=[chain.cashier_a1.pk])).status_code == 403
    admin.force_login(chain.hq_admin)  # staff.manage
    verify_session(admin, chain.hq_admin)
    page = admin.get(reverse("org:staff_edit", args=[chain.cashier_a1.pk]), **BROWSER).content.decode()
    assert "data-login-locked" in page and reverse("org:staff_unlock", args=[chain.cashier_a1.pk]) in page
    # when the administrator unlocks
    answer = admin.post(reverse("org:staff_unlock", args=[chain.cashier_a1.pk]), **BROWSER)
    # then the page no longer shows the lock, the unlock is audited, and the cashier logs in from their PC
    assert answer.status_code == 302
    assert "data-login-locked" not in admin.get(answer.url).content.decode()
    entry = AuditEntry.objects.get(action="unlock")
    assert (entry.actor_id, entry.subject_id, entry.ip) == (
        chain.hq_admin.pk,
        str(chain.cashier_a1.pk),
        "198.51.100.7",
    )
    assert entry.after == {"unlocked": ["account:a1cash", "address:198.51.100.7"]}
    assert log_in(client, "a1cash", GOOD).status_code == 302
    # and their count starts afresh: one more mistake does not lock again
    client.logout()
    assert log_in(client, "a1cash", "wrong").status_code == 200
    assert log_in(client, "a1cash", GOOD).status_code == 302


def test_an_unlock_keeps_the_lock_of_an_address_where_others_were_guessing(chain, client):
    with moved_now(START) as clock:
        # given one mistake of the cashier, then, two minutes later, five guesses at another name, same address
        log_in(client, "a1cash", "wrong")
        clock.advance(datetime.timedelta(minutes=2))
        for _n in range(5):
            log_in(client, "ghost", "wrong")
        # when the cashier's account is unlocked
        lifted = services.unlock_staff(chain.hq_admin, chain.cashier_a1)
        # then the address stays locked: the guesses alone reached the limit
        assert lifted == []
        assert log_in(client, "a1cash", GOOD).status_code == 429
    assert not AuditEntry.objects.filter(action="unlock").exists()


def test_an_unlock_of_an_account_out_of_scope_is_refused(chain):
    with pytest.raises(PermissionDenied):
        services.unlock_staff(chain.store_manager, chain.cashier_b1)


# ---- the API ----------------------------------------------------------------------------------------------

TOKEN_URL = "/api/v1/auth/token/"


@pytest.fixture
def token_client(api_urls):
    return APIClient(HTTP_ACCEPT_LANGUAGE="en", REMOTE_ADDR="198.51.100.8", HTTP_USER_AGENT="till-app/2.1")


def test_the_token_endpoint_locks_out_like_the_log_in_page(chain, token_client):
    # given five wrong passwords
    for _n in range(5):
        answer = token_client.post(TOKEN_URL, {"username": "a1cash", "password": "wrong"}, format="json")
        assert answer.json()["code"] == "invalid_credentials"
    # when the right password comes
    refused = token_client.post(TOKEN_URL, {"username": "a1cash", "password": GOOD}, format="json")
    # then it is refused with login_locked until the end of the cool-off
    assert refused.status_code == 429
    assert refused["Content-Type"] == "application/problem+json"
    body = refused.json()
    assert body["code"] == "login_locked"
    assert body["detail"].startswith("Too many failed log-in attempts: logging in is locked until ")
    locked_until = datetime.datetime.fromisoformat(body["extra"]["locked_until"])
    assert 899 <= (locked_until - timezone.now()).total_seconds() <= 900
    assert 899 <= int(refused["Retry-After"]) <= 900
    rows = AuditEntry.objects.filter(action="login_failed").order_by("id")
    assert rows.count() == 6
    assert {(row.ip, row.user_agent) for row in rows} == {("198.51.100.8", "till-app/2.1")}
    assert rows.last().note == "refused: log-in locked"


def test_the_api_shows_and_lifts_a_lock(chain, token_client, api):
    # given a locked cashier
    for _n in range(5):
        token_client.post(TOKEN_URL, {"username": "a1cash", "password": "wrong"}, format="json")
    staff_url = f"/api/v1/staff/{chain.cashier_a1.pk}/"
    assert api(chain.hq_admin).get(staff_url).json()["locked_until"] is not None
    # when a cashier (no staff.manage) or a manager of another merchant tries to unlock
    assert api(chain.cashier_a1).post(staff_url + "unlock/").status_code == 403
    assert api(chain.other_manager).post(staff_url + "unlock/").status_code in (403, 404)
    # and the head office does
    answer = api(chain.hq_admin).post(staff_url + "unlock/")
    # then the account is answered unlocked, and the cashier gets a token
    assert answer.status_code == 200
    assert answer.json()["locked_until"] is None
    assert answer.json()["username"] == "a1cash"
    assert AuditEntry.objects.filter(action="unlock", actor=chain.hq_admin).count() == 1
    ok = token_client.post(TOKEN_URL, {"username": "a1cash", "password": GOOD}, format="json")
    assert ok.status_code == 200


def test_the_unlock_is_in_the_schema(db, api_urls):
    schema = APIClient().get("/api/v1/schema/", {"format": "json"}).json()
    unlock = schema["paths"]["/api/v1/staff/{id}/unlock/"]["post"]
    assert set(unlock["responses"]) >= {"200", "401", "403", "404"}
    assert "locked_until" in schema["components"]["schemas"]["Staff"]["properties"]
    assert "login_locked" in schema["paths"]["/api/v1/auth/token/"]["post"]["responses"]["429"]["description"]


# ---- the audit trail of logging in and out ----------------------------------------------------------------


def test_log_in_failure_and_log_out_are_audited_with_address_and_browser(chain, client):
    # when the cashier mistypes, logs in, and logs out
    log_in(client, "a1cash", "wrong")
    log_in(client, "a1cash", GOOD)
    client.post(reverse("logout"), **BROWSER)
    # then three rows, each with the address and the browser
    rows = (
        AuditEntry.objects.filter(subject_id=str(chain.cashier_a1.pk)).exclude(action="create").order_by("id")
    )
    assert [(row.action, row.ip, row.user_agent) for row in rows] == [
        ("login_failed", "198.51.100.7", "Mozilla/5.0 (till PC)"),
        ("login", "198.51.100.7", "Mozilla/5.0 (till PC)"),
        ("logout", "198.51.100.7", "Mozilla/5.0 (till PC)"),
    ]
    assert rows[2].actor_id == chain.cashier_a1.pk


def test_an_api_log_out_is_audited(chain, token_client):
    token = token_client.post(TOKEN_URL, {"username": "a1cash", "password": GOOD}, format="json").json()[
        "token"
    ]
    token_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert token_client.delete(TOKEN_URL).status_code == 204
    row = AuditEntry.objects.filter(action="logout").get()
    assert (row.actor_id, row.note, row.ip, row.user_agent) == (
        chain.cashier_a1.pk,
        "api token",
        "198.51.100.8",
        "till-app/2.1",
    )


def test_behind_a_proxy_a_forged_forwarded_address_does_not_escape_the_address_lock(chain, client, settings):
    # given OneCard behind one reverse proxy, and a guesser who writes a new X-Forwarded-For each time
    settings.ONECARD_TRUSTED_PROXIES = 1
    for n, username in enumerate(("a1cash", "a1mgr", "hqadmin", "eastmgr", "nobody")):
        log_in(
            client, username, "wrong", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=f"6.6.6.{n}, 203.0.113.9"
        )
    # when they try once more with yet another forged entry
    refused = log_in(
        client, "b1cash", GOOD, REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="7.7.7.7, 203.0.113.9"
    )
    # then the address the proxy saw is locked, and the audit log names it
    assert refused.status_code == 429
    assert LoginLock.objects.get().key == "203.0.113.9"
    assert set(AuditEntry.objects.filter(action="login_failed").values_list("ip", flat=True)) == {
        "203.0.113.9"
    }


def test_the_audit_log_page_shows_failed_log_ins_and_unlocks(chain, client):
    # given a lock-out and its unlock
    for _n in range(6):
        log_in(client, "a1cash", "wrong")
    services.unlock_staff(chain.hq_admin, chain.cashier_a1)
    # when the head office reads its audit log, filtered by action
    reader = Client()
    reader.force_login(chain.hq_admin)
    verify_session(reader, chain.hq_admin)  # past the second step: this test is not about it
    failed = reader.get(reverse("core:audit_log"), {"action": "login_failed"})
    unlocked = reader.get(reverse("core:audit_log"), {"action": "unlock"})
    # then the rows are there under their Chinese names
    assert failed.status_code == 200 and unlocked.status_code == 200
    assert failed.content.decode().count("data-entry=") == 6
    assert "登录失败" in failed.content.decode()
    assert unlocked.content.decode().count("data-entry=") == 1
    assert "登录解锁" in unlocked.content.decode()
