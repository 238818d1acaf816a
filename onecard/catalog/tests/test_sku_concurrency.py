"""PostgreSQL only: clerks racing to create the same SKU: one product, every other clerk a duplicate_sku refusal."""

import threading

import pytest

from onecard.catalog import services
from onecard.catalog.models import Product
from onecard.core.errors import BusinessError
from onecard.testing.concurrency import run_clients

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_racing_creates_of_one_sku_make_one_product(chain):
    # given
    barrier = threading.Barrier(6)
    outcomes = []

    def client(n):
        barrier.wait()
        try:
            services.create_product(
                chain.hq_admin, chain.merchant, sku="RACE-1", name=f"抢{n}", list_price=100
            )
            outcomes.append("created")
        except BusinessError as error:
            outcomes.append(error.code)

    # when
    run_clients(6, client)
    # then
    assert sorted(outcomes) == ["catalog_duplicate_sku"] * 5 + ["created"]
    assert Product.objects.filter(sku="RACE-1").count() == 1
