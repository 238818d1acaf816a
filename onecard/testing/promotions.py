"""Helpers for promotion tests: a valid promotion's data, and a promotion created through the service."""

import datetime

from django.utils import timezone

from onecard.promotions import rules

START = timezone.make_aware(datetime.datetime(2026, 6, 1, 0, 0))
END = timezone.make_aware(datetime.datetime(2026, 7, 1, 0, 0))
AT = timezone.make_aware(datetime.datetime(2026, 6, 10, 12, 0))  # a Wednesday, Asia/Shanghai

PARAMS = {
    "member_price": {"rate": "0.9"},
    "discount": {"rate": "0.85"},
    "threshold_cash": {"steps": [{"min": 20000, "off": 3000}, {"min": 50000, "off": 10000}]},
    "threshold_discount": {"min": 30000, "rate": "0.9"},
    "threshold_gift": {"min": 20000, "gift_product_id": 99},
    "buy_x_get_y": {"buy": 2, "free": 1},
    "nth_discount": {"nth": 2, "rate": "0.5"},
    "bundle": {"product_ids": [1, 2], "price": 5000},
    "birthday": {"window": "month", "amount_off": 2000},
}


def promotion_data(kind="discount", **overrides):
    """The fields of a valid promotion of `kind`, with overrides."""
    data = {
        "name": f"Test {kind}",
        "kind": kind,
        "params": PARAMS[kind],
        "valid_from": START,
        "valid_to": END,
    }
    data.update(overrides)
    return data


def make_promotion(chain, kind="discount", node=None, actor=None, **overrides):
    """A promotion owned by `node` (HQ by default), created through the service."""
    return rules.create_promotion(actor, chain.merchant, node or chain.hq, promotion_data(kind, **overrides))
