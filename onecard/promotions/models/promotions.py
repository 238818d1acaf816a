"""Promotion rules (P1, P2, P4) and the uses that count their limited stock and per-member caps."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from onecard.core.fields import member_field, merchant_field, node_field, protected_fk


class PromotionKind(models.TextChoices):
    MEMBER_PRICE = "member_price", _("Member price / tier discount")
    DISCOUNT = "discount", _("Percentage off products")
    THRESHOLD_CASH = "threshold_cash", _("Spend threshold, amount off (满减)")
    THRESHOLD_DISCOUNT = "threshold_discount", _("Spend threshold, percentage off (满折)")
    THRESHOLD_GIFT = "threshold_gift", _("Spend threshold, gift (满赠)")
    BUY_X_GET_Y = "buy_x_get_y", _("Buy X get Y free (买二送一)")
    NTH_DISCOUNT = "nth_discount", _("Nth item at a discount (第二件半价)")
    BUNDLE = "bundle", _("Bundle price")
    BIRTHDAY = "birthday", _("Birthday offer")


class Promotion(models.Model):
    """A dated pricing rule of a merchant, owned by HQ or a region, for that node's stores (or a subset)."""

    merchant = merchant_field(_("merchant"), related_name="promotions")
    node = node_field(_("owner"), related_name="promotions")
    # Plain ids (not foreign keys) keep the engine and these rows independent of the catalogue app.
    store_ids = models.JSONField(_("stores"), default=list, blank=True)
    name = models.CharField(_("name"), max_length=80)
    kind = models.CharField(_("type"), max_length=24, choices=PromotionKind.choices)
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    product_ids = models.JSONField(_("products"), default=list, blank=True)
    category_ids = models.JSONField(_("categories"), default=list, blank=True)
    valid_from = models.DateTimeField(_("valid from"))
    valid_to = models.DateTimeField(_("valid to"))
    weekdays = models.JSONField(_("weekdays"), default=list, blank=True)  # ISO 1..7; empty: every day
    time_from = models.TimeField(_("daily from"), null=True, blank=True)
    time_to = models.TimeField(_("daily to"), null=True, blank=True)
    priority = models.IntegerField(_("priority"), default=0)
    exclusive_group = models.CharField(_("exclusivity group"), max_length=40, blank=True)
    stacks_with_coupons = models.BooleanField(_("stacks with coupons"), default=True)
    applies_over_member_price = models.BooleanField(_("applies over member price"), default=True)
    stock_total = models.PositiveIntegerField(_("total stock"), null=True, blank=True)
    per_member_limit = models.PositiveIntegerField(_("limit per member"), null=True, blank=True)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("promotion")
        verbose_name_plural = _("promotions")
        ordering = ["-priority", "pk"]
        indexes = [models.Index(fields=["merchant", "active", "valid_to"], name="promo_merchant_active_idx")]

    def __str__(self):
        return self.name


class PromotionUse(models.Model):
    """Units of a limited promotion taken by one sale (released on return): counts stock and member caps."""

    promotion = protected_fk(Promotion, related_name="uses")
    member = member_field(related_name="promotion_uses", optional=True)
    quantity = models.PositiveIntegerField(default=1)
    sale_ref = models.CharField(max_length=64, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("promotion use")
        verbose_name_plural = _("promotion uses")
        constraints = [
            models.UniqueConstraint(fields=["promotion", "sale_ref"], name="promotion_use_once_per_sale"),
        ]

    def __str__(self):
        return f"{self.promotion_id}:{self.sale_ref}×{self.quantity}"
