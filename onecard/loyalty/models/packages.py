"""Count and period cards (次卡 / 期限卡, L8): package definitions, packages sold to cards, their uses.

The money is in the ledger: a sale moves the price from the store's cash to the card's
`member_package` account, each use recognises part of it as store revenue, a refund pays the
rest out and the expiry job recognises what is left (breakage). These rows are the business view
(what was sold, how many uses are left, which entry each movement posted); only
`onecard.loyalty.packages.services` writes them, in the transaction that posts the matching entry.
"""

from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from onecard.core.constraints import unique_per_merchant
from onecard.core.fields import member_field, merchant_field, node_field, protected_fk, protected_staff_field
from onecard.loyalty.models.ledger import GuardedModel
from onecard.loyalty.packages.choices import MemberPackageStatus, PackageKind


class ServicePackage(models.Model):
    """A package a merchant sells (套餐): N uses per service line, or unlimited use for `validity_days`.

    A count package may also have `validity_days` (its uses lapse then); a period package must.
    Editing a definition never changes packages already sold: they copy name, price, lines and
    limits at the sale.
    """

    merchant = merchant_field(_("merchant"), related_name="service_packages")
    name = models.CharField(_("name"), max_length=60)
    kind = models.CharField(_("kind"), max_length=10, choices=PackageKind.choices)
    price = models.BigIntegerField(_("price (fen)"))
    validity_days = models.PositiveIntegerField(_("valid for (days)"), null=True, blank=True)
    # None: no daily limit.
    daily_cap = models.PositiveIntegerField(_("uses per day at most"), null=True, blank=True)
    # Empty: usable at every store of the merchant.
    stores = models.ManyToManyField(
        "org.OrgNode", verbose_name=_("usable at"), blank=True, related_name="service_packages"
    )
    is_active = models.BooleanField(_("on sale"), default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["merchant", "name"]
        verbose_name = _("service package")
        verbose_name_plural = _("service packages")
        constraints = [
            unique_per_merchant("name", "loyalty_package_name_unique"),
            models.CheckConstraint(condition=Q(price__gt=0), name="loyalty_package_price_positive"),
            models.CheckConstraint(
                condition=~Q(kind=PackageKind.PERIOD) | Q(validity_days__gt=0),
                name="loyalty_package_period_has_validity",
            ),
            models.CheckConstraint(
                condition=Q(daily_cap__isnull=True) | Q(daily_cap__gt=0), name="loyalty_package_cap_positive"
            ),
        ]

    def __str__(self):
        return self.name

    def accepts_store(self, node) -> bool:
        """True when the package may be used at `node` (every store of the merchant unless listed)."""
        if node.merchant_id != self.merchant_id:
            return False
        ids = {store.pk for store in self.stores.all()}
        return not ids or node.pk in ids


class ServicePackageLine(models.Model):
    """One service of a package: "10 × 洗车" (count), or a service a period package covers (uses None)."""

    package = models.ForeignKey(ServicePackage, on_delete=models.CASCADE, related_name="lines")
    service = models.CharField(_("service"), max_length=40)
    uses = models.PositiveIntegerField(_("uses"), null=True, blank=True)

    class Meta:
        ordering = ["package", "id"]
        constraints = [
            models.UniqueConstraint(fields=["package", "service"], name="loyalty_packageline_service_unique"),
            models.CheckConstraint(
                condition=Q(uses__isnull=True) | Q(uses__gt=0), name="loyalty_packageline_uses_positive"
            ),
        ]

    def __str__(self):
        return f"{self.service} × {self.uses}" if self.uses else self.service


class MemberPackage(GuardedModel):
    """A package sold to a card: its copy of the definition, the uses done, and where its price went.

    `price` = `recognised` (revenue from uses, and a period card's elapsed days at a refund) +
    `refunded` (paid back) + `breakage` (recognised at expiry), exactly, once the package is
    closed; while it is active the difference is the card's `member_package` balance for it.
    `total_days` is the validity copied at the sale (None: a count package that never lapses).
    """

    # Columns the package services change after the sale, always under the package's row lock.
    mutable_fields = frozenset(
        {"card", "uses_done", "recognised", "refunded", "breakage", "status", "closed_at", "close_entry",
         "refund_method", "reason"}
    )  # fmt: skip
    change_refused = "A sold package changes only through onecard.loyalty.packages.services"
    delete_refused = "Sold packages are never deleted"

    merchant = merchant_field()
    card = protected_fk("loyalty.Card", _("card"), related_name="packages")
    member = member_field(related_name="packages", optional=True)
    package = protected_fk(ServicePackage, related_name="sold")
    name = models.CharField(_("name"), max_length=60)
    kind = models.CharField(_("kind"), max_length=10, choices=PackageKind.choices)
    price = models.BigIntegerField(_("price (fen)"))
    total_uses = models.PositiveIntegerField(_("uses"), null=True, blank=True)
    uses_done = models.PositiveIntegerField(_("uses done"), default=0)
    daily_cap = models.PositiveIntegerField(_("uses per day at most"), null=True, blank=True)
    total_days = models.PositiveIntegerField(_("valid for (days)"), null=True, blank=True)
    valid_from = models.DateTimeField(_("sold"))
    valid_until = models.DateTimeField(_("valid until"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=MemberPackageStatus.choices, default=MemberPackageStatus.ACTIVE
    )
    store = node_field(_("sold at"))
    actor = protected_staff_field()
    tender = models.CharField(_("tender"), max_length=20, blank=True)
    sale_entry = protected_fk("loyalty.JournalEntry")
    recognised = models.BigIntegerField(_("recognised (fen)"), default=0)
    refunded = models.BigIntegerField(_("refunded (fen)"), default=0)
    breakage = models.BigIntegerField(_("expired (fen)"), default=0)
    closed_at = models.DateTimeField(null=True, blank=True)
    close_entry = protected_fk("loyalty.JournalEntry", optional=True)
    refund_method = models.CharField(max_length=20, blank=True)
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    business_ref = models.CharField(max_length=100, blank=True)
    idempotency_key = models.CharField(max_length=400, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("member package")
        verbose_name_plural = _("member packages")
        constraints = [
            models.CheckConstraint(condition=Q(price__gt=0), name="loyalty_mpackage_price_positive"),
            models.CheckConstraint(
                condition=Q(recognised__gte=0, refunded__gte=0, breakage__gte=0)
                & Q(price__gte=F("recognised") + F("refunded") + F("breakage")),
                name="loyalty_mpackage_parts_within_price",
            ),
            models.CheckConstraint(
                condition=Q(total_uses__isnull=True) | Q(uses_done__lte=F("total_uses")),
                name="loyalty_mpackage_uses_within_total",
            ),
        ]
        indexes = [
            models.Index(fields=["card", "status"], name="loyalty_mpackage_card"),
            models.Index(fields=["status", "valid_until"], name="loyalty_mpackage_expiry"),
            models.Index(fields=["member", "created_at"], name="loyalty_mpackage_member"),
        ]

    def __str__(self):
        return f"{self.name} #{self.pk}"

    @property
    def outstanding(self) -> int:
        """Fen of the price neither recognised, refunded nor expired: what the card's account holds for it."""
        return self.price - self.recognised - self.refunded - self.breakage


class MemberPackageLine(models.Model):
    """A service line of a sold package with its uses left (both None for a period package: unlimited)."""

    member_package = protected_fk(MemberPackage, related_name="lines")
    service = models.CharField(_("service"), max_length=40)
    uses_total = models.PositiveIntegerField(null=True, blank=True)
    uses_left = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["member_package", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["member_package", "service"], name="loyalty_mpackageline_service_unique"
            ),
            models.CheckConstraint(
                condition=Q(uses_total__isnull=True, uses_left__isnull=True)
                | Q(uses_left__gte=0, uses_left__lte=F("uses_total")),
                name="loyalty_mpackageline_left_within_total",
            ),
        ]

    def __str__(self):
        return f"{self.service} {self.uses_left}/{self.uses_total}" if self.uses_total else self.service


class PackageUse(GuardedModel):
    """One use of a sold package (`count` times one service) and the revenue it recognised.

    `entry` is the journal entry that recognised `value`; None when the use recognised nothing
    (a period card used again on a day whose revenue is already recognised). Immutable.
    """

    change_refused = "Package uses are immutable"
    delete_refused = "Package uses are never deleted"

    member_package = protected_fk(MemberPackage, related_name="uses")
    line = protected_fk(MemberPackageLine, related_name="uses")
    service = models.CharField(_("service"), max_length=40)
    count = models.PositiveIntegerField(_("uses"), default=1)
    value = models.BigIntegerField(_("value recognised (fen)"), default=0)
    store = node_field(_("store"))
    actor = protected_staff_field()
    entry = protected_fk("loyalty.JournalEntry", optional=True)
    business_ref = models.CharField(max_length=100, blank=True)
    idempotency_key = models.CharField(max_length=400, blank=True)
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("package use")
        verbose_name_plural = _("package uses")
        constraints = [
            models.CheckConstraint(condition=Q(count__gt=0), name="loyalty_packageuse_count_positive"),
            models.CheckConstraint(condition=Q(value__gte=0), name="loyalty_packageuse_value_not_negative"),
            models.CheckConstraint(
                condition=Q(value=0, entry__isnull=True) | Q(value__gt=0, entry__isnull=False),
                name="loyalty_packageuse_entry_iff_value",
            ),
        ]
        indexes = [models.Index(fields=["member_package", "created_at"], name="loyalty_packageuse_package")]

    def __str__(self):
        return f"{self.service} × {self.count} ({self.value})"
