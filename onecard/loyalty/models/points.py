"""Points (L4): the merchant's points policy, earn rules, lots with an expiry, and what used each lot.

The balance itself is the card's `member_points` ledger account; lots say which points expire
when. Invariant kept by `loyalty/points.py` (the only writer of `remaining`, always in the same
transaction as the ledger entry): for every card, the sum of its lots' `remaining` equals the
balance of its `member_points` account.
"""

from decimal import Decimal

from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from onecard.core.fields import merchant_field, node_field, protected_fk, protected_staff_field
from onecard.loyalty.models.cards import Card
from onecard.loyalty.models.ledger import JournalEntry

DEFAULT_EXPIRY_DAYS = 365


class ExpiryMode(models.TextChoices):
    """When the points of a lot expire, counted from the day they were earned (Asia/Shanghai)."""

    DAYS = "days", _("N days after earning")
    MONTH_END = "month_end", _("At the end of the month they were earned in")
    YEAR_END = "year_end", _("At the end of the year they were earned in")


class LotSource(models.TextChoices):
    EARN = "earn", _("Earned")
    ADJUST = "adjust", _("Manual adjustment")


class LotUseKind(models.TextChoices):
    REDEEM = "redeem", _("Redeemed")
    EXPIRE = "expire", _("Expired")
    ADJUST = "adjust", _("Manual adjustment")
    REVERSE = "reverse", _("Earning reversed")


class PointsPolicy(models.Model):
    """A merchant's points settings: expiry, the cash value of points and the cap per bill.

    Redemption: `points_per_yuan` points are worth ¥1 (100 → 1 point = 1 fen). Cap per bill: at
    most `cap_percent` % of the bill and at most `cap_fen`; either may be empty (no such cap).
    A merchant without a row uses the defaults below.
    """

    merchant = models.OneToOneField("org.Merchant", on_delete=models.CASCADE, related_name="points_policy")
    expiry_mode = models.CharField(
        _("expiry"), max_length=10, choices=ExpiryMode.choices, default=ExpiryMode.DAYS
    )
    expiry_days = models.PositiveIntegerField(_("valid for (days)"), default=DEFAULT_EXPIRY_DAYS)
    points_per_yuan = models.PositiveIntegerField(_("points worth ¥1"), default=100)
    cap_percent = models.DecimalField(
        _("most of a bill payable with points (percent)"),
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
    )
    cap_fen = models.BigIntegerField(_("at most per bill (fen)"), null=True, blank=True)
    # What a checkout's points are earned on: the amount due, less by default what bonus value and
    # points paid (neither is the member's money); a merchant may count either as paid.
    earn_on_bonus = models.BooleanField(_("earn points on what bonus value pays"), default=False)
    earn_on_points = models.BooleanField(_("earn points on what points pay"), default=False)

    class Meta:
        verbose_name = _("points policy")
        verbose_name_plural = _("points policies")
        constraints = [
            models.CheckConstraint(condition=Q(expiry_days__gt=0), name="loyalty_pointspolicy_days"),
            models.CheckConstraint(condition=Q(points_per_yuan__gt=0), name="loyalty_pointspolicy_rate"),
            models.CheckConstraint(
                condition=Q(cap_percent__isnull=True) | Q(cap_percent__gte=0, cap_percent__lte=100),
                name="loyalty_pointspolicy_cap_percent",
            ),
            models.CheckConstraint(
                condition=Q(cap_fen__isnull=True) | Q(cap_fen__gte=0), name="loyalty_pointspolicy_cap_fen"
            ),
        ]

    def __str__(self):
        return f"{self.merchant_id}: {self.expiry_mode}"


