"""A checkout takes the tenders it always took: a package pays only for its own uses."""

import pytest

from onecard.catalog import services as catalog
from onecard.sales import checkout
from onecard.sales.errors import InvalidTender
from onecard.sales.models import Sale

pytestmark = pytest.mark.django_db


def test_a_package_tender_is_refused_at_checkout(chain):
    catalog.create_product(None, chain.merchant, sku="TEA-1", name="乌龙茶", list_price=500)
    with pytest.raises(InvalidTender) as refused:
        checkout.checkout(
            chain.cashier_a1, store=chain.a1, card=None, items=[("TEA-1", 1)],
            tenders={"package": 500}, business_ref="S-1",
        )  # fmt: skip
    assert refused.value.extra == {"tender": "package"}
    assert not Sale.objects.exists()
