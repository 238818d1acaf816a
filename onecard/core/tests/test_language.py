"""The UI language is the person's setting (default Simplified Chinese), not the browser's; error pages too."""

import pytest
from django.conf import settings
from django.test import override_settings
from django.urls import reverse
from django.utils import translation

from onecard.core.models import AuditEntry

# The rule as it runs in production: the suite's older page tests still ask for English by header.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("production_language_rule")]


@pytest.fixture
def production_language_rule(settings):
    settings.ONECARD_PAGES_FOLLOW_ACCEPT_LANGUAGE = False


ENGLISH_BROWSER = {"HTTP_ACCEPT_LANGUAGE": "en-US,en;q=0.9"}


def test_an_english_browser_gets_chinese_pages(client, chain):
    # given a cashier whose browser asks for English and who chose nothing
    client.force_login(chain.cashier_a1)
    # when
    page = client.get(reverse("members:list"), **ENGLISH_BROWSER).content.decode()
    # then
    assert 'lang="zh-hans"' in page and "会员" in page


def test_the_login_page_ignores_accept_language_and_reads_its_heading_once(client, db):
    page = client.get(reverse("login"), **ENGLISH_BROWSER).content.decode()
    assert 'lang="zh-hans"' in page
    assert "<h1>会员一卡通</h1>" in page


def test_the_persons_setting_decides_and_is_audited(client, chain):
    # given a Chinese browser cookie and a logged-in cashier
    client.force_login(chain.cashier_a1)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    # when they choose English on their account page
    response = client.post(reverse("profile"), {"language": "en", "next": reverse("members:list")})
    # then the setting is stored, audited, and every page follows it
    assert response.status_code == 302 and response.url == reverse("members:list")
    chain.cashier_a1.refresh_from_db()
    assert chain.cashier_a1.language == "en"
    assert AuditEntry.objects.filter(subject_type="org.staff", after={"language": "en"}).exists()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"  # another browser's choice does not count
    page = client.get(reverse("members:list"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert 'lang="en"' in page and "Members" in page


def test_an_unknown_language_is_refused_and_nothing_changes(client, chain):
    client.force_login(chain.cashier_a1)
    response = client.post(reverse("profile"), {"language": "fr"})
    assert response.status_code == 200
    chain.cashier_a1.refresh_from_db()
    assert chain.cashier_a1.language == ""


def test_403_and_404_are_in_the_layout_and_in_chinese(client, chain):
    client.force_login(chain.cashier_a1)
    forbidden = client.get(reverse("core:audit_log"), **ENGLISH_BROWSER)
    missing = client.get("/no-such-page/", **ENGLISH_BROWSER)
    assert forbidden.status_code == 403 and missing.status_code == 404
    for response, heading in ((forbidden, "403 · 无权访问"), (missing, "404 · 页面没有找到")):
        html = response.content.decode()
        assert heading in html
        assert 'class="sidebar"' in html and 'lang="zh-hans"' in html


def test_404_follows_the_persons_english(client, chain):
    chain.cashier_a1.language = "en"
    chain.cashier_a1.save(update_fields=["language"])
    client.force_login(chain.cashier_a1)
    html = client.get("/no-such-page/").content.decode()
    assert "404 · Page not found" in html


@override_settings(DEBUG_PROPAGATE_EXCEPTIONS=False)
def test_500_is_in_the_layout_and_in_chinese(chain):
    from django.template import loader

    with translation.override("zh-hans"):  # the language the middleware activated for the failed request
        html = loader.get_template("500.html").render()
    assert "500 · 出错了" in html and "app.css" in html
