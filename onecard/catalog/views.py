"""Catalogue pages under /catalog/: products (search, filter, edit with member prices), categories, import, export.

Views parse, check the permission, call a service, render; a service refusal is shown on the form and nothing
is written. The catalogue is merchant-wide: a page only ever shows the user's own merchant's rows, and a
product or category of another merchant is a 404.
"""

import uuid
from collections import Counter
from pathlib import Path

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.storage import default_storage
from django.core.paginator import Paginator
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from onecard.core import audit
from onecard.core.errors import BusinessError
from onecard.core.forms import int_or_none
from onecard.core.object_views import ObjectActionView, ObjectEditView, ObjectListView
from onecard.core.permissions import require_perms
from onecard.core.scoping import managed_merchant
from onecard.core.spreadsheets import xlsx_response
from onecard.loyalty.models import Tier

from . import importing, services
from .forms import CategoryForm, ImportForm, ProductForm
from .models import Category, Product
from .product_links import links_for
from .queries import category_subtree, product_label, search_categories, search_filter, search_products

PAGE_SIZE = 50
IMPORT_SESSION_KEY = "catalog_import_files"


def _filtered_products(merchant, params):
    """The merchant's products narrowed by ?q (SKU, barcode, name, pinyin), ?category (and below), ?active."""
    qs = Product.objects.filter(merchant=merchant).filter(search_filter(params.get("q")))
    category = Category.objects.filter(merchant=merchant, pk=int_or_none(params.get("category"))).first()
    if category is not None:
        qs = qs.filter(category__in=category_subtree(category))
    if params.get("active") in ("1", "0"):
        qs = qs.filter(is_active=params["active"] == "1")
    return qs


@login_required
def product_list(request):
    """Products with search, category filter and pages; links to edit, import and export."""
    require_perms(request.user, "catalog.view")
    merchant = managed_merchant(request.user)
    params = {k: request.GET.get(k, "") for k in ("q", "category", "active")}
    qs = _filtered_products(merchant, params).select_related("category").order_by("sku")
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    query = urlencode({k: v for k, v in params.items() if v})
    context = {
        "page": page,
        "products": page.object_list,
        "params": params,
        "query": query,
        "product_links": links_for(request.user),
        "categories": [
            (c.pk, "— " * c.depth + c.name)
            for c in Category.objects.filter(merchant=merchant).order_by("path")
        ],
    }
    return render(request, "catalog/products.html", context)


# Who picks catalogue records on a form: anyone who reads the catalogue, or writes promotions and coupons.
PICKER_PERMISSIONS = ("catalog.view", "promotions.manage")


@login_required
def pick_products(request):
    """JSON for a product picker: the active products matching ?q= (name, pinyin initials, barcode, SKU)."""
    require_perms(request.user, *PICKER_PERMISSIONS, any_of=True)
    found = search_products(managed_merchant(request.user), request.GET.get("q", "")[:60])
    return JsonResponse({"results": [{"id": p.pk, "label": product_label(p)} for p in found]})


@login_required
def pick_categories(request):
    """JSON for a category picker: the active categories whose name contains ?q=, named by their path."""
    require_perms(request.user, *PICKER_PERMISSIONS, any_of=True)
    found = search_categories(managed_merchant(request.user), request.GET.get("q", "")[:60])
    return JsonResponse({"results": [{"id": pk, "label": label} for pk, label in found.items()]})


class ProductEdit(ObjectEditView):
    """Create or edit a product with a member price per tier (services.create_product / update_product)."""

    permissions = ("catalog.view", "catalog.manage")
    model = Product
    not_found = gettext_lazy("No such product.")
    form_class = ProductForm
    template_name = "catalog/product_form.html"
    object_name = "product"
    success_url = "catalog:products"
    success_message = gettext_lazy("Product “%(name)s” saved.")
    new_title = gettext_lazy("New product")
    edit_title = gettext_lazy("Edit product")

    def form_kwargs(self):
        return {
            "merchant": self.merchant,
            "tiers": Tier.objects.filter(merchant=self.merchant).order_by("rank"),
        }

    def save(self, form):
        fields, stores, prices = form.product_data()
        if self.object is None:
            return services.create_product(
                self.user, self.merchant, stores=stores, member_prices=prices, **fields
            )
        return services.update_product(self.user, self.object, stores=stores, member_prices=prices, **fields)


@login_required
def product_export(request):
    """The filtered product list as .xlsx (the same columns the import reads); audited."""
    require_perms(request.user, "catalog.view")
    merchant = managed_merchant(request.user)
    params = {k: request.GET.get(k, "") for k in ("q", "category", "active")}
    qs = _filtered_products(merchant, params)
    data = importing.export_xlsx(merchant, qs)
    audit.record(
        request.user,
        "export",
        subject_type="catalog.product",
        subject_repr=_("Product list"),
        merchant=merchant,
        after={"filters": {k: v for k, v in params.items() if v}, "rows": qs.count()},
    )
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    return xlsx_response(data, f"products-{stamp}.xlsx")


