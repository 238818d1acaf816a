"""Catalogue services: validation with one code per refusal (nothing written), head office only, audit rows."""

import pytest
from django.utils import translation

from onecard.catalog import errors, services
from onecard.catalog.models import Category, MemberPrice, Product
from onecard.core.errors import ValidationFailed
from onecard.core.models import AuditEntry


def _product_count():
    return Product.objects.count(), MemberPrice.objects.count()


def test_create_product_stores_fields_prices_and_audits(chain, cat):
    # when
    product = services.create_product(
        chain.hq_admin,
        chain.merchant,
        sku=" cake-01 ",
        name="蛋糕",
        list_price=2000,
        category=cat.food,
        stores=[chain.a1],
        member_prices={cat.silver: 1800, cat.gold: 1500},
    )
    # then
    product.refresh_from_db()
    assert product.sku == "CAKE-01"
    assert (product.name_initials, product.name_pinyin) == ("dg", "dangao")
    assert list(product.stores.all()) == [chain.a1]
    assert dict(product.member_prices.values_list("tier__name", "price")) == {"Silver": 1800, "Gold": 1500}
    entry = AuditEntry.objects.get(
        subject_type="catalog.product", subject_id=str(product.pk), action="create"
    )
    assert entry.actor == chain.hq_admin
    assert entry.merchant == chain.merchant
    assert entry.after["list_price"] == 2000
    assert entry.after["member_prices"] == {str(cat.silver.pk): 1800, str(cat.gold.pk): 1500}


@pytest.mark.parametrize(
    ("changes", "error", "code"),
    [
        ({"sku": "bad sku!"}, errors.InvalidSku, "catalog_invalid_sku"),
        ({"sku": "TEA-1"}, errors.DuplicateSku, "catalog_duplicate_sku"),
        ({"barcode": "6901234567892"}, errors.DuplicateBarcode, "catalog_duplicate_barcode"),
        ({"barcode": "12"}, errors.InvalidBarcode, "catalog_invalid_barcode"),
        ({"list_price": 0}, errors.InvalidPrice, "catalog_invalid_price"),
        ({"list_price": -5}, errors.InvalidPrice, "catalog_invalid_price"),
        ({"name": ""}, ValidationFailed, "validation_error"),
        ({"package_service": "洗车"}, ValidationFailed, "validation_error"),  # a product, not a service
    ],
)
def test_bad_product_input_is_refused_and_writes_nothing(chain, cat, changes, error, code):
    # given
    data = {"sku": "NEW-1", "name": "新品", "list_price": 100, **changes}
    counts, audits = _product_count(), AuditEntry.objects.count()
    # when
    with pytest.raises(error) as caught:
        services.create_product(chain.hq_admin, chain.merchant, **data)
    # then
    assert caught.value.code == code
    assert _product_count() == counts
    assert AuditEntry.objects.count() == audits


def test_member_price_of_another_merchants_tier_is_refused(chain, cat):
    with pytest.raises(errors.ForeignTier) as caught:
        services.set_member_prices(chain.hq_admin, cat.product, {cat.other_tier: 300})
    assert caught.value.code == "catalog_foreign_tier"
    assert dict(cat.product.member_prices.values_list("tier_id", "price")) == {cat.gold.pk: 400}


def test_member_price_zero_is_refused(chain, cat):
    # The (lazy) message is read in English whatever language an earlier test left active.
    with translation.override("en"):
        with pytest.raises(errors.InvalidPrice) as caught:
            services.update_product(chain.hq_admin, cat.product, member_prices={cat.gold: 0})
        assert caught.value.errors == {f"member_price_{cat.gold.pk}": ["A price must be greater than zero."]}
    assert MemberPrice.objects.get(product=cat.product).price == 400


def test_store_and_category_of_another_merchant_are_refused(chain, cat):
    with pytest.raises(errors.ForeignStore):
        services.update_product(chain.hq_admin, cat.product, stores=[chain.other_store])
    other_category = services.create_category(None, chain.other, name="其他")
    with pytest.raises(errors.UnknownCategory):
        services.update_product(chain.hq_admin, cat.product, category=other_category)
    cat.product.refresh_from_db()
    assert cat.product.category == cat.tea
    assert cat.product.stores.count() == 0


@pytest.mark.parametrize("who", ["region_manager", "store_manager", "cashier_a1", "other_manager"])
def test_only_head_office_with_catalog_manage_may_write(chain, cat, who):
    with pytest.raises(errors.HeadOfficeOnly) as caught:
        services.update_product(getattr(chain, who), cat.product, list_price=999)
    assert caught.value.status == 403
    cat.product.refresh_from_db()
    assert cat.product.list_price == 500


def test_update_audits_only_what_changed(chain, cat):
    # when
    services.update_product(chain.hq_admin, cat.product, list_price=550, member_prices={cat.silver: 480})
    # then
    entry = AuditEntry.objects.filter(subject_type="catalog.product", action="update").get()
    assert entry.before == {"list_price": 500, "member_prices": {str(cat.gold.pk): 400}}
    assert entry.after == {
        "list_price": 550,
        "member_prices": {str(cat.gold.pk): 400, str(cat.silver.pk): 480},
    }


def test_set_member_prices_replaces_all(chain, cat):
    services.set_member_prices(chain.hq_admin, cat.product, {cat.silver: 450})
    assert dict(cat.product.member_prices.values_list("tier_id", "price")) == {cat.silver.pk: 450}


def test_deactivate_product_keeps_it(chain, cat):
    services.deactivate_product(chain.hq_admin, cat.product)
    cat.product.refresh_from_db()
    assert cat.product.is_active is False


def test_category_paths_and_move_rewrites_subtree(chain, cat):
    # given
    assert cat.tea.path == f"/{cat.food.pk}/{cat.drinks.pk}/{cat.tea.pk}/"
    other_top = services.create_category(chain.hq_admin, chain.merchant, name="礼品")
    # when
    services.update_category(chain.hq_admin, cat.drinks, parent=other_top)
    # then
    cat.tea.refresh_from_db()
    assert cat.tea.path == f"/{other_top.pk}/{cat.drinks.pk}/{cat.tea.pk}/"
    assert cat.tea.depth == 2
    assert AuditEntry.objects.filter(subject_type="catalog.category", action="update").count() == 1


def test_category_refusals(chain, cat):
    with pytest.raises(errors.CategoryCycle):
        services.update_category(chain.hq_admin, cat.food, parent=cat.tea)
    with pytest.raises(errors.DuplicateCategory) as caught:
        services.create_category(chain.hq_admin, chain.merchant, name="饮料", parent=cat.food)
    assert caught.value.code == "catalog_duplicate_category"
    with pytest.raises(errors.DuplicateCategory):
        services.create_category(chain.hq_admin, chain.merchant, name="新", code="F")
    with pytest.raises(errors.CategoryInUse):
        services.deactivate_category(chain.hq_admin, cat.tea)
    with pytest.raises(errors.HeadOfficeOnly):
        services.create_category(chain.region_manager, chain.merchant, name="区域分类")
    assert Category.objects.filter(merchant=chain.merchant).count() == 3
    cat.food.refresh_from_db()
    assert cat.food.parent is None and cat.tea.is_active


def test_deactivate_empty_category(chain, cat):
    empty = services.create_category(chain.hq_admin, chain.merchant, name="空")
    services.deactivate_category(chain.hq_admin, empty)
    empty.refresh_from_db()
    assert empty.is_active is False
