"""Every API error is problem+json with the same members: malformed ids, unknown routes, crashes, nested fields."""

import logging

import pytest

from onecard.core.ids import parse_id
from onecard.members import api as members_api

pytestmark = pytest.mark.usefixtures("api_urls")  # served the API urlconf only

PROBLEM_MEMBERS = {"type", "title", "status", "code", "detail", "instance", "errors", "extra"}


def _assert_problem(response, status, code):
    assert response.status_code == status
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert set(body) == PROBLEM_MEMBERS
    assert (body["status"], body["code"]) == (status, code)
    assert body["type"] == f"https://onecard.example/problems/{code}"
    assert all(isinstance(body[k], str) for k in ("type", "title", "code", "detail", "instance"))
    assert isinstance(body["errors"], dict) and isinstance(body["extra"], dict)
    assert all(isinstance(m, str) for messages in body["errors"].values() for m in messages)
    return body


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (42, 42),
        ("42", 42),
        (" 7 ", 7),
        ("²", None),  # "²".isdigit() is True, int("²") fails
        ("٣", None),  # int("٣") == 3: still not an id as sent
        ("0", None),
        (-1, None),
        (True, None),
        ("4.0", None),
        ("1e3", None),
        (None, None),
        ("", None),
        (2**63 - 1, 2**63 - 1),
        (str(2**63), None),  # past a 64-bit column: the database driver would overflow
        ([1], None),
    ],
)
def test_parse_id_takes_ascii_digits_within_a_database_id(value, expected):
    assert parse_id(value) == expected


def test_problems_of_every_kind_have_the_same_members(chain, member_factory, api):
    # given
    member_factory(phone="13912345678")
    client = api(chain.hq_admin)
    # when / then
    _assert_problem(api().get("/api/v1/members/"), 401, "not_authenticated")
    _assert_problem(api(chain.cashier_a1).get("/api/v1/org-nodes/"), 403, "permission_denied")
    _assert_problem(client.get("/api/v1/members/999999/"), 404, "not_found")
    _assert_problem(client.put("/api/v1/members/"), 405, "method_not_allowed")
    invalid = _assert_problem(client.post("/api/v1/members/", {}, format="json"), 400, "validation_error")
    assert invalid["errors"] == {"name": ["This field is required."]}
    assert invalid["extra"] == {}
    duplicate = _assert_problem(
        client.post("/api/v1/members/", {"name": "李四", "phone": "13912345678"}, format="json"),
        409,
        "duplicate_phone",
    )
    assert duplicate["errors"] == {}
    assert set(duplicate["extra"]["existing_member"]) == {"id", "member_no", "url"}


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/members/abc/",
        "/api/v1/members/%C2%B2/",  # "²"
        "/api/v1/members/null,null/contacts/",
        "/api/v1/catalog/products/99999999999999999999999/",
        "/api/v1/staff/%C2%84/",
        "/api/v1/no-such-thing/",
    ],
)
def test_a_malformed_id_or_unknown_route_is_a_problem_404(chain, api, path):
    body = _assert_problem(api(chain.hq_admin).get(path), 404, "not_found")
    assert body["instance"].startswith("/api/v1/")


def test_an_unexpected_exception_is_a_logged_problem_500(chain, api, monkeypatch, caplog):
    # given: a bug deep inside a view
    def crash(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(members_api.MemberViewSet, "list", crash)
    client = api(chain.hq_admin)
    client.raise_request_exception = False
    # when
    with caplog.at_level(logging.ERROR, logger="django.request"):
        response = client.get("/api/v1/members/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    # then
    body = _assert_problem(response, 500, "server_error")
    assert body["detail"] == "服务器无法处理此请求，错误已记录。"
    assert "a bug" in caplog.text


def test_nested_field_errors_are_dotted_field_names(chain, cat, api):
    # when
    response = api(chain.hq_admin).post(
        "/api/v1/catalog/products/",
        {"sku": "X-1", "name": "礼盒", "list_price": 100, "member_prices": [{"tier": "²", "price": "abc"}]},
        format="json",
    )
    # then
    body = _assert_problem(response, 400, "validation_error")
    assert set(body["errors"]) == {"member_prices.0.tier", "member_prices.0.price"}


def test_the_site_answers_problems_under_the_api_and_its_pages_elsewhere(chain, api, login, settings):
    # given: the project's own urlconf, with the web UI and its error pages
    settings.ROOT_URLCONF = "onecard.urls"
    # when / then
    _assert_problem(api(chain.hq_admin).get("/api/v1/members/abc/"), 404, "not_found")
    page = login(chain.hq_admin).get("/members/abc/")
    assert page.status_code == 404
    assert page["Content-Type"].startswith("text/html")
