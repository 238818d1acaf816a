"""What the report builder may read: five datasets, each with its scoped rows and the fields a user may pick.

A field is a label, an ORM path from the dataset's model and a type; the type says which filters,
groupings and sums it allows (`OPERATORS`, `AGGREGATES`, `TRUNCATIONS`). Nothing outside this catalogue
ever reaches the ORM: a definition names fields by their key here (report_builder.definition).

Every dataset's rows are scoped as the other pages scope them: members through members.queries
(their home store in the viewer's scope), sales, sale lines and card movements by their store,
coupons through promotions.coupon_queries (members in scope and bearer coupons). All of one merchant.
"""

from dataclasses import dataclass, field

from django.db.models import TextChoices
from django.utils.translation import gettext_lazy as _

from onecard.analytics.choices import AbcdClass, LifeStage, RfmClass
from onecard.core.scoping import scope
from onecard.loyalty.models import CardTransaction
from onecard.loyalty.models.stored_value import CardTxKind, CardTxStatus
from onecard.members.choices import Gender, MemberKind, Source
from onecard.members.queries import visible_members
from onecard.promotions.coupon_choices import CouponKind, CouponStatus
from onecard.promotions.coupon_queries import visible_coupons
from onecard.sales.models import Sale, SaleKind, SaleLine


class FieldType(TextChoices):
    """What a field holds, which decides how it is filtered, grouped, summed and shown."""

    TEXT = "text", _("Text")
    NUMBER = "number", _("Number")
    MONEY = "money", _("Amount (¥)")  # stored and computed in fen, shown in yuan
    DATE = "date", _("Date")
    CHOICE = "choice", _("Choice")


# Filter operators per type. "between" takes two values, "in" a list, "last_days" a number of days.
OPERATOR_LABELS = {
    "eq": _("equals"),
    "in": _("is one of"),
    "contains": _("contains"),
    "gt": _("greater than"),
    "lt": _("less than"),
    "between": _("between"),
    "last_days": _("in the last N days"),
}
OPERATORS = {
    FieldType.TEXT: ("eq", "in", "contains"),
    FieldType.NUMBER: ("eq", "gt", "lt", "between"),
    FieldType.MONEY: ("eq", "gt", "lt", "between"),
    FieldType.DATE: ("eq", "gt", "lt", "between", "last_days"),
    FieldType.CHOICE: ("eq", "in"),
}

AGGREGATE_LABELS = {
    "count": _("Count"),
    "sum": _("Sum"),
    "avg": _("Average"),
    "min": _("Minimum"),
    "max": _("Maximum"),
}
# count needs no field (it counts rows); the others take a number or an amount.
AGGREGATES_WITHOUT_FIELD = ("count",)
NUMERIC_TYPES = (FieldType.NUMBER, FieldType.MONEY)

TRUNCATION_LABELS = {"day": _("by day"), "month": _("by month"), "year": _("by year")}


@dataclass(frozen=True)
class Field:
    """One column a user may pick: its label, ORM path, type and, for a choice, the allowed values."""

    key: str
    label: str
    path: str
    type: str
    choices: tuple = ()  # (value, label) pairs of a choice field
    moment: bool = False  # a date field stored as a time (UTC), compared and grouped by local day
    groupable: bool = True
    filterable: bool = True
    masked: bool = False  # a phone number: shown masked unless the viewer may reveal personal data

    @property
    def operators(self):
        return OPERATORS[self.type] if self.filterable else ()

    @property
    def numeric(self) -> bool:
        return self.type in NUMERIC_TYPES

    def choice_label(self, value):
        """The label of a stored choice value (the value itself when it is not one of the choices)."""
        return str(dict(self.choices).get(value, value if value is not None else ""))


@dataclass(frozen=True)
class Dataset:
    """A kind of row a report reads: its model's scoped rows for a user and the fields over them."""

    key: str
    label: str
    rows: object  # rows(user, merchant) -> the scoped queryset
    fields: tuple = field(default_factory=tuple)

    def field(self, key):
        """The field named `key`, or None when the dataset has none of that name."""
        return next((f for f in self.fields if f.key == key), None)


def _text(key, label, path, **options):
    return Field(key, label, path, FieldType.TEXT, **options)


def _number(key, label, path, **options):
    return Field(key, label, path, FieldType.NUMBER, groupable=False, **options)


def _money(key, label, path, **options):
    return Field(key, label, path, FieldType.MONEY, groupable=False, **options)


def _date(key, label, path, *, moment=True, **options):
    return Field(key, label, path, FieldType.DATE, moment=moment, **options)


def _choice(key, label, path, choices, **options):
    return Field(key, label, path, FieldType.CHOICE, choices=tuple(choices.choices), **options)


def _members(user, merchant):
    return visible_members(user).filter(merchant=merchant)


