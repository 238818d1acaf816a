"""Catalogue API: list with search, retrieve, create, update; merchant scoping; problem+json codes."""

import pytest

from onecard.catalog import services
from onecard.catalog.models import Category, MemberPrice, Product

pytestmark = pytest.mark.usefixtures("api_urls")  # served the API urlconf only

PRODUCTS = "/api/v1/catalog/products/"
CATEGORIES = "/api/v1/catalog/categories/"


def test_list_search_and_retrieve(chain, cat, api):
    # given
    services.create_product(None, chain.merchant, sku="GIFT-1", name="礼盒", list_price=100)
    services.create_product(None, chain.other, sku="TEA-1", name="别家", list_price=100)
    client = api(chain.store_manager)
    # when
    everything = client.get(PRODUCTS)
    by_barcode = client.get(PRODUCTS, {"search": "6901234567892"})
    by_category = client.get(PRODUCTS, {"category": cat.food.pk})
    one = client.get(f"{PRODUCTS}{cat.product.pk}/")
    # then
    assert [r["sku"] for r in everything.json()["results"]] == ["GIFT-1", "TEA-1"]
    assert [r["sku"] for r in by_barcode.json()["results"]] == ["TEA-1"]
    assert [r["sku"] for r in by_category.json()["results"]] == ["TEA-1"]
    assert one.json() | {"created_at": None, "updated_at": None} == {
        "id": str(cat.product.pk),
        "sku": "TEA-1",
        "barcode": "6901234567892",
        "name": "乌龙茶",
        "category": str(cat.tea.pk),
        "kind": "product",
        "unit": "瓶",
        "list_price": 500,
        "member_prices": [{"tier": str(cat.gold.pk), "price": 400}],
        "is_active": True,
        "stores": [],
        "package_service": "",
        "created_at": None,
        "updated_at": None,
    }


def test_another_merchants_product_is_404(chain, cat, api):
    other = services.create_product(None, chain.other, sku="X-1", name="别家", list_price=100)
    assert api(chain.hq_admin).get(f"{PRODUCTS}{other.pk}/").status_code == 404
    assert (
        api(chain.hq_admin).patch(f"{PRODUCTS}{other.pk}/", {"list_price": 1}, format="json").status_code
        == 404
    )


def test_create_and_update(chain, cat, api):
    client = api(chain.hq_admin)
    # when
    created = client.post(
        PRODUCTS,
        {
            "sku": "svc-1",
            "name": "洗车",
            "kind": "service",
            "list_price": 3000,
            "category": str(cat.food.pk),
            "stores": [chain.a1.pk],
            "member_prices": [{"tier": cat.silver.pk, "price": 2500}],
            "package_service": "洗车",
        },
        format="json",
    )
    # then
    assert created.status_code == 201, created.json()
    body = created.json()
    assert (body["sku"], body["kind"], body["stores"]) == ("SVC-1", "service", [str(chain.a1.pk)])
    assert body["member_prices"] == [{"tier": str(cat.silver.pk), "price": 2500}]
    # when
    updated = client.patch(
        f"{PRODUCTS}{body['id']}/",
        {"list_price": 3200, "member_prices": [{"tier": cat.gold.pk, "price": 2800}]},
        format="json",
    )
    # then
    assert updated.status_code == 200
    assert updated.json()["list_price"] == 3200
    assert updated.json()["member_prices"] == [{"tier": str(cat.gold.pk), "price": 2800}]


@pytest.mark.parametrize(
    ("payload", "code", "field"),
    [
        ({"sku": "TEA-1"}, "catalog_duplicate_sku", "sku"),
        ({"barcode": "6901234567892"}, "catalog_duplicate_barcode", "barcode"),
        ({"list_price": 0}, "catalog_invalid_price", "list_price"),
        ({"sku": "a b"}, "catalog_invalid_sku", "sku"),
        ({"kind": "gadget"}, "validation_error", "kind"),
        ({"category": "999999"}, "catalog_unknown_category", "category"),
    ],
)
def test_create_refusals_are_problems_with_their_code(chain, cat, api, payload, code, field):
    count = Product.objects.count()
    response = api(chain.hq_admin).post(
        PRODUCTS, {"sku": "NEW-1", "name": "新品", "list_price": 100, **payload}, format="json"
    )
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert (response.json()["code"], list(response.json()["errors"])) == (code, [field])
    assert Product.objects.count() == count


def test_foreign_tier_is_refused(chain, cat, api):
    response = api(chain.hq_admin).patch(
        f"{PRODUCTS}{cat.product.pk}/",
        {"member_prices": [{"tier": cat.other_tier.pk, "price": 1}]},
        format="json",
    )
    assert response.json()["code"] == "catalog_foreign_tier"
    assert MemberPrice.objects.get(product=cat.product).tier == cat.gold


def test_permissions(chain, cat, api):
    assert api(chain.service).get(PRODUCTS).status_code == 403
    # a cashier reads prices (catalog.view) and changes nothing
    assert api(chain.cashier_a1).get(PRODUCTS).status_code == 200
    assert api(chain.cashier_a1).post(PRODUCTS, {}, format="json").status_code == 403
    assert api(chain.store_manager).post(PRODUCTS, {}, format="json").status_code == 403
    refused = api(chain.region_manager).post(CATEGORIES, {"name": "区域"}, format="json")  # catalog.view only
    assert refused.status_code == 403
    assert api().get(PRODUCTS).status_code == 401


def test_categories_list_create_move(chain, cat, api):
    client = api(chain.hq_admin)
    listed = client.get(CATEGORIES).json()["results"]
    assert [c["name"] for c in listed] == ["食品", "饮料", "茶饮"]
    created = client.post(CATEGORIES, {"name": "烘焙", "parent": str(cat.food.pk)}, format="json")
    assert created.status_code == 201
    assert created.json()["path"] == f"/{cat.food.pk}/{created.json()['id']}/"
    moved = client.patch(f"{CATEGORIES}{cat.tea.pk}/", {"parent": None}, format="json")
    assert moved.json()["path"] == f"/{cat.tea.pk}/"
    cycle = client.patch(f"{CATEGORIES}{cat.food.pk}/", {"parent": cat.drinks.pk}, format="json")
    assert cycle.json()["code"] == "catalog_category_cycle"
    in_use = client.patch(f"{CATEGORIES}{cat.tea.pk}/", {"is_active": False}, format="json")
    assert in_use.json()["code"] == "catalog_category_in_use"
    assert Category.objects.get(pk=cat.tea.pk).is_active is True
