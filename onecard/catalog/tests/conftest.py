"""Catalogue fixtures: acme's tiers, a small category tree and a product with member prices."""

from types import SimpleNamespace

import pytest

from onecard.catalog import services
from onecard.loyalty.models import Tier


@pytest.fixture
def cat(chain):
    """Tiers silver/gold (acme) and vip (other); categories 食品 → 饮料 → 茶饮; product TEA-1 in 茶饮."""
    silver = Tier.objects.create(merchant=chain.merchant, name="Silver", rank=1)
    gold = Tier.objects.create(merchant=chain.merchant, name="Gold", rank=2)
    other_tier = Tier.objects.create(merchant=chain.other, name="VIP", rank=1)
    food = services.create_category(None, chain.merchant, name="食品", code="F")
    drinks = services.create_category(None, chain.merchant, name="饮料", parent=food, code="FD")
    tea = services.create_category(None, chain.merchant, name="茶饮", parent=drinks)
    product = services.create_product(
        None,
        chain.merchant,
        sku="TEA-1",
        barcode="6901234567892",
        name="乌龙茶",
        category=tea,
        unit="瓶",
        list_price=500,
        member_prices={gold: 400},
    )
    return SimpleNamespace(
        silver=silver, gold=gold, other_tier=other_tier, food=food, drinks=drinks, tea=tea, product=product
    )
