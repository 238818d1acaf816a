"""Staff sessions: idle and absolute limits per kind of session, the lists of one's own and someone's
sessions with revocation, and every session and token ended on a password or role change."""

import datetime

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token

from onecard.core.clock import moved_now
from onecard.core.models import AuditEntry
from onecard.org import services, staff_sessions
from onecard.org.models import StaffSession
from onecard.testing.second_factor import verify_session

pytestmark = pytest.mark.usefixtures("english")

T0 = datetime.datetime(2026, 12, 1, 9, 0, 0, tzinfo=datetime.UTC)
PASSWORD = "pass-word-123"


@pytest.fixture(autouse=True)
def clock():
    """Every test here runs on a moved clock that it advances (onecard.core.clock)."""
    with moved_now(T0) as moved:
        yield moved


def logged_in(user, agent="Mozilla/5.0 test"):
    client = Client(HTTP_USER_AGENT=agent)
    client.cookies["django_language"] = "en"
    client.post(reverse("login"), {"username": user.username, "password": PASSWORD})
    return verify_session(client, user)


def test_a_cashier_session_is_a_till_session_and_a_manager_one_is_back_office(chain):
    assert staff_sessions.profile_for(chain.cashier_a1) == "till"
    assert staff_sessions.profile_for(chain.store_manager) == "office"
    assert staff_sessions.profile_for(chain.hq_admin) == "office"
    assert staff_sessions.profile_for(chain.service) == "office"  # no till: nothing shared


def test_a_till_session_idle_past_its_limit_is_refused(chain, clock):
    # given a cashier logged in at the till
    client = logged_in(chain.cashier_a1)
    assert client.get("/till/").status_code == 200
    # when the till is used 14 minutes later: still fine, and seen again
    clock.advance(datetime.timedelta(minutes=14))
    assert client.get("/till/").status_code == 200
    assert StaffSession.objects.get(staff=chain.cashier_a1).last_seen_at == clock.now()
    # when it then stands 16 minutes untouched
    clock.advance(datetime.timedelta(minutes=16))
    response = client.get("/till/")
    # then the session is over: to the log-in form with a message, back to the till after it
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=%2Ftill%2F"
    page = client.get(response["Location"])
    assert "You were away too long, so you were logged out." in page.content.decode()
    assert not StaffSession.objects.filter(staff=chain.cashier_a1).exists()
    entry = AuditEntry.objects.filter(action="session_end", subject_id=str(chain.cashier_a1.pk)).get()
    assert entry.note == "idle" and entry.actor is None
    # and the end is not also audited as a log-out the cashier never did
    assert not AuditEntry.objects.filter(action="logout").exists()


def test_a_back_office_session_may_stay_idle_longer_than_a_till(chain, clock):
    client = logged_in(chain.store_manager)
    clock.advance(datetime.timedelta(minutes=25))
    assert client.get("/members/").status_code == 200
    clock.advance(datetime.timedelta(minutes=31))
    assert client.get("/members/").status_code == 302


def test_a_session_past_its_absolute_lifetime_is_refused_however_busy(chain, clock):
    # given a manager who works without a break, a request every 20 minutes
    client = logged_in(chain.store_manager)
    for _n in range(35):  # 11 h 40 min
        clock.advance(datetime.timedelta(minutes=20))
        assert client.get("/members/").status_code == 200
    # when the 12 hours are up
    clock.advance(datetime.timedelta(minutes=21))
    response = client.get("/members/")
    # then the session is over
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert (
        AuditEntry.objects.get(action="session_end", subject_id=str(chain.store_manager.pk)).note
        == "lifetime"
    )


def test_the_limits_follow_the_settings(chain, clock, settings):
    settings.ONECARD_TILL_SESSION_IDLE_MINUTES = 5
    client = logged_in(chain.cashier_a1)
    clock.advance(datetime.timedelta(minutes=6))
    assert client.get("/till/").status_code == 302


def test_an_ended_session_answers_htmx_with_a_whole_page_redirect_and_the_api_with_a_problem(chain, clock):
    page, api = logged_in(chain.cashier_a1), logged_in(chain.cashier_a1)
    clock.advance(datetime.timedelta(minutes=20))
    htmx = page.get("/till/", HTTP_HX_REQUEST="true")
    assert htmx.status_code == 200
    assert htmx["HX-Redirect"] == "/login/"
    problem = api.get("/api/v1/me/")
    assert problem.status_code == 401
    assert problem.json()["code"] == "session_expired"


