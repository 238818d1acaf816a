"""The security headers on every kind of answer (a page, the API, a 404, the admin, the API's docs), and
templates that hold no inline script, so the policy's script-src 'self' refuses nothing of ours."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from onecard.core.security_headers import content_security_policy

pytestmark = pytest.mark.django_db


def _directives(response):
    """The Content-Security-Policy header as {directive: [sources]}."""
    parts = [part.split() for part in response["Content-Security-Policy"].split(";")]
    return {words[0]: words[1:] for words in parts if words}


def _assert_security_headers(response):
    policy = _directives(response)
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]  # no 'unsafe-inline', no 'unsafe-eval', no host
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"]
    assert policy["form-action"] == ["'self'"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert "camera=()" in response["Permissions-Policy"]
    assert "geolocation=()" in response["Permissions-Policy"]


def test_a_page_carries_the_security_headers(client, chain):
    # when the log-in page is asked for, then the home page by a cashier logged in
    login = client.get("/login/")
    client.force_login(chain.cashier_a1)
    home = client.get("/")
    # then
    assert (home.status_code, login.status_code) == (200, 200)
    _assert_security_headers(home)
    _assert_security_headers(login)


def test_an_api_answer_carries_the_security_headers(chain):
    # when the API answers with data and with a refusal
    api = APIClient()
    api.force_authenticate(chain.hq_admin)
    answer = api.get("/api/v1/me/")
    refusal = APIClient().get("/api/v1/members/")
    # then both carry the headers
    assert (answer.status_code, refusal.status_code) == (200, 401)
    _assert_security_headers(answer)
    _assert_security_headers(refusal)


def test_not_found_answers_carry_the_security_headers(client, chain):
    # when a page and an API route that do not exist are asked for
    page = client.get("/no-such-page/")
    problem = APIClient().get("/api/v1/no-such-route/")
    # then both 404s carry the headers
    assert (page.status_code, problem.status_code) == (404, 404)
    _assert_security_headers(page)
    _assert_security_headers(problem)


def test_the_admin_and_the_swagger_page_keep_the_plain_policy(login, chain):
    # given the system administrator, past the second step
    client = login(chain.admin)
    # when Django's admin and the Swagger page are opened, and Swagger's start-up script fetched
    admin, swagger = client.get("/admin/"), client.get("/api/v1/docs/")
    script = client.get("/api/v1/docs/", {"script": ""})
    # then the pages have the plain policy, and the script is its own file (the page holds none inline)
    _assert_security_headers(admin)
    _assert_security_headers(swagger)
    assert re.findall(r"<script>", swagger.content.decode()) == []
    assert script.status_code == 200 and script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in script.content.decode()


def test_redoc_may_run_its_search_worker_and_loads_nothing_from_the_internet(db):
    # when the Redoc page and its script are fetched
    page = APIClient().get("/api/v1/redoc/")
    bundle = APIClient().get("/api/v1/redoc/redoc.standalone.js")
    # then the page allows a blob: worker, on top of the plain policy
    policy = _directives(page)
    assert policy["worker-src"] == ["'self'", "blob:"]
    assert policy["script-src"] == ["'self'"]
    assert 'src="/api/v1/redoc/redoc.standalone.js"' in page.content.decode()
    # and the script shows an empty image where the vendor's logo came from its CDN
    body = bundle.content.decode()
    assert bundle.status_code == 200 and bundle["Content-Type"].startswith("text/javascript")
    assert "Redoc" in body and "cdn.redoc.ly" not in body
    assert 'alt:"redocly logo",onError:()=>t(!1),src:"data:image/svg+xml,' in body


def test_the_favicon_is_found_where_browsers_look_for_it(client):
    response = client.get("/favicon.ico")
    assert (response.status_code, response["Location"]) == (302, "/static/onecard/favicon.svg")


def test_a_view_adds_sources_to_one_directive_without_repeating_any(settings):
    # given a short policy
    settings.SECURE_CSP = {"default-src": ["'self'"], "img-src": ["'self'", "data:"]}
    # when a view adds sources to one directive it has and one it has not
    header = content_security_policy({"img-src": ["data:", "blob:"], "worker-src": ["blob:"]})
    # then
    assert header == "default-src 'self'; img-src 'self' data: blob:; worker-src blob:"


# ---- the templates ---------------------------------------------------------------------------------------------
# What the policy refuses: an inline <script> (one without src; json_script data is not run and allowed), an
# on...="" handler, a javascript: URL, htmx's hx-on (evaluated as code). Behaviours go to static JS files.
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.IGNORECASE)
INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=\s*[\"']", re.IGNORECASE)
SCRIPT_URL = re.compile(r"javascript:", re.IGNORECASE)
HTMX_EVAL = re.compile(r"\bhx-on|\bhx-(vals|headers)\s*=\s*['\"]\s*(js|javascript):", re.IGNORECASE)


def _templates():
    root = Path(settings.BASE_DIR) / "onecard"
    return sorted(root.glob("**/templates/**/*.html"))


def test_no_template_holds_an_inline_script_or_handler():
    # given every template of OneCard
    templates = _templates()
    assert len(templates) > 100
    # then none runs code the policy would refuse
    offenders = [
        f"{path.relative_to(settings.BASE_DIR)}: {match.group(0)!r}"
        for path in templates
        for pattern in (INLINE_SCRIPT, INLINE_HANDLER, SCRIPT_URL, HTMX_EVAL)
        for match in pattern.finditer(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_the_template_check_finds_what_the_policy_refuses():
    # given snippets of each kind the policy refuses, and of what it allows
    refused = [
        "<script>alert(1)</script>",
        '<button onclick="go()">',
        '<a href="javascript:history.back()">',
        '<form hx-on::after-request="this.remove()">',
    ]
    allowed = [
        '<script src="/static/onecard/app.js" defer></script>',
        '<script id="d" type="application/json">{}</script>',
        '<button data-confirm="Sure?" data-online="1">',
    ]
    patterns = (INLINE_SCRIPT, INLINE_HANDLER, SCRIPT_URL, HTMX_EVAL)
    # then
    assert all(any(p.search(snippet) for p in patterns) for snippet in refused)
    assert not any(p.search(snippet) for snippet in allowed for p in patterns)
