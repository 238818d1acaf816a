"""The till's quick log-in (换人): the till PIN one sets oneself, the staff card an administrator assigns, and
the log-in by either at the till's store, with its refusals, the lock-out and the audit rows (org.till_login)."""

import pytest
from django.contrib.auth.hashers import check_password
from django.core import signing
from django.test import Client
from django.urls import reverse
from django.utils import translation

from onecard.core.errors import ValidationFailed
from onecard.core.models import AuditEntry
from onecard.org import services, till_login
from onecard.org.models import LoginLock, StaffSession
from onecard.testing.second_factor import verify_session

pytestmark = pytest.mark.usefixtures("english")

PASSWORD = "pass-word-123"  # the chain's password for every account
PIN = "480519"
BROWSER = {"REMOTE_ADDR": "198.51.100.7", "HTTP_USER_AGENT": "Mozilla/5.0 (till PC)"}


def browser(language="en"):
    client = Client(**BROWSER)
    client.cookies["django_language"] = language
    return client


def logged_in(user):
    client = browser()
    client.force_login(user)
    return verify_session(client, user)


def quick(client, store, entry, pin="", *, till=None, next_url="/till/"):
    """Post the quick log-in form of `store`'s till (or of a `till` value as given)."""
    data = {"till": till if till is not None else till_login.signed_store(store), "next": next_url}
    return client.post(reverse("till_login"), {**data, "entry": entry, "pin": pin})


def logged_in_as(client):
    return client.session.get("_auth_user_id")


def with_pin(staff, pin=PIN):
    return till_login.set_till_pin(staff, staff, pin, current_password=PASSWORD)


def with_card(chain, staff, number="8800-0001"):
    return till_login.assign_staff_card(chain.hq_admin, staff, number)


def audit_rows(staff, action):
    rows = AuditEntry.objects.filter(subject_type="org.staff", subject_id=str(staff.pk), action=action)
    return list(rows.order_by("id"))


# ---- the till PIN ---------------------------------------------------------------------------------------


def test_a_cashier_sets_and_changes_a_till_pin_after_the_current_password_and_it_is_stored_hashed(chain):
    # given a cashier on their account
    client = logged_in(chain.cashier_a1)
    assert 'id="till-pin-link"' in client.get(reverse("profile")).content.decode()
    # when they set a PIN with their password
    answer = client.post(reverse("till_pin"), {"current_password": PASSWORD, "pin": PIN, "pin2": PIN})
    # then it is kept hashed, never as typed, and the setting is audited without it
    assert answer.status_code == 302 and answer["Location"] == reverse("profile")
    chain.cashier_a1.refresh_from_db()
    assert chain.cashier_a1.till_pin != PIN and PIN not in chain.cashier_a1.till_pin
    assert check_password(PIN, chain.cashier_a1.till_pin)
    # when they change it
    client.post(reverse("till_pin"), {"current_password": PASSWORD, "pin": "731946", "pin2": "731946"})
    chain.cashier_a1.refresh_from_db()
    assert check_password("731946", chain.cashier_a1.till_pin)
    # then both are audited, set then changed
    rows = [row.after for row in audit_rows(chain.cashier_a1, "update") if "till_pin" in (row.after or {})]
    assert rows == [{"till_pin": "set"}, {"till_pin": "changed"}]


def test_a_till_pin_is_refused_without_the_right_current_password(chain):
    # given a cashier on their account
    client = logged_in(chain.cashier_a1)
    # when they set a PIN with a wrong password
    answer = client.post(reverse("till_pin"), {"current_password": "wrong", "pin": PIN, "pin2": PIN})
    # then it is refused, and no PIN is kept
    assert answer.status_code == 200
    assert "Your password was entered incorrectly" in answer.content.decode()
    chain.cashier_a1.refresh_from_db()
    assert chain.cashier_a1.till_pin == ""


@pytest.mark.parametrize("pin", ["000000", "777777", "123456", "456789", "987654", "121212", "135135"])
def test_a_trivial_till_pin_is_refused_with_a_clear_chinese_message(chain, pin):
    # given a cashier whose pages are in Chinese
    client = browser("zh-hans")
    client.force_login(chain.cashier_a1)
    verify_session(client, chain.cashier_a1)
    # when they choose a PIN anyone would try
    answer = client.post(reverse("till_pin"), {"current_password": PASSWORD, "pin": pin, "pin2": pin})
    # then it is refused, saying why in Chinese
    assert answer.status_code == 200
    assert "这个 PIN 太容易被猜到" in answer.content.decode()
    chain.cashier_a1.refresh_from_db()
    assert chain.cashier_a1.till_pin == ""


