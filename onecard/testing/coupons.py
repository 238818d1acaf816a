"""Coupon templates for the coupon tests: a ¥20-off-¥100 voucher by default, owned by head office."""

import datetime

from onecard.promotions import coupon_templates
from onecard.promotions.coupon_choices import CouponKind


def make_template(chain, *, node=None, actor=None, stores=(), **fields):
    """A template created through the service; defaults: cash ¥20 off ¥100, valid 30 days from issue."""
    data = {
        "name": f"满100减20 #{make_template.counter}",
        "kind": CouponKind.CASH,
        "value": 2000,
        "min_spend": 10000,
        "valid_days": 30,
    }
    make_template.counter += 1
    data.update(fields)
    return coupon_templates.create_template(
        actor, chain.merchant, node=node or chain.hq, stores=stores, **data
    )


make_template.counter = 1


def aware(year, month, day, hour=12):
    """A time in Shanghai (the project's time zone)."""
    from django.utils import timezone

    return timezone.make_aware(datetime.datetime(year, month, day, hour))
