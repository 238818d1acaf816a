"""Terminals (O3): devices registered to a store, each with its own signing secret; used nonces.
Shifts (交班): a cashier's shift at a store, its cash movements and, once closed, its count and takings.
"""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from onecard.core.fields import merchant_field, node_field, protected_staff_field
from onecard.pos.choices import CashMovementKind, ShiftStatus, TerminalKind


class Terminal(models.Model):
    """A POS till, PC member desk, card reader, scanner or kiosk of one store.

    `secret` is the HMAC key of the terminal's signed requests. The server must compute the same HMAC,
    so the secret is stored as issued (not hashed); it is shown once, at registration and at each
    rotation, and never again (docs/pos-api.md, "The secret").
    """

    audit_node_path = "store"

    store = node_field(_("store"), related_name="terminals")
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


class Shift(models.Model):
    """A cashier's shift (班次) at one store: opening float, cash in and out; at the close the count and takings.

    The takings are read from the sales, returns and card transactions of that cashier at that store
    between `opened_at` and `closed_at` (pos/shift_takings.py); the close stores them in `takings`
    (per tender, fen) so the report never changes afterwards. `expected_cash` = float + cash taken −
    cash given back + cash in − cash out; `difference` = `counted_cash` − `expected_cash`.
    """

    audit_node_path = "store"

    merchant = merchant_field()
    store = node_field(_("store"), related_name="shifts")
    cashier = protected_staff_field(_("cashier"))
    status = models.CharField(
        _("status"), max_length=10, choices=ShiftStatus.choices, default=ShiftStatus.OPEN
    )
    opening_float = models.BigIntegerField(_("opening float"))
    opened_at = models.DateTimeField(_("opened at"))
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    closed_by = protected_staff_field(_("closed by"))
    counted_cash = models.BigIntegerField(_("counted cash"), null=True, blank=True)
    expected_cash = models.BigIntegerField(_("expected cash"), null=True, blank=True)
    difference = models.BigIntegerField(_("difference"), null=True, blank=True)
    takings = models.JSONField(default=dict)  # at the close: shift_takings.Takings.as_data()
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        ordering = ["-opened_at", "-id"]
        verbose_name = _("shift")
        verbose_name_plural = _("shifts")
        constraints = [
            # A cashier has at most one open shift, whatever the store: two tills at once is a mistake.
            models.UniqueConstraint(
                fields=["cashier"], condition=Q(status="open"), name="pos_shift_one_open_per_cashier"
            ),
            models.CheckConstraint(condition=Q(opening_float__gte=0), name="pos_shift_float_not_negative"),
        ]
        indexes = [models.Index(fields=["store", "opened_at"], name="pos_shift_store_opened")]

    def __str__(self):
        return f"shift {self.pk} {self.store_id} {self.opened_at:%Y-%m-%d %H:%M}"

    @property
    def is_open(self) -> bool:
        return self.status == ShiftStatus.OPEN

    @property
    def shortfall(self) -> int:
        """Fen missing from the drawer at the close (0 when balanced or over)."""
        return max(0, -(self.difference or 0))


class CashMovement(models.Model):
    """Cash put into or taken out of the drawer during a shift, with its reason; `amount` fen, always positive."""

    shift = models.ForeignKey(Shift, on_delete=models.PROTECT, related_name="movements")
    kind = models.CharField(_("kind"), max_length=4, choices=CashMovementKind.choices)
    amount = models.BigIntegerField(_("amount"))
    reason = models.CharField(_("reason"), max_length=200)
    actor = protected_staff_field()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["shift", "id"]
        verbose_name = _("cash movement")
        verbose_name_plural = _("cash movements")
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="pos_cashmovement_positive")]

    def __str__(self):
        return f"{self.kind} {self.amount}"

    @property
    def signed(self) -> int:
        """The movement's effect on the drawer: + in, − out."""
        return self.amount if self.kind == CashMovementKind.CASH_IN else -self.amount