def test_a_pin_is_six_digits(chain):
    # given a cashier; when the PIN is not six digits, then it is refused
    for pin in ("48051", "4805199", "48a519", "²²²²²²", "４８０５１９"):
        with translation.override("en"), pytest.raises(ValidationFailed) as refused:
            with_pin(chain.cashier_a1, pin)
        assert refused.value.errors["pin"] == ["The PIN is six digits."]


def test_only_staff_who_work_the_till_have_the_till_pin_page(chain):
    # given a marketer (no till.operate); when they open the till PIN page, then it is forbidden
    assert logged_in(chain.marketer).get(reverse("till_pin")).status_code == 403


def test_an_administrator_clears_a_pin_on_the_staff_page_and_a_cashier_cannot(chain):
    # given a cashier with a PIN
    with_pin(chain.cashier_a1)
    page = reverse("org:staff_edit", args=[chain.cashier_a1.pk])
    admin = logged_in(chain.hq_admin)
    assert 'id="clear-till-pin"' in admin.get(page).content.decode()
    # when another cashier tries to clear it, then they may not
    clear = reverse("org:staff_till_pin_clear", args=[chain.cashier_a1.pk])
    assert logged_in(chain.cashier_b1).post(clear).status_code == 403
    # when an administrator clears it
    assert admin.post(clear).status_code == 302
    # then it is gone, and the clearing is audited
    chain.cashier_a1.refresh_from_db()
    assert chain.cashier_a1.till_pin == ""
    cleared = [row for row in audit_rows(chain.cashier_a1, "update") if row.after == {"till_pin": "cleared"}]
    assert [row.actor_id for row in cleared] == [chain.hq_admin.pk]


# ---- the staff card ---------------------------------------------------------------------------------------


def test_an_administrator_assigns_a_staff_card_kept_only_as_a_keyed_hash_and_removes_it(chain):
    # given an administrator on a cashier's page
    admin = logged_in(chain.hq_admin)
    card_url = reverse("org:staff_card", args=[chain.cashier_a1.pk])
    # when they swipe a card into the staff card field
    assert admin.post(card_url, {"number": "8800-0001"}).status_code == 302
    # then the number is not stored, but the card finds its holder at the merchant's stores
    chain.cashier_a1.refresh_from_db()
    assert chain.cashier_a1.staff_card and "8800" not in chain.cashier_a1.staff_card
    assert till_login.card_holder(chain.a2, " 8800-0001 ") == chain.cashier_a1
    assert till_login.card_holder(chain.other_store, "8800-0001") is None
    # when they remove it
    assert admin.post(card_url, {"remove": "1"}).status_code == 302
    # then the card finds nobody, and both changes are audited
    chain.cashier_a1.refresh_from_db()
    assert chain.cashier_a1.staff_card is None
    assert till_login.card_holder(chain.a1, "8800-0001") is None
    changes = [
        row.after for row in audit_rows(chain.cashier_a1, "update") if "staff_card" in (row.after or {})
    ]
    assert changes == [{"staff_card": "assigned"}, {"staff_card": "removed"}]


def test_a_staff_card_is_unique_within_the_merchant_only(chain):
    # given a card of a cashier of Acme
    with_card(chain, chain.cashier_a1)
    # when an administrator gives the same number to another person of Acme
    admin = logged_in(chain.hq_admin)
    answer = admin.post(
        reverse("org:staff_card", args=[chain.cashier_b1.pk]), {"number": "8800-0001"}, follow=True
    )
    # then it is refused, saying so
    assert "This staff card is already assigned to someone else." in answer.content.decode()
    chain.cashier_b1.refresh_from_db()
    assert chain.cashier_b1.staff_card is None
    # but another merchant may use the same number for its own staff
    till_login.assign_staff_card(None, chain.other_manager, "8800-0001")
    assert till_login.card_holder(chain.other_store, "8800-0001") == chain.other_manager
    assert till_login.card_holder(chain.a1, "8800-0001") == chain.cashier_a1


def test_a_cashier_cannot_assign_staff_cards(chain):
    # given a cashier (no staff.manage); when they assign a card to a colleague, then it is forbidden
    answer = logged_in(chain.cashier_a1).post(
        reverse("org:staff_card", args=[chain.cashier_b1.pk]), {"number": "8800-0002"}
    )
    assert answer.status_code == 403


# ---- the quick log-in -----------------------------------------------------------------------------------


