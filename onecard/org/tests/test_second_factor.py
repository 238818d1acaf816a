"""Two-step verification: who must use it, the second step after the password, enrolment, recovery codes,
single use of a code, the lock after wrong codes, an administrator's reset, and API tokens."""

import datetime

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from onecard.core.clock import moved_now
from onecard.core.models import AuditEntry
from onecard.org import second_factor, totp
from onecard.org.models import RecoveryCode, SecondFactor, StaffSession
from onecard.org.permissions import BUILTIN_ROLES, SECOND_FACTOR_PERMISSIONS
from onecard.testing.second_factor import TEST_TOTP_SECRET, enrol

pytestmark = pytest.mark.usefixtures("english")

T0 = datetime.datetime(2026, 12, 1, 9, 0, 0, tzinfo=datetime.UTC)
PASSWORD = "pass-word-123"


@pytest.fixture(autouse=True)
def clock():
    """Every test here runs on a fixed clock, so the codes it types are known (onecard.core.clock)."""
    with moved_now(T0) as moved:
        yield moved


def browser():
    """A test client whose pages are in English (the module's `english` fixture reaches only `client`)."""
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.cookies["django_language"] = "en"
    return client


def code(when, secret=TEST_TOTP_SECRET):
    return totp.code_at(secret, totp.step_of(when))


def password_login(client, username):
    return client.post(reverse("login"), {"username": username, "password": PASSWORD})


def audit_notes(staff):
    return list(
        AuditEntry.objects.filter(action="second_factor", subject_id=str(staff.pk))
        .order_by("id")
        .values_list("note", flat=True)
    )


