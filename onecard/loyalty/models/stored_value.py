"""Stored value (L3) and holds (L5): top-up bonus rules, consumption order, card transactions.

A `CardTransaction` is the business record of one money movement on a card (top-up, charge,
refund, hold, capture, void, expiry); the money itself is the journal entry it points at. Rows
are immutable: only the services of stored_value.py and holds.py change `refunded_total`,
`status` and `closed_at`, in the transaction that posts the matching entry.
"""

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from onecard.core.fields import member_field, merchant_field, node_field, protected_fk, protected_staff_field
from onecard.loyalty.models.ledger import GuardedModel


class ConsumptionOrder(models.TextChoices):
    """How a charge or a hold takes the amount due from principal (本金) and bonus (赠送金)."""

    PROPORTIONAL = "proportional", _("Proportional")
    PRINCIPAL_FIRST = "principal_first", _("Principal first")
    BONUS_FIRST = "bonus_first", _("Bonus first")


class CardTxKind(models.TextChoices):
    TOPUP = "topup", _("Top-up")
    CHARGE = "charge", _("Charge")
    REFUND = "refund", _("Refund")
    HOLD = "hold", _("Hold")
    CAPTURE = "capture", _("Capture")
    VOID = "void", _("Void")
    EXPIRE = "expire", _("Hold expired")


class CardTxStatus(models.TextChoices):
    DONE = "done", _("Done")
    OPEN = "open", _("Open hold")
    CAPTURED = "captured", _("Captured")
    VOIDED = "voided", _("Voided")
    EXPIRED = "expired", _("Expired")


class StoredValueSettings(models.Model):
    """Stored-value settings of a card product; a product without a row consumes proportionally."""

    product = models.OneToOneField(
        "loyalty.CardProduct", on_delete=models.CASCADE, related_name="stored_value_settings"
    )
    consumption_order = models.CharField(
        _("consumption order"),
        max_length=20,
        choices=ConsumptionOrder.choices,
        default=ConsumptionOrder.PROPORTIONAL,
    )

    class Meta:
        verbose_name = _("stored-value settings")
        verbose_name_plural = _("stored-value settings")

    def __str__(self):
        return f"{self.product}: {self.consumption_order}"


class TopupBonusRule(models.Model):
    """充值赠送: tiers of (threshold fen, bonus fen); the highest threshold the top-up reaches applies.

    Chain-wide when `store` is empty. Among the rules valid at the time of the top-up, the one
    with the highest `priority` wins (then the store-specific one, then the newest).
    """

    merchant = merchant_field(related_name="topup_bonus_rules")
    store = node_field(related_name="topup_bonus_rules", optional=True)
    name = models.CharField(_("name"), max_length=60)
    # [[50000, 5000], [100000, 15000]]: 充500送50, 充1000送150.
    tiers = models.JSONField(_("tiers (threshold fen, bonus fen)"), default=list)
    valid_from = models.DateTimeField(_("valid from"))
    valid_to = models.DateTimeField(_("valid to"), null=True, blank=True)
    priority = models.IntegerField(_("priority"), default=0)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["merchant", "-priority", "-id"]
        verbose_name = _("top-up bonus rule")
        verbose_name_plural = _("top-up bonus rules")
        indexes = [
            models.Index(fields=["merchant", "is_active", "valid_from"], name="loyalty_bonusrule_active")
        ]

    def __str__(self):
        return self.name

    def bonus_for(self, amount: int) -> int:
        """The bonus of the highest threshold `amount` reaches (0 below the lowest)."""
        best = max(((int(t), int(b)) for t, b in self.tiers if amount >= int(t)), default=None)
        return best[1] if best else 0


class RebateForm(models.TextChoices):
    """How a rebate (返利) is given back: as bonus stored value or as points."""

    BONUS = "bonus", _("Bonus value")
    POINTS = "points", _("Points")


