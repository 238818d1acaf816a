"""Back-office pages say what they show: the card list opens on issued cards, batch selects name their choice,
settlement totals are in words, the package menu item opens for the system administrator, tier reasons read."""

import pytest
from django.urls import reverse

from onecard.testing.cards import active_card, stock

pytestmark = pytest.mark.django_db


def _card_numbers(html):
    import re

    return set(re.findall(r"\b(88\d{11})\b", html))


def test_card_list_opens_on_issued_cards_and_stock_is_a_filter(chain, login, card_product, member_factory):
    # given five cards in stock and one issued to a member
    cards = stock(card_product, chain.a1, count=6, prefix="8800")
    active_card(cards[0], member_factory())
    client = login(chain.hq_admin)
    # when the list opens without a filter
    html = client.get(reverse("cards:list")).content.decode()
    # then only the issued card is listed, and the status filter says so
    assert _card_numbers(html) == {cards[0].number}
    assert '<option value="issued" selected>已发卡（不含库存）</option>' in html
    # when the stock is asked for
    stock_html = client.get(reverse("cards:list"), {"status": "in_stock"}).content.decode()
    assert _card_numbers(stock_html) == {c.number for c in cards[1:]}


def test_batch_form_selects_name_their_choice(chain, login, card_product):
    html = login(chain.hq_admin).get(reverse("cards:batches")).content.decode()
    assert "---------" not in html
    assert "请选择卡种" in html and "请选择门店" in html


def test_settlement_totals_are_in_words(chain, login):
    html = login(chain.hq_admin).get(reverse("settlement:list")).content.decode()
    assert "A 方应付 B 方（合计）" in html and "A 应付 B" not in html
    assert "共 0 笔异店刷卡交易" in html


def test_package_definitions_open_for_the_system_administrator(chain, login):
    # given the superuser without a node, whose menu shows 次卡与期限卡
    client = login(chain.admin)
    home = client.get(reverse("home")).content.decode()
    url = reverse("packages:package_definitions")
    assert url in home
    # when they follow it, then the page opens (the first merchant's definitions)
    assert client.get(url).status_code == 200


def test_member_page_header_shows_the_tier_the_till_shows(chain, login, member_factory):
    # given a member who holds 钻石卡
    from onecard.loyalty.tiers import services as tiers

    member = member_factory()
    diamond = tiers.create_tier(chain.hq_admin, chain.merchant, name="钻石卡", rank=3)
    tiers.set_member_tier(chain.hq_admin, member, diamond, reason="开业活动")
    # when
    html = login(chain.store_manager).get(reverse("members:detail", args=[member.pk])).content.decode()
    # then
    assert '<span class="badge badge-ok" data-tier>钻石卡</span>' in html


def test_member_page_header_without_a_tier_shows_a_dash(chain, login, member_factory):
    member = member_factory()
    html = login(chain.store_manager).get(reverse("members:detail", args=[member.pk])).content.decode()
    assert '<span class="badge badge-muted" data-tier>—</span>' in html
