"""Every write to the catalogue: categories, products, member prices. Merchant-wide, head office only.

Each service checks `catalog.manage` and that the actor works at head office (the merchant's root node
is in their scope), validates, writes in one transaction and audits. Prices arrive in integer fen; no
rounding happens here (forms and the import turn yuan text with at most two decimals into fen exactly).
"""

import re

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from onecard.core import audit
from onecard.core.chinese import pinyin_keys
from onecard.core.errors import ValidationFailed
from onecard.core.scoping import node_in_scope
from onecard.org.choices import NodeKind
from onecard.org.models import OrgNode
from onecard.org.queries import merchant_root

from . import errors
from .choices import ProductKind
from .models import Category, MemberPrice, Product

SKU_RE = re.compile(r"^[A-Z0-9][A-Z0-9._-]{0,39}$")
BARCODE_RE = re.compile(r"^[A-Za-z0-9]{4,32}$")
MAX_PRICE = 10**12  # fen; far above any real price, far below BigIntegerField's limit
# What a product is and costs, in the order the form, the API and the audit snapshot list it.
PRODUCT_DESCRIPTION_FIELDS = ("sku", "barcode", "name", "category", "kind", "unit", "list_price")
PRODUCT_FIELDS = (*PRODUCT_DESCRIPTION_FIELDS, "is_active", "package_service")
CATEGORY_FIELDS = ("name", "code", "parent", "sort_order", "is_active", "path")


def require_catalog_manager(actor, merchant):
    """Refuse unless `actor` (None: the system) holds catalog.manage at `merchant`'s head office."""
    if actor is None:
        return
    if not actor.has_perm("catalog.manage"):
        raise errors.HeadOfficeOnly(_("You do not have permission to manage the catalogue."))
    if not node_in_scope(actor, merchant_root(merchant)):
        raise errors.HeadOfficeOnly()


# ---- categories -----------------------------------------------------------------------------------------------


def _check_category(merchant, name, code, parent, category=None):
    name = (name or "").strip()
    code = (code or "").strip()
    if not name or len(name) > 60 or "/" in name:
        raise ValidationFailed({"name": [_("Enter a name of at most 60 characters, without '/'.")]})
    if len(code) > 30:
        raise ValidationFailed({"code": [_("A code has at most 30 characters.")]})
    if parent is not None:
        if parent.merchant_id != merchant.pk:
            raise errors.UnknownCategory("parent")
        if category is not None and parent.path.startswith(category.path):
            raise errors.CategoryCycle("parent")
    siblings = Category.objects.filter(merchant=merchant, parent=parent, name=name)
    if category is not None:
        siblings = siblings.exclude(pk=category.pk)
    if siblings.exists():
        raise errors.DuplicateCategory("name")
    if code:
        same_code = Category.objects.filter(merchant=merchant, code=code)
        if category is not None:
            same_code = same_code.exclude(pk=category.pk)
        if same_code.exists():
            raise errors.DuplicateCategory("code")
    return name, code


def _insert_category(merchant, name, parent, code="", sort_order=0):
    category = Category.objects.create(
        merchant=merchant, parent=parent, name=name, code=code, sort_order=sort_order
    )
    category.path = f"{parent.path if parent else '/'}{category.pk}/"
    category.depth = parent.depth + 1 if parent else 0
    category.save(update_fields=["path", "depth"])
    return category


@transaction.atomic
def create_category(actor, merchant, *, name, parent=None, code="", sort_order=0):
    """Add a category (under `parent`, or at the top) to the merchant's tree."""
    require_catalog_manager(actor, merchant)
    name, code = _check_category(merchant, name, code, parent)
    category = _insert_category(merchant, name, parent, code, int(sort_order or 0))
    audit.record(actor, "create", category, after=audit.snapshot(category, CATEGORY_FIELDS))
    return category


