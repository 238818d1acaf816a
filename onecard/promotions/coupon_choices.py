"""Enumerations of coupons (P3): template kinds, coupon states, return policy, how a batch was issued."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class CouponKind(models.TextChoices):
    """What a coupon gives; `CouponTemplate.value` is read per kind."""

    CASH = "cash", _("Cash voucher (代金券)")
    DISCOUNT = "discount", _("Discount coupon (折扣券)")
    GIFT = "gift", _("Gift coupon (兑换券)")
    COUNT = "count", _("Count coupon (次数券)")


class CouponStatus(models.TextChoices):
    """Only ISSUED coupons can be redeemed."""

    ISSUED = "issued", pgettext_lazy("coupon", "Issued")
    REDEEMED = "redeemed", pgettext_lazy("coupon", "Redeemed")
    VOID = "void", _("Void")
    EXPIRED = "expired", _("Expired")


class RestorePolicy(models.TextChoices):
    """What a return does to a coupon the sale used."""

    NEVER = "never", _("Never given back")
    ALWAYS = "always", _("Given back (keeps its validity)")
    IF_VALID = "if_valid", _("Given back only while still valid")


class IssueRule(models.TextChoices):
    """The event that issues a template's coupons automatically (none: by hand or in bulk only)."""

    NONE = "", _("None")
    JOIN = "join", _("On joining")
    BIRTHDAY = "birthday", _("On the member's birthday")
    SPEND = "spend", _("After a spend")


class IssueHow(models.TextChoices):
    """How a batch of coupons was issued."""

    HAND = "hand", _("By hand")
    BULK = "bulk", _("Member list")
    FILE = "file", _("Segment file")
    JOIN = "join", _("Rule: joining")
    BIRTHDAY = "birthday", _("Rule: birthday")
    SPEND = "spend", _("Rule: spend")
