"""Data of the member 360 page's coupons section (members.views.MEMBER_SECTIONS)."""

from django import template
from django.utils import timezone

from ..coupon_choices import CouponStatus
from ..models import Coupon

register = template.Library()

SHOWN = 50


@register.simple_tag
def member_coupons(member):
    """The member's coupons, usable ones first (soonest to expire first), then the rest newest first."""
    now = timezone.now()
    coupons = list(
        Coupon.objects.filter(member=member).select_related("template").order_by("-issued_at", "-id")[:200]
    )
    usable = sorted(
        (c for c in coupons if c.status == CouponStatus.ISSUED and c.valid_until > now),
        key=lambda c: (c.valid_until, c.pk),
    )
    rest = [c for c in coupons if c not in usable]
    return {"usable": usable, "rest": rest[: max(0, SHOWN - len(usable))], "usable_count": len(usable)}
