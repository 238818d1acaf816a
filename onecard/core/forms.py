"""Form pieces every page shares: the money field (yuan typed, fen cleaned) and service refusals on a form.

Forms only parse input; the services check every rule again. A refusal from a service (a BusinessError)
is shown on the form it came from: field errors next to their fields, anything else above the form.
"""

import re

from django import forms
from django.utils.translation import gettext_lazy as _

from .errors import ValidationFailed
from .ids import parse_id
from .money import MAX_AMOUNT, fen_to_yuan_str, yuan_str_to_fen

BAD_AMOUNT = _("Enter an amount in yuan with at most two decimals, e.g. 19.99.")
WEEKDAY_NAMES = (_("Mon"), _("Tue"), _("Wed"), _("Thu"), _("Fri"), _("Sat"), _("Sun"))


class MoneyField(forms.CharField):
    """An amount typed in yuan ("19.99") with at most two decimals, cleaned to int fen.

    `min_fen` is the smallest amount accepted (1 by default: more than zero; None: no lower bound, the
    service judges); `max_fen` the largest (None: no upper bound). An empty optional field cleans to None. An int initial value is shown as yuan.
    """

    def __init__(self, *, min_fen=1, max_fen=MAX_AMOUNT, placeholder=None, **kwargs):
        self.min_fen, self.max_fen = min_fen, max_fen
        attrs = {"inputmode": "decimal", "autocomplete": "off"}
        if placeholder:
            attrs["placeholder"] = placeholder
        kwargs.setdefault("max_length", 16)
        kwargs.setdefault("widget", forms.TextInput(attrs=attrs))
        super().__init__(**kwargs)

    def prepare_value(self, value):
        return fen_to_yuan_str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    def clean(self, value):
        value = super().clean(value)
        if value in (None, ""):
            return None
        try:
            fen = yuan_str_to_fen(value)
        except ValueError:
            raise forms.ValidationError(BAD_AMOUNT, code="invalid") from None
        too_small = self.min_fen is not None and fen < self.min_fen
        if too_small or (self.max_fen is not None and fen > self.max_fen):
            raise forms.ValidationError(self.range_message(), code="out_of_range")
        return fen

    def range_message(self):
        """What an amount out of range is told: the wording the cashiers already know per lower bound."""
        if self.min_fen == 0:
            return _("Enter an amount of zero or more.")
        if self.min_fen == 1:
            return _("Enter an amount greater than zero.")
        return _("Enter an amount of at least ¥%(min)s.") % {"min": fen_to_yuan_str(self.min_fen)}


class YuanField(MoneyField):
    """A positive amount typed at the till, "0.00" shown in the empty box."""

    def __init__(self, **kwargs):
        kwargs.setdefault("placeholder", "0.00")
        super().__init__(**kwargs)


def yuan(fen):
    """Fen as the yuan text a form field shows (None stays empty)."""
    return "" if fen is None else fen_to_yuan_str(fen)


def weekday_choices(coerce=str):
    """Monday (1) to Sunday (7), each number through `coerce`, with its short name."""
    return [(coerce(n), name) for n, name in enumerate(WEEKDAY_NAMES, 1)]


def weekdays_field(coerce=str):
    """The weekdays a rule applies on, as check boxes cleaned through `coerce`; none ticked: every day."""
    return forms.TypedMultipleChoiceField(
        label=_("Weekdays"),
        choices=weekday_choices(coerce),
        coerce=coerce,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: every day."),
    )


def add_service_errors(form, errors):
    """Put a service's {field: message or [messages]} next to the fields; unknown fields above the form."""
    for name, messages in errors.items():
        for message in messages if isinstance(messages, (list, tuple)) else [messages]:
            form.add_error(name if name in form.fields else None, str(message))


class ServiceErrorsMixin:
    """Forms whose input a service checks again: its refusals are shown like the form's own errors."""

    def add_service_errors(self, errors):
        """Put a service's {field: [messages]} next to the fields; unknown fields above the form."""
        add_service_errors(self, errors)


class StoreChoicesMixin:
    """A form given the stores it may offer (`stores=`, a queryset) as the choices of its `stores_field`."""

    stores_field = "stores"

    def __init__(self, *args, stores, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields[self.stores_field].queryset = stores


class GridLayoutMixin:
    """Forms shown by core/object_form.html: `grid` names the fields of its grid, in order.

    By default every field declared on the class, in declaration order; fields added in __init__ (rows of
    tiers or rules) are laid out by the page itself.
    """

    grid = None

    def grid_fields(self):
        return [self[name] for name in self.grid or self.base_fields]


class IdListField(forms.CharField):
    """Record ids typed or picked as "12, 15 18" (ASCII digits); cleaned to a sorted list of distinct ints."""

    default_error_messages = {"invalid": _("Enter ids separated by commas, e.g. 12, 15.")}

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def clean(self, value):
        value = super().clean(value)
        parts = [p for p in re.split(r"[\s,，、;；]+", value or "") if p]
        if any(not (p.isascii() and p.isdigit()) or int(p) <= 0 for p in parts):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return sorted({int(p) for p in parts})


class ModelCheckListField(forms.ModelMultipleChoiceField):
    """Records (stores...) ticked in a check list that may stay empty: nothing ticked means every one."""

    widget = forms.CheckboxSelectMultiple

    def __init__(self, queryset=None, **kwargs):
        super().__init__(queryset, required=False, **kwargs)


def show_service_error(form, exc):
    """A service refusal on `form`: a ValidationFailed's field errors next to the fields, else above it."""
    if isinstance(exc, ValidationFailed):
        if hasattr(form, "add_service_errors"):
            form.add_service_errors(exc.errors)
        else:
            add_service_errors(form, exc.errors)
    else:
        form.add_error(None, str(exc.message))


def int_or_none(value):
    """A query parameter's record id as an int, or None when it is not one (`ids.parse_id`)."""
    return parse_id(value)
