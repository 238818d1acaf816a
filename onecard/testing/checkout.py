"""The checkout tests' constants and helpers: the `shop` fixture's barcodes, an API order and its refusal checks."""

from onecard.promotions.coupon_choices import CouponStatus
from onecard.promotions.models import Coupon, PromotionUse
from onecard.sales.models import Sale
from onecard.testing.cards import reload
from onecard.testing.points import assert_books, points_balance
from onecard.testing.stored_value import balances

CAKE_BARCODE = "6900000000011"  # CAKE-1, ¥30
TEA_BARCODE = "6901234567892"  # TEA-1, ¥5

POS_API = "/api/v1/pos"
ITEMS = [{"sku": "CAKE-1", "quantity": 4}, {"barcode": "6901234567892", "quantity": 2}]  # ¥120 + ¥10


def problem_code(response):
    """The status and problem code of a problem+json answer."""
    assert response["Content-Type"].startswith("application/problem+json"), response.content
    return response.status_code, response.json()["code"]


def api_order(shop, **over):
    """¥130 of goods − ¥1 on the tea (limited promotion) − ¥20 voucher = ¥109 due, paid ¥60 SV + ¥10 in
    points + ¥39 cash."""
    return {
        "card_no": shop.card.number,
        "items": ITEMS,
        "coupons": [shop.coupon.code],
        "tenders": {"stored_value": 6000, "points": 1000, "cash": 3900},
        **over,
    }


def assert_nothing_taken(shop):
    assert not Sale.objects.exists()
    assert balances(reload(shop.card)) == (10000, 2000, 0)
    assert points_balance(shop.card) == 1000
    assert Coupon.objects.get(pk=shop.coupon.pk).status == CouponStatus.ISSUED
    assert not PromotionUse.objects.filter(promotion=shop.promotion).exists()
    assert_books(shop.card)
