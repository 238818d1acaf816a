"""The till's return screen when what is kept no longer reaches 满300: preview, deduction, receipt, the rest."""

import uuid

import pytest
from django.urls import reverse

from onecard.sales.models import Sale, SaleReturn
from onecard.testing.points import assert_books
from onecard.testing.stored_value import assert_ledger_clean

pytestmark = pytest.mark.django_db


def _post(client, sale, **data):
    return client.post(reverse("till_sale:sale_return", args=[sale.pk]), {"token": uuid.uuid4().hex, **data})


def test_sale_keeps_its_pricing(sale_over_300):
    # given the ¥310 sale that reached 满300 twice over
    s = sale_over_300
    # then it is due ¥260 with the gift line, and keeps both promotions and the gift's price for returns
    assert (s.sale.total_due, s.cake.due, s.tea.due, s.gift.due) == (26000, 25162, 838, 0)
    assert {rule["id"] for rule in s.sale.pricing["rules"]} == {s.off.pk, s.present.pk}
    assert s.sale.pricing["gift_prices"] == {str(s.gift.product_id): 3000}


def test_preview_explains_and_writes_nothing(chain, login, sale_over_300):
    s = sale_over_300
    client = login(chain.cashier_a1)
    # when the cashier asks what four cakes back would give, the gift kept
    response = _post(client, s.sale, preview="1", reason="不想要了", **{f"qty_{s.cake.pk}": "4"})
    # then the screen shows the calculation: ¥100.64 share, kept ¥159.36 → ¥190 + the ¥30 gift, ¥40 back
    page = response.content.decode()
    assert response.status_code == 200 and 'id="return-preview"' in page
    for shown in (
        "¥100.64",
        "¥159.36",
        "¥190.00",
        "不再满足：满300减50",
        "不再满足：满300送杯",
        "礼品杯 ×1",
        "−¥60.64",
        "¥40.00",
    ):
        assert shown in page, shown
    # and what was typed stays in the form; nothing was returned
    assert f'name="qty_{s.cake.pk}" id="return-qty-{s.cake.pk}" value="4"' in page
    assert not SaleReturn.objects.exists()


def test_return_below_the_threshold_keeps_back_the_discount_then_the_rest_gives_it_back(
    chain, login, sale_over_300
):
    s = sale_over_300
    client = login(chain.cashier_a1)
    # when four cakes and the gift come back: the 6 cakes and 2 teas kept cost ¥190 at list price
    response = _post(client, s.sale, reason="不想要了", **{f"qty_{s.cake.pk}": "4", f"qty_{s.gift.pk}": "1"})
    assert response.status_code == 302
    done = SaleReturn.objects.get()
    # then ¥260 paid − ¥190 kept = ¥70 back: the ¥100.64 share less ¥30.64 no longer earned, all in cash
    assert (done.lines_due, done.deduction, done.amount) == (10064, 3064, 7000)
    assert done.tenders == [{"tender": s.sale.tenders.get().pk, "kind": "cash", "amount": 7000}]
    assert done.repricing["lost"] == ["满300减50"]  # the gift came back: its promotion is not missed
    # and the screen and the receipt explain it
    detail = client.get(response.url).content.decode()
    assert f'id="return-calc-{done.pk}"' in detail and "−¥30.64" in detail and "¥190.00" in detail
    receipt = client.get(reverse("till_sale:receipt", args=[s.sale.pk])).content.decode()
    assert 'id="receipt-return-1"' in receipt and "−¥30.64" in receipt and "实退金额" in receipt
    # when the rest comes back: every fen paid is back, the ¥30.64 kept back with it
    response = _post(client, s.sale, reason="全部退", whole="1")
    last = SaleReturn.objects.order_by("pk").last()
    assert (last.lines_due, last.deduction, last.amount) == (15936, -3064, 19000)
    sale = Sale.objects.get(pk=s.sale.pk)
    assert sale.returned_due == sale.total_due == 26000
    assert "+¥30.64" in client.get(response.url).content.decode()
    assert_books(s.sale.card)
    assert_ledger_clean()


def test_a_return_that_costs_more_than_it_is_worth_gives_nothing_and_takes_nothing(
    chain, login, sale_over_300
):
    s = sale_over_300
    client = login(chain.cashier_a1)
    # when one cake comes back, the gift kept: the rest (¥280 + the ¥30 gift) costs more than the ¥260 paid
    response = _post(client, s.sale, reason="x", **{f"qty_{s.cake.pk}": "1"})
    # then the cake is counted back, nothing is given back and the customer owes nothing either
    assert response.status_code == 302
    done = SaleReturn.objects.get()
    assert (done.lines_due, done.deduction, done.amount, done.tenders) == (2516, 2516, 0, [])
    assert Sale.objects.get(pk=s.sale.pk).returned_due == 0
    assert "以退回商品的应付金额为限" in client.get(response.url).content.decode()
