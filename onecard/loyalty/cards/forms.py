"""Forms of the card pages (/cards/): card products, batches and the actions on one card.

They only parse input (amounts typed in yuan, handed on as fen); the services check every rule, and
their refusals come back next to the fields through `add_service_errors`.
"""

from django import forms
from django.utils.translation import gettext_lazy as _

from onecard.core.forms import ModelCheckListField, MoneyField, ServiceErrorsMixin, StoreChoicesMixin, yuan
from onecard.loyalty.cards.choices import CardKind
from onecard.loyalty.ledger.services import MAX_AMOUNT
from onecard.loyalty.models.stored_value import ConsumptionOrder

# The refund methods of stored_value.refund_topup (REFUND_TENDERS), which the payout follows.
PAYOUT_METHODS = [
    ("bank", _("Bank transfer to the holder")),
    ("cash", _("Cash (up to ¥100)")),
    ("original", _("Back the way it was paid")),
]


class ProductForm(StoreChoicesMixin, ServiceErrorsMixin, forms.Form):
    """A card product (卡类型) and, for stored-value cards, the order charges take principal and bonus."""

    name = forms.CharField(label=_("Name"), max_length=60)
    kind = forms.ChoiceField(label=_("Kind"), choices=CardKind.choices)
    registered = forms.BooleanField(label=_("Registered card (记名)"), required=False, initial=True)
    balance_cap = MoneyField(
        label=_("Balance cap (¥)"),
        required=False,
        help_text=_("Empty: ¥5,000 for registered cards, ¥1,000 for anonymous ones."),
    )
    validity_days = forms.IntegerField(
        label=_("Valid for (days)"),
        required=False,
        min_value=1,
        help_text=_("Empty: never expires. Anonymous cards: at least 1096 days."),
    )
    password_threshold = MoneyField(label=_("Password needed above (¥)"), required=False, min_fen=0)
    daily_charge_limit = MoneyField(label=_("Daily charge limit (¥)"), required=False)
    consumption_order = forms.ChoiceField(
        label=_("Consumption order"), choices=ConsumptionOrder.choices, initial=ConsumptionOrder.PROPORTIONAL
    )
    stores = ModelCheckListField(
        label=_("Accepted at"), help_text=_("None ticked: every store of the merchant.")
    )
    alliance_accepted = forms.BooleanField(label=_("Accepted at alliance merchants"), required=False)
    is_active = forms.BooleanField(label=_("On sale"), required=False, initial=True)

    @staticmethod
    def initial_for(product, order):
        return {
            "name": product.name,
            "kind": product.kind,
            "registered": product.registered,
            "balance_cap": yuan(product.balance_cap),
            "validity_days": product.validity_days,
            "password_threshold": yuan(product.password_threshold),
            "daily_charge_limit": yuan(product.daily_charge_limit),
            "consumption_order": order,
            "stores": list(product.stores.all()),
            "alliance_accepted": product.alliance_accepted,
            "is_active": product.is_active,
        }

    def product_data(self):
        data = dict(self.cleaned_data)
        data.pop("consumption_order")
        data["stores"] = list(data["stores"])
        return data


class BatchForm(ServiceErrorsMixin, forms.Form):
    """A range of card numbers: prefix + serial (zero-padded) + Luhn check digit, into a store's stock."""

    product = forms.ModelChoiceField(
        label=_("Card product"), queryset=None, empty_label=_("Choose a card product")
    )
    store = forms.ModelChoiceField(
        label=_("Into the stock of"), queryset=None, empty_label=_("Choose a store")
    )
    prefix = forms.RegexField(
        label=_("Prefix"),
        regex=r"^\d{1,10}$",
        max_length=10,
        error_messages={"invalid": _("1 to 10 digits.")},
    )
    serial_width = forms.IntegerField(label=_("Serial digits"), min_value=4, max_value=12, initial=8)
    start = forms.IntegerField(label=_("First serial"), min_value=0, initial=1)
    count = forms.IntegerField(label=_("Number of cards"), min_value=1, max_value=100_000)
    note = forms.CharField(label=_("Note"), max_length=200, required=False)

    def __init__(self, *args, products, stores, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["product"].queryset = products
        self.fields["store"].queryset = stores


# ---- card actions ---------------------------------------------------------------------------------------


class ReasonForm(ServiceErrorsMixin, forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)


class EmptyForm(ServiceErrorsMixin, forms.Form):
    pass


class BindForm(ServiceErrorsMixin, forms.Form):
    member = forms.CharField(label=_("Member phone or member no."), max_length=30)


class ReplaceForm(ServiceErrorsMixin, forms.Form):
    new_number = forms.CharField(label=_("New card no. (from stock)"), max_length=24)
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)


class MergeForm(ServiceErrorsMixin, forms.Form):
    target = forms.CharField(label=_("Merge into card no."), max_length=24)
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)


class CancelForm(ServiceErrorsMixin, forms.Form):
    refund_reason = forms.ChoiceField(
        label=_("Why the balance is refunded"),
        choices=[
            ("member_request", _("The member asks (used value priced before discount)")),
            ("merchant_fault", _("The merchant is at fault (used value shared over principal and bonus)")),
        ],
        initial="member_request",
        required=False,
    )
    method = forms.ChoiceField(label=_("Pay the refund out by"), choices=PAYOUT_METHODS, initial="bank")
    reason = forms.CharField(label=_("Reason"), max_length=200)
    confirm = forms.BooleanField(label=_("Yes, cancel this card for good"))


class PasswordForm(ServiceErrorsMixin, forms.Form):
    password = forms.CharField(
        label=_("New card password (4–12 digits; empty removes it)"),
        required=False,
        max_length=12,
        widget=forms.PasswordInput(attrs={"inputmode": "numeric"}),
    )


class PointsAdjustForm(ServiceErrorsMixin, forms.Form):
    points = forms.IntegerField(
        label=_("Points (+ to add, − to remove)"), min_value=-MAX_AMOUNT, max_value=MAX_AMOUNT
    )
    reason = forms.CharField(label=_("Reason"), max_length=200)

    def clean_points(self):
        points = self.cleaned_data["points"]
        if points == 0:
            raise forms.ValidationError(_("Give a number of points other than zero."))
        return points