@transaction.atomic
def update_category(actor, category, **changes):
    """Rename, recode, reorder or move a category; moving it rewrites the paths of everything below it."""
    category = Category.objects.select_for_update().get(pk=category.pk)
    merchant = category.merchant
    require_catalog_manager(actor, merchant)
    before = audit.snapshot(category, CATEGORY_FIELDS)
    parent = changes.get("parent", category.parent)
    name, code = _check_category(
        merchant, changes.get("name", category.name), changes.get("code", category.code), parent, category
    )
    category.name, category.code = name, code
    if "sort_order" in changes:
        category.sort_order = int(changes["sort_order"] or 0)
    if (parent.pk if parent else None) != category.parent_id:
        old_path = category.path
        new_path = f"{parent.path if parent else '/'}{category.pk}/"
        shift = (parent.depth + 1 if parent else 0) - category.depth
        for below in Category.objects.filter(merchant=merchant, path__startswith=old_path).exclude(
            pk=category.pk
        ):
            below.path = new_path + below.path[len(old_path) :]
            below.depth += shift
            below.save(update_fields=["path", "depth"])
        category.parent, category.path = parent, new_path
        category.depth += shift
    category.save()
    b, a = audit.diff(before, audit.snapshot(category, CATEGORY_FIELDS))
    if a:
        audit.record(actor, "update", category, before=b, after=a)
    return category


@transaction.atomic
def deactivate_category(actor, category):
    """Hide a category; refused while it still holds active products or active subcategories."""
    category = Category.objects.select_for_update().get(pk=category.pk)
    require_catalog_manager(actor, category.merchant)
    if not category.is_active:
        return category
    if category.children.filter(is_active=True).exists() or category.products.filter(is_active=True).exists():
        raise errors.CategoryInUse()
    category.is_active = False
    category.save(update_fields=["is_active"])
    audit.record(actor, "update", category, before={"is_active": True}, after={"is_active": False})
    return category


# ---- products ---------------------------------------------------------------------------------------------------


def normalize_sku(sku):
    return (sku or "").strip().upper()


def check_price(value, field):
    """`value` as fen if it is a whole number in (0, MAX_PRICE], else InvalidPrice for `field`."""
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0 or value > MAX_PRICE:
        raise errors.InvalidPrice(field)
    return value


def _taken_by_another(merchant, product, **value):
    """Whether a product of `merchant` other than `product` (None: a new one) already has `value`."""
    others = Product.objects.filter(merchant=merchant, **value)
    if product is not None:
        others = others.exclude(pk=product.pk)
    return others.exists()


def check_product(merchant, data, product=None):
    """The cleaned product fields of `data` (a full set), or the first refusal; reads but never writes."""
    sku = normalize_sku(data.get("sku"))
    if not SKU_RE.match(sku):
        raise errors.InvalidSku("sku")
    if _taken_by_another(merchant, product, sku=sku):
        raise errors.DuplicateSku("sku")
    barcode = (data.get("barcode") or "").strip()
    if barcode:
        if not BARCODE_RE.match(barcode):
            raise errors.InvalidBarcode("barcode")
        if _taken_by_another(merchant, product, barcode=barcode):
            raise errors.DuplicateBarcode("barcode")
    name = (data.get("name") or "").strip()
    if not name or len(name) > 100:
        raise ValidationFailed({"name": [_("Enter a name of at most 100 characters.")]})
    kind = data.get("kind") or ProductKind.PRODUCT
    if kind not in ProductKind.values:
        raise ValidationFailed({"kind": [_("Choose product or service.")]})
    unit = (data.get("unit") or "").strip()
    if len(unit) > 10:
        raise ValidationFailed({"unit": [_("A unit has at most 10 characters.")]})
    package_service = (data.get("package_service") or "").strip()
    if len(package_service) > 40:
        raise ValidationFailed({"package_service": [_("At most 40 characters.")]})
    if package_service and kind != ProductKind.SERVICE:
        raise ValidationFailed({"package_service": [_("Only a service can be covered by a count card.")]})
    category = data.get("category")
    if category is not None and category.merchant_id != merchant.pk:
        raise errors.UnknownCategory("category")
    return {
        "sku": sku,
        "barcode": barcode,
        "name": name,
        "category": category,
        "kind": kind,
        "unit": unit,
        "list_price": check_price(data.get("list_price"), "list_price"),
        "is_active": bool(data.get("is_active", True)),
        "package_service": package_service,
    }


