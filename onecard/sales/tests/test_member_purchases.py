"""The member 360 page's Purchases (消费记录) section: the member's sales with their items, newest first,
ten to a page with a link to the next."""

import re

import pytest
from django.urls import reverse

from onecard.catalog import services as catalog
from onecard.loyalty.packages import services as packages
from onecard.loyalty.stored_value import services as stored_value
from onecard.members.sections import MEMBER_SECTIONS
from onecard.sales import checkout
from onecard.sales import services as sales
from onecard.sales.member_section import MEMBER_SECTION, register_member_section
from onecard.sales.models import Sale
from onecard.testing.packages import wash_package

pytestmark = pytest.mark.django_db


@pytest.fixture
def card(chain, card):
    """The shared card (onecard.testing) with ¥500 principal topped up at A1."""
    stored_value.topup(None, card, 50_000, store=chain.a1)
    return card


def _section(response) -> str:
    html = response.content.decode()
    start = html.index('id="section-purchases"')
    return html[start : html.index('<div class="card" id="section-', start + 1)]


def test_the_member_page_lists_purchases_with_their_items_newest_first(chain, login, card):
    # given a checkout of two products, then a plain charge, then a package use
    catalog.create_product(None, chain.merchant, sku="CAKE-1", name="蛋糕", list_price=3_000)
    catalog.create_product(None, chain.merchant, sku="TEA-1", name="乌龙茶", list_price=500)
    checkout.checkout(
        chain.cashier_a1, store=chain.a1, card=card, items=[("CAKE-1", 2), ("TEA-1", 1)],
        tenders={"stored_value": 6_500}, business_ref="S-1",
    )  # fmt: skip
    sales.charge_card(None, card, 1_200, store=chain.a1)
    sold = packages.sell_package(None, card, wash_package(chain), store=chain.a1)
    sales.use_package(None, sold, "洗车", store=chain.a1)
    # when the member's page is opened
    response = login(chain.hq_admin).get(
        reverse("members:detail", args=[card.member.pk]), HTTP_ACCEPT_LANGUAGE="en"
    )
    # then the Purchases section shows the three sales, newest first, each with its items and amount
    assert response.status_code == 200
    section = _section(response)
    rows = re.findall(r'<tr data-sale="(\d+)">', section)
    newest_first = list(
        Sale.objects.filter(member=card.member).order_by("-created_at", "-id").values_list("pk", flat=True)
    )
    assert [int(pk) for pk in rows] == newest_first and len(rows) == 3
    assert "洗车10次 · 洗车 × 1 · ¥30.00" in section
    assert "消费 × 1 · ¥12.00" in section
    assert "蛋糕" in section and "CAKE-1" in section and "乌龙茶" in section and "¥65.00" in section
    assert "Purchases" in response.content.decode()


def test_more_than_a_page_of_purchases_links_to_the_next_page(chain, login, card):
    # given 12 charges
    for _ in range(12):
        sales.charge_card(None, card, 100, store=chain.a1)
    client = login(chain.hq_admin)
    url = reverse("members:detail", args=[card.member.pk])
    # when the page is opened, then ten rows and a link to page 2, which holds the other two
    first = _section(client.get(url, HTTP_ACCEPT_LANGUAGE="en"))
    assert first.count("<tr data-sale=") == 10 and "?purchases=2#section-purchases" in first
    second = _section(client.get(f"{url}?purchases=2", HTTP_ACCEPT_LANGUAGE="en"))
    assert second.count("<tr data-sale=") == 2


def test_a_member_without_purchases_sees_the_empty_text(chain, login, member_factory):
    member = member_factory()
    section = _section(
        login(chain.hq_admin).get(reverse("members:detail", args=[member.pk]), HTTP_ACCEPT_LANGUAGE="en")
    )
    assert "No purchases yet." in section


def test_the_section_is_registered_once_after_the_transactions():
    register_member_section()
    keys = [section["key"] for section in MEMBER_SECTIONS]
    assert keys.count(MEMBER_SECTION["key"]) == 1
    assert keys.index("purchases") == keys.index("transactions") + 1


def test_the_section_speaks_chinese(chain, login, card):
    sales.charge_card(None, card, 1_200, store=chain.a1)
    response = login(chain.hq_admin).get(
        reverse("members:detail", args=[card.member.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans"
    )
    section = _section(response)
    assert "<h2>消费记录</h2>" in section and "消费 × 1 · ¥12.00" in section
