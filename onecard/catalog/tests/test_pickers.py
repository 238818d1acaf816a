"""Catalogue pickers on back-office forms: search endpoints, chosen records shown by name, ids posted."""

import pytest
from django.utils import translation

from onecard.catalog import services
from onecard.core.forms import IdListField
from onecard.testing.promotions import make_promotion

pytestmark = pytest.mark.django_db


@pytest.fixture
def latte(chain, cat):
    return services.create_product(
        None, chain.merchant, sku="LAT-1", name="拿铁咖啡", category=cat.drinks, list_price=2800
    )


def test_product_search_by_name_initials_sku_and_barcode(chain, cat, latte, login):
    # given: another merchant's product with the same name, and a switched-off one
    services.create_product(None, chain.other, sku="LAT-1", name="拿铁咖啡", list_price=100)
    off = services.create_product(None, chain.merchant, sku="LAT-2", name="拿铁大杯", list_price=3200)
    services.update_product(None, off, is_active=False)
    client = login(chain.marketer)
    # when/then: each key finds acme's active latte only, named by SKU, name and price
    for text in ("拿铁", "ntkf", "lat-1", "铁咖"):
        answer = client.get("/catalog/pick/products/", {"q": text}).json()
        assert answer == {"results": [{"id": latte.pk, "label": "LAT-1 拿铁咖啡 ¥28.00"}]}, text
    answer = client.get("/catalog/pick/products/", {"q": "6901234567892"}).json()
    assert answer == {"results": [{"id": cat.product.pk, "label": "TEA-1 乌龙茶 ¥5.00"}]}
    assert client.get("/catalog/pick/products/", {"q": ""}).json() == {"results": []}


def test_category_search_names_the_path(chain, cat, login):
    client = login(chain.marketer)
    answer = client.get("/catalog/pick/categories/", {"q": "饮"}).json()
    assert answer == {
        "results": [
            {"id": cat.drinks.pk, "label": "食品 / 饮料"},
            {"id": cat.tea.pk, "label": "食品 / 饮料 / 茶饮"},
        ]
    }


def test_pickers_need_the_catalogue_or_promotions(chain, login):
    # given: a service agent, who neither reads the catalogue nor writes promotions
    client = login(chain.service)
    assert client.get("/catalog/pick/products/", {"q": "a"}).status_code == 403
    assert client.get("/catalog/pick/categories/", {"q": "a"}).status_code == 403


def test_the_promotion_form_shows_chosen_products_and_categories_by_name(chain, cat, latte, login):
    # given: a promotion on the latte and the 茶饮 category, with a gift picker on a 满赠
    promotion = make_promotion(chain, product_ids=[latte.pk], category_ids=[cat.tea.pk])
    gift = make_promotion(chain, "threshold_gift", params={"min": 20000, "gift_product_id": cat.product.pk})
    client = login(chain.hq_admin)
    # when
    page = client.get(f"/promotions/{promotion.pk}/").content.decode()
    gift_page = client.get(f"/promotions/{gift.pk}/").content.decode()
    # then: names, not ids, with the ids in the posted value
    assert f'<li class="chip" data-id="{latte.pk}"><span>LAT-1 拿铁咖啡 ¥28.00</span>' in page
    assert f'<li class="chip" data-id="{cat.tea.pk}"><span>食品 / 饮料 / 茶饮</span>' in page
    assert f'name="product_ids" value="{latte.pk}"' in page
    assert (
        'data-search-url="/catalog/pick/products/"' in page
        and 'data-search-url="/catalog/pick/categories/"' in page
    )
    assert 'data-multiple="0"' in gift_page and "TEA-1 乌龙茶 ¥5.00" in gift_page


def test_the_coupon_form_picks_products_too(chain, cat, login):
    client = login(chain.hq_admin)
    page = client.get("/coupons/templates/new/").content.decode()
    assert 'name="product_ids"' in page and 'data-search-url="/catalog/pick/products/"' in page
    assert 'name="gift_product_id"' in page and 'data-multiple="0"' in page


def test_id_lists_take_ascii_digits_only():
    field = IdListField()
    assert field.clean("12, 15，3 12") == [3, 12, 15]
    for bad in ("²", "1,x", "0", "-4"):
        with translation.override("en"), pytest.raises(Exception, match="separated by commas"):
            field.clean(bad)
