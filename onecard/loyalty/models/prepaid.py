"""Prepaid-card rules (单用途商业预付卡, CHINA-RULES.md) as per-merchant settings, store flags and agreements.

`PrepaidSettings` holds one merchant's choices with the CHINA-RULES defaults; `PrepaidStoreStatus`
flags a store as a major risk or records its closure date; `AgreementVersion` is a published
top-up agreement (储值协议), immutable once written, and `AgreementAcceptance` records who accepted
which version, when and how. Every write goes through onecard/loyalty/stored_value/prepaid_rules.py.
"""

from decimal import Decimal

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from onecard.core.constraints import unique_per_merchant
from onecard.core.fields import member_field, merchant_field, protected_fk, protected_staff_field, staff_field
from onecard.loyalty.models.ledger import GuardedModel

# CHINA-RULES defaults, in fen.
CASH_LIMIT_ORGANISATION = 500_000  # one-off purchase or top-up of ¥5,000 or more by an organisation
CASH_LIMIT_PERSON = 5_000_000  # ¥50,000 or more by a person
CASH_REFUND_LIMIT = 10_000  # CHINA-RULES default: cash refunds only for ¥100 or less
COOLING_OFF_DAYS = 7
COOLING_OFF_PAYOUT_DAYS = 15
CUSTODY_RATIO = Decimal("0.20")
VOID_WINDOW_MINUTES = 10  # the cashier's own void of a mistaken top-up or charge; later a manager approves


class RefundPricing(models.TextChoices):
    """How a refund the member asks for prices what was used (CHINA-RULES, refund row)."""

    LIST_PRICE = "list_price", _("Used value at the price before discount (the rule)")
    AS_CHARGED = "as_charged", _("Used value as charged (our agreement favours the member)")


class AcceptanceChannel(models.TextChoices):
    COUNTER = "counter", _("At the counter")
    PAPER = "paper", _("Signed on paper")
    PORTAL = "portal", _("Member portal")
    APP = "app", _("App or mini program")


class PrepaidSettings(models.Model):
    """One merchant's prepaid-card rules; a merchant without a row follows the CHINA-RULES defaults."""

    merchant = models.OneToOneField("org.Merchant", on_delete=models.CASCADE, related_name="prepaid_settings")
    cash_limit_organisation = models.BigIntegerField(
        _("cash refused from (organisation, fen)"), default=CASH_LIMIT_ORGANISATION
    )
    cash_limit_person = models.BigIntegerField(
        _("cash refused from (person, fen)"), default=CASH_LIMIT_PERSON
    )
    cash_refund_limit = models.BigIntegerField(_("cash refunds up to (fen)"), default=CASH_REFUND_LIMIT)
    agreement_required = models.BooleanField(_("agreement before the first top-up"), default=True)
    member_refund_pricing = models.CharField(
        _("member refunds price used value"),
        max_length=20,
        choices=RefundPricing.choices,
        default=RefundPricing.LIST_PRICE,
    )
    cooling_off_enabled = models.BooleanField(_("cooling-off period"), default=False)
    cooling_off_days = models.PositiveSmallIntegerField(
        _("cooling-off window (days)"), default=COOLING_OFF_DAYS
    )
    cooling_off_payout_days = models.PositiveSmallIntegerField(
        _("cooling-off refund paid within (days)"), default=COOLING_OFF_PAYOUT_DAYS
    )
    custody_ratio = models.DecimalField(
        _("custody ratio alert below"), max_digits=4, decimal_places=3, default=CUSTODY_RATIO
    )
    custodied_amount = models.BigIntegerField(_("amount in custody (fen)"), default=0)
    custodied_as_of = models.DateField(_("custody amount as of"), null=True, blank=True)
    void_window_minutes = models.PositiveSmallIntegerField(
        _("cashier may void within (minutes)"), default=VOID_WINDOW_MINUTES
    )
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = staff_field()

    class Meta:
        verbose_name = _("prepaid-card settings")
        verbose_name_plural = _("prepaid-card settings")
        constraints = [
            models.CheckConstraint(
                condition=Q(cash_limit_organisation__gt=0, cash_limit_person__gt=0, cash_refund_limit__gte=0),
                name="loyalty_prepaid_limits_valid",
            ),
            models.CheckConstraint(
                condition=Q(custody_ratio__gte=0, custody_ratio__lte=1), name="loyalty_prepaid_custody_ratio"
            ),
            models.CheckConstraint(
                condition=Q(custodied_amount__gte=0), name="loyalty_prepaid_custody_amount"
            ),
        ]

    def __str__(self):
        return f"{self.merchant_id}: prepaid settings"


class PrepaidStoreStatus(models.Model):
    """A store's prepaid standing: a "major risk" flag and a closure date, either of which stops new top-ups."""

    audit_node_path = "store"

    store = models.OneToOneField("org.OrgNode", on_delete=models.CASCADE, related_name="prepaid_status")
    merchant = merchant_field(on_delete=models.CASCADE)
    major_risk = models.BooleanField(_("major risk"), default=False)
    note = models.CharField(_("note"), max_length=200, blank=True)
    closes_on = models.DateField(_("closes on"), null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = staff_field()

    class Meta:
        verbose_name = _("store prepaid status")
        verbose_name_plural = _("store prepaid statuses")

    def __str__(self):
        return f"{self.store_id}: risk={self.major_risk} closes={self.closes_on}"


class AgreementVersion(GuardedModel):
    """A published version of a merchant's top-up agreement (储值协议); never edited, never deleted.

    Immutable because an acceptance points at the exact text the member saw; a change is a new version.
    """

    change_refused = "A published agreement version is never changed; publish a new one"
    delete_refused = "Agreement versions are never deleted"

    merchant = merchant_field(related_name="prepaid_agreements")
    version = models.PositiveIntegerField(_("version"))
    text = models.TextField(_("text"))
    published_at = models.DateTimeField(_("published"), default=timezone.now)
    published_by = protected_staff_field()

    class Meta:
        ordering = ["merchant", "-version"]
        verbose_name = _("top-up agreement version")
        verbose_name_plural = _("top-up agreement versions")
        constraints = [
            unique_per_merchant("version", "loyalty_agreement_version_unique"),
            models.CheckConstraint(condition=Q(version__gte=1), name="loyalty_agreement_version_positive"),
        ]

    def __str__(self):
        return f"{self.merchant_id} v{self.version}"


class AgreementAcceptance(GuardedModel):
    """A member's acceptance of one agreement version: when, through which channel, witnessed by which staff."""

    audit_node_path = "member.home_store"
    change_refused = "An acceptance is a record of what happened; it is never changed"

    member = member_field(related_name="agreement_acceptances")
    version = protected_fk(AgreementVersion, related_name="acceptances")
    accepted_at = models.DateTimeField(_("accepted"), default=timezone.now)
    channel = models.CharField(_("channel"), max_length=10, choices=AcceptanceChannel.choices)
    staff = protected_staff_field()

    class Meta:
        ordering = ["-accepted_at", "-id"]
        verbose_name = _("agreement acceptance")
        verbose_name_plural = _("agreement acceptances")
        constraints = [
            models.UniqueConstraint(fields=["member", "version"], name="loyalty_agreement_accepted_once")
        ]

    def __str__(self):
        return f"{self.member_id} accepted {self.version_id}"
