"""The till's product lookup: every line's SKU or barcode in one statement, as `products_sold_at` would answer."""

import pytest
from django.db.models import Q

from onecard.catalog import queries, services


@pytest.fixture
def shelf(chain, cat):
    """Beside TEA-1 (barcode 6901234567892, gold ¥4): a service sold only at A1, an inactive product, a cake
    without a category, another merchant's TEA-1, and a product whose SKU is TEA-1's barcode."""
    massage = services.create_product(
        None, chain.merchant, sku="SVC-MASSAGE", name="足疗服务", list_price=9900, stores=[chain.a1]
    )
    old = services.create_product(
        None, chain.merchant, sku="OLD-1", name="旧货", list_price=100, is_active=False
    )
    cake = services.create_product(None, chain.merchant, sku="CAKE-1", name="蛋糕", list_price=3000)
    foreign = services.create_product(None, chain.other, sku="TEA-1", name="别家茶", list_price=700)
    clash = services.create_product(
        None, chain.merchant, sku="6901234567892", name="条码撞号", list_price=900
    )
    return massage, old, cake, foreign, clash


def test_skus_in_any_case_and_barcodes_in_one_statement(chain, cat, shelf, django_assert_num_queries):
    massage, _old, cake, _foreign, _clash = shelf
    # given the codes a till scanned, blanks included
    codes = ["tea-1", " CAKE-1 ", "svc-massage", "NOPE-9", "", "OLD-1"]
    # when looking them up at store A1 for a gold member
    with django_assert_num_queries(1):
        found = queries.products_for_codes(chain.a1, codes, cat.gold)
        # then each product comes with its category and its gold price, without another query
        assert found["tea-1"].category.ancestor_ids() == (cat.tea.pk, cat.drinks.pk, cat.food.pk)
        assert (found["tea-1"].tier_price, found["CAKE-1"].tier_price) == (400, None)
        assert found["CAKE-1"].category is None
    # and unknown or inactive codes and blanks are left out; the codes come back stripped
    assert {code: p.pk for code, p in found.items()} == {
        "tea-1": cat.product.pk,
        "CAKE-1": cake.pk,
        "svc-massage": massage.pk,
    }


def test_a_product_listed_for_other_stores_is_not_sold_here(chain, cat, shelf):
    # given the massage, sold only at A1; when B1 looks it up; then it is not found, TEA-1 (every store) is
    found = queries.products_for_codes(chain.b1, ["SVC-MASSAGE", "TEA-1"])
    assert list(found) == ["TEA-1"]
    assert found["TEA-1"].pk == cat.product.pk and found["TEA-1"].tier_price is None


def test_the_same_answers_as_products_sold_at(chain, cat, shelf):
    # given a code that is TEA-1's barcode and another product's SKU: the lower id wins, as the ORM lookup's
    _massage, _old, _cake, foreign, _clash = shelf
    codes = ["6901234567892", "TEA-1", "CAKE-1", "SVC-MASSAGE", "OLD-1"]
    for store in (chain.a1, chain.b1, chain.other_store):
        expected = {}
        for code in codes:
            match = (
                queries.products_sold_at(store)
                .filter(Q(sku=code.upper()) | Q(barcode=code))
                .order_by("pk")
                .first()
            )
            if match is not None:
                expected[code] = match.pk
        # when the till looks the codes up; then it finds the same products
        found = queries.products_for_codes(store, codes)
        assert {code: p.pk for code, p in found.items()} == expected
    assert queries.products_for_codes(chain.a1, ["6901234567892"])["6901234567892"].pk == cat.product.pk
    assert queries.products_for_codes(chain.other_store, ["TEA-1"])["TEA-1"].pk == foreign.pk


def test_the_rows_are_like_orm_rows_of_only_the_line_fields(chain, cat, django_assert_num_queries):
    # when read by code
    product = queries.products_for_codes(chain.a1, ["TEA-1"])["TEA-1"]
    loaded = type(product).objects.get(pk=product.pk)
    # then a cart line's fields hold what the ORM reads, converted alike; the rest is deferred, as with only()
    for name in (
        "id",
        "merchant_id",
        "sku",
        "barcode",
        "name",
        "category_id",
        "kind",
        "list_price",
        "is_active",
    ):
        assert getattr(product, name) == getattr(loaded, name)
    assert product.is_active is True and product.category.path == cat.tea.path
    assert product.get_deferred_fields() == {"name_initials", "name_pinyin", "unit", "package_service",
                                             "created_at", "updated_at"}  # fmt: skip
    with django_assert_num_queries(1):
        assert product.created_at == loaded.created_at


def test_no_codes_no_query(chain, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert queries.products_for_codes(chain.a1, ["", "  "]) == {}
