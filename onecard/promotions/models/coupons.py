"""Coupons (P3): templates that say what a coupon gives, the coupons issued from them, and issue batches.

Only `onecard.promotions.coupons` writes these rows. A coupon copies its validity window at issue, so
editing a template later changes what new coupons give, never the window of coupons already issued.
"""

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from onecard.core.constraints import unique_per_merchant
from onecard.core.fields import member_field, merchant_field, node_field, protected_fk, staff_field

from ..coupon_choices import CouponKind, CouponStatus, IssueHow, IssueRule, RestorePolicy


class CouponTemplate(models.Model):
    """What a coupon gives and where, for how long, and to how many per member (券模板).

    `value` by kind: cash = fen off; discount = rate in thousandths (850 = 85折); count = uses;
    gift = unused (the gift is `gift_product_id`). Validity is fixed dates (`valid_from`..`valid_to`,
    both days included) or `valid_days` calendar days counting the issue day.
    """

    audit_node_path = "node"

    merchant = merchant_field(related_name="coupon_templates")
    node = node_field(_("owner"), related_name="coupon_templates")
    name = models.CharField(_("name"), max_length=60)
    kind = models.CharField(_("kind"), max_length=10, choices=CouponKind.choices)
    value = models.BigIntegerField(_("value"), default=0)
    min_spend = models.BigIntegerField(_("minimum spend (fen)"), default=0)
    cap = models.BigIntegerField(_("most off (fen)"), null=True, blank=True)
    gift_product_id = models.PositiveBigIntegerField(_("gift product"), null=True, blank=True)
    # Catalogue ids (the catalog app is separate): empty lists mean every product.
    product_ids = models.JSONField(_("products"), default=list, blank=True)
    category_ids = models.JSONField(_("categories"), default=list, blank=True)
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_to = models.DateField(_("valid to"), null=True, blank=True)
    valid_days = models.PositiveIntegerField(_("valid for (days)"), null=True, blank=True)
    # Empty: every store under the owner node.
    stores = models.ManyToManyField("org.OrgNode", verbose_name=_("valid at"), blank=True, related_name="+")
    per_member_limit = models.PositiveIntegerField(_("per member at most"), null=True, blank=True)
    restore_on_return = models.CharField(
        _("on return"), max_length=10, choices=RestorePolicy.choices, default=RestorePolicy.IF_VALID
    )
    stacks_with_promotions = models.BooleanField(_("combines with promotions"), default=True)
    issue_rule = models.CharField(
        _("issued automatically"), max_length=10, choices=IssueRule.choices, blank=True
    )
    spend_threshold = models.BigIntegerField(_("after a spend of at least (fen)"), null=True, blank=True)
    active = models.BooleanField(_("active"), default=True)
    created_by = staff_field()
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-active", "name"]
        verbose_name = _("coupon template")
        verbose_name_plural = _("coupon templates")
        constraints = [
            unique_per_merchant("name", "promotions_coupontpl_name_unique"),
            models.CheckConstraint(
                condition=Q(value__gte=0, min_spend__gte=0), name="promotions_coupontpl_amounts_not_negative"
            ),
            models.CheckConstraint(
                condition=~Q(kind=CouponKind.DISCOUNT) | Q(value__gt=0, value__lt=1000),
                name="promotions_coupontpl_discount_rate",
            ),
            models.CheckConstraint(
                condition=Q(valid_days__isnull=False, valid_to__isnull=True)
                | Q(valid_days__isnull=True, valid_to__isnull=False),
                name="promotions_coupontpl_one_validity",
            ),
        ]
        indexes = [
            models.Index(fields=["merchant", "issue_rule", "active"], name="promotions_coupontpl_rule")
        ]

    def __str__(self):
        return self.name


class CouponIssue(models.Model):
    """One issue batch: which template, how (by hand, a list, a file, a rule), how many, by whom, when."""

    audit_node_path = "template.node"

    template = protected_fk(CouponTemplate, related_name="issues")
    merchant = merchant_field()
    how = models.CharField(_("how"), max_length=10, choices=IssueHow.choices)
    count = models.PositiveIntegerField(_("coupons"), default=0)
    note = models.CharField(_("note"), max_length=200, blank=True)
    actor = staff_field()
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("coupon issue")
        verbose_name_plural = _("coupon issues")

    def __str__(self):
        return f"{self.template} × {self.count} ({self.get_how_display()})"


class Coupon(models.Model):
    """One coupon with its unique code (barcode/QR), its owner (None: a bearer coupon), window and state.

    `rule_key` makes a rule issue at most once ("birthday:2026", "spend:<sale ref>") per member and template.
    """

    audit_node_path = "template.node"

    template = protected_fk(CouponTemplate, related_name="coupons")
    merchant = merchant_field()
    member = member_field(related_name="coupons", optional=True)
    code = models.CharField(_("code"), max_length=16, unique=True)
    status = models.CharField(
        _("status"), max_length=10, choices=CouponStatus.choices, default=CouponStatus.ISSUED
    )
    issued_at = models.DateTimeField(_("issued"), default=timezone.now)
    valid_from = models.DateTimeField(_("valid from"))
    valid_until = models.DateTimeField(_("valid until"))  # exclusive
    issued_by = staff_field()
    issue = protected_fk(CouponIssue, related_name="coupons", optional=True)
    rule_key = models.CharField(max_length=120, blank=True)
    uses_left = models.PositiveIntegerField(_("uses left"), null=True, blank=True)
    redeemed_at = models.DateTimeField(_("redeemed"), null=True, blank=True)
    redeemed_store = node_field(_("redeemed at"), optional=True)
    redemption_ref = models.CharField(_("sale"), max_length=100, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("coupon")
        verbose_name_plural = _("coupons")
        constraints = [
            models.UniqueConstraint(
                fields=["template", "member", "rule_key"],
                condition=~Q(rule_key=""),
                name="promotions_coupon_rule_once",
            ),
            models.CheckConstraint(
                condition=Q(valid_until__gt=models.F("valid_from")), name="promotions_coupon_window"
            ),
        ]
        indexes = [
            models.Index(fields=["member", "template"], name="promotions_coupon_member"),
            models.Index(fields=["status", "valid_until"], name="promotions_coupon_expiry"),
            models.Index(fields=["template", "status"], name="promotions_coupon_template"),
        ]

    def __str__(self):
        return self.code
