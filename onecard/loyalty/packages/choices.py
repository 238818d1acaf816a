"""Enumerations of count and period cards (次卡 / 期限卡, L8); the ledger's own enums live in choices.py."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class PackageKind(models.TextChoices):
    """What a package sells: a number of uses per service, or unlimited use until a date."""

    COUNT = "count", _("Count card (次卡)")
    PERIOD = "period", _("Period card (期限卡)")


class MemberPackageStatus(models.TextChoices):
    """Where a sold package is: only ACTIVE packages can be used or refunded."""

    ACTIVE = "active", _("Active")
    USED_UP = "used_up", _("Used up")
    REFUNDED = "refunded", _("Refunded")
    EXPIRED = "expired", _("Expired")