# ---- the algorithm ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("unix_time", "expected"),
    # RFC 6238 appendix B, SHA-1, secret "12345678901234567890": the last 6 of its 8-digit codes
    [
        (59, "287082"),
        (1111111109, "081804"),
        (1111111111, "050471"),
        (1234567890, "005924"),
        (2000000000, "279037"),
    ],
)
def test_codes_are_those_of_rfc_6238(unix_time, expected):
    secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"  # base32 of "12345678901234567890"
    assert totp.code_at(secret, unix_time // 30) == expected


def test_a_code_of_the_step_before_or_after_counts_and_no_further():
    secret = totp.new_secret()
    now_step = totp.step_of(T0)
    assert totp.matching_step(secret, totp.code_at(secret, now_step - 1), T0) == now_step - 1
    assert totp.matching_step(secret, totp.code_at(secret, now_step + 1), T0) == now_step + 1
    assert totp.matching_step(secret, totp.code_at(secret, now_step - 2), T0) is None
    assert totp.matching_step(secret, "12345", T0) is None
    assert totp.matching_step(secret, "１２３４５６", T0) is None  # full-width digits are not digits here


def test_the_secret_is_stored_sealed_not_in_clear(chain):
    # when
    secret = second_factor.start_enrolment(chain.hq_admin)
    # then
    stored = SecondFactor.objects.get(staff=chain.hq_admin).secret_sealed
    assert secret not in stored
    assert totp.unseal(stored) == secret


# ---- who must ----------------------------------------------------------------------------------------


def test_roles_that_change_rules_or_reveal_personal_data_must_use_it(chain):
    must = {
        name
        for name in (
            "admin",
            "hq_admin",
            "region_manager",
            "store_manager",
            "marketer",
            "cashier_a1",
            "sales",
            "service",
        )
        if second_factor.must_use_second_factor(getattr(chain, name))
    }
    assert must == {"admin", "hq_admin", "region_manager", "store_manager", "marketer"}
    # the cashier's role holds none of the permissions, the store manager's reveals personal data
    assert not set(BUILTIN_ROLES["cashier"][1]) & SECOND_FACTOR_PERMISSIONS
    assert "members.reveal_pii" in BUILTIN_ROLES["store_manager"][1]


def test_the_setting_turns_the_requirement_off(chain, settings):
    settings.ONECARD_REQUIRE_SECOND_FACTOR = False
    assert not second_factor.must_use_second_factor(chain.hq_admin)
    assert not second_factor.needs_second_step(chain.hq_admin)


# ---- the log-in --------------------------------------------------------------------------------------


def test_a_head_office_login_without_the_second_factor_is_sent_to_enrolment_and_gets_nothing_else(chain):
    client = browser()
    # when head office logs in with the right password but has no authenticator yet
    response = password_login(client, "hqadmin")
    assert response.status_code == 302
    # then every page sends them to enrolment, and the API refuses the session
    members = client.get("/members/")
    assert members.status_code == 302
    assert members["Location"] == "/account/two-factor/?next=%2Fmembers%2F"
    assert client.get("/org/staff/").status_code == 302
    api = client.get("/api/v1/me/")
    assert api.status_code == 403
    assert api["Content-Type"] == "application/problem+json"
    assert api.json()["code"] == "second_factor_required"
    # and htmx requests are sent there as a whole page
    htmx = client.get("/members/", HTTP_HX_REQUEST="true")
    assert htmx["HX-Redirect"].startswith("/account/two-factor/")


def test_enrolment_shows_a_qr_code_and_the_key_then_ten_recovery_codes_once(chain, clock):
    client = browser()
    password_login(client, "hqadmin")
    # when the enrolment page is opened
    page = client.get("/account/two-factor/?next=/members/")
    html = page.content.decode()
    assert page.status_code == 200
    assert 'src="data:image/svg+xml' in html
    assert "<script" not in html.split("<body", 1)[1].split("</body>", 1)[0].replace(
        '<script src="/static/', ""
    )  # no inline script in the page itself
    secret = totp.unseal(SecondFactor.objects.get(staff=chain.hq_admin).secret_sealed)
    assert " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)) in html
    # a wrong code leaves it off
    wrong = client.post("/account/two-factor/", {"code": "000000", "next": "/members/"})
    assert "That code is not right" in wrong.content.decode()
    assert not SecondFactor.objects.get(staff=chain.hq_admin).is_confirmed
    # and the right one turns it on and shows the recovery codes
    clock.advance(datetime.timedelta(seconds=5))
    done = client.post("/account/two-factor/", {"code": code(clock.now(), secret), "next": "/members/"})
    assert done.status_code == 200
    codes = done.context["codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    assert all(c in done.content.decode() for c in codes)
    assert RecoveryCode.objects.filter(staff=chain.hq_admin, used_at__isnull=True).count() == 10
    assert not RecoveryCode.objects.filter(code_hash__in=codes).exists()  # stored hashed
    assert SecondFactor.objects.get(staff=chain.hq_admin).is_confirmed
    assert audit_notes(chain.hq_admin) == ["enrolled"]
    # and this session may now work
    assert client.get("/members/").status_code == 200


def test_an_enrolled_head_office_login_needs_a_valid_code(chain):
    enrol(chain.hq_admin)
    client = browser()
    password_login(client, "hqadmin")
    # then a page sends to the second step
    response = client.get("/members/")
    assert response["Location"] == "/login/verify/?next=%2Fmembers%2F"
    # when a wrong code is typed: refused and audited
    wrong = client.post("/login/verify/", {"code": "123456", "next": "/members/"})
    assert wrong.status_code == 200
    assert "That code is not right" in wrong.content.decode()
    assert client.get("/members/").status_code == 302
    assert audit_notes(chain.hq_admin) == ["code refused"]
    # when the right one is typed: on to the page asked for
    right = client.post("/login/verify/", {"code": code(T0), "next": "/members/"})
    assert right.status_code == 302 and right["Location"] == "/members/"
    assert client.get("/members/").status_code == 200
    assert SecondFactor.objects.get(staff=chain.hq_admin).failures == 0


def test_a_code_cannot_be_used_twice(chain):
    enrol(chain.hq_admin)
    first, second = browser(), browser()
    password_login(first, "hqadmin")
    assert first.post("/login/verify/", {"code": code(T0)}).status_code == 302
    # when the same code is typed again in another browser, within its 30 seconds
    password_login(second, "hqadmin")
    again = second.post("/login/verify/", {"code": code(T0)})
    # then it is refused
    assert again.status_code == 200
    assert "used already" in again.content.decode()
    assert second.get("/members/").status_code == 302
    # and an older code is refused too, while the next step's passes
    with pytest.raises(second_factor.SecondFactorError):
        second_factor.verify(chain.hq_admin, code(T0 - datetime.timedelta(seconds=30)), when=T0)
    assert second_factor.verify(chain.hq_admin, code(T0 + datetime.timedelta(seconds=30)), when=T0) == "totp"


def test_a_recovery_code_works_once(chain):
    # given an enrolled store manager with recovery codes
    second_factor.start_enrolment(chain.store_manager)
    secret = totp.unseal(SecondFactor.objects.get(staff=chain.store_manager).secret_sealed)
    codes = second_factor.confirm_enrolment(chain.store_manager, code(T0, secret), when=T0)
    client = browser()
    password_login(client, "a1mgr")
    # when a recovery code is typed, written as it was printed but in capitals
    response = client.post("/login/verify/", {"code": codes[3].upper(), "next": "/members/"}, follow=True)
    # then the log-in passes and says how many are left
    assert response.status_code == 200
    assert "9 are left" in response.content.decode()
    assert audit_notes(chain.store_manager)[-1] == "recovery code used, 9 left"
    # and the same code is refused the next time
    other = browser()
    password_login(other, "a1mgr")
    again = other.post("/login/verify/", {"code": codes[3]})
    assert again.status_code == 200 and "That code is not right" in again.content.decode()
    assert audit_notes(chain.store_manager)[-1] == "code refused"


def test_five_wrong_codes_block_the_second_step_for_a_while(chain, clock):
    enrol(chain.hq_admin)
    client = browser()
    password_login(client, "hqadmin")
    for _n in range(4):
        assert client.post("/login/verify/", {"code": "000000"}).status_code == 200
    fifth = client.post("/login/verify/", {"code": "000000"})
    assert fifth.status_code == 429
    assert "Too many wrong codes. Try again in 15 minutes." in fifth.content.decode()
    # even the right code is refused while blocked
    assert client.post("/login/verify/", {"code": code(clock.now())}).status_code == 429
    clock.advance(datetime.timedelta(minutes=16))
    assert client.post("/login/verify/", {"code": code(clock.now())}).status_code == 302
    assert audit_notes(chain.hq_admin)[4] == "code refused; blocked for 15 minutes"


def test_a_cashier_logs_in_with_the_password_alone(chain):
    client = browser()
    response = password_login(client, "a1cash")
    assert response.status_code == 302
    assert client.get("/till/").status_code == 200
    assert not SecondFactor.objects.filter(staff=chain.cashier_a1).exists()


def test_a_cashier_who_chose_an_authenticator_gets_the_second_step(chain):
    enrol(chain.cashier_a1)
    client = browser()
    password_login(client, "a1cash")
    assert client.get("/till/")["Location"] == "/login/verify/?next=%2Ftill%2F"


# ---- reset ------------------------------------------------------------------------------------------


def test_an_administrator_resets_a_lost_authenticator_from_the_staff_page(chain, login):
    # given a store manager enrolled and logged in
    enrol(chain.store_manager)
    manager = browser()
    password_login(manager, "a1mgr")
    assert StaffSession.objects.filter(staff=chain.store_manager).count() == 1
    admin = login(chain.hq_admin)
    # when head office resets it
    response = admin.post(
        reverse("org:staff_reset_second_factor", args=[chain.store_manager.pk]), follow=True
    )
    # then it is gone, their sessions ended, and the reset audited
    assert response.status_code == 200
    assert "was reset" in response.content.decode()
    assert not SecondFactor.objects.filter(staff=chain.store_manager).exists()
    assert not StaffSession.objects.filter(staff=chain.store_manager).exists()
    assert audit_notes(chain.store_manager) == ["reset"]
    entry = AuditEntry.objects.get(action="second_factor", subject_id=str(chain.store_manager.pk))
    assert entry.actor == chain.hq_admin
    # and the manager's next log-in goes to enrolment
    password_login(manager, "a1mgr")
    assert manager.get("/members/")["Location"].startswith("/account/two-factor/")


def test_nobody_resets_their_own_and_a_cashier_resets_nobody(chain, api):
    enrol(chain.hq_admin)
    own = api(chain.hq_admin).post(f"/api/v1/staff/{chain.hq_admin.pk}/reset-second-factor/")
    assert own.status_code == 403 and own.json()["code"] == "self_second_factor_reset"
    assert SecondFactor.objects.filter(staff=chain.hq_admin).exists()
    by_cashier = api(chain.cashier_a1).post(f"/api/v1/staff/{chain.hq_admin.pk}/reset-second-factor/")
    assert by_cashier.status_code == 403
    # an administrator in scope may, through the API too
    ok = api(chain.admin).post(f"/api/v1/staff/{chain.hq_admin.pk}/reset-second-factor/")
    assert ok.status_code == 204
    assert not SecondFactor.objects.filter(staff=chain.hq_admin).exists()


# ---- API tokens --------------------------------------------------------------------------------------


TOKEN_URL = "/api/v1/auth/token/"


def test_the_token_endpoint_asks_for_the_code_of_an_enrolled_account(chain):
    enrol(chain.hq_admin)
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    missing = client.post(TOKEN_URL, {"username": "hqadmin", "password": PASSWORD}, format="json")
    wrong = client.post(
        TOKEN_URL, {"username": "hqadmin", "password": PASSWORD, "otp": "000000"}, format="json"
    )
    right = client.post(
        TOKEN_URL, {"username": "hqadmin", "password": PASSWORD, "otp": code(T0)}, format="json"
    )
    replay = client.post(
        TOKEN_URL, {"username": "hqadmin", "password": PASSWORD, "otp": code(T0)}, format="json"
    )
    assert (missing.status_code, missing.json()["code"]) == (400, "second_factor_required")
    assert missing.json()["detail"] == (
        "This account uses two-step verification: send the code of your authenticator app as `otp`."
    )
    assert (wrong.status_code, wrong.json()["code"]) == (400, "invalid_second_factor")
    assert right.status_code == 200
    assert right.json()["token"] == Token.objects.get(user=chain.hq_admin).key
    assert replay.status_code == 400
    assert audit_notes(chain.hq_admin) == ["code refused", "code refused"]


def test_the_token_endpoint_refuses_an_account_that_must_enrol_first(chain):
    response = APIClient(HTTP_ACCEPT_LANGUAGE="en").post(
        TOKEN_URL, {"username": "hqadmin", "password": PASSWORD, "otp": "123456"}, format="json"
    )
    assert response.status_code == 403
    assert response.json()["code"] == "second_factor_not_enrolled"
    assert not Token.objects.filter(user=chain.hq_admin).exists()


def test_a_wrong_password_says_nothing_about_the_second_factor(chain):
    enrol(chain.hq_admin)
    response = APIClient().post(TOKEN_URL, {"username": "hqadmin", "password": "nope-nope"}, format="json")
    assert (response.status_code, response.json()["code"]) == (400, "invalid_credentials")


def test_a_cashier_gets_a_token_with_the_password_alone(chain):
    response = APIClient().post(TOKEN_URL, {"username": "a1cash", "password": PASSWORD}, format="json")
    assert response.status_code == 200


def test_the_command_resets_the_last_administrators_authenticator(chain):
    from io import StringIO

    from django.core.management import CommandError, call_command

    enrol(chain.admin)
    out = StringIO()
    call_command("reset_second_factor", "root", stdout=out)
    assert "was reset" in out.getvalue()
    assert not SecondFactor.objects.filter(staff=chain.admin).exists()
    entry = AuditEntry.objects.get(action="second_factor", subject_id=str(chain.admin.pk))
    assert (entry.actor_name, entry.note) == ("system", "reset")
    with pytest.raises(CommandError, match="No staff member is called 'nobody'"):
        call_command("reset_second_factor", "nobody")


def test_the_demo_head_office_logs_in_with_the_published_key_and_a_demo_cashier_without(db):
    from django.core.management import call_command

    from onecard.core.demo_logins import DEMO_PASSWORD, DEMO_TOTP_SECRET
    from onecard.org.demo import build_demo_chain

    # given the demo chain
    build_demo_chain()
    # when the demo's head office logs in with the code `onecard demo-code` prints
    from io import StringIO

    out = StringIO()
    call_command("demo_code", stdout=out)
    printed = out.getvalue().split()[0]
    assert printed == totp.code_at(DEMO_TOTP_SECRET, totp.step_of(T0))
    client = browser()
    client.post(reverse("login"), {"username": "hq", "password": DEMO_PASSWORD})
    assert client.post("/login/verify/", {"code": printed}).status_code == 302
    # then head office is in; the demo cashier needs no code
    assert client.get("/members/").status_code == 200
    cashier = browser()
    cashier.post(reverse("login"), {"username": "cashier", "password": DEMO_PASSWORD})
    assert cashier.get("/till/").status_code == 200
