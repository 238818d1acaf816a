"""The UI speaks Simplified Chinese by default and English on request; translations are compiled."""

from django.urls import reverse


def test_login_page_is_chinese_by_default(client, db):
    # when
    page = client.get(reverse("login")).content.decode()
    # then
    assert "登录" in page
    assert 'lang="zh-hans"' in page


def test_english_on_request(client, db):
    page = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Log in" in page
    assert 'lang="en"' in page


def test_language_switch_sets_the_cookie_and_pages_follow(client, chain):
    # given a logged-in cashier on the Chinese UI
    client.force_login(chain.cashier_a1)
    assert "会员" in client.get(reverse("members:list")).content.decode()
    # when they switch to English in the top bar
    response = client.post(reverse("set_language"), {"language": "en", "next": reverse("members:list")})
    # then the next page is English
    assert response.status_code == 302
    page = client.get(reverse("members:list")).content.decode()
    assert "Members" in page
    assert 'lang="en"' in page


def test_member_form_error_in_chinese(client, chain):
    client.force_login(chain.cashier_a1)
    response = client.post(
        reverse("members:create"),
        {"kind": "person", "name": "王五", "phone": "12345", "home_store": chain.a1.pk, "source": "store"},
    )
    assert response.status_code == 200
    assert "手机号格式不正确。" in response.content.decode()
