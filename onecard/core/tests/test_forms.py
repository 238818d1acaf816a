"""The money field: yuan typed, fen cleaned, refusals in the user's language; service errors on a form."""

import pytest
from django import forms
from django.utils import translation

from onecard.core.errors import BusinessError, ValidationFailed
from onecard.core.forms import GridLayoutMixin, MoneyField, show_service_error, yuan
from onecard.core.money import MAX_AMOUNT


class PriceForm(forms.Form):
    price = MoneyField(label="price")
    deposit = MoneyField(label="deposit", required=False, min_fen=0)
    floor = MoneyField(label="floor", required=False, min_fen=500)


def _errors(data, language="zh-hans"):
    with translation.override(language):
        form = PriceForm(data)
        form.is_valid()
        return {name: [str(e) for e in errors] for name, errors in form.errors.items()}


def test_yuan_text_is_cleaned_to_fen():
    form = PriceForm({"price": " 19.99 ", "deposit": "0", "floor": "5"})
    assert form.is_valid()
    assert form.cleaned_data == {"price": 1999, "deposit": 0, "floor": 500}


def test_an_empty_optional_amount_is_none():
    form = PriceForm({"price": "1"})
    assert form.is_valid()
    assert form.cleaned_data["deposit"] is None and form.cleaned_data["floor"] is None


def test_more_than_two_decimals_is_refused_in_chinese():
    assert _errors({"price": "19.999"}) == {"price": ["请输入以元为单位、最多两位小数的金额，例如 19.99。"]}


def test_words_are_refused_in_chinese():
    assert _errors({"price": "十元"}) == {"price": ["请输入以元为单位、最多两位小数的金额，例如 19.99。"]}


def test_each_lower_bound_has_its_own_message():
    errors = _errors({"price": "0", "deposit": "-1", "floor": "4.99"}, language="en")
    assert errors == {
        "price": ["Enter an amount greater than zero."],
        "deposit": ["Enter an amount of zero or more."],
        "floor": ["Enter an amount of at least ¥5.00."],
    }


def test_more_than_the_ledger_moves_is_refused():
    assert _errors({"price": str(MAX_AMOUNT // 100 + 1)}, language="en") == {
        "price": ["Enter an amount greater than zero."]
    }


def test_an_int_initial_is_shown_in_yuan():
    assert PriceForm(initial={"price": 1999})["price"].value() == "19.99"
    assert yuan(5) == "0.05" and yuan(None) == ""


def test_a_validation_refusal_lands_next_to_its_field_the_rest_above_the_form():
    # given a bound valid form
    form = PriceForm({"price": "1"})
    assert form.is_valid()
    # when a service refuses with field errors and then with a plain business error
    show_service_error(form, ValidationFailed({"price": ["too dear"], "nosuch": "odd"}))
    show_service_error(form, BusinessError("closed", code="closed"))
    # then the field error is on the field and the others are above the form
    assert form.errors["price"] == ["too dear"]
    assert form.non_field_errors() == ["odd", "closed"]


@pytest.mark.parametrize("text", ["NaN", "Infinity", "-Infinity"])
def test_odd_numbers_are_not_amounts(text):
    # "Infinity" once reached int() and failed with a server error
    assert _errors({"price": text}, language="en") == {
        "price": ["Enter an amount in yuan with at most two decimals, e.g. 19.99."]
    }


class GridForm(GridLayoutMixin, forms.Form):
    a = forms.CharField()
    b = forms.CharField()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["row0"] = forms.CharField()  # a row the page lays out itself


def test_the_grid_is_the_declared_fields_unless_the_form_names_them():
    # given a form with two declared fields and one added in __init__
    form = GridForm()
    # then its grid is the declared fields in order, and a named grid is taken as given
    assert [f.name for f in form.grid_fields()] == ["a", "b"]
    form.grid = ("b", "a")
    assert [f.name for f in form.grid_fields()] == ["b", "a"]
