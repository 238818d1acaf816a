"""API v1: the OpenAPI schema and its docs pages, served by the app itself (no CDN)."""

import re

import pytest
import yaml
from django.core.management import call_command
from rest_framework.test import APIClient

pytestmark = pytest.mark.usefixtures("api_urls")  # served the API urlconf only


def test_schema_is_served_and_lists_every_endpoint(db):
    # when
    response = APIClient().get("/api/v1/schema/", {"format": "json"})
    # then
    assert response.status_code == 200
    paths = response.json()["paths"]
    for expected in (
        "/api/v1/auth/token/",
        "/api/v1/me/",
        "/api/v1/members/",
        "/api/v1/members/{id}/",
        "/api/v1/members/{id}/reveal/",
        "/api/v1/members/{id}/consent/",
        "/api/v1/members/merge/",
        "/api/v1/members/transfer/",
        "/api/v1/members/{member_pk}/contacts/",
        "/api/v1/members/{member_pk}/contacts/{id}/",
        "/api/v1/tags/",
        "/api/v1/custom-fields/",
        "/api/v1/org-nodes/",
        "/api/v1/staff/",
        "/api/v1/roles/",
        "/api/v1/roles/permissions/",
    ):
        assert expected in paths, expected
    create = paths["/api/v1/members/"]["post"]["responses"]
    assert set(create) >= {"201", "400", "401", "403", "409"}
    assert "application/problem+json" in create["409"]["content"]
    listing = response.json()["components"]["schemas"]["PaginatedMemberList"]["properties"]
    assert "count_capped" in listing


def test_schema_passes_validation_without_warnings(db, tmp_path):
    # when
    out = tmp_path / "schema.yaml"
    call_command(
        "spectacular",
        "--validate",
        "--fail-on-warn",
        "--urlconf",
        "onecard.testing.api_urlconf",
        "--file",
        str(out),
    )
    # then
    schema = yaml.safe_load(out.read_text())
    assert schema["info"]["title"] == "OneCard API"


def _script_and_link_urls(html):
    return re.findall(r'(?:src|href)="([^"]+)"', html)


def test_swagger_docs_page_uses_only_local_files(db):
    # when
    response = APIClient().get("/api/v1/docs/")
    # then
    assert response.status_code == 200
    html = response.content.decode()
    urls = _script_and_link_urls(html)
    assert any("swagger-ui" in u for u in urls)
    assert all(not u.startswith(("http:", "https:", "//")) for u in urls), urls
    assert "cdn" not in html.lower()


def test_redoc_page_uses_only_local_files(db):
    response = APIClient().get("/api/v1/redoc/")
    assert response.status_code == 200
    html = response.content.decode()
    urls = _script_and_link_urls(html)
    assert any("redoc" in u for u in urls)
    assert all(not u.startswith(("http:", "https:", "//")) for u in urls), urls
    assert "cdn" not in html.lower()


def test_the_real_site_serves_the_api_schema_and_docs(db, settings):
    # given: the project's own urlconf, with the web UI
    settings.ROOT_URLCONF = "onecard.urls"
    client = APIClient()
    # when / then
    assert client.get("/api/v1/schema/").status_code == 200
    assert client.get("/api/v1/docs/").status_code == 200
    assert client.get("/api/v1/members/").status_code == 401


def _schema():
    return APIClient().get("/api/v1/schema/", {"format": "json"}).json()


def test_schema_says_what_the_answers_hold(db):
    # given
    schema = _schema()
    components, paths = schema["components"]["schemas"], schema["paths"]
    # then: an optional e-mail or a custom role's code is answered as "", which the schema allows
    for name in ("Member", "Contact", "Staff"):
        assert components[name]["properties"]["email"]["anyOf"] == [{"format": "email"}, {"maxLength": 0}]
    assert {"maxLength": 0} in components["Role"]["properties"]["code"]["anyOf"]
    # a page past the last one, a refused delete, a throttled log-in
    assert "404" in paths["/api/v1/members/"]["get"]["responses"]
    assert "404" in paths["/api/v1/roles/"]["get"]["responses"]
    assert "400" in paths["/api/v1/roles/{id}/"]["delete"]["responses"]
    assert "429" in paths["/api/v1/auth/token/"]["post"]["responses"]
    # bounded integers: a sort order fits its 32-bit column
    assert components["CategoryCreateRequest"]["properties"]["sort_order"]["maximum"] == 2**31 - 1
    assert components["CategoryCreateRequest"]["required"] == ["name"]


def test_every_problem_member_is_required_and_typed(db):
    problem = _schema()["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == {
        "type",
        "title",
        "status",
        "code",
        "detail",
        "instance",
        "errors",
        "extra",
    }
    assert problem["properties"]["status"]["type"] == "integer"
    assert problem["properties"]["errors"]["additionalProperties"] == {
        "type": "array",
        "items": {"type": "string"},
    }
    assert problem["properties"]["extra"]["type"] == "object"
