"""Enumerations of card products, cards and tiers (the ledger's own enums live in choices.py)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class CardKind(models.TextChoices):
    """What a card product sells (卡类型)."""

    STORED_VALUE = "stored_value", _("Stored-value card (储值卡)")
    POINTS = "points", _("Points card (积分卡)")
    COUNT = "count", _("Count card (次卡)")
    PERIOD = "period", _("Period card (期限卡)")


class CardStatus(models.TextChoices):
    """Where a card is in its life cycle; only ACTIVE cards can be used at the till."""

    IN_STOCK = "in_stock", _("In stock")
    ACTIVE = "active", _("Active")
    FROZEN = "frozen", _("Frozen")
    LOST = "lost", _("Reported lost")
    REPLACED = "replaced", _("Replaced")
    MERGED = "merged", _("Merged into another card")
    CANCELLED = "cancelled", _("Cancelled")
    EXPIRED = "expired", _("Expired")


class TierMetric(models.TextChoices):
    """What an upgrade rule counts over its rolling window (fen for spend and top-up)."""

    SPEND = "spend", _("Spend")
    TOPUP = "topup", _("Top-ups")
    POINTS_EARNED = "points_earned", _("Points earned")
    VISITS = "visits", _("Visits")


class TierChangeKind(models.TextChoices):
    UPGRADE = "upgrade", _("Upgrade")
    DOWNGRADE = "downgrade", _("Downgrade")
    MANUAL = "manual", _("Set by staff")
    MERGE = "merge", _("Member merge")
