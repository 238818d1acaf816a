"""The promotion form: common fields plus the fields of one kind, amounts typed in yuan, products and
categories picked by search (no JSON, no ids to look up), turned into the `data` dict that
rules.create_promotion / update_promotion validate."""

import datetime

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from onecard.catalog.pickers import categories_field, product_field, products_field, show_names
from onecard.core.forms import MoneyField, weekdays_field
from onecard.core.money import fen_to_yuan_str, yuan_str_to_fen
from onecard.org.choices import NodeKind
from onecard.org.models import OrgNode

from .models import PromotionKind

RATE_HELP = _("The share of the price paid: 0.85 means 15 percent off (八五折).")

# kind → the form fields that hold its parameters
KIND_FIELDS = {
    PromotionKind.MEMBER_PRICE: ("rate", "tier_ids"),
    PromotionKind.DISCOUNT: ("rate",),
    PromotionKind.THRESHOLD_CASH: ("steps", "repeat"),
    PromotionKind.THRESHOLD_DISCOUNT: ("min_spend", "rate"),
    PromotionKind.THRESHOLD_GIFT: ("min_spend", "gift_product_id", "gift_quantity"),
    PromotionKind.BUY_X_GET_Y: ("buy", "free"),
    PromotionKind.NTH_DISCOUNT: ("nth", "rate"),
    PromotionKind.BUNDLE: ("bundle_products", "bundle_price"),
    PromotionKind.BIRTHDAY: ("window", "rate", "amount_off"),
}

# Amounts the form only parses: the pricing rules check their range.
ANY_AMOUNT = {"required": False, "min_fen": None, "max_fen": None, "max_length": None}


def _yuan(text, field_error):
    try:
        return yuan_str_to_fen(text)
    except ValueError:
        raise forms.ValidationError(field_error) from None


def parse_steps(text) -> list[dict]:
    """'200-30, 500-100' (yuan) → [{"min": 20000, "off": 3000}, {"min": 50000, "off": 10000}]."""
    steps = []
    for chunk in str(text or "").replace("，", ",").replace(";", ",").split(","):
        chunk = chunk.strip().replace("−", "-")
        if not chunk:
            continue
        spend, _sep, off = chunk.partition("-")
        message = _("Write each step as spend-off in yuan, e.g. 200-30, 500-100.")
        steps.append({"min": _yuan(spend.strip(), message), "off": _yuan(off.strip(), message)})
    return steps