def _stored_import(request, token):
    """The path of a file this session uploaded for import, or 404."""
    if token not in request.session.get(IMPORT_SESSION_KEY, []) or not default_storage.exists(token):
        raise Http404(_("The uploaded file is gone; upload it again."))
    return token


@login_required
@require_http_methods(["GET", "POST"])
def product_import(request):
    """Upload → dry-run report (nothing written) → confirm: everything in one transaction, or nothing."""
    user = request.user
    require_perms(user, "catalog.view", "catalog.manage")
    merchant = managed_merchant(user)
    form, report, token, filename = ImportForm(), None, "", ""
    if request.method == "POST" and request.POST.get("token"):
        token = _stored_import(request, request.POST["token"])
        filename = request.POST.get("filename", "") or Path(token).name
        try:
            with default_storage.open(token, "rb") as fileobj:
                report = importing.apply_file(user, merchant, fileobj, Path(token).name)
        except BusinessError as exc:
            messages.error(request, str(exc.message))
            with default_storage.open(token, "rb") as fileobj:
                try:
                    report = importing.check_file(merchant, fileobj, Path(token).name)
                except BusinessError:
                    report = None
        else:
            default_storage.delete(token)
            request.session[IMPORT_SESSION_KEY] = [
                t for t in request.session[IMPORT_SESSION_KEY] if t != token
            ]
            messages.success(
                request,
                _("Import done: %(created)s created, %(updated)s updated, %(unchanged)s unchanged.")
                % {
                    "created": len(report.created),
                    "updated": len(report.updated),
                    "unchanged": len(report.unchanged),
                },
            )
            return redirect("catalog:products")
    elif request.method == "POST":
        form = ImportForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            filename = upload.name
            suffix = Path(upload.name).suffix.lower()
            try:
                report = importing.check_file(merchant, upload, upload.name)
            except BusinessError as exc:
                form.add_error("file", str(exc.message))
            else:
                if report.ok:
                    # One pending file per session: an upload that was never confirmed is dropped here.
                    for earlier in request.session.get(IMPORT_SESSION_KEY, []):
                        default_storage.delete(earlier)
                    upload.seek(0)
                    token = default_storage.save(f"catalog-imports/{uuid.uuid4().hex}{suffix}", upload)
                    request.session[IMPORT_SESSION_KEY] = [token]
    context = {"form": form, "report": report, "token": token, "filename": filename}
    return render(request, "catalog/import.html", context)


class CategoryList(ObjectListView):
    """The category tree, indented by depth, with how many products each holds."""

    permissions = ("catalog.view",)
    model = Category
    template_name = "catalog/categories.html"

    def get_queryset(self):
        products = Product.objects.filter(merchant=self.merchant)
        self.counts = Counter(products.values_list("category_id", flat=True))
        return super().get_queryset().order_by("path")

    def row(self, category):
        return {
            "category": category,
            "indent": category.depth * 1.5,
            "products": self.counts.get(category.pk, 0),
        }


class CategoryEdit(ObjectEditView):
    """Create, rename or move a category (services.create_category / update_category)."""

    permissions = ("catalog.view", "catalog.manage")
    model = Category
    not_found = gettext_lazy("No such category.")
    form_class = CategoryForm
    template_name = "catalog/category_form.html"
    object_name = "category"
    success_url = "catalog:categories"
    success_message = gettext_lazy("Category “%(name)s” saved.")
    new_title = gettext_lazy("New category")
    edit_title = gettext_lazy("Edit category")

    def form_kwargs(self):
        return {"merchant": self.merchant, "category": self.object}

    def initial(self):
        category = self.object
        if category is None:
            return None
        return {
            "name": category.name,
            "code": category.code,
            "parent": category.parent_id,
            "sort_order": category.sort_order,
        }

    def save(self, form):
        if self.object is None:
            return services.create_category(self.user, self.merchant, **form.cleaned_data)
        return services.update_category(self.user, self.object, **form.cleaned_data)


class CategoryDeactivate(ObjectActionView):
    """Hide a category that holds no active products or subcategories."""

    permissions = ("catalog.view", "catalog.manage")
    model = Category
    not_found = gettext_lazy("No such category.")
    success_url = "catalog:categories"
    success_message = gettext_lazy("Category “%(name)s” deactivated.")

    def act(self, category):
        services.deactivate_category(self.user, category)


# The URL confs name these views as functions: one view object per page.
product_form = ProductEdit.as_view()
category_list = CategoryList.as_view()
category_form = CategoryEdit.as_view()
category_deactivate = CategoryDeactivate.as_view()