def test_the_switch_button_logs_out_and_opens_the_quick_log_in_of_the_till_store(chain):
    # given a cashier at the till
    client = logged_in(chain.cashier_a1)
    page = client.get("/till/").content.decode()
    signed = till_login.signed_store(chain.a1)
    assert f"/login/till/?till={signed.replace(':', '%3A')}&amp;next=%2Ftill%2F" in page
    # when they press 换人
    answer = client.post(reverse("logout"), {"next": f"/login/till/?till={signed}&next=/till/"})
    # then the quick log-in page of their store opens, the card or code field waiting, a link to the password
    assert answer.status_code == 302 and answer["Location"].startswith("/login/till/?till=")
    quick_page = client.get(answer["Location"]).content.decode()
    assert "Store: 徐汇店" in quick_page and 'name="entry"' in quick_page and "autofocus" in quick_page
    assert 'href="/login/?next=%2Ftill%2F"' in quick_page
    assert not StaffSession.objects.filter(staff=chain.cashier_a1).exists()


def test_a_staff_code_and_pin_log_the_cashier_in_to_a_till_session_back_on_the_till_page(chain):
    # given a cashier of the store with a PIN
    with_pin(chain.cashier_a1)
    client = browser()
    # when they type their code and PIN on the till's quick log-in
    answer = quick(client, chain.a1, "a1cash", PIN, next_url="/till/sale/")
    # then they are back on the till page they came from, in a till session
    assert answer.status_code == 302 and answer["Location"] == "/till/sale/"
    assert logged_in_as(client) == str(chain.cashier_a1.pk)
    assert list(StaffSession.objects.values_list("staff__username", "profile")) == [("a1cash", "till")]
    assert client.get("/till/sale/").status_code == 200
    # and the log-in is audited with the address, the browser and the method
    [login] = audit_rows(chain.cashier_a1, "login")
    assert (login.note, login.ip, login.user_agent) == ("till PIN", "198.51.100.7", "Mozilla/5.0 (till PC)")


def test_a_staff_card_swipe_logs_its_holder_in(chain):
    # given a cashier with a staff card
    with_card(chain, chain.cashier_a1)
    client = browser()
    # when the card reader types the number and Enter (no PIN)
    answer = quick(client, chain.a1, "8800-0001")
    # then its holder is logged in to a till session, back on the till
    assert answer.status_code == 302 and answer["Location"] == "/till/"
    assert logged_in_as(client) == str(chain.cashier_a1.pk)
    assert StaffSession.objects.get(staff=chain.cashier_a1).profile == "till"
    [login] = audit_rows(chain.cashier_a1, "login")
    assert login.note == "staff card"


def test_next_is_checked_as_the_log_in_checks_it(chain):
    # given a cashier with a PIN
    with_pin(chain.cashier_a1)
    # when the quick log-in is asked to go back to another site, then it goes home instead
    answer = quick(browser(), chain.a1, "a1cash", PIN, next_url="https://evil.example/till/")
    assert answer.status_code == 302 and answer["Location"] == reverse("home")


def test_a_person_above_the_store_who_works_the_till_there_lands_on_that_store(chain):
    # given someone placed at the region, who works the till and holds nothing that needs the second factor
    role = services.create_role(
        None, merchant=chain.merchant, name="Floating cashier", permissions=["till.operate"]
    )
    floater = services.create_staff(
        None, username="floater", password=PASSWORD, node=chain.east, roles=[role]
    )
    with_pin(floater)
    client = browser()
    # when they log in quickly at store A1's till
    assert quick(client, chain.a1, "floater", PIN).status_code == 302
    # then the till works for A1 without picking it again
    assert 'id="till-store"' in client.get("/till/").content.decode()
    assert client.session[till_login.TILL_STORE_SESSION_KEY] == chain.a1.pk
    # but not at a store outside their region
    assert quick(browser(), chain.b1, "floater", PIN).status_code == 403


def test_a_manager_who_needs_two_step_verification_is_told_to_use_the_password(chain):
    # given a store manager (their roles need the second factor) with a PIN and a card
    with_pin(chain.store_manager)
    with_card(chain, chain.store_manager)
    for entry, pin in (("a1mgr", PIN), ("8800-0001", "")):
        client = browser("zh-hans")
        # when they use the quick log-in
        answer = quick(client, chain.a1, entry, pin)
        # then they are refused, told in Chinese to log in with the password and two-step verification
        assert answer.status_code == 403
        assert "请用密码（和两步验证）登录" in answer.content.decode()
        assert logged_in_as(client) is None
    # and both refusals are audited with the method, without counting towards a lock-out
    refusals = audit_rows(chain.store_manager, "login_failed")
    assert [row.after["method"] for row in refusals] == ["till PIN", "staff card"]
    assert {row.note for row in refusals} == {"refused: quick log-in not allowed"}
    assert not LoginLock.objects.exists()