def check_stores(merchant, stores):
    """The stores as a list, refused when one is not a store of `merchant`."""
    stores = list(stores or [])
    for store in stores:
        if not isinstance(store, OrgNode) or store.merchant_id != merchant.pk or store.kind != NodeKind.STORE:
            raise errors.ForeignStore("stores")
    return stores


def check_member_prices(merchant, prices):
    """{tier: fen or None} checked: every tier of `merchant`, every price > 0 (None: no member price)."""
    cleaned = {}
    for tier, price in (prices or {}).items():
        if tier.merchant_id != merchant.pk:
            raise errors.ForeignTier("member_prices")
        cleaned[tier] = None if price is None else check_price(price, f"member_price_{tier.pk}")
    return cleaned


def write_product(product, fields, stores=None, member_prices=None):
    """Save checked fields; replace the stores and the given tiers' member prices (None: leave as they are).

    Shared by the services and the import, which audits once for the whole file; never call it unchecked.
    """
    for name, value in fields.items():
        setattr(product, name, value)
    product.name_initials, product.name_pinyin = pinyin_keys(product.name)
    product.save()
    if stores is not None:
        product.stores.set(stores)
    for tier, price in (member_prices or {}).items():
        if price is None:
            MemberPrice.objects.filter(product=product, tier=tier).delete()
        else:
            MemberPrice.objects.update_or_create(product=product, tier=tier, defaults={"price": price})
    return product


def _write_checked(merchant, data, product, fields, stores, prices):
    """write_product, turning a unique-constraint race (two clerks, one SKU) into the refusal a re-check gives."""
    try:
        with transaction.atomic():
            return write_product(product, fields, stores, prices)
    except IntegrityError:
        check_product(merchant, data, product if product.pk else None)
        raise


def product_state(product):
    """The audited picture of a product: its fields, store ids and member prices by tier id."""
    return {
        **audit.snapshot(product, PRODUCT_FIELDS),
        "stores": sorted(product.stores.values_list("id", flat=True)),
        "member_prices": {str(t): p for t, p in product.member_prices.values_list("tier_id", "price")},
    }


@transaction.atomic
def create_product(actor, merchant, *, stores=(), member_prices=None, **data):
    """Add a product or service; `member_prices` is {tier: fen}; no stores means every store."""
    require_catalog_manager(actor, merchant)
    fields = check_product(merchant, data)
    stores = check_stores(merchant, stores)
    prices = check_member_prices(merchant, member_prices)
    product = _write_checked(merchant, data, Product(merchant=merchant), fields, stores, prices)
    audit.record(actor, "create", product, after=product_state(product))
    return product


@transaction.atomic
def update_product(actor, product, *, stores=None, member_prices=None, **changes):
    """Change a product: only the fields given; `stores` replaces the stores; `member_prices` sets those tiers."""
    product = Product.objects.select_for_update().get(pk=product.pk)
    merchant = product.merchant
    require_catalog_manager(actor, merchant)
    before = product_state(product)
    current = {name: getattr(product, name) for name in PRODUCT_FIELDS}
    fields = check_product(merchant, {**current, **changes}, product)
    stores = None if stores is None else check_stores(merchant, stores)
    prices = check_member_prices(merchant, member_prices)
    _write_checked(merchant, {**current, **changes}, product, fields, stores, prices)
    b, a = audit.diff(before, product_state(product))
    if a:
        audit.record(actor, "update", product, before=b, after=a)
    return product


def deactivate_product(actor, product):
    """Stop selling a product; it stays in the catalogue (sales keep pointing at it)."""
    return update_product(actor, product, is_active=False)


@transaction.atomic
def set_member_prices(actor, product, prices):
    """Replace every member price of `product` with {tier: fen}; tiers left out lose their member price."""
    product = Product.objects.select_for_update().get(pk=product.pk)
    require_catalog_manager(actor, product.merchant)
    prices = check_member_prices(product.merchant, prices)
    before = product_state(product)
    MemberPrice.objects.filter(product=product).exclude(tier__in=list(prices)).delete()
    write_product(product, {}, None, prices)
    b, a = audit.diff(before, product_state(product))
    if a:
        audit.record(actor, "update", product, before=b, after=a)
    return product
