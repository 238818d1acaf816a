"""Enumerations of count and period cards (次卡 / 期限卡, L8); the ledger's own enums live in choices.py."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from onecard.loyalty.cards.choices import CardKind


class PackageKind(models.TextChoices):
    """What a package sells: a number of uses per service, or unlimited use until a date.

    The two kinds of card product a package is (count card 次卡, period card 期限卡): their values and
    labels are the card kinds', declared once there.
    """

    COUNT = CardKind.COUNT.value, CardKind.COUNT.label
    PERIOD = CardKind.PERIOD.value, CardKind.PERIOD.label


class MemberPackageStatus(models.TextChoices):
    """Where a sold package is: only ACTIVE packages can be used or refunded."""

    ACTIVE = "active", _("Active")
    USED_UP = "used_up", _("Used up")
    REFUNDED = "refunded", _("Refunded")
    EXPIRED = "expired", _("Expired")