def _sales(user, merchant):
    return scope(Sale.objects.filter(merchant=merchant), user, "store")


def _sale_lines(user, merchant):
    return scope(SaleLine.objects.filter(sale__merchant=merchant), user, "sale__store")


def _card_movements(user, merchant):
    return scope(CardTransaction.objects.filter(store__merchant=merchant), user, "store")


def _coupons(user, merchant):
    return visible_coupons(user).filter(merchant=merchant)


MEMBERS = Dataset(
    "members",
    _("Members"),
    _members,
    (
        _text("member_no", _("Member no."), "member_no", groupable=False),
        _text("name", _("Name"), "name", groupable=False),
        _text("phone", _("Phone"), "phone", groupable=False, filterable=False, masked=True),
        _choice("kind", _("Type"), "kind", MemberKind),
        _choice("gender", _("Gender"), "gender", Gender),
        _date("birthday", _("Birthday"), "birthday", moment=False),
        _text("home_store", _("Home store"), "home_store__name"),
        _choice("source", _("Source"), "source", Source),
        _date("joined", _("Joined"), "created_at"),
        _money("spend", _("Spend, net of returns"), "facts__spend"),
        _number("purchases", _("Purchases"), "facts__purchases"),
        _number("visits", _("Visits"), "facts__visits"),
        _date("last_purchase", _("Last purchase"), "facts__last_purchase_at"),
        _choice("rfm_class", _("RFM class"), "facts__rfm_class", RfmClass),
        _choice("abcd_class", _("ABCD class"), "facts__abcd_class", AbcdClass),
        _choice("life_stage", _("Life-cycle stage"), "facts__life_stage", LifeStage),
    ),
)

SALES = Dataset(
    "sales",
    _("Sales"),
    _sales,
    (
        _date("date", _("Date"), "created_at"),
        _text("store", _("Store"), "store__name"),
        _choice("kind", _("Kind"), "kind", SaleKind),
        _text("reference", _("Reference"), "business_ref", groupable=False),
        _text("member_no", _("Member no."), "member__member_no"),
        _text("member_name", _("Member"), "member__name"),
        _money("list_total", _("List total"), "list_total"),
        _money("discount", _("Discount"), "discount_total"),
        _money("total_due", _("Amount due"), "total_due"),
        _money("returned", _("Returned"), "returned_due"),
        _number("points_earned", _("Points earned"), "points_earned"),
    ),
)

SALE_LINES = Dataset(
    "sale_lines",
    _("Sale lines"),
    _sale_lines,
    (
        _date("date", _("Date of the sale"), "sale__created_at"),
        _text("store", _("Store"), "sale__store__name"),
        _text("reference", _("Sale reference"), "sale__business_ref", groupable=False),
        _text("sku", _("SKU"), "sku"),
        _text("product", _("Product"), "name"),
        _text("category", _("Category"), "product__category__name"),
        _number("quantity", _("Quantity"), "quantity"),
        _money("list_total", _("List total"), "list_total"),
        _money("due", _("Amount due"), "due"),
        _number("returned_quantity", _("Units returned"), "returned_quantity"),
        _money("returned", _("Returned"), "returned_due"),
    ),
)

CARD_MOVEMENTS = Dataset(
    "card_movements",
    _("Card movements"),
    _card_movements,
    (
        _date("date", _("Date"), "created_at"),
        _text("store", _("Store"), "store__name"),
        _choice("kind", _("Kind"), "kind", CardTxKind),
        _choice("status", _("Status"), "status", CardTxStatus),
        _text("card", _("Card no."), "card__number"),
        _text("member_no", _("Member no."), "member__member_no"),
        _money("amount", _("Amount"), "amount"),
        _money("principal", _("Principal"), "principal"),
        _money("bonus", _("Bonus"), "bonus"),
        _money("discount", _("Discount"), "discount"),
        _number("points_earned", _("Points earned"), "points_earned"),
        _text("tender", _("Tender"), "tender"),
    ),
)

COUPONS = Dataset(
    "coupons",
    _("Coupons"),
    _coupons,
    (
        _text("template", _("Coupon template"), "template__name"),
        _choice("template_kind", _("Coupon kind"), "template__kind", CouponKind),
        _text("code", _("Code"), "code", groupable=False),
        _choice("status", _("Status"), "status", CouponStatus),
        _date("issued", _("Issued"), "issued_at"),
        _date("valid_until", _("Valid until"), "valid_until"),
        _date("redeemed", _("Redeemed"), "redeemed_at"),
        _text("redeemed_store", _("Redeemed at"), "redeemed_store__name"),
        _text("member_no", _("Member no."), "member__member_no"),
        _number("uses_left", _("Uses left"), "uses_left"),
    ),
)

DATASETS = {d.key: d for d in (MEMBERS, SALES, SALE_LINES, CARD_MOVEMENTS, COUPONS)}
