"""Catalogue pages under /catalog/: products (search, filter, edit with member prices), categories, import, export.

Views parse, check the permission, call a service, render; a service refusal is shown on the form and nothing
is written. The catalogue is merchant-wide: a page only ever shows the user's own merchant's rows, and a
product or category of another merchant is a 404.
"""

import uuid
from pathlib import Path

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.storage import default_storage
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from onecard.core import audit
from onecard.core.errors import BusinessError
from onecard.core.permissions import require_perms
from onecard.core.spreadsheets import xlsx_response
from onecard.loyalty.cards.manage_views import int_or_none, managed_merchant, show_refusal
from onecard.loyalty.models import Tier

from . import importing, services
from .forms import CategoryForm, ImportForm, ProductForm
from .models import Category, Product
from .queries import category_subtree, search_filter

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
        "categories": [
            (c.pk, "— " * c.depth + c.name)
            for c in Category.objects.filter(merchant=merchant).order_by("path")
        ],
    }
    return render(request, "catalog/products.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def product_form(request, pk=None):
    """Create or edit a product with a member price per tier (services.create_product / update_product)."""
    user = request.user
    require_perms(user, "catalog.view", "catalog.manage")
    merchant = managed_merchant(user)
    product = None
    if pk is not None:
        product = Product.objects.filter(merchant=merchant, pk=pk).first()
        if product is None:
            raise Http404(_("No such product."))
    tiers = Tier.objects.filter(merchant=merchant).order_by("rank")
    if request.method == "POST":
        form = ProductForm(request.POST, merchant=merchant, tiers=tiers)
        if form.is_valid():
            fields, stores, prices = form.product_data()
            try:
                if product is None:
                    product = services.create_product(
                        user, merchant, stores=stores, member_prices=prices, **fields
                    )
                else:
                    product = services.update_product(
                        user, product, stores=stores, member_prices=prices, **fields
                    )
            except BusinessError as exc:
                show_refusal(request, exc, form)
            else:
                messages.success(request, _("Product “%(name)s” saved.") % {"name": product.name})
                return redirect("catalog:products")
    else:
        initial = ProductForm.initial_for(product) if product else None
        form = ProductForm(initial=initial, merchant=merchant, tiers=tiers)
    return render(request, "catalog/product_form.html", {"form": form, "product": product})


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


@login_required
def category_list(request):
    """The category tree, indented by depth, with how many products each holds."""
    require_perms(request.user, "catalog.view")
    merchant = managed_merchant(request.user)
    categories = list(Category.objects.filter(merchant=merchant).order_by("path"))
    counts = {}
    for category_id in Product.objects.filter(merchant=merchant).values_list("category_id", flat=True):
        counts[category_id] = counts.get(category_id, 0) + 1
    rows = [{"category": c, "indent": c.depth * 1.5, "products": counts.get(c.pk, 0)} for c in categories]
    return render(request, "catalog/categories.html", {"rows": rows})


@login_required
@require_http_methods(["GET", "POST"])
def category_form(request, pk=None):
    """Create, rename or move a category (services.create_category / update_category)."""
    user = request.user
    require_perms(user, "catalog.view", "catalog.manage")
    merchant = managed_merchant(user)
    category = None
    if pk is not None:
        category = Category.objects.filter(merchant=merchant, pk=pk).first()
        if category is None:
            raise Http404(_("No such category."))
    if request.method == "POST":
        form = CategoryForm(request.POST, merchant=merchant, category=category)
        if form.is_valid():
            data = dict(form.cleaned_data)
            try:
                with transaction.atomic():
                    if category is None:
                        category = services.create_category(user, merchant, **data)
                    else:
                        category = services.update_category(user, category, **data)
            except BusinessError as exc:
                show_refusal(request, exc, form)
            else:
                messages.success(request, _("Category “%(name)s” saved.") % {"name": category.name})
                return redirect("catalog:categories")
    else:
        initial = None
        if category is not None:
            initial = {
                "name": category.name,
                "code": category.code,
                "parent": category.parent_id,
                "sort_order": category.sort_order,
            }
        form = CategoryForm(initial=initial, merchant=merchant, category=category)
    return render(request, "catalog/category_form.html", {"form": form, "category": category})


@login_required
@require_POST
def category_deactivate(request, pk):
    """Hide a category that holds no active products or subcategories."""
    require_perms(request.user, "catalog.view", "catalog.manage")
    merchant = managed_merchant(request.user)
    category = Category.objects.filter(merchant=merchant, pk=pk).first()
    if category is None:
        raise Http404(_("No such category."))
    try:
        services.deactivate_category(request.user, category)
    except BusinessError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("Category “%(name)s” deactivated.") % {"name": category.name})
    return redirect("catalog:categories")
