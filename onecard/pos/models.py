"""Terminals (O3): devices registered to a store, each with its own signing secret; used nonces."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from onecard.pos.choices import TerminalKind


class Terminal(models.Model):
    """A POS till, PC member desk, card reader, scanner or kiosk of one store.

    `secret` is the HMAC key of the terminal's signed requests. The server must compute the same HMAC,
    so the secret is stored as issued (not hashed); it is shown once, at registration and at each
    rotation, and never again (docs/pos-api.md, "The secret").
    """

    store = models.ForeignKey(
        "org.OrgNode", verbose_name=_("store"), on_delete=models.PROTECT, related_name="terminals"
    )
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("type"), max_length=12, choices=TerminalKind.choices, default=TerminalKind.POS)
    terminal_id = models.CharField(_("terminal ID"), max_length=40, unique=True)
    secret = models.CharField(max_length=100, editable=False)
    secret_rotated_at = models.DateTimeField(_("secret issued at"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    last_seen_at = models.DateTimeField(_("last seen"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["terminal_id"]
        verbose_name = _("terminal")
        verbose_name_plural = _("terminals")

    def __str__(self):
        return f"{self.terminal_id} {self.name}"

    @property
    def audit_node(self):
        return self.store


class UsedNonce(models.Model):
    """A nonce a terminal has used; the unique pair refuses a replay across every web process.

    Rows are kept at least 600 s (a timestamp is accepted up to 300 s either side of the server clock,
    so a nonce can come back at most 600 s after it was first seen) and purged after 15 minutes.
    """

    terminal = models.ForeignKey(Terminal, on_delete=models.CASCADE, related_name="+")
    nonce = models.CharField(max_length=64)
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["terminal", "nonce"], name="pos_nonce_unique_per_terminal"),
        ]

    def __str__(self):
        return self.nonce


class TenderKind(models.TextChoices):
    """How part of a sale was paid: through the ledger (stored value, points) or recorded as external."""

    STORED_VALUE = "stored_value", _("Stored value")
    POINTS = "points", _("Points")
    CASH = "cash", _("Cash")
    BANK_CARD = "bank_card", _("Bank card")
    WECHAT = "wechat", _("WeChat Pay")
    ALIPAY = "alipay", _("Alipay")


class Sale(models.Model):
    """A checkout (L5): priced lines, the tenders that paid it, coupons and promotions used, points earned."""

    merchant = models.ForeignKey("org.Merchant", on_delete=models.PROTECT, related_name="+")
    store = models.ForeignKey(
        "org.OrgNode", verbose_name=_("store"), on_delete=models.PROTECT, related_name="+"
    )
    card = models.ForeignKey(
        "loyalty.Card", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    member = models.ForeignKey(
        "members.Member", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    business_ref = models.CharField(_("reference"), max_length=100)
    list_total = models.BigIntegerField(_("list total"))
    discount_total = models.BigIntegerField(_("discount"))
    total_due = models.BigIntegerField(_("amount due"))
    earn_base = models.BigIntegerField(default=0)  # fen the points were earned on
    points_earned = models.BigIntegerField(_("points earned"), default=0)
    points_lot = models.ForeignKey(
        "loyalty.PointsLot", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    promotions = models.JSONField(default=list)  # ids of the promotions applied
    limited_promotions = models.JSONField(default=list)  # ids of those reserved (rules.reserve)
    coupons = models.JSONField(default=list)  # codes redeemed
    order_adjustments = models.JSONField(default=list)
    returned_due = models.BigIntegerField(_("returned"), default=0)
    # Notes handed over for the cash tender (0: not recorded); the change is what exceeds the tender.
    cash_received = models.BigIntegerField(_("cash received"), default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("sale")
        verbose_name_plural = _("sales")
        constraints = [
            models.UniqueConstraint(fields=["merchant", "business_ref"], name="pos_sale_ref_unique"),
        ]

    def __str__(self):
        return self.business_ref

    @property
    def cash_change(self) -> int:
        """找零: fen handed back from the cash received (0 when none was recorded)."""
        if not self.cash_received:
            return 0
        cash = sum(t.amount for t in self.tenders.all() if t.kind == TenderKind.CASH)
        return self.cash_received - cash

    @property
    def audit_node(self):
        return self.store


class SaleLine(models.Model):
    """One priced line of a sale, with each adjustment and its explanation, and how much was returned."""

    sale = models.ForeignKey(Sale, on_delete=models.CASCADE, related_name="lines")
    key = models.CharField(max_length=40)  # the engine's line key; a gift line's names its coupon
    product = models.ForeignKey("catalog.Product", on_delete=models.PROTECT, related_name="+")
    sku = models.CharField(max_length=40)
    name = models.CharField(max_length=200)
    quantity = models.PositiveIntegerField()
    list_total = models.BigIntegerField()
    adjustments = models.JSONField(default=list)  # [{"source", "amount", "explanation"}]
    due = models.BigIntegerField()
    gift = models.BooleanField(default=False)
    returned_quantity = models.PositiveIntegerField(default=0)
    returned_due = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["sale", "id"]

    def __str__(self):
        return f"{self.sku} × {self.quantity}"


class SaleTender(models.Model):
    """One tender of a sale: `amount` fen toward the total (points: their cash value), and what was given back."""

    sale = models.ForeignKey(Sale, on_delete=models.CASCADE, related_name="tenders")
    kind = models.CharField(max_length=20, choices=TenderKind.choices)
    amount = models.BigIntegerField()
    points = models.BigIntegerField(default=0)  # points tender: the points spent
    bonus = models.BigIntegerField(default=0)  # stored-value tender: the part paid with bonus value
    card_transaction = models.ForeignKey(
        "loyalty.CardTransaction", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Points tender: the redeem entry, whose points a return gives back (points.reverse_redeem).
    points_entry = models.ForeignKey(
        "loyalty.JournalEntry", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    returned_amount = models.BigIntegerField(default=0)
    returned_points = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["sale", "id"]

    def __str__(self):
        return f"{self.kind} {self.amount}"


class SaleReturn(models.Model):
    """A return of a whole sale or some of its lines: what each tender gave back, points taken back."""

    sale = models.ForeignKey(Sale, on_delete=models.PROTECT, related_name="returns")
    store = models.ForeignKey("org.OrgNode", on_delete=models.PROTECT, related_name="+")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.CharField(max_length=200)
    amount = models.BigIntegerField()  # the returned lines' due
    tenders = models.JSONField(default=list)  # [{"tender", "kind", "amount", "card_transaction"}]
    # Points tender: points given back to the card; the cash value of those that could not be
    # (the card was cancelled since) is `points_not_returned`, fen.
    points_given_back = models.BigIntegerField(default=0)
    points_not_returned = models.BigIntegerField(default=0)
    points_taken_back = models.BigIntegerField(default=0)
    points_shortfall = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["sale", "id"]

    def __str__(self):
        return f"return of {self.sale_id}"


class SaleReturnLine(models.Model):
    """`quantity` units of a sale line returned, and their share of the line's due."""

    sale_return = models.ForeignKey(SaleReturn, on_delete=models.CASCADE, related_name="lines")
    line = models.ForeignKey(SaleLine, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()
    due = models.BigIntegerField()

    def __str__(self):
        return f"{self.line_id} × {self.quantity}"
