"""Catalogue reads: search by SKU, barcode, name and pinyin; products per store; the pricing engine's cart line."""

import pytest

from onecard.catalog import errors, queries, services
from onecard.catalog.choices import ProductKind
from onecard.promotions import cart_lines
from onecard.promotions.cart import CartLine


@pytest.fixture
def more(chain, cat):
    """Two more products: a service sold only at A1 and an inactive one."""
    massage = services.create_product(
        None,
        chain.merchant,
        sku="SVC-MASSAGE",
        name="足疗服务",
        list_price=9900,
        kind=ProductKind.SERVICE,
        stores=[chain.a1],
        package_service="足疗",
    )
    old = services.create_product(
        None, chain.merchant, sku="OLD-1", name="旧货", list_price=100, is_active=False
    )
    return massage, old


def test_find_by_barcode_sku_name_and_initials(chain, cat, more):
    massage, _old = more
    assert queries.find_products(chain.merchant, "6901234567892") == [cat.product]
    assert queries.find_products(chain.merchant, "tea-1") == [cat.product]
    assert queries.find_products(chain.merchant, "乌龙") == [cat.product]
    assert queries.find_products(chain.merchant, "wlc") == [cat.product]
    assert queries.find_products(chain.merchant, "zl") == [massage]
    assert queries.find_products(chain.merchant, "jh") == []  # inactive 旧货 is not sold
    assert queries.find_products(chain.other, "TEA-1") == []
    assert queries.find_products(chain.merchant, "  ") == []


def test_exact_sku_comes_before_prefix_matches(chain, cat):
    longer = services.create_product(None, chain.merchant, sku="TEA-10", name="红茶", list_price=600)
    assert queries.find_products(chain.merchant, "TEA-1") == [cat.product, longer]


def test_the_till_search_finds_what_the_store_sells_by_any_key(chain, cat, more):
    massage, _old = more
    green = services.create_product(None, chain.merchant, sku="TEA-2", name="特级乌龙", list_price=800)
    assert queries.search_sold_at(chain.a1, "6901234567892") == [cat.product]
    assert queries.search_sold_at(chain.a1, "tea-1") == [cat.product]
    assert queries.search_sold_at(chain.a1, "wlc") == [cat.product]
    # a name containing the text, the others by name
    assert queries.search_sold_at(chain.a1, "乌龙") == [cat.product, green]
    assert queries.search_sold_at(chain.a1, "zl") == [massage]
    # the massage is sold only at A1, the old product not at all, another merchant's never
    assert queries.search_sold_at(chain.b1, "zl") == []
    assert queries.search_sold_at(chain.a1, "jh") == []
    assert queries.search_sold_at(chain.other_store, "TEA-1") == []
    assert queries.search_sold_at(chain.a1, " ") == []
    assert len(queries.search_sold_at(chain.a1, "t", limit=1)) == 1


def test_products_sold_at_store(chain, cat, more):
    massage, _old = more
    assert set(queries.products_sold_at(chain.a1)) == {cat.product, massage}
    assert set(queries.products_sold_at(chain.b1)) == {cat.product}
    assert list(queries.products_sold_at(chain.other_store)) == []
    assert queries.is_sold_at(massage, chain.a2) is False


def test_cart_line_with_member_price_and_category_ancestry(chain, cat):
    line = cart_lines.cart_line(cat.product, 3, cat.gold, 1)
    assert line == CartLine(
        key="1",
        product_id=cat.product.pk,
        sku="TEA-1",
        name="乌龙茶",
        quantity=3,
        list_price=500,
        category_ids=(cat.tea.pk, cat.drinks.pk, cat.food.pk),
        member_price=400,
        is_service=False,
    )


def test_cart_line_without_member_price_for_tier_or_member(chain, cat, more):
    massage, _old = more
    assert cart_lines.cart_line(cat.product, 1, cat.silver, "2").member_price is None
    assert cart_lines.cart_line(cat.product, 1, None, "2").member_price is None
    assert cart_lines.cart_line(cat.product, 1, cat.other_tier, "2").member_price is None
    line = cart_lines.cart_line(massage, 1, None, "3")
    assert (line.is_service, line.category_ids) == (True, ())


@pytest.mark.parametrize("quantity", [0, -1, 1.5, True])
def test_cart_line_refuses_bad_quantity(chain, cat, quantity):
    with pytest.raises(errors.InvalidQuantity) as caught:
        cart_lines.cart_line(cat.product, quantity, None, "1")
    assert caught.value.code == "invalid_quantity"


def test_category_label(chain, cat):
    assert queries.category_label(cat.tea) == "食品 / 饮料 / 茶饮"
    assert {c.pk for c in queries.category_subtree(cat.drinks)} == {cat.drinks.pk, cat.tea.pk}
