"""Forms of the coupon pages: amounts typed in yuan, a discount as a percentage (85 = 85折), ids as lists."""

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from onecard.catalog.pickers import categories_field, product_field, products_field, show_names
from onecard.core.forms import MoneyField
from onecard.core.money import fen_to_yuan_str

from .coupon_choices import CouponKind, CouponStatus, IssueRule, RestorePolicy

# Which form field carries `value` for each kind (the service reports errors on "value").
VALUE_FIELD = {
    CouponKind.CASH: "cash_amount",
    CouponKind.DISCOUNT: "discount_percent",
    CouponKind.COUNT: "uses",
    CouponKind.GIFT: "gift_product_id",
}


# An amount that may be empty (None) or zero; the services bound it.
OPTIONAL_YUAN = {"required": False, "min_fen": 0, "max_fen": None, "placeholder": "0.00"}


class CouponTemplateForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=60)
    node = forms.ModelChoiceField(label=pgettext_lazy("org unit", "Owner"), queryset=None, empty_label=None)
    kind = forms.ChoiceField(label=_("Kind"), choices=CouponKind.choices)
    cash_amount = MoneyField(label=_("Amount off (¥)"), help_text=_("Cash vouchers."), **OPTIONAL_YUAN)
    discount_percent = forms.DecimalField(
        label=_("Pay (percent of the price)"), required=False, min_value=Decimal("0.1"), max_value=Decimal("99.9"),
        decimal_places=1, help_text=_("Discount coupons: 85 means 85折, the buyer pays 85%."),
    )  # fmt: skip
    cap = MoneyField(
        label=_("Most off (¥)"), help_text=_("Discount coupons; empty: no cap."), **OPTIONAL_YUAN
    )
    gift_product_id = product_field(
        _("Gift product"), min_value=1, help_text=_("Gift coupons: the product given.")
    )
    uses = forms.IntegerField(
        label=_("Uses"), required=False, min_value=1, max_value=1000, help_text=_("Count coupons.")
    )
    min_spend = MoneyField(label=_("Minimum spend (¥)"), **OPTIONAL_YUAN)
    product_ids = products_field(_("Only these products"), help_text=_("Empty: every product."))
    category_ids = categories_field(_("Only these categories"), help_text=_("Empty: every category."))
    valid_from = forms.DateField(
        label=_("Valid from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    valid_to = forms.DateField(
        label=_("Valid to"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    valid_days = forms.IntegerField(
        label=_("Or valid for (days from issue)"), required=False, min_value=1, max_value=3660
    )
    stores = forms.ModelMultipleChoiceField(
        label=_("Valid at"), queryset=None, required=False, widget=forms.CheckboxSelectMultiple,
        help_text=_("None selected: every store of the owner."),
    )  # fmt: skip
    per_member_limit = forms.IntegerField(
        label=_("Per member at most"), required=False, min_value=1, help_text=_("Empty: no limit.")
    )
    restore_on_return = forms.ChoiceField(label=_("On return"), choices=RestorePolicy.choices)
    stacks_with_promotions = forms.BooleanField(
        label=_("Combines with promotions"), required=False, initial=True
    )
    issue_rule = forms.ChoiceField(label=_("Issued automatically"), choices=IssueRule.choices, required=False)
    spend_threshold = MoneyField(label=_("After a spend of at least (¥)"), **OPTIONAL_YUAN)
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args, nodes, stores, merchant=None, **kwargs):
        super().__init__(*args, **kwargs)
        if merchant is not None:
            show_names(self, merchant)
        self.fields["node"].queryset = nodes
        self.fields["stores"].queryset = stores

    def service_fields(self) -> dict:
        """The cleaned data as the template service takes it (value per kind, amounts in fen)."""
        data = dict(self.cleaned_data)
        kind = data["kind"]
        value = {
            CouponKind.CASH: data.get("cash_amount") or 0,
            CouponKind.DISCOUNT: int(data["discount_percent"] * 10) if data.get("discount_percent") else 0,
            CouponKind.COUNT: data.get("uses") or 0,
            CouponKind.GIFT: 0,
        }[kind]
        return {
            "name": data["name"],
            "kind": kind,
            "value": value,
            "min_spend": data.get("min_spend") or 0,
            "cap": data.get("cap"),
            "gift_product_id": data.get("gift_product_id"),
            "product_ids": data["product_ids"],
            "category_ids": data["category_ids"],
            "valid_from": data.get("valid_from"),
            "valid_to": data.get("valid_to"),
            "valid_days": data.get("valid_days"),
            "per_member_limit": data.get("per_member_limit"),
            "restore_on_return": data["restore_on_return"],
            "stacks_with_promotions": data["stacks_with_promotions"],
            "issue_rule": data.get("issue_rule") or "",
            "spend_threshold": data.get("spend_threshold"),
            "active": data["active"],
        }


def initial_of(template) -> dict:
    """The form's initial values for an existing template."""

    def yuan(fen):
        return fen_to_yuan_str(fen) if fen is not None else ""

    return {
        "name": template.name,
        "node": template.node,
        "kind": template.kind,
        "cash_amount": yuan(template.value) if template.kind == CouponKind.CASH else "",
        "discount_percent": Decimal(template.value) / 10 if template.kind == CouponKind.DISCOUNT else None,
        "cap": yuan(template.cap),
        "gift_product_id": template.gift_product_id,
        "uses": template.value if template.kind == CouponKind.COUNT else None,
        "min_spend": yuan(template.min_spend) if template.min_spend else "",
        "product_ids": ", ".join(str(i) for i in template.product_ids),
        "category_ids": ", ".join(str(i) for i in template.category_ids),
        "valid_from": template.valid_from,
        "valid_to": template.valid_to,
        "valid_days": template.valid_days,
        "stores": list(template.stores.all()),
        "per_member_limit": template.per_member_limit,
        "restore_on_return": template.restore_on_return,
        "stacks_with_promotions": template.stacks_with_promotions,
        "issue_rule": template.issue_rule,
        "spend_threshold": yuan(template.spend_threshold),
        "active": template.active,
    }


class IssueByHandForm(forms.Form):
    member = forms.CharField(label=_("Member phone or member no."), max_length=20)


class IssueFileForm(forms.Form):
    file = forms.FileField(
        label=_("List of members (.xlsx or .csv)"), help_text=_("One phone or member no. a row.")
    )


class CouponFilterForm(forms.Form):
    template = forms.IntegerField(required=False)
    status = forms.ChoiceField(choices=[("", "")] + CouponStatus.choices, required=False)
    member = forms.CharField(required=False, max_length=20)