class RebateRule(models.Model):
    """返利: `percent` of the amount due of a charge or capture back to the card, as bonus or points.

    Chain-wide when `store` is empty. Applies to charges of at least `min_amount` fen between
    `valid_from` and `valid_to` (open-ended when empty); among the rules that apply, the highest
    percent wins (then the store-specific one, then the newest). See loyalty/rebates.py.
    """

    merchant = merchant_field(related_name="rebate_rules")
    store = node_field(related_name="rebate_rules", optional=True)
    name = models.CharField(_("name"), max_length=60)
    # 2.00 = 2 %: the rebate is floor(amount due × percent / 100).
    percent = models.DecimalField(_("percent"), max_digits=5, decimal_places=2)
    form = models.CharField(
        _("given as"), max_length=10, choices=RebateForm.choices, default=RebateForm.BONUS
    )
    min_amount = models.BigIntegerField(_("minimum amount due (fen)"), default=0)
    valid_from = models.DateTimeField(_("valid from"))
    valid_to = models.DateTimeField(_("valid to"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["merchant", "-percent", "-id"]
        verbose_name = _("rebate rule")
        verbose_name_plural = _("rebate rules")
        constraints = [
            models.CheckConstraint(
                condition=Q(percent__gt=0, percent__lte=100), name="loyalty_rebaterule_percent_range"
            ),
            models.CheckConstraint(
                condition=Q(min_amount__gte=0), name="loyalty_rebaterule_min_not_negative"
            ),
        ]
        indexes = [
            models.Index(fields=["merchant", "is_active", "valid_from"], name="loyalty_rebaterule_active")
        ]

    def __str__(self):
        return self.name


class CardTransaction(GuardedModel):
    """One money movement on a card; amounts in fen. `amount` = `principal` + `bonus` moved.

    For a charge, `list_amount` is the price before the tier discount and `discount` the
    difference; for a hold, `principal`/`bonus` are what it reserved; a refund, capture, void
    or expiry points at its `original`. A refund of a top-up is the exception: `amount` =
    `principal` paid out, `bonus` the bonus withdrawn with it. `refunded_total` counts fen
    refunded against this row (principal, for a top-up).
    """

    mutable_fields = frozenset({"refunded_total", "status", "closed_at"})
    change_refused = "A card transaction is immutable except refunded_total, status, closed_at"
    delete_refused = "Card transactions are never deleted"

    kind = models.CharField(max_length=10, choices=CardTxKind.choices)
    status = models.CharField(max_length=10, choices=CardTxStatus.choices, default=CardTxStatus.DONE)
    card = protected_fk("loyalty.Card", related_name="transactions")
    member = member_field(related_name="card_transactions", optional=True)
    store = node_field()
    actor = protected_staff_field()
    amount = models.BigIntegerField(_("amount (fen)"))
    principal = models.BigIntegerField(_("principal (fen)"), default=0)
    bonus = models.BigIntegerField(_("bonus (fen)"), default=0)
    discount = models.BigIntegerField(_("discount (fen)"), default=0)
    list_amount = models.BigIntegerField(_("list amount (fen)"), default=0)
    original = protected_fk("self", related_name="followups", optional=True)
    refunded_total = models.BigIntegerField(_("refunded (fen)"), default=0)
    tender = models.CharField(_("tender"), max_length=20, blank=True)
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    entry = protected_fk("loyalty.JournalEntry", optional=True)
    rule = protected_fk(TopupBonusRule, optional=True)
    # Points (L4) and rebates (L5) the transaction produced; on a refund, what it took back.
    # Charge/capture: points_earned by the earn rules (lot `points_lot`), the rebate of
    # `rebate_rule` as rebate_bonus fen or rebate_points (lot `rebate_lot`). Refund: points_reversed
    # and rebate_points are the shares of the original's points asked back (cumulative floors),
    # points_shortfall the part of them the member had already spent, rebate_bonus the bonus
    # taken back (never more than the card held).
    points_earned = models.BigIntegerField(_("points earned"), default=0)
    points_reversed = models.BigIntegerField(_("points reversed"), default=0)
    points_shortfall = models.BigIntegerField(_("points already spent"), default=0)
    points_lot = protected_fk("loyalty.PointsLot", optional=True)
    rebate_rule = protected_fk(RebateRule, optional=True)
    rebate_bonus = models.BigIntegerField(_("rebate (fen)"), default=0)
    rebate_points = models.BigIntegerField(_("rebate (points)"), default=0)
    rebate_lot = protected_fk("loyalty.PointsLot", optional=True)
    business_ref = models.CharField(max_length=100, blank=True)
    idempotency_key = models.CharField(max_length=400, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("card transaction")
        verbose_name_plural = _("card transactions")
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="loyalty_cardtx_amount_not_negative"),
            models.CheckConstraint(
                condition=Q(refunded_total__gte=0) & Q(refunded_total__lte=models.F("amount")),
                name="loyalty_cardtx_refunded_within_amount",
            ),
            models.CheckConstraint(
                condition=Q(
                    points_earned__gte=0,
                    points_reversed__gte=0,
                    points_shortfall__gte=0,
                    rebate_bonus__gte=0,
                    rebate_points__gte=0,
                ),
                name="loyalty_cardtx_rewards_not_negative",
            ),
        ]
        indexes = [
            models.Index(fields=["card", "kind", "created_at"], name="loyalty_cardtx_card"),
            # the dashboards' top-ups of today at the stores in scope
            models.Index(fields=["store", "created_at"], name="loyalty_cardtx_store_time"),
            models.Index(fields=["status", "expires_at"], name="loyalty_cardtx_open_holds"),
            models.Index(fields=["business_ref"], name="loyalty_cardtx_ref"),
        ]

    def __str__(self):
        return f"{self.kind} #{self.pk} {self.amount}"