class PointsEarnRule(models.Model):
    """Points earned per yuan spent; the matching rule with the highest `priority` applies (ties: lowest id).

    Filters (all optional): `stores` (empty: every store), `weekdays` (ISO digits 1=Monday ..
    7=Sunday, e.g. "67" for weekends; empty: every day), `valid_from`/`valid_until` (local dates,
    inclusive). `birthday_multiplier` applies on the member's birthday (Asia/Shanghai).
    """

    merchant = merchant_field(related_name="points_rules")
    name = models.CharField(_("name"), max_length=60)
    points_per_yuan = models.DecimalField(_("points per ¥1"), max_digits=9, decimal_places=4)
    stores = models.ManyToManyField("org.OrgNode", verbose_name=_("stores"), blank=True, related_name="+")
    weekdays = models.CharField(_("weekdays (1=Mon..7=Sun)"), max_length=7, blank=True, default="")
    birthday_multiplier = models.DecimalField(
        _("birthday multiplier"), max_digits=5, decimal_places=2, default=Decimal(1)
    )
    valid_from = models.DateField(_("from"), null=True, blank=True)
    valid_until = models.DateField(_("until"), null=True, blank=True)
    priority = models.IntegerField(_("priority"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["merchant", "-priority", "id"]
        verbose_name = _("points earn rule")
        verbose_name_plural = _("points earn rules")
        constraints = [
            models.CheckConstraint(condition=Q(points_per_yuan__gte=0), name="loyalty_pointsrule_rate"),
            models.CheckConstraint(
                condition=Q(birthday_multiplier__gt=0), name="loyalty_pointsrule_birthday_multiplier"
            ),
        ]

    def __str__(self):
        return self.name


class PointsLot(models.Model):
    """Points earned (or added by adjustment) at one time, with one expiry; `remaining` of them are unspent.

    Never edited except `remaining` (and `card`, when a card is replaced or merged) by
    loyalty/points.py in the transaction that posts the matching ledger entry.
    """

    merchant = merchant_field()
    card = protected_fk(Card, related_name="points_lots")
    store = node_field(optional=True)
    source = models.CharField(max_length=10, choices=LotSource.choices, default=LotSource.EARN)
    entry = protected_fk(JournalEntry)
    business_ref = models.CharField(max_length=100, blank=True, default="")
    earned_at = models.DateTimeField(_("earned"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires"))
    original = models.BigIntegerField(_("points earned"))
    remaining = models.BigIntegerField(_("points left"))

    class Meta:
        ordering = ["expires_at", "earned_at", "id"]
        verbose_name = _("points lot")
        verbose_name_plural = _("points lots")
        indexes = [
            models.Index(fields=["card", "expires_at", "earned_at", "id"], name="loyalty_pointslot_fifo"),
            models.Index(
                fields=["expires_at"], condition=Q(remaining__gt=0), name="loyalty_pointslot_open_expiry"
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(original__gt=0), name="loyalty_pointslot_original_positive"),
            models.CheckConstraint(
                condition=Q(remaining__gte=0, remaining__lte=F("original")),
                name="loyalty_pointslot_remaining_range",
            ),
        ]

    def __str__(self):
        return f"lot {self.pk}: {self.remaining}/{self.original}"


class PointsLotUse(models.Model):
    """Points taken out of a lot by one ledger entry (redeem, expire, adjust, reverse): the trail of `remaining`."""

    lot = protected_fk(PointsLot, related_name="uses")
    entry = protected_fk(JournalEntry)
    kind = models.CharField(max_length=10, choices=LotUseKind.choices)
    points = models.BigIntegerField()
    # For kind=reverse: the lot whose earning was taken back (the points may come from another lot).
    reverses_lot = protected_fk(PointsLot, related_name="reversal_uses", optional=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(points__gt=0), name="loyalty_pointslotuse_positive")
        ]

    def __str__(self):
        return f"{self.kind} {self.points} from lot {self.lot_id}"


class PointsGiveBack(models.Model):
    """Points of a redemption given back to the lot they came from (a returned sale paid with points)."""

    redemption = protected_fk(JournalEntry)
    lot = protected_fk(PointsLot, related_name="give_backs")
    entry = protected_fk(JournalEntry)
    points = models.BigIntegerField()
    actor = protected_staff_field()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(points__gt=0), name="loyalty_pointsgiveback_positive")
        ]

    def __str__(self):
        return f"{self.points} back to lot {self.lot_id}"


class PointsReversal(models.Model):
    """One take-back of earned points (a refund): asked for `requested`, took `taken`, `shortfall` was spent."""

    lot = protected_fk(PointsLot, related_name="reversals")
    entry = protected_fk(JournalEntry, optional=True)
    actor = protected_staff_field()
    created_at = models.DateTimeField(default=timezone.now)
    requested = models.BigIntegerField()
    taken = models.BigIntegerField()
    shortfall = models.BigIntegerField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    requested__gt=0, taken__gte=0, shortfall__gte=0, requested=F("taken") + F("shortfall")
                ),
                name="loyalty_pointsreversal_sum",
            )
        ]

    def __str__(self):
        return f"reversal of lot {self.lot_id}: {self.taken}/{self.requested}"
