"""Form fields that pick catalogue records by search instead of typed ids, for the promotion and coupon forms.

Each field posts ids as before (so a form reads them the same way); its widget shows the chosen products or
categories by name and searches `catalog:pick_products` / `catalog:pick_categories`. A form calls
`show_names(form, merchant)` once it knows the merchant, so chosen records show their names.
"""

from django import forms
from django.utils.translation import gettext_lazy as _

from onecard.core.forms import IdListField
from onecard.core.widgets import SearchPicker

from .queries import category_labels, product_labels

PRODUCT_SEARCH = "catalog:pick_products"
CATEGORY_SEARCH = "catalog:pick_categories"
CATEGORY_PLACEHOLDER = _("Search categories by name")


def products_field(label, **kwargs) -> IdListField:
    """Any number of products, picked by name, pinyin initials, barcode or SKU."""
    return IdListField(label=label, widget=SearchPicker(PRODUCT_SEARCH), **kwargs)


def categories_field(label, **kwargs) -> IdListField:
    """Any number of categories, picked by name."""
    return IdListField(
        label=label, widget=SearchPicker(CATEGORY_SEARCH, placeholder=CATEGORY_PLACEHOLDER), **kwargs
    )


def product_field(label, **kwargs) -> forms.IntegerField:
    """One product (e.g. a gift), picked like products_field."""
    kwargs.setdefault("required", False)
    return forms.IntegerField(label=label, widget=SearchPicker(PRODUCT_SEARCH, multiple=False), **kwargs)


def show_names(form, merchant):
    """Let every catalogue picker of `form` name its chosen records (the merchant's only)."""
    for field in form.fields.values():
        widget = field.widget
        if isinstance(widget, SearchPicker) and widget.search_url == PRODUCT_SEARCH:
            widget.labels = lambda ids: product_labels(merchant, ids)
        elif isinstance(widget, SearchPicker) and widget.search_url == CATEGORY_SEARCH:
            widget.labels = lambda ids: category_labels(merchant, ids)
