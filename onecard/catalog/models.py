"""The catalogue: a category tree, products and services with list prices, member prices per tier.

Amounts are integer fen. A product with no stores is sold in every store of its merchant.
"""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from onecard.core.constraints import unique_per_merchant
from onecard.core.fields import merchant_field, protected_fk

from .choices import ProductKind


class Category(models.Model):
    """A node of a merchant's category tree; `path` ("/3/7/") makes "this and everything below" a prefix query."""

    merchant = merchant_field(_("merchant"), related_name="categories")
    parent = protected_fk("self", _("parent"), related_name="children", optional=True)
    name = models.CharField(_("name"), max_length=60)
    code = models.CharField(_("code"), max_length=30, blank=True)
    # Written by services.create_category right after the insert (it needs the id), never by hand.
    path = models.CharField(max_length=255, db_index=True, editable=False, default="")
    depth = models.PositiveSmallIntegerField(default=0, editable=False)
    sort_order = models.IntegerField(_("sort order"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["path"]
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        constraints = [
            unique_per_merchant("code", "catalog_category_code_unique", condition=~Q(code="")),
            models.UniqueConstraint(
                fields=["merchant", "parent", "name"],
                condition=Q(parent__isnull=False),
                name="catalog_category_name_unique",
            ),
            unique_per_merchant("name", "catalog_category_root_unique", condition=Q(parent__isnull=True)),
        ]

    def __str__(self):
        return self.name

    def ancestor_ids(self):
        """This category's id and its ancestors' ids, nearest first."""
        return tuple(int(part) for part in reversed(self.path.strip("/").split("/")) if part)


class Product(models.Model):
    """A product or service a merchant sells, by SKU (and barcode), at a list price in fen."""

    merchant = merchant_field(_("merchant"), related_name="products")
    sku = models.CharField(_("SKU"), max_length=40)
    barcode = models.CharField(_("barcode"), max_length=32, blank=True)
    name = models.CharField(_("name"), max_length=100)
    # Search keys (张三 → "zs", "zhangsan"), kept in step with `name` by the services.
    name_initials = models.CharField(max_length=40, blank=True, db_index=True, editable=False)
    name_pinyin = models.CharField(max_length=120, blank=True, editable=False)
    category = protected_fk(Category, _("category"), related_name="products", optional=True)
    kind = models.CharField(
        _("kind"), max_length=10, choices=ProductKind.choices, default=ProductKind.PRODUCT
    )
    unit = models.CharField(_("unit"), max_length=10, blank=True)
    list_price = models.BigIntegerField(_("list price (fen)"))
    is_active = models.BooleanField(_("active"), default=True)
    stores = models.ManyToManyField(
        "org.OrgNode",
        verbose_name=_("stores"),
        blank=True,
        related_name="catalog_products",
        help_text=_("None: sold in every store."),
    )
    # The service name a count card's ServicePackageLine.service uses, so a sale of it can use the card.
    package_service = models.CharField(_("count-card service"), max_length=40, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["sku"]
        verbose_name = _("product")
        verbose_name_plural = _("products")
        constraints = [
            unique_per_merchant("sku", "catalog_product_sku_unique"),
            unique_per_merchant("barcode", "catalog_product_barcode_unique", condition=~Q(barcode="")),
            models.CheckConstraint(condition=Q(list_price__gt=0), name="catalog_product_list_price_positive"),
        ]
        indexes = [models.Index(fields=["merchant", "name"], name="catalog_product_name_idx")]

    def __str__(self):
        return f"{self.sku} {self.name}"


class MemberPrice(models.Model):
    """The price in fen a member of `tier` pays for one unit of `product`."""

    product = models.ForeignKey(
        Product, verbose_name=_("product"), on_delete=models.CASCADE, related_name="member_prices"
    )
    tier = protected_fk("loyalty.Tier", _("tier"), related_name="member_prices")
    price = models.BigIntegerField(_("price (fen)"))

    class Meta:
        ordering = ["product", "tier__rank"]
        verbose_name = _("member price")
        verbose_name_plural = _("member prices")
        constraints = [
            models.UniqueConstraint(fields=["product", "tier"], name="catalog_member_price_unique"),
            models.CheckConstraint(condition=Q(price__gt=0), name="catalog_member_price_positive"),
        ]

    def __str__(self):
        return f"{self.product_id}/{self.tier_id}: {self.price}"

    @property
    def merchant(self):
        return self.product.merchant
