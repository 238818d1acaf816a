"""API v1: token log-in and log-out, "me", and the problem+json answer to a missing or bad token."""

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from onecard.core.models import AuditEntry

pytestmark = pytest.mark.usefixtures("api_urls")  # served the API urlconf only

TOKEN_URL = "/api/v1/auth/token/"


def test_token_is_issued_for_good_credentials_and_works(chain):
    # given
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    # when
    response = client.post(TOKEN_URL, {"username": "a1cash", "password": "pass-word-123"}, format="json")
    # then
    assert response.status_code == 200
    token = response.json()["token"]
    assert token == Token.objects.get(user=chain.cashier_a1).key
    assert AuditEntry.objects.filter(action="login", actor=chain.cashier_a1).count() == 1
    # and when the token is used
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    me = client.get("/api/v1/me/")
    assert me.status_code == 200
    assert me.json()["username"] == "a1cash"
    assert me.json()["id"] == str(chain.cashier_a1.pk)
    assert me.json()["node"]["id"] == str(chain.a1.pk)
    assert me.json()["node"]["name"] == "徐汇店"
    assert me.json()["permissions"] == [
        "cards.manage",
        "cards.view",
        "catalog.view",
        "members.add",
        "members.change",
        "members.view",
        "till.operate",
    ]
    # a built-in role is named in the language of the answer
    name = {"en": "Cashier", "zh-hans": "收银员"}[me["Content-Language"]]
    assert me.json()["roles"] == [{"id": str(chain.roles["cashier"].pk), "name": name}]


def test_token_accepts_a_form_post_like_curl_d(chain):
    response = APIClient().post(TOKEN_URL, {"username": "a1cash", "password": "pass-word-123"})
    assert response.status_code == 200
    assert len(response.json()["token"]) == 40


def test_wrong_password_is_refused_with_invalid_credentials(chain):
    # when
    response = APIClient(HTTP_ACCEPT_LANGUAGE="en").post(
        TOKEN_URL, {"username": "a1cash", "password": "wrong"}, format="json"
    )
    # then
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "invalid_credentials"
    assert body["detail"] == "Unable to log in with the given username and password."
    assert not Token.objects.exists()


def test_inactive_staff_gets_no_token(chain):
    chain.cashier_a1.is_active = False
    chain.cashier_a1.save()
    response = APIClient().post(TOKEN_URL, {"username": "a1cash", "password": "pass-word-123"}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_credentials"


def test_missing_password_is_a_validation_error(chain):
    response = APIClient(HTTP_ACCEPT_LANGUAGE="en").post(TOKEN_URL, {"username": "a1cash"}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert response.json()["errors"] == {"password": ["This field is required."]}


def test_delete_token_logs_out(chain, api):
    # given
    client = api(chain.cashier_a1)
    assert client.get("/api/v1/me/").status_code == 200
    # when
    response = client.delete(TOKEN_URL)
    # then
    assert response.status_code == 204
    assert not Token.objects.filter(user=chain.cashier_a1).exists()
    again = client.get("/api/v1/me/")
    assert again.status_code == 401
    assert again.json()["code"] == "authentication_failed"


def test_unauthenticated_request_is_401_problem_json(chain):
    # when
    response = APIClient(HTTP_ACCEPT_LANGUAGE="en").get("/api/v1/members/")
    # then
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert response["WWW-Authenticate"] == "Token"
    body = response.json()
    assert body["code"] == "not_authenticated"
    assert body["status"] == 401
    assert body["detail"] == "Authentication credentials were not provided."
    assert body["instance"] == "/api/v1/members/"


def test_unauthenticated_detail_follows_the_language_header(chain):
    response = APIClient(HTTP_ACCEPT_LANGUAGE="zh-hans").get("/api/v1/members/")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert response.json()["detail"]
    assert response.json()["detail"] != "Authentication credentials were not provided."


def test_bad_token_is_401_authentication_failed(chain):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token nonsense")
    response = client.get("/api/v1/me/")
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"


def test_superuser_me_has_every_permission_and_no_node(chain, api):
    body = api(chain.admin).get("/api/v1/me/").json()
    assert body["node"] is None
    assert body["is_superuser"] is True
    assert "roles.manage" in body["permissions"]
