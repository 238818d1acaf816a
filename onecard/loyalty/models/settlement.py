"""Settlement statements (L6): what one store owes another, or one merchant another, per day or month.

A statement is derived from the CLEARING postings of the journal (loyalty/clearing.py); its lines
name the journal entries it covers. It is rebuilt while open and frozen once settled: postings
that arrive for a settled period go to a new statement of the same pair and period with a higher
`part` (a "late" statement), never into the settled one. See loyalty/settlement.py.
"""

from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from onecard.core.fields import merchant_field, node_field, protected_fk, protected_staff_field


class PairKind(models.TextChoices):
    """Who settles: two stores (or HQ nodes) of one merchant, or two merchants of an alliance."""

    STORES = "stores", _("Stores")
    MERCHANTS = "merchants", _("Merchants")


class PeriodKind(models.TextChoices):
    """The length of a statement's period, on the Asia/Shanghai calendar."""

    DAY = "day", _("Day")
    MONTH = "month", _("Month")


class StatementStatus(models.TextChoices):
    """An open statement is rebuilt by each build; a settled one is paid and frozen."""

    # A context: the bare "Open" msgid is the verb (打开) elsewhere in the catalogue.
    OPEN = "open", pgettext_lazy("settlement status", "Open")
    SETTLED = "settled", pgettext_lazy("settlement status", "Settled")


class SettlementStatement(models.Model):
    """What party A and party B owe each other for one period; `net` > 0 means A pays B (fen).

    Party A has the lower id (node id for a store pair, merchant id for a merchant pair). For a
    store pair both merchants are the stores' merchant. `imbalance` is the sum of both sides'
    clearing postings in the statement's entries: always 0 unless the ledger has a bug, and a
    statement with an imbalance cannot be settled.
    """

    audit_node_path = "node_a"

    pair_kind = models.CharField(_("pair"), max_length=10, choices=PairKind.choices)
    merchant_a = merchant_field(_("merchant A"))
    merchant_b = merchant_field(_("merchant B"))
    node_a = node_field(_("store A"), optional=True)
    node_b = node_field(_("store B"), optional=True)
    period_kind = models.CharField(_("period"), max_length=5, choices=PeriodKind.choices)
    period_start = models.DateField(_("period start"))
    # 1 for the statement of the period; 2, 3... for postings that arrived after an earlier part was settled.
    part = models.PositiveSmallIntegerField(_("part"), default=1)
    gross_a_owes_b = models.BigIntegerField(_("A owes B (fen)"), default=0)
    gross_b_owes_a = models.BigIntegerField(_("B owes A (fen)"), default=0)
    net = models.BigIntegerField(_("net (fen)"), default=0)
    entry_count = models.IntegerField(_("entries"), default=0)
    imbalance = models.BigIntegerField(_("imbalance (fen)"), default=0)
    status = models.CharField(
        _("status"), max_length=10, choices=StatementStatus.choices, default=StatementStatus.OPEN
    )
    settled_at = models.DateTimeField(_("settled at"), null=True, blank=True)
    settled_by = protected_staff_field(_("settled by"))
    # None for a settled statement whose clearing accounts had nothing to move (every net zero).
    settle_entry = models.OneToOneField(
        "loyalty.JournalEntry",
        verbose_name=_("settlement entry"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="settlement_statement",
    )
    generated_at = models.DateTimeField(_("generated at"), default=timezone.now)

    class Meta:
        ordering = [
            "-period_start",
            "period_kind",
            "pair_kind",
            "merchant_a_id",
            "node_a_id",
            "node_b_id",
            "part",
        ]
        verbose_name = _("settlement statement")
        verbose_name_plural = _("settlement statements")
        constraints = [
            models.UniqueConstraint(
                fields=["node_a", "node_b", "period_kind", "period_start", "part"],
                condition=Q(pair_kind="stores"),
                name="loyalty_settlement_store_pair_unique",
            ),
            models.UniqueConstraint(
                fields=["merchant_a", "merchant_b", "period_kind", "period_start", "part"],
                condition=Q(pair_kind="merchants"),
                name="loyalty_settlement_merchant_pair_unique",
            ),
            # At most one open part per pair and period: late postings never split across two open rows.
            models.UniqueConstraint(
                fields=["node_a", "node_b", "period_kind", "period_start"],
                condition=Q(pair_kind="stores", status="open"),
                name="loyalty_settlement_store_pair_one_open",
            ),
            models.UniqueConstraint(
                fields=["merchant_a", "merchant_b", "period_kind", "period_start"],
                condition=Q(pair_kind="merchants", status="open"),
                name="loyalty_settlement_merchant_pair_one_open",
            ),
            models.CheckConstraint(
                condition=(
                    Q(
                        pair_kind="stores",
                        node_a__isnull=False,
                        node_b__isnull=False,
                        node_a__lt=F("node_b"),
                        merchant_a=F("merchant_b"),
                    )
                    | Q(
                        pair_kind="merchants",
                        node_a__isnull=True,
                        node_b__isnull=True,
                        merchant_a__lt=F("merchant_b"),
                    )
                ),
                name="loyalty_settlement_parties_ordered",
            ),
            models.CheckConstraint(
                condition=Q(net=F("gross_a_owes_b") - F("gross_b_owes_a")),
                name="loyalty_settlement_net_is_difference",
            ),
            models.CheckConstraint(
                condition=Q(status="open") | Q(settled_at__isnull=False),
                name="loyalty_settlement_settled_has_time",
            ),
        ]
        indexes = [
            models.Index(fields=["period_kind", "period_start"], name="loyalty_settlement_period"),
        ]

    def __str__(self):
        return f"{self.party_a_name} ⇄ {self.party_b_name} {self.period_label}"

    @property
    def party_a_name(self) -> str:
        return self.node_a.name if self.pair_kind == PairKind.STORES else self.merchant_a.name

    @property
    def party_b_name(self) -> str:
        return self.node_b.name if self.pair_kind == PairKind.STORES else self.merchant_b.name

    @property
    def period_label(self) -> str:
        if self.period_kind == PeriodKind.MONTH:
            return self.period_start.strftime("%Y-%m")
        return self.period_start.isoformat()

    @property
    def is_late(self) -> bool:
        """A later part: postings that arrived after an earlier statement of the period was settled."""
        return self.part > 1


class SettlementLine(models.Model):
    """One journal entry of a statement; `amount` > 0 means that entry made A owe B more (fen)."""

    statement = models.ForeignKey(SettlementStatement, on_delete=models.CASCADE, related_name="lines")
    entry = protected_fk("loyalty.JournalEntry")
    amount = models.BigIntegerField(_("amount (fen)"))

    class Meta:
        ordering = ["entry_id"]
        verbose_name = _("settlement line")
        verbose_name_plural = _("settlement lines")
        constraints = [
            models.UniqueConstraint(fields=["statement", "entry"], name="loyalty_settlement_line_unique"),
        ]

    def __str__(self):
        return f"{self.statement_id}: #{self.entry_id} {self.amount:+d}"
