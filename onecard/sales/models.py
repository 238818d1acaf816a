"""The one purchase history: a sale, its lines and tenders, and the returns made against it.

Every way a member pays records one `Sale`: a checkout (priced lines), a plain charge or a hold's capture
(one unitemised line paid by stored value) and a package use (one line for the service used). Top-ups
and package sales are prepayments, not purchases: they record no sale. See docs/sales.md.

The tables keep the names they had when the sale lived in the pos app (pos_sale...): the move changed
which app owns the models, not a row or a table (migrations 0001 here, pos 0007).
"""

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from onecard.core.constraints import unique_per_merchant
from onecard.core.fields import (
    member_field,
    merchant_field,
    node_field,
    protected_fk,
    protected_staff_field,
    staff_field,
)
from onecard.members.choices import ImportStatus


class TenderKind(models.TextChoices):
    """How part of a sale was paid: through the ledger (stored value, points, a package) or recorded as external."""

    STORED_VALUE = "stored_value", _("Stored value")
    POINTS = "points", _("Points")
    PACKAGE = "package", _("Package")
    CASH = "cash", _("Cash")
    BANK_CARD = "bank_card", _("Bank card")
    WECHAT = "wechat", _("WeChat Pay")
    ALIPAY = "alipay", _("Alipay")


class SaleKind(models.TextChoices):
    """Which way of paying made the sale."""

    CHECKOUT = "checkout", _("Checkout")
    CHARGE = "charge", _("Charge")
    CAPTURE = "capture", _("Hold capture")
    PACKAGE_USE = "package_use", _("Package use")
    # Brought over from another system (sales.importing): dated in the past, no money moved, no tenders.
    IMPORTED = "imported", pgettext_lazy("sale kind", "Imported")


