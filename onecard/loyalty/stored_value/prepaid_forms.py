"""Forms of the prepaid-rules pages: amounts typed in yuan ("5000.00"), handed to the services in fen."""

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from onecard.core.forms import MoneyField
from onecard.loyalty.models.prepaid import AcceptanceChannel, RefundPricing

YUAN_FIELDS = ("cash_limit_organisation", "cash_limit_person", "cash_refund_limit", "custodied_amount")


class PrepaidSettingsForm(forms.Form):
    cash_limit_organisation = MoneyField(
        min_fen=1,
        label=_("No cash for a top-up of this much or more by an organisation (¥)"),
        help_text=_("Default ¥5,000. Cards without a member count as an organisation."),
    )
    cash_limit_person = MoneyField(
        min_fen=1,
        label=_("No cash for a top-up of this much or more by a person (¥)"),
        help_text=_("Default ¥50,000."),
    )
    cash_refund_limit = MoneyField(
        min_fen=0,
        label=_("Cash refunds up to (¥)"),
        help_text=_("Default ¥100. Larger refunds go to a bank account in the holder's name."),
    )
    agreement_required = forms.BooleanField(
        label=_("The member accepts the top-up agreement first"), required=False
    )
    member_refund_pricing = forms.ChoiceField(
        label=_("When the member asks for a refund"), choices=RefundPricing.choices
    )
    cooling_off_enabled = forms.BooleanField(label=_("Cooling-off period (e.g. Beijing)"), required=False)
    cooling_off_days = forms.IntegerField(label=_("Cooling-off window (days)"), min_value=1, max_value=365)
    cooling_off_payout_days = forms.IntegerField(
        label=_("Cooling-off refund paid within (days)"), min_value=1, max_value=365
    )
    custody_ratio = forms.DecimalField(
        label=_("Alert when custody is below (ratio)"),
        help_text=_("0.20 means 20 percent of the outstanding prepaid principal."),
        min_value=Decimal(0),
        max_value=Decimal(1),
        decimal_places=3,
        max_digits=4,
    )
    custodied_amount = MoneyField(min_fen=0, label=_("Amount in custody (¥)"))
    custodied_as_of = forms.DateField(
        label=_("Custody amount as of"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    void_window_minutes = forms.IntegerField(
        label=_("A cashier may void a top-up or charge within (minutes)"),
        help_text=_(
            "Default 10. Later, or another cashier's, needs a store manager's approval; 0: every void does."
        ),
        min_value=0,
        max_value=1440,
    )


class StoreStatusForm(forms.Form):
    major_risk = forms.BooleanField(label=_("Major risk: stop new top-ups"), required=False)
    closes_on = forms.DateField(
        label=_("Closes on"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    note = forms.CharField(label=_("Note"), max_length=200, required=False)


class PublishAgreementForm(forms.Form):
    text = forms.CharField(label=_("Agreement text"), widget=forms.Textarea(attrs={"rows": 14}))


class AcceptAgreementForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
    channel = forms.ChoiceField(
        label=_("How the member accepted"),
        choices=AcceptanceChannel.choices,
        initial=AcceptanceChannel.COUNTER,
    )
