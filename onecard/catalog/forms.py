"""Forms of the catalogue pages: they parse yuan into fen; the services check everything again."""

from django import forms
from django.utils.translation import gettext_lazy as _

from onecard.core.forms import GridLayoutMixin, ModelCheckListField, MoneyField, ServiceErrorsMixin, yuan
from onecard.org.choices import NodeKind
from onecard.org.models import OrgNode

from .choices import ProductKind
from .models import Category
from .services import PRODUCT_DESCRIPTION_FIELDS


class CategoryChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return "— " * obj.depth + obj.name


class ProductForm(GridLayoutMixin, ServiceErrorsMixin, forms.Form):
    """A product and its member price for each tier of the merchant (fields member_price_<tier id>)."""

    grid = (*PRODUCT_DESCRIPTION_FIELDS, "package_service", "is_active", "stores")

    sku = forms.CharField(label=_("SKU"), max_length=40)
    barcode = forms.CharField(label=_("Barcode"), max_length=32, required=False)
    name = forms.CharField(label=_("Name"), max_length=100)
    category = CategoryChoiceField(label=_("Category"), queryset=Category.objects.none(), required=False)
    kind = forms.ChoiceField(label=_("Kind"), choices=ProductKind.choices, initial=ProductKind.PRODUCT)
    unit = forms.CharField(label=_("Unit"), max_length=10, required=False)
    list_price = MoneyField(label=_("List price (¥)"))
    package_service = forms.CharField(
        label=_("Count-card service"),
        max_length=40,
        required=False,
        help_text=_("For a service: the service name a count card covers, so the card can pay for it."),
    )
    stores = ModelCheckListField(
        label=_("Stores"), queryset=OrgNode.objects.none(), help_text=_("None ticked: sold in every store.")
    )
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args, merchant, tiers, **kwargs):
        super().__init__(*args, **kwargs)
        self.tiers = list(tiers)
        self.fields["category"].queryset = Category.objects.filter(merchant=merchant, is_active=True)
        self.fields["stores"].queryset = OrgNode.objects.filter(
            merchant=merchant, kind=NodeKind.STORE, is_active=True
        ).order_by("path")
        for tier in self.tiers:
            self.fields[f"member_price_{tier.pk}"] = MoneyField(
                label=_("Member price: %(tier)s") % {"tier": tier.name}, required=False
            )

    @staticmethod
    def initial_for(product):
        prices = {mp.tier_id: mp.price for mp in product.member_prices.all()}
        initial = {
            "sku": product.sku,
            "barcode": product.barcode,
            "name": product.name,
            "category": product.category_id,
            "kind": product.kind,
            "unit": product.unit,
            "list_price": yuan(product.list_price),
            "package_service": product.package_service,
            "stores": list(product.stores.values_list("id", flat=True)),
            "is_active": product.is_active,
        }
        initial.update({f"member_price_{tier_id}": yuan(price) for tier_id, price in prices.items()})
        return initial

    def member_price_fields(self):
        return [self[f"member_price_{tier.pk}"] for tier in self.tiers]

    def product_data(self):
        """(fields, stores, {tier: fen or None}) for the services."""
        data = dict(self.cleaned_data)
        stores = list(data.pop("stores"))
        prices = {tier: data.pop(f"member_price_{tier.pk}") for tier in self.tiers}
        return data, stores, prices


class CategoryForm(GridLayoutMixin, ServiceErrorsMixin, forms.Form):
    """A category: name, code, where it sits in the tree, its place among its siblings."""

    name = forms.CharField(label=_("Name"), max_length=60)
    code = forms.CharField(label=_("Code"), max_length=30, required=False)
    parent = CategoryChoiceField(label=_("Parent"), queryset=Category.objects.none(), required=False)
    sort_order = forms.IntegerField(label=_("Sort order"), initial=0, required=False)

    def __init__(self, *args, merchant, category=None, **kwargs):
        super().__init__(*args, **kwargs)
        parents = Category.objects.filter(merchant=merchant, is_active=True)
        if category is not None:
            parents = parents.exclude(path__startswith=category.path)
        self.fields["parent"].queryset = parents


class ImportForm(forms.Form):
    file = forms.FileField(label=_("File (.xlsx or .csv)"))