def test_the_log_in_form_works_in_a_browser_whose_session_ended(chain, clock):
    client = logged_in(chain.cashier_a1)
    clock.advance(datetime.timedelta(minutes=20))
    response = client.post(reverse("login"), {"username": "a1cash", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/till/").status_code == 200


# ---- the lists and revocation -----------------------------------------------------------------------


def test_my_sessions_lists_each_browser_and_ends_one(chain):
    # given the manager logged in on a PC and a tablet
    pc, tablet = (
        logged_in(chain.store_manager, "PC browser"),
        logged_in(chain.store_manager, "Tablet browser"),
    )
    # when the PC opens the list
    page = pc.get(reverse("my_sessions"))
    html = page.content.decode()
    # then both are there, this one marked
    assert "PC browser" in html and "Tablet browser" in html
    assert html.count("This browser") == 1
    tablet_row = StaffSession.objects.get(user_agent="Tablet browser")
    # when the PC ends the tablet's
    response = pc.post(reverse("my_sessions"), {"session": str(tablet_row.pk)})
    # then the tablet is logged out and the PC is not
    assert response.status_code == 302
    assert tablet.get("/members/").status_code == 302
    assert pc.get("/members/").status_code == 200
    assert list(StaffSession.objects.values_list("user_agent", flat=True)) == ["PC browser"]
    assert AuditEntry.objects.get(action="session_end").note == "ended by its owner"


def test_nobody_ends_someone_elses_session_from_their_own_list(chain):
    mine, theirs = logged_in(chain.store_manager), logged_in(chain.cashier_a1)
    other = StaffSession.objects.get(staff=chain.cashier_a1)
    mine.post(reverse("my_sessions"), {"session": str(other.pk)})
    assert theirs.get("/till/").status_code == 200


def test_log_out_everywhere_else(chain):
    here, there = logged_in(chain.store_manager), logged_in(chain.store_manager)
    here.post(reverse("my_sessions"), {"others": "1"})
    assert here.get("/members/").status_code == 200
    assert there.get("/members/").status_code == 302


def test_an_administrator_sees_and_ends_someones_sessions_on_the_staff_page(chain, login):
    # given the cashier logged in with a token too
    cashier = logged_in(chain.cashier_a1, "Till browser")
    Token.objects.create(user=chain.cashier_a1)
    admin = login(chain.hq_admin)
    url = reverse("org:staff_edit", args=[chain.cashier_a1.pk])
    # when head office opens the cashier's page
    html = admin.get(url).content.decode()
    assert "Till browser" in html
    # and ends everything
    admin.post(reverse("org:staff_sessions_end", args=[chain.cashier_a1.pk]), {"all": "1"})
    # then the cashier is out, the token too
    assert cashier.get("/till/").status_code == 302
    assert not Token.objects.filter(user=chain.cashier_a1).exists()


def test_a_cashier_cannot_end_other_peoples_sessions(chain, login):
    logged_in(chain.store_manager)
    response = login(chain.cashier_a1).post(
        reverse("org:staff_sessions_end", args=[chain.store_manager.pk]), {"all": "1"}
    )
    assert response.status_code == 403
    assert StaffSession.objects.filter(staff=chain.store_manager).count() == 1


# ---- password and role changes ------------------------------------------------------------------------


def test_a_password_change_ends_the_other_sessions_and_the_token(chain):
    # given the manager on two browsers with an API token
    here, there = logged_in(chain.store_manager), logged_in(chain.store_manager)
    Token.objects.create(user=chain.store_manager)
    # when they change their password on one
    response = here.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": "Fresh-pass-456", "new_password2": "Fresh-pass-456"},
    )
    # then that one goes on, the other and the token do not
    assert response.status_code == 302
    assert here.get("/members/").status_code == 200
    assert there.get("/members/").status_code == 302
    assert not Token.objects.filter(user=chain.store_manager).exists()
    assert StaffSession.objects.filter(staff=chain.store_manager).count() == 1


def test_a_role_change_ends_every_session_and_the_token(chain):
    # given the cashier at the till with a token
    cashier = logged_in(chain.cashier_a1)
    Token.objects.create(user=chain.cashier_a1)
    # when head office makes them a store manager
    services.update_staff(chain.hq_admin, chain.cashier_a1, roles=[chain.roles["store_manager"]])
    # then they must log in again (and will get the back-office limits and the second factor)
    assert cashier.get("/till/").status_code == 302
    assert not Token.objects.filter(user=chain.cashier_a1).exists()
    entry = AuditEntry.objects.filter(action="session_end", subject_id=str(chain.cashier_a1.pk)).get()
    assert (entry.note, entry.actor, entry.after) == (
        "roles changed",
        chain.hq_admin,
        {"sessions": 1, "api_token": True},
    )


def test_a_change_of_name_ends_nothing(chain):
    cashier = logged_in(chain.cashier_a1)
    services.update_staff(chain.hq_admin, chain.cashier_a1, display_name="新名字")
    assert cashier.get("/till/").status_code == 200


def test_stale_rows_are_purged(chain, clock):
    logged_in(chain.cashier_a1)
    logged_in(chain.store_manager)
    clock.advance(datetime.timedelta(minutes=20))
    assert staff_sessions.purge_stale() == 1
    assert list(StaffSession.objects.values_list("staff__username", flat=True)) == ["a1mgr"]


def test_switch_cashier_logs_out_and_opens_the_log_in_form_back_to_the_till(chain):
    # given a cashier at the till
    client = logged_in(chain.cashier_a1)
    page = client.get("/till/").content.decode()
    assert 'id="switch-cashier"' in page
    # when they press 换人
    response = client.post(reverse("logout"), {"next": "/login/?next=%2Ftill%2F"})
    # then the log-in form opens for the next one, who comes back to the till
    assert response.status_code == 302 and response["Location"] == "/login/?next=%2Ftill%2F"
    assert not StaffSession.objects.filter(staff=chain.cashier_a1).exists()
    # and the log-out is audited once, as a log-out (ending its row is no session_end of its own)
    assert AuditEntry.objects.filter(action="logout", subject_id=str(chain.cashier_a1.pk)).count() == 1
    assert not AuditEntry.objects.filter(action="session_end").exists()
    assert client.get("/till/").status_code == 302
    nxt = Client()
    nxt.post(reverse("login"), {"username": "b1cash", "password": PASSWORD, "next": "/till/"})
    assert nxt.get("/till/").status_code == 200


def test_the_message_of_an_idle_till_is_in_chinese(chain, clock):
    # given a cashier whose pages are in the installation's language
    client = Client()
    client.post(reverse("login"), {"username": "a1cash", "password": PASSWORD})
    clock.advance(datetime.timedelta(minutes=16))
    # when the till is touched again
    page = client.get("/till/", follow=True)
    # then the log-in form says why, in Chinese
    assert page.request["PATH_INFO"] == "/login/"
    assert "您长时间未操作，已自动退出，请重新登录。" in page.content.decode()