def test_a_cashier_of_another_store_is_told_to_use_the_password(chain):
    # given a cashier of store B1 with a PIN
    with_pin(chain.cashier_b1)
    client = browser()
    # when they use the quick log-in at A1's till
    answer = quick(client, chain.a1, "b1cash", PIN)
    # then they are refused and told to use the password
    assert answer.status_code == 403
    assert "You do not work at this store. Log in with your password." in answer.content.decode()
    assert logged_in_as(client) is None


def test_an_inactive_person_cannot_log_in_quickly(chain):
    # given a cashier with a PIN and a card who has left
    with_pin(chain.cashier_a1)
    with_card(chain, chain.cashier_a1)
    services.update_staff(chain.hq_admin, chain.cashier_a1, is_active=False)
    client = browser()
    # when they try the PIN, then the card, then both are refused as wrong, and nobody is logged in
    for entry, pin in (("a1cash", PIN), ("8800-0001", "")):
        answer = quick(client, chain.a1, entry, pin)
        assert answer.status_code == 200 and "Wrong staff code or PIN" in answer.content.decode()
    assert logged_in_as(client) is None


def test_a_wrong_pin_and_an_unknown_card_are_refused_and_audited_as_failed_log_ins(chain):
    # given a cashier with a PIN
    with_pin(chain.cashier_a1)
    client = browser()
    # when a wrong PIN, then an unknown card, is tried
    wrong = quick(client, chain.a1, "a1cash", "731946")
    unknown = quick(client, chain.a1, "9999-0000")
    # then both are refused with the same message, and nobody is logged in
    for answer in (wrong, unknown):
        assert answer.status_code == 200
        assert "Wrong staff code or PIN, or an unknown staff card." in answer.content.decode()
    assert logged_in_as(client) is None
    # and each is a failed log-in in the audit log, with the address, the browser and the method
    rows = list(AuditEntry.objects.filter(action="login_failed").order_by("id"))
    assert [(row.subject_repr, row.after, row.note) for row in rows] == [
        ("a1cash", {"username": "a1cash", "method": "till PIN"}, "wrong till PIN"),
        ("—", {"username": "", "method": "staff card"}, "wrong staff card"),
    ]
    assert {(row.ip, row.user_agent) for row in rows} == {("198.51.100.7", "Mozilla/5.0 (till PC)")}


def test_a_forged_store_signature_is_refused(chain):
    # given a cashier of B1 with a PIN, at a till whose link names B1 without a valid signature
    with_pin(chain.cashier_b1)
    # B1's id with the signature of A1's
    forged = (
        signing.dumps(chain.b1.pk).split(":")[0] + ":" + till_login.signed_store(chain.a1).split(":", 1)[1]
    )
    client = browser()
    # when the page is opened or the form posted, then it is refused and nobody is logged in
    for till in (forged, f"{chain.b1.pk}", ""):
        assert client.get(reverse("till_login"), {"till": till}).status_code == 400
        answer = quick(client, chain.b1, "b1cash", PIN, till=till)
        assert answer.status_code == 400
        assert "link is not valid. Log in with your password." in answer.content.decode()
    assert logged_in_as(client) is None


def test_repeated_wrong_pins_lock_the_account_as_wrong_passwords_do(chain):
    # given a cashier with a PIN
    with_pin(chain.cashier_a1)
    client = browser()
    # when five wrong PINs are typed
    for _n in range(5):
        quick(client, chain.a1, "a1cash", "731946")
    # then the account is locked: the right PIN, and the right password, are refused with the lock's message
    answer = quick(client, chain.a1, "a1cash", PIN)
    assert answer.status_code == 429 and int(answer["Retry-After"]) > 0
    assert "Too many failed log-in attempts" in answer.content.decode()
    assert logged_in_as(client) is None
    password = browser().post(reverse("login"), {"username": "a1cash", "password": PASSWORD})
    assert password.status_code == 429
    assert set(LoginLock.objects.values_list("scope", "key")) == {
        ("account", "a1cash"),
        ("address", "198.51.100.7"),
    }
    # and the card of a locked account does not log in either
    with_card(chain, chain.cashier_a1)
    assert quick(browser(), chain.a1, "8800-0001").status_code == 429
    refused = audit_rows(chain.cashier_a1, "login_failed")[-1]
    assert (refused.note, refused.after["method"]) == ("refused: log-in locked", "staff card")
