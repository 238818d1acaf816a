"""Card products, tiers, card batches, cards and used dynamic-QR codes (L1, L2, L7).

Balances are NOT here: a card's stored value and points live in ledger accounts keyed by the
card (`ledger.open_account(kind, merchant, card_id=card.pk)`), written only by the ledger.
"""

import secrets

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from onecard.core.constraints import unique_per_merchant
from onecard.core.fields import member_field, merchant_field, node_field, protected_fk, staff_field
from onecard.loyalty.cards.choices import CardKind, CardStatus, TierChangeKind, TierMetric
from onecard.loyalty.tiers import reasons
from onecard.org.models import Merchant

# CHINA-RULES.md, prepaid cards: defaults a product may override.
REGISTERED_BALANCE_CAP = 500_000  # ¥5,000 in fen
ANONYMOUS_BALANCE_CAP = 100_000  # ¥1,000 in fen
# "At least 3 years": 3 × 365 days plus one leap day, so the validity is never shorter than 3 years.
MIN_ANONYMOUS_VALIDITY_DAYS = 1096
MAX_PASSWORD_ATTEMPTS = 5


def new_qr_secret() -> str:
    """160 random bits, hex: the HMAC key of a card's dynamic QR."""
    return secrets.token_hex(20)


class CardProduct(models.Model):
    """A kind of card a merchant sells (卡类型): what it holds, registered or not, caps and validity."""

    merchant = merchant_field(_("merchant"), related_name="card_products")
    name = models.CharField(_("name"), max_length=60)
    kind = models.CharField(_("kind"), max_length=20, choices=CardKind.choices)
    registered = models.BooleanField(_("registered (记名)"), default=True)
    # None: the CHINA-RULES default for registered/anonymous cards (effective_balance_cap).
    balance_cap = models.BigIntegerField(_("balance cap (fen)"), null=True, blank=True)
    # None: the card does not expire (registered cards never do).
    validity_days = models.PositiveIntegerField(_("valid for (days)"), null=True, blank=True)
    # Charges above this amount need the card's password, when the card has one; None: never.
    password_threshold = models.BigIntegerField(_("password needed above (fen)"), null=True, blank=True)
    daily_charge_limit = models.BigIntegerField(_("daily charge limit (fen)"), null=True, blank=True)
    # Empty: accepted at every store of the merchant.
    stores = models.ManyToManyField(
        "org.OrgNode", verbose_name=_("accepted at"), blank=True, related_name="card_products"
    )
    # Cards of this product also work at the merchants of the issuer's alliance (charges, holds,
    # refunds; never top-ups: prepaid funds belong to the issuer). Settled through clearing accounts.
    alliance_accepted = models.BooleanField(_("accepted at alliance merchants"), default=False)
    is_active = models.BooleanField(_("on sale"), default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["merchant", "name"]
        verbose_name = _("card product")
        verbose_name_plural = _("card products")
        constraints = [
            unique_per_merchant("name", "loyalty_cardproduct_name_unique"),
            # CHINA-RULES: registered cards do not expire; anonymous cards last at least 3 years.
            models.CheckConstraint(
                condition=Q(validity_days__isnull=True)
                | Q(registered=False, validity_days__gte=MIN_ANONYMOUS_VALIDITY_DAYS),
                name="loyalty_cardproduct_validity",
            ),
            models.CheckConstraint(
                condition=Q(balance_cap__isnull=True) | Q(balance_cap__gt=0),
                name="loyalty_cardproduct_cap_positive",
            ),
            models.CheckConstraint(
                condition=Q(password_threshold__isnull=True) | Q(password_threshold__gte=0),
                name="loyalty_cardproduct_threshold_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(daily_charge_limit__isnull=True) | Q(daily_charge_limit__gt=0),
                name="loyalty_cardproduct_daily_limit_positive",
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def effective_balance_cap(self) -> int:
        if self.balance_cap is not None:
            return self.balance_cap
        return REGISTERED_BALANCE_CAP if self.registered else ANONYMOUS_BALANCE_CAP

    def accepts_store(self, node) -> bool:
        """True when a card of this product may be used at `node`.

        Its own merchant: every store by default, or the product's store list. Another merchant:
        only when the product is `alliance_accepted` and both merchants belong to the same alliance
        (the store list names the issuer's own stores and does not apply there).
        """
        if node.merchant_id != self.merchant_id:
            if not self.alliance_accepted:
                return False
            alliances = dict(
                Merchant.objects.filter(pk__in=[self.merchant_id, node.merchant_id]).values_list(
                    "pk", "alliance_id"
                )
            )
            issuer = alliances.get(self.merchant_id)
            return issuer is not None and issuer == alliances.get(node.merchant_id)
        ids = {store.pk for store in self.stores.all()}
        return not ids or node.pk in ids


class Tier(models.Model):
    """A member tier (会员等级) of a merchant: a higher `rank` is a better tier.

    A tier without upgrade rules is an entry tier every member qualifies for. Downgrade is
    periodic: `review_period_days` after reaching the tier (or after its last review) the member
    must still qualify; if not, a grace period of `grace_days` starts, and only a member who still
    does not qualify at its end moves down. No review period: the tier is kept for good.
    """

    merchant = merchant_field(_("merchant"), related_name="tiers")
    name = models.CharField(_("name"), max_length=40)
    rank = models.PositiveSmallIntegerField(_("rank"))
    # 0.95 = 95折: the member pays 95% of the price.
    discount_rate = models.DecimalField(_("discount rate"), max_digits=4, decimal_places=3, default=1)
    points_multiplier = models.DecimalField(_("points multiplier"), max_digits=5, decimal_places=2, default=1)
    benefits = models.TextField(_("benefits"), blank=True)
    review_period_days = models.PositiveIntegerField(_("review every (days)"), null=True, blank=True)
    grace_days = models.PositiveIntegerField(_("grace period (days)"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["merchant", "rank"]
        verbose_name = _("tier")
        verbose_name_plural = _("tiers")
        constraints = [
            unique_per_merchant("rank", "loyalty_tier_rank_unique"),
            unique_per_merchant("name", "loyalty_tier_name_unique"),
            models.CheckConstraint(
                condition=Q(discount_rate__gt=0, discount_rate__lte=1), name="loyalty_tier_discount_range"
            ),
            models.CheckConstraint(
                condition=Q(points_multiplier__gt=0), name="loyalty_tier_multiplier_positive"
            ),
        ]

    def __str__(self):
        return self.name


class TierRule(models.Model):
    """One way to reach a tier: `metric` over the last `window_days` days ≥ `threshold`. Any rule suffices."""

    tier = models.ForeignKey(Tier, on_delete=models.CASCADE, related_name="rules")
    metric = models.CharField(_("metric"), max_length=20, choices=TierMetric.choices)
    # fen for spend and top-up, points for points earned, a count for visits.
    threshold = models.BigIntegerField(_("threshold"))
    window_days = models.PositiveIntegerField(_("window (days)"), default=365)

    class Meta:
        ordering = ["tier", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(threshold__gt=0), name="loyalty_tierrule_threshold_positive"),
            models.CheckConstraint(condition=Q(window_days__gt=0), name="loyalty_tierrule_window_positive"),
        ]

    def __str__(self):
        return f"{self.tier_id}: {self.metric} ≥ {self.threshold} / {self.window_days}d"


class MemberTier(models.Model):
    """The tier a member holds at their merchant, with the dates the downgrade review runs on.

    A row of its own rather than a field on Member: tiers belong to loyalty, and the members app
    must not know about them (STYLE.md, declared boundaries). A member belongs to one merchant,
    so one row per member is one row per member and merchant.
    """

    member = models.OneToOneField("members.Member", on_delete=models.PROTECT, related_name="tier_state")
    merchant = merchant_field()
    tier = protected_fk(Tier, related_name="holders")
    since = models.DateField(_("since"))
    review_on = models.DateField(_("next review"), null=True, blank=True)
    grace_until = models.DateField(_("grace until"), null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("member tier")
        verbose_name_plural = _("member tiers")
        indexes = [models.Index(fields=["merchant", "tier"], name="loyalty_membertier_tier")]

    def __str__(self):
        return f"{self.member_id}: {self.tier_id}"


class TierChange(models.Model):
    """One change of a member's tier and why, as data (`details`) put into the reader's words (`reason_text`)."""

    member = member_field(related_name="tier_changes")
    merchant = merchant_field()
    kind = models.CharField(max_length=10, choices=TierChangeKind.choices)
    from_tier = protected_fk(Tier, optional=True)
    to_tier = protected_fk(Tier)
    # Staff's own words for a manual change; the English sentence of rows written before `details`.
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    # Why, as data (onecard.loyalty.tiers.reasons): rendered in the language of whoever reads it.
    details = models.JSONField(_("details"), default=dict, blank=True)
    metric = models.CharField(max_length=20, choices=TierMetric.choices, blank=True)
    value = models.BigIntegerField(null=True, blank=True)
    threshold = models.BigIntegerField(null=True, blank=True)
    effective_on = models.DateField(_("effective on"))
    actor = staff_field()
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-effective_on", "-id"]
        verbose_name = _("tier change")
        verbose_name_plural = _("tier changes")
        indexes = [models.Index(fields=["member", "effective_on"], name="loyalty_tierchange_member")]

    def __str__(self):
        return f"{self.member_id}: {self.from_tier_id} → {self.to_tier_id}"

    @property
    def reason_text(self):
        """Why, in the active language."""
        return reasons.describe(self.details, self.reason)


class CardBatch(models.Model):
    """A range of card numbers issued at once: prefix + zero-padded serial + Luhn check digit."""

    audit_node_path = "store"

    merchant = merchant_field(related_name="card_batches")
    product = protected_fk(CardProduct, related_name="batches")
    store = node_field(_("stock at"))
    prefix = models.CharField(_("prefix"), max_length=10)
    serial_width = models.PositiveSmallIntegerField(_("serial digits"), default=8)
    start = models.BigIntegerField(_("first serial"))
    count = models.PositiveIntegerField(_("number of cards"))
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_by = staff_field()
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("card batch")
        verbose_name_plural = _("card batches")
        constraints = [
            models.CheckConstraint(condition=Q(start__gte=0), name="loyalty_cardbatch_start_not_negative"),
            models.CheckConstraint(condition=Q(count__gt=0), name="loyalty_cardbatch_count_positive"),
        ]

    def __str__(self):
        return f"{self.prefix}/{self.start}+{self.count}"


class Card(models.Model):
    """A member card (会员卡): a number (also its barcode and QR payload), a status and an owner.

    `issued_store` is where the card was issued (for stock: where it lies); management actions are
    scoped to it or to the member's home store. The password is hashed with make_password; after
    MAX_PASSWORD_ATTEMPTS wrong tries it is locked until staff set a new one.
    """

    audit_node_path = "issued_store"

    merchant = merchant_field(related_name="cards")
    product = protected_fk(CardProduct, related_name="cards")
    batch = protected_fk(CardBatch, related_name="cards", optional=True)
    number = models.CharField(_("card no."), max_length=24, unique=True)
    status = models.CharField(
        _("status"), max_length=10, choices=CardStatus.choices, default=CardStatus.IN_STOCK
    )
    member = member_field(_("member"), related_name="cards", optional=True)
    issued_store = node_field(_("issued at"))
    issued_at = models.DateTimeField(_("issued"), default=timezone.now)
    bound_at = models.DateTimeField(_("bound"), null=True, blank=True)
    activated_at = models.DateTimeField(_("activated"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    rfid_uid = models.CharField(_("RFID UID"), max_length=32, null=True, blank=True)
    password_hash = models.CharField(max_length=128, blank=True, default="")
    failed_password_attempts = models.PositiveSmallIntegerField(default=0)
    password_locked_at = models.DateTimeField(null=True, blank=True)
    # Overrides of the product's settings; None: the product's.
    password_threshold = models.BigIntegerField(_("password needed above (fen)"), null=True, blank=True)
    daily_charge_limit = models.BigIntegerField(_("daily charge limit (fen)"), null=True, blank=True)
    # The key of the dynamic member QR (qr.py); never shown, never exported.
    qr_secret = models.CharField(max_length=64, editable=False, default=new_qr_secret)
    successor = protected_fk("self", related_name="predecessors", optional=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("card")
        verbose_name_plural = _("cards")
        constraints = [
            models.UniqueConstraint(
                fields=["rfid_uid"], condition=Q(rfid_uid__isnull=False), name="loyalty_card_rfid_unique"
            ),
            models.CheckConstraint(
                condition=Q(failed_password_attempts__lte=MAX_PASSWORD_ATTEMPTS),
                name="loyalty_card_attempts_capped",
            ),
            models.CheckConstraint(
                condition=Q(daily_charge_limit__isnull=True) | Q(daily_charge_limit__gt=0),
                name="loyalty_card_daily_limit_positive",
            ),
        ]
        indexes = [
            models.Index(fields=["member", "status"], name="loyalty_card_member"),
            models.Index(fields=["issued_store", "status"], name="loyalty_card_store"),
            models.Index(fields=["merchant", "status", "expires_at"], name="loyalty_card_expiry"),
        ]

    def __str__(self):
        return self.number

    @property
    def barcode_payload(self) -> str:
        """What the printed barcode and static QR encode: the number itself."""
        return self.number

    @property
    def has_password(self) -> bool:
        return bool(self.password_hash)

    @property
    def password_locked(self) -> bool:
        return self.password_locked_at is not None

    @property
    def effective_password_threshold(self):
        return (
            self.password_threshold
            if self.password_threshold is not None
            else self.product.password_threshold
        )

    @property
    def effective_daily_charge_limit(self):
        return (
            self.daily_charge_limit
            if self.daily_charge_limit is not None
            else self.product.daily_charge_limit
        )

    def password_required_for(self, amount: int) -> bool:
        """True when a charge of `amount` fen must be confirmed with the card password."""
        threshold = self.effective_password_threshold
        return self.has_password and threshold is not None and amount > threshold


class UsedQrCode(models.Model):
    """A dynamic QR code already accepted: (card, time step) once only, shared by every process.

    A table rather than the cache: the embedded default's cache is per process, and the unique
    constraint makes two terminals racing with one screenshot resolve to one winner.
    Rows are useless once the step is out of the accepted window; `qr.purge_used_codes` drops them.
    """

    card = models.ForeignKey(Card, on_delete=models.CASCADE, related_name="+")
    step = models.BigIntegerField()
    used_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["card", "step"], name="loyalty_usedqr_once")]
        indexes = [models.Index(fields=["used_at"], name="loyalty_usedqr_used_at")]

    def __str__(self):
        return f"{self.card_id}@{self.step}"
