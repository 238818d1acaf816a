"""Fixtures of the POS checkout API tests."""

import datetime

import pytest
from django.utils import timezone

from onecard.promotions import rules


@pytest.fixture
def tea_promotion(chain, shop):
    """The API checkout tests run with a promotion too: TEA-1 10% off, limited to 5 units (`shop.promotion`)."""
    now = timezone.now()
    promotion = rules.create_promotion(
        None,
        chain.merchant,
        chain.hq,
        {
            "name": "限量茶九折",
            "kind": "discount",
            "params": {"rate": "0.9"},
            "product_ids": [shop.tea.pk],
            "valid_from": now - datetime.timedelta(days=1),
            "valid_to": now + datetime.timedelta(days=1),
            "stock_total": 5,
        },
    )
    shop.promotion = promotion
    return promotion