class PromotionForm(forms.Form):
    """One promotion of a given kind; `to_data()` gives the service its fields and parameters."""

    name = forms.CharField(label=_("Name"), max_length=80)
    node = forms.ModelChoiceField(
        label=pgettext_lazy("org unit", "Owner"), queryset=OrgNode.objects.none(), empty_label=None
    )
    stores = forms.MultipleChoiceField(
        label=_("Only these stores"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: every store of the owner."),
    )
    product_ids = products_field(_("Only these products"), help_text=_("Empty: every product."))
    category_ids = categories_field(_("Only these categories"), help_text=_("Empty: every category."))
    valid_from = forms.DateTimeField(
        label=_("Valid from"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    valid_to = forms.DateTimeField(
        label=_("Valid to"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    weekdays = weekdays_field(coerce=int)
    time_from = forms.TimeField(
        label=_("Daily from"), required=False, widget=forms.TimeInput(attrs={"type": "time"})
    )
    time_to = forms.TimeField(
        label=_("Daily to"), required=False, widget=forms.TimeInput(attrs={"type": "time"})
    )
    priority = forms.IntegerField(label=_("Priority"), initial=0, help_text=_("Higher applies first."))
    exclusive_group = forms.CharField(
        label=_("Exclusivity group"),
        max_length=40,
        required=False,
        help_text=_("Promotions of one group do not combine: the best for the customer wins."),
    )
    stacks_with_coupons = forms.BooleanField(label=_("Stacks with coupons"), required=False, initial=True)
    applies_over_member_price = forms.BooleanField(
        label=_("Applies over the member price"), required=False, initial=True
    )
    stock_total = forms.IntegerField(label=_("Total stock"), required=False, min_value=1)
    per_member_limit = forms.IntegerField(label=_("Limit per member"), required=False, min_value=1)
    # the parameters; only the kind's own fields stay on the form
    rate = forms.CharField(label=_("Rate"), required=False, help_text=RATE_HELP)
    tier_ids = forms.TypedMultipleChoiceField(
        label=_("Tiers"),
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: every member."),
    )
    steps = forms.CharField(
        label=_("Steps (spend-off, yuan)"), required=False, help_text=_("e.g. 200-30, 500-100")
    )
    repeat = forms.BooleanField(label=_("Repeat for every step reached (每满)"), required=False)
    min_spend = MoneyField(label=_("Spend threshold (yuan)"), **ANY_AMOUNT)
    gift_product_id = product_field(_("Gift product"))
    gift_quantity = forms.IntegerField(label=_("Gift quantity"), required=False, initial=1)
    buy = forms.IntegerField(label=_("Buy"), required=False, initial=2)
    free = forms.IntegerField(label=_("Free"), required=False, initial=1)
    nth = forms.IntegerField(label=_("Every Nth item"), required=False, initial=2)
    bundle_products = products_field(_("Bundle products"))
    bundle_price = MoneyField(label=_("Bundle price (yuan)"), **ANY_AMOUNT)
    window = forms.ChoiceField(
        label=_("Birthday window"),
        required=False,
        choices=[("day", _("Birthday")), ("week", _("Birthday week")), ("month", _("Birthday month"))],
    )
    amount_off = MoneyField(label=_("Amount off (yuan)"), **ANY_AMOUNT)

    # Set by the page when the promotion stacks with others and the user saves it all the same.
    stacking_confirmed = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, kind, merchant, owners, stores, tiers, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind = kind
        show_names(self, merchant)
        for name in {n for names in KIND_FIELDS.values() for n in names} - set(KIND_FIELDS[kind]):
            del self.fields[name]
        self.fields["node"].queryset = owners
        self.fields["stores"].choices = [(str(s.pk), f"{s.code} {s.name}") for s in stores]
        if "tier_ids" in self.fields:
            self.fields["tier_ids"].choices = [(t.pk, t.name) for t in tiers]
        if kind == PromotionKind.BIRTHDAY:
            self.fields["rate"].help_text = _("Either a rate or an amount off. ") + str(RATE_HELP)

    def kind_fields(self):
        return [self[name] for name in KIND_FIELDS[self.kind]]

    def common_fields(self):
        own = set(KIND_FIELDS[self.kind]) | {"stacking_confirmed"}
        return [self[name] for name in self.fields if name not in own]

    def clean_steps(self):
        return parse_steps(self.cleaned_data["steps"])

    def params(self) -> dict:
        """The kind's parameters as the service expects them (missing values left out, so it names them)."""
        c = self.cleaned_data
        names = {"min_spend": "min", "bundle_products": "product_ids", "bundle_price": "price"}
        params = {}
        for field in KIND_FIELDS[self.kind]:
            value = c.get(field)
            if field == "repeat":
                value = bool(value)
            if value in (None, "", []) and field != "tier_ids":
                continue
            params[names.get(field, field)] = value
        return params

    def to_data(self) -> dict:
        c = self.cleaned_data
        return {
            "name": c["name"],
            "kind": self.kind,
            "params": self.params(),
            "store_ids": [int(pk) for pk in c["stores"]],
            "product_ids": c["product_ids"],
            "category_ids": c["category_ids"],
            "valid_from": c["valid_from"],
            "valid_to": c["valid_to"],
            "weekdays": c["weekdays"],
            "time_from": c["time_from"],
            "time_to": c["time_to"],
            "priority": c["priority"] or 0,
            "exclusive_group": c["exclusive_group"],
            "stacks_with_coupons": c["stacks_with_coupons"],
            "applies_over_member_price": c["applies_over_member_price"],
            "stock_total": c["stock_total"],
            "per_member_limit": c["per_member_limit"],
        }


def initial_for(promotion) -> dict:
    """The form's initial values from a stored promotion (the reverse of `to_data`)."""
    p = promotion.params or {}
    initial = {
        "name": promotion.name,
        "node": promotion.node_id,
        "stores": [str(pk) for pk in promotion.store_ids],
        "product_ids": ", ".join(map(str, promotion.product_ids)),
        "category_ids": ", ".join(map(str, promotion.category_ids)),
        "valid_from": timezone.localtime(promotion.valid_from).strftime("%Y-%m-%dT%H:%M"),
        "valid_to": timezone.localtime(promotion.valid_to).strftime("%Y-%m-%dT%H:%M"),
        "weekdays": promotion.weekdays,
        "time_from": promotion.time_from,
        "time_to": promotion.time_to,
        "priority": promotion.priority,
        "exclusive_group": promotion.exclusive_group,
        "stacks_with_coupons": promotion.stacks_with_coupons,
        "applies_over_member_price": promotion.applies_over_member_price,
        "stock_total": promotion.stock_total,
        "per_member_limit": promotion.per_member_limit,
        "rate": p.get("rate", ""),
        "tier_ids": p.get("tier_ids", []),
        "steps": ", ".join(
            f"{fen_to_yuan_str(s['min'])}-{fen_to_yuan_str(s['off'])}" for s in p.get("steps", [])
        ),
        "repeat": p.get("repeat", False),
        "min_spend": fen_to_yuan_str(p["min"]) if "min" in p else "",
        "gift_product_id": p.get("gift_product_id"),
        "gift_quantity": p.get("gift_quantity", 1),
        "buy": p.get("buy"),
        "free": p.get("free"),
        "nth": p.get("nth"),
        "bundle_products": ", ".join(map(str, p.get("product_ids", []))),
        "bundle_price": fen_to_yuan_str(p["price"]) if "price" in p else "",
        "window": p.get("window", "day"),
        "amount_off": fen_to_yuan_str(p["amount_off"]) if "amount_off" in p else "",
    }
    return initial


def default_dates() -> dict:
    """A new promotion runs from today for 30 days by default."""
    start = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    end = start + datetime.timedelta(days=30)
    return {"valid_from": start.strftime("%Y-%m-%dT%H:%M"), "valid_to": end.strftime("%Y-%m-%dT%H:%M")}


def owner_nodes(merchant, scope_ids):
    """HQ and regions of the merchant that the user may manage."""
    nodes = OrgNode.objects.filter(merchant=merchant, kind__in=[NodeKind.HQ, NodeKind.REGION]).order_by(
        "path"
    )
    return nodes if scope_ids is None else nodes.filter(id__in=scope_ids)
