"""Catalogue API: input that once crashed the server (missing name, huge numbers, Unicode digits) is a 400."""

import pytest

from onecard.catalog.models import Category, Product

pytestmark = pytest.mark.usefixtures("api_urls")  # served the API urlconf only

PRODUCTS = "/api/v1/catalog/products/"
CATEGORIES = "/api/v1/catalog/categories/"


def _field_errors(response):
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "validation_error"
    return set(response.json()["errors"])


def test_a_category_without_a_name_is_a_field_error(chain, cat, api):
    # given
    count = Category.objects.count()
    # when
    response = api(chain.hq_admin).post(CATEGORIES, {"code": "X"}, format="json")
    # then
    assert _field_errors(response) == {"name"}
    assert Category.objects.count() == count


@pytest.mark.parametrize("sort_order", [10**20, 2**31, -(2**31) - 1])
def test_a_sort_order_past_its_column_is_a_field_error(chain, cat, api, sort_order):
    client = api(chain.hq_admin)
    created = client.post(CATEGORIES, {"name": "烘焙", "sort_order": sort_order}, format="json")
    changed = client.put(f"{CATEGORIES}{cat.tea.pk}/", {"sort_order": sort_order}, format="json")
    assert _field_errors(created) == _field_errors(changed) == {"sort_order"}
    assert Category.objects.get(pk=cat.tea.pk).sort_order == 0


def test_the_largest_sort_order_of_the_column_is_kept(chain, cat, api):
    response = api(chain.hq_admin).post(CATEGORIES, {"name": "烘焙", "sort_order": 2**31 - 1}, format="json")
    assert response.status_code == 201
    assert response.json()["sort_order"] == 2**31 - 1


@pytest.mark.parametrize("bad_id", ["²", "٣", "1.5", str(2**63), True])
def test_unicode_digits_and_huge_numbers_are_not_ids(chain, cat, api, bad_id):
    client = api(chain.hq_admin)
    category = client.put(f"{CATEGORIES}{cat.tea.pk}/", {"parent": bad_id}, format="json")
    product = client.put(
        f"{PRODUCTS}{cat.product.pk}/",
        {"category": bad_id, "stores": [bad_id], "member_prices": [{"tier": bad_id, "price": 1}]},
        format="json",
    )
    assert _field_errors(category) == {"parent"}
    assert _field_errors(product) == {"category", "stores.0", "member_prices.0.tier"}
    assert Product.objects.get(pk=cat.product.pk).category == cat.tea


def test_a_price_past_its_column_is_a_field_error(chain, cat, api):
    response = api(chain.hq_admin).post(
        PRODUCTS, {"sku": "BIG-1", "name": "天价", "list_price": 10**20}, format="json"
    )
    assert _field_errors(response) == {"list_price"}
    assert not Product.objects.filter(sku="BIG-1").exists()


def test_a_category_filter_that_is_no_id_finds_nothing(chain, cat, api):
    response = api(chain.hq_admin).get(PRODUCTS, {"category": "²"})
    assert response.status_code == 200
    assert response.json()["results"] == []
