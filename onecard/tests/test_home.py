"""The home page: a dashboard per role with real counts within the viewer's scope, cached per scope."""

import datetime
import json
import re

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from onecard.home import _months_back
from onecard.members.models import Member

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_cache(client):
    """The dashboard cache must not carry figures from one test into the next; pages in English."""
    cache.clear()
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    yield
    cache.clear()


def _stat(html, name):
    match = re.search(rf'data-stat="{name}">.*?class="value">([^<]+)<', html, re.S)
    return match.group(1).strip() if match else None


def _kind(html):
    return re.search(r'data-dashboard="(\w+)"', html).group(1)


@pytest.fixture
def members(chain, member_factory):
    """A1: 3 members (1 consenting), A2: 1, B1: 2, other merchant: 1."""
    made = [
        member_factory(store=chain.a1, marketing_consent=True),
        member_factory(store=chain.a1),
        member_factory(store=chain.a1),
        member_factory(store=chain.a2),
        member_factory(store=chain.b1),
        member_factory(store=chain.b1),
        member_factory(store=chain.other_store),
    ]
    return made


def test_cashier_sees_search_box_and_todays_members_of_their_store(chain, login, members):
    # given: one of A1's members joined last month
    Member.objects.filter(pk=members[2].pk).update(created_at=timezone.now() - datetime.timedelta(days=40))
    # when
    html = login(chain.cashier_a1).get(reverse("home")).content.decode()
    # then
    assert _kind(html) == "cashier"
    assert f'action="{reverse("members:list")}"' in html and 'name="q"' in html
    assert _stat(html, "today") == "2"
    assert _stat(html, "members") == "3"
    assert members[0].member_no in html and members[1].member_no in html
    assert members[2].member_no not in html and members[4].member_no not in html  # old, other store
    assert "chart-trend" not in html


def test_hq_sees_every_store_and_the_trend(chain, login, members):
    # given: one member joined three months ago
    three_months_ago = _months_back(timezone.localdate())[-4]
    joined = datetime.datetime.combine(
        three_months_ago, datetime.time(12), tzinfo=timezone.get_current_timezone()
    )
    Member.objects.filter(pk=members[3].pk).update(created_at=joined)
    # when
    html = login(chain.hq_admin).get(reverse("home")).content.decode()
    # then
    assert _kind(html) == "overview"
    assert _stat(html, "members") == "6"
    assert _stat(html, "new") == "5"
    assert _stat(html, "stores") == "3"
    assert _stat(html, "staff") == "8"
    stores = json.loads(re.search(r'id="store-data"[^>]*>(.*?)</script>', html, re.S).group(1))
    assert {s["store"]: s["n"] for s in stores} == {"徐汇店": 3, "浦东店": 1, "朝阳店": 2}
    trend = json.loads(re.search(r'id="trend-data"[^>]*>(.*?)</script>', html, re.S).group(1))
    assert len(trend) == 12
    assert trend[-1] == {"month": timezone.localdate().strftime("%Y-%m"), "n": 5}
    assert trend[-4] == {"month": three_months_ago.strftime("%Y-%m"), "n": 1}
    assert sum(r["n"] for r in trend) == 6


def test_region_manager_counts_only_their_region(chain, login, members):
    html = login(chain.region_manager).get(reverse("home")).content.decode()
    assert _kind(html) == "overview"
    assert _stat(html, "members") == "4"
    assert _stat(html, "stores") == "2"


def test_store_manager_sees_store_figures(chain, login, members):
    html = login(chain.store_manager).get(reverse("home")).content.decode()
    assert _kind(html) == "store"
    assert _stat(html, "members") == "3"
    assert _stat(html, "consent") == "33.3%"
    assert _stat(html, "staff") == "3"


def test_marketer_sees_consent_rate_and_source_mix(chain, login, members):
    html = login(chain.marketer).get(reverse("home")).content.decode()
    assert _kind(html) == "marketer"
    assert _stat(html, "consent") == "16.7%"  # 1 of 6
    sources = json.loads(re.search(r'id="source-data"[^>]*>(.*?)</script>', html, re.S).group(1))
    assert sources == [{"source": "Store", "n": 6, "pct": 100.0}]


def test_system_admin_counts_both_merchants(chain, login, members):
    html = login(chain.admin).get(reverse("home")).content.decode()
    assert _stat(html, "members") == "7"
    assert _stat(html, "stores") == "4"


def test_figures_are_cached_per_scope(chain, login, member_factory, members):
    # given: the HQ page has been shown once
    client = login(chain.hq_admin)
    assert _stat(client.get(reverse("home")).content.decode(), "members") == "6"
    # when: a member joins
    member_factory(store=chain.b1)
    # then: HQ's figures are up to 60 s old; another scope computes its own; a clear cache shows the new one
    assert _stat(client.get(reverse("home")).content.decode(), "members") == "6"
    cache.clear()
    assert _stat(client.get(reverse("home")).content.decode(), "members") == "7"


def test_home_page_takes_few_queries(chain, login, members, django_assert_max_num_queries):
    client = login(chain.hq_admin)
    # cold cache: one grouped pass + one trend query, not 12 counts; one more for the pinned reports
    with django_assert_max_num_queries(15):
        client.get(reverse("home"))
    with django_assert_max_num_queries(9) as warm:
        client.get(reverse("home"))
    members_queries = [q["sql"] for q in warm.captured_queries if "members_member" in q["sql"]]
    assert len(members_queries) == 1  # only "members I own" is per user


def test_staff_without_member_permission_sees_only_org_figures(chain, login):
    from onecard.org import services

    role = services.create_role(None, merchant=chain.merchant, name="组织", permissions=["org.view"])
    viewer = services.create_staff(
        None, username="orgonly", password="pass-word-123", node=chain.east, roles=[role]
    )
    html = login(viewer).get(reverse("home")).content.decode()
    assert _stat(html, "members") is None
    assert _stat(html, "stores") == "2"
