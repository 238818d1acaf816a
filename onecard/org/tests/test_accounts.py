"""Own roles cannot be changed by oneself; a new password ends the account's API token and other sessions."""

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token

from onecard.core.models import AuditEntry
from onecard.org import services
from onecard.testing.second_factor import verify_session

NEW_PASSWORD = "Fresh-pass-456"


# ---- own roles ----------------------------------------------------------------------------------------


def test_nobody_removes_their_own_roles_through_the_api(chain, api):
    # when
    response = api(chain.hq_admin).patch(f"/api/v1/staff/{chain.hq_admin.pk}/", {"roles": []}, format="json")
    # then
    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "self_role_change"
    assert response.json()["detail"] == "You cannot change your own roles; ask another administrator."
    assert list(chain.hq_admin.roles.values_list("code", flat=True)) == ["hq_admin"]


def test_own_roles_sent_unchanged_with_other_fields_are_fine(chain, api):
    response = api(chain.hq_admin).patch(
        f"/api/v1/staff/{chain.hq_admin.pk}/",
        {"roles": [str(chain.roles["hq_admin"].pk)], "display_name": "周敏"},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["display_name"] == "周敏"


def test_the_staff_page_shows_the_refusal_next_to_the_roles(chain, login):
    # given
    client = login(chain.hq_admin)
    url = reverse("org:staff_edit", args=[chain.hq_admin.pk])
    # when
    response = client.post(
        url,
        {"node": chain.hq.pk, "roles": [chain.roles["marketer"].pk], "display_name": "x", "is_active": "on"},
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    # then
    assert response.status_code == 200
    assert response.context["form"].errors["roles"] == ["不能修改自己的角色，请由其他管理员操作。"]
    assert list(chain.hq_admin.roles.values_list("code", flat=True)) == ["hq_admin"]


# ---- a new password ends other log-ins ----------------------------------------------------------------


def _logged_in(user):
    client = Client()
    client.force_login(user)
    return verify_session(client, user)  # past the second step: a store manager needs one


def _still_logged_in(client):
    return client.get(reverse("password_change")).status_code == 200


def test_a_password_set_through_the_api_revokes_the_token_and_other_sessions(chain, api):
    # given: the cashier is logged in on the web and holds an API token
    web = _logged_in(chain.cashier_a1)
    cashier_api = api(chain.cashier_a1)
    assert cashier_api.get("/api/v1/me/").status_code == 200
    # when
    response = api(chain.region_manager).post(
        f"/api/v1/staff/{chain.cashier_a1.pk}/password/", {"password": NEW_PASSWORD}, format="json"
    )
    # then
    assert response.status_code == 204
    assert cashier_api.get("/api/v1/me/").status_code == 401
    assert not Token.objects.filter(user=chain.cashier_a1).exists()
    assert not _still_logged_in(web)
    entry = AuditEntry.objects.filter(subject_id=str(chain.cashier_a1.pk)).latest("id")
    assert (entry.after, entry.note) == ({"password": "changed"}, "api token revoked")


def test_a_refused_password_leaves_the_token(chain, api):
    cashier_api = api(chain.cashier_a1)
    response = api(chain.region_manager).post(
        f"/api/v1/staff/{chain.cashier_a1.pk}/password/", {"password": "12345678"}, format="json"
    )
    assert response.status_code == 400
    assert cashier_api.get("/api/v1/me/").status_code == 200


def test_the_own_password_page_keeps_this_session_and_ends_the_others(chain, api):
    # given
    here, elsewhere = _logged_in(chain.store_manager), _logged_in(chain.store_manager)
    own_api = api(chain.store_manager)
    # when
    response = here.post(
        reverse("password_change"),
        {"old_password": "pass-word-123", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    # then
    assert response.status_code == 302
    assert _still_logged_in(here)
    assert not _still_logged_in(elsewhere)
    assert own_api.get("/api/v1/me/").status_code == 401


def test_the_staff_password_page_revokes_the_token(chain, api, login):
    # given
    cashier_api = api(chain.cashier_a1)
    # when
    login(chain.region_manager).post(
        reverse("org:staff_password", args=[chain.cashier_a1.pk]),
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    # then
    assert cashier_api.get("/api/v1/me/").status_code == 401


def test_setting_ones_own_password_on_the_staff_page_keeps_that_session(chain, login):
    client = login(chain.region_manager)
    client.post(
        reverse("org:staff_password", args=[chain.region_manager.pk]),
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert _still_logged_in(client)


def test_the_admin_password_page_revokes_the_token_and_audits(chain, api, login):
    # given
    cashier_api = api(chain.cashier_a1)
    web = _logged_in(chain.cashier_a1)
    # when
    response = login(chain.admin).post(
        reverse("admin:auth_user_password_change", args=[chain.cashier_a1.pk]),
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"},
    )
    # then
    assert response.status_code == 302
    chain.cashier_a1.refresh_from_db()
    assert chain.cashier_a1.check_password(NEW_PASSWORD)
    assert cashier_api.get("/api/v1/me/").status_code == 401
    assert not _still_logged_in(web)
    entry = AuditEntry.objects.filter(subject_id=str(chain.cashier_a1.pk)).latest("id")
    assert (entry.actor, entry.after) == (chain.admin, {"password": "changed"})


@pytest.mark.parametrize("actor", ["cashier_a1", "region_manager"])
def test_the_service_revokes_whoever_sets_it(chain, actor):
    Token.objects.create(user=chain.cashier_a1)
    services.set_staff_password(getattr(chain, actor), chain.cashier_a1, NEW_PASSWORD)
    assert not Token.objects.filter(user=chain.cashier_a1).exists()