class Sale(models.Model):
    """One purchase (L5): priced lines, the tenders that paid it, coupons and promotions used, points earned."""

    audit_node_path = "store"

    kind = models.CharField(_("kind"), max_length=20, choices=SaleKind.choices, default=SaleKind.CHECKOUT)
    merchant = merchant_field()
    store = node_field(_("store"))
    card = protected_fk("loyalty.Card", optional=True)
    member = member_field(optional=True)
    actor = protected_staff_field()
    # A checkout's own reference, unique per merchant; the other kinds copy their card transaction's or
    # package use's reference, which a terminal shares between its calls ("pos:<terminal id>").
    business_ref = models.CharField(_("reference"), max_length=100)
    list_total = models.BigIntegerField(_("list total"))
    discount_total = models.BigIntegerField(_("discount"))
    total_due = models.BigIntegerField(_("amount due"))
    earn_base = models.BigIntegerField(default=0)  # fen the points were earned on
    # Points the checkout earned; a charge's or capture's points are its card transaction's.
    points_earned = models.BigIntegerField(_("points earned"), default=0)
    points_lot = protected_fk("loyalty.PointsLot", optional=True)
    promotions = models.JSONField(default=list)  # ids of the promotions applied
    limited_promotions = models.JSONField(default=list)  # ids of those reserved (rules.reserve)
    coupons = models.JSONField(default=list)  # codes redeemed
    order_adjustments = models.JSONField(default=list)
    # The cart as priced and the promotions and coupons it could use (promotions.pricing_snapshot):
    # a return prices what is kept with these. Empty for sales made before it was kept.
    pricing = models.JSONField(default=dict, blank=True)
    returned_due = models.BigIntegerField(_("returned"), default=0)
    # Notes handed over for the cash tender (0: not recorded); the change is what exceeds the tender.
    cash_received = models.BigIntegerField(_("cash received"), default=0)
    # A default rather than auto_now_add, so that an imported sale carries the time it was made.
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "pos_sale"
        ordering = ["-created_at", "-id"]
        verbose_name = _("sale")
        verbose_name_plural = _("sales")
        constraints = [
            unique_per_merchant("business_ref", "pos_sale_ref_unique", condition=Q(kind="checkout")),
            # "import:<import id>:<row>": a row is imported once.
            unique_per_merchant("business_ref", "sales_imported_ref_unique", condition=Q(kind="imported")),
        ]
        # The dashboards' live part (today) and their lists read a scope's sales by time: the merchant's
        # (HQ), a store's (a region's stores, a store) and a cashier's own.
        indexes = [
            models.Index(fields=["merchant", "created_at"], name="pos_sale_merchant_time"),
            models.Index(fields=["store", "created_at"], name="pos_sale_store_time"),
            models.Index(fields=["actor", "created_at"], name="pos_sale_actor_time"),
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


class SaleLine(models.Model):
    """One line of a sale, with each adjustment and its explanation, and how much was returned.

    A checkout's lines name their product; a plain charge's one line has none (its description is
    `name`), and a package use's line names the use it records.
    """

    sale = models.ForeignKey(Sale, on_delete=models.CASCADE, related_name="lines")
    key = models.CharField(max_length=40)  # the engine's line key; a gift line's names its coupon
    product = protected_fk("catalog.Product", optional=True)
    package_use = models.OneToOneField(
        "loyalty.PackageUse", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
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
        db_table = "pos_saleline"
        ordering = ["sale", "id"]

    def __str__(self):
        return f"{self.sku or self.name} × {self.quantity}"


class SaleTender(models.Model):
    """One tender of a sale: `amount` fen toward the total (points: their cash value), and what was given back."""

    sale = models.ForeignKey(Sale, on_delete=models.CASCADE, related_name="tenders")
    kind = models.CharField(max_length=20, choices=TenderKind.choices)
    amount = models.BigIntegerField()
    points = models.BigIntegerField(default=0)  # points tender: the points spent
    bonus = models.BigIntegerField(default=0)  # stored-value tender: the part paid with bonus value
    # Stored-value tender: the charge, pay or capture that took the money; one sale per transaction.
    card_transaction = protected_fk("loyalty.CardTransaction", optional=True)
    # Points tender: the redeem entry, whose points a return gives back (points.reverse_redeem).
    points_entry = protected_fk("loyalty.JournalEntry", optional=True)
    returned_amount = models.BigIntegerField(default=0)
    returned_points = models.BigIntegerField(default=0)

    class Meta:
        db_table = "pos_saletender"
        ordering = ["sale", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["card_transaction"], name="sales_tender_one_per_card_transaction"
            ),
        ]

    def __str__(self):
        return f"{self.kind} {self.amount}"


class SaleReturn(models.Model):
    """A return of a whole sale or some of its lines: what each tender gave back, points taken back."""

    sale = protected_fk(Sale, related_name="returns")
    store = node_field()
    actor = protected_staff_field()
    reason = models.CharField(max_length=200)
    amount = models.BigIntegerField()  # what the tenders gave back: lines_due − deduction
    # The returned units' share of what the sale was due, and what came off it because what is kept,
    # priced again, costs more than its share (a threshold no longer reached, a gift kept); negative:
    # an earlier return's deduction given back. docs/sales.md, "What is kept is priced again".
    lines_due = models.BigIntegerField(default=0)
    deduction = models.BigIntegerField(default=0)
    repricing = models.JSONField(default=dict, blank=True)  # the calculation shown on screen and receipt
    tenders = models.JSONField(default=list)  # [{"tender", "kind", "amount", "card_transaction"}]
    # Points tender: points given back to the card; the cash value of those that could not be
    # (the card was cancelled since) is `points_not_returned`, fen.
    points_given_back = models.BigIntegerField(default=0)
    points_not_returned = models.BigIntegerField(default=0)
    points_taken_back = models.BigIntegerField(default=0)
    points_shortfall = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "pos_salereturn"
        ordering = ["sale", "id"]

    def __str__(self):
        return f"return of {self.sale_id}"


class SaleReturnLine(models.Model):
    """`quantity` units of a sale line returned, and their share of the line's due."""

    sale_return = models.ForeignKey(SaleReturn, on_delete=models.CASCADE, related_name="lines")
    line = protected_fk(SaleLine)
    quantity = models.PositiveIntegerField()
    due = models.BigIntegerField()

    class Meta:
        db_table = "pos_salereturnline"

    def __str__(self):
        return f"{self.line_id} × {self.quantity}"


class InvoiceCategory(models.TextChoices):
    """Under which heading an amount is invoiced (CHINA-RULES, 发票 for stored value)."""

    PREPAID = "601", _("601 Prepaid card sale and top-up")
    GOODS = "goods", _("Goods and services sold")


class InvoiceFactKind(models.TextChoices):
    TOPUP = "topup", _("Top-up")
    TOPUP_REFUND = "topup_refund", _("Top-up paid back")
    SALE = "sale", _("Sale")
    SALE_RETURN = "sale_return", _("Return")
    PACKAGE_SALE = "package_sale", _("Package sold")
    PACKAGE_REFUND = "package_refund", _("Package paid back")


class InvoiceFact(models.Model):
    """What one top-up, sale, refund or return may be invoiced for, under which category, and what must not be.

    A top-up is invoiced under 601 预付卡销售和充值, rate 不征税 (`invoiceable` = principal; its bonus is
    value given, not paid); so is the sale of a package (次卡, 期限卡: a prepaid card too) at its price. A sale is invoiced for what was paid by cash, bank card, WeChat or Alipay;
    the parts paid with stored value (invoiced at the top-up), points (no money received) or a package
    are recorded as not to be invoiced. A refund or return has the opposite signs (a red invoice when
    the original was invoiced). Amounts in fen: amount = invoiceable + stored_value + points + package.
    Written by sales.invoicing when the top-up or sale is recorded; never changed.
    """

    kind = models.CharField(_("kind"), max_length=20, choices=InvoiceFactKind.choices)
    merchant = merchant_field()
    store = node_field(_("store"))
    occurred_at = models.DateTimeField(_("time"))
    category = models.CharField(_("invoice category"), max_length=10, choices=InvoiceCategory.choices)
    card_transaction = models.OneToOneField(
        "loyalty.CardTransaction", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    sale = protected_fk(Sale, optional=True, related_name="invoice_facts")
    member_package = protected_fk("loyalty.MemberPackage", optional=True, related_name="+")
    sale_return = models.OneToOneField(
        SaleReturn, null=True, blank=True, on_delete=models.PROTECT, related_name="invoice_fact"
    )
    amount = models.BigIntegerField(_("amount"))
    invoiceable = models.BigIntegerField(_("to invoice"))
    stored_value = models.BigIntegerField(_("paid with stored value (not invoiced)"), default=0)
    points = models.BigIntegerField(_("paid with points (not invoiced)"), default=0)
    package = models.BigIntegerField(_("paid from a package (not invoiced)"), default=0)
    bonus = models.BigIntegerField(_("bonus value (not invoiced)"), default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name = _("invoice fact")
        verbose_name_plural = _("invoice facts")
        constraints = [
            models.UniqueConstraint(
                fields=["sale"], condition=Q(kind="sale"), name="sales_invoicefact_one_per_sale"
            ),
            models.CheckConstraint(
                condition=Q(
                    amount=models.F("invoiceable")
                    + models.F("stored_value")
                    + models.F("points")
                    + models.F("package")
                ),
                name="sales_invoicefact_parts_add_up",
            ),
        ]
        indexes = [
            models.Index(fields=["merchant", "occurred_at"], name="sales_invoicefact_merchant"),
            models.Index(fields=["store", "occurred_at"], name="sales_invoicefact_store"),
        ]

    def __str__(self):
        return f"{self.kind} {self.invoiceable}"

    @property
    def tax_treatment(self) -> str:
        """601 is not taxed (不征税); goods carry their own rates, which the invoicing system knows."""
        return _("Not taxed") if self.category == InvoiceCategory.PREPAID else _("At the goods' rates")

    @property
    def not_invoiceable(self) -> int:
        return self.stored_value + self.points + self.package


class SaleImport(models.Model):
    """An upload of historical sales from .xlsx/.csv: checked row by row, then imported whole or not at all.

    `errors` are the rows that stop the import ({"row", "column", "value", "message"}); `skipped` the rows
    that repeat a sale an earlier import brought in ({"row", "message"}), left out so a file imported twice
    adds nothing. The sales it writes carry `business_ref` "import:<id>:<row>".
    """

    audit_node_path = "node"

    merchant = merchant_field(related_name="+", on_delete=models.CASCADE)
    node = node_field(related_name="+")
    created_by = staff_field(blank=False)
    created_at = models.DateTimeField(auto_now_add=True)
    file = models.FileField(upload_to="sales-imports/%Y/%m/")
    original_name = models.CharField(max_length=200)
    file_sha256 = models.CharField(max_length=64, db_index=True)
    headers = models.JSONField(default=list)
    columns = models.JSONField(default=list)  # per column of the file: the field it fills, or ""
    status = models.CharField(max_length=10, choices=ImportStatus.choices, default=ImportStatus.UPLOADED)
    total_rows = models.PositiveIntegerField(default=0)
    valid_rows = models.PositiveIntegerField(default=0)
    error_rows = models.PositiveIntegerField(default=0)
    skipped_rows = models.PositiveIntegerField(default=0)
    imported_rows = models.PositiveIntegerField(default=0)
    imported_amount = models.BigIntegerField(default=0)  # fen
    errors = models.JSONField(default=list, blank=True)
    skipped = models.JSONField(default=list, blank=True)
    message = models.CharField(max_length=300, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("sales import")
        verbose_name_plural = _("sales imports")

    def __str__(self):
        return self.original_name

    @property
    def business_ref_prefix(self) -> str:
        return f"import:{self.pk}:"
