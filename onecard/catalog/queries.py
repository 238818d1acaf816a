"""Reads of the catalogue shared by pages, the API, the import and the checkout.

The catalogue is merchant-wide: every staff member of a merchant sees all of it (`catalog.view`), so
queries filter by merchant rather than by org node; `products_sold_at` narrows to one store.
"""

from django.db import connection
from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext as _

from onecard.core import rows as sql_rows
from onecard.core.money import fen_to_yuan_str
from onecard.org.queries import merchant_ids_for

from .models import Category, MemberPrice, Product

SEARCH_LIMIT = 20
# What a cart line needs of a product and its category (products_for_codes reads only these).
LINE_FIELDS = ("merchant", "sku", "barcode", "name", "category", "kind", "list_price", "is_active")
CATEGORY_FIELDS = ("merchant", "path")


def visible_products(user):
    return Product.objects.filter(merchant_id__in=merchant_ids_for(user))


def visible_categories(user):
    return Category.objects.filter(merchant_id__in=merchant_ids_for(user))


def search_filter(text):
    """A Q matching SKU or barcode exactly, SKU or name by prefix, pinyin initials or full pinyin by prefix."""
    text = (text or "").strip()
    if not text:
        return Q()
    lower = text.lower().replace(" ", "")
    return (
        Q(sku=text.upper())
        | Q(barcode=text)
        | Q(sku__startswith=text.upper())
        | Q(name__startswith=text)
        | Q(name_initials__startswith=lower)
        | Q(name_pinyin__startswith=lower)
    )


def find_products(merchant, text, *, limit=SEARCH_LIMIT, active_only=True):
    """Products of `merchant` matching `text`; an exact SKU or barcode match comes first."""
    text = (text or "").strip()
    if not text:
        return []
    qs = Product.objects.filter(merchant=merchant).filter(search_filter(text))
    if active_only:
        qs = qs.filter(is_active=True)
    qs = qs.select_related("category").order_by("sku")
    exact = list(qs.filter(Q(sku=text.upper()) | Q(barcode=text)))
    others = qs.exclude(pk__in=[p.pk for p in exact])[: max(limit - len(exact), 0)]
    return (exact + list(others))[:limit]


def products_sold_at(store):
    """Active products sold in `store`: those listing it, and those listing no store at all."""
    through = Product.stores.through
    any_store = Exists(through.objects.filter(product_id=OuterRef("pk")))
    this_store = Exists(through.objects.filter(product_id=OuterRef("pk"), orgnode_id=store.pk))
    return Product.objects.filter(merchant_id=store.merchant_id, is_active=True).filter(
        ~any_store | this_store
    )


def _search(qs, text, limit) -> list:
    """`qs` narrowed to `text` (search_filter's keys, or a name containing it): exact SKU or barcode first, then by name."""
    text = (text or "").strip()
    if not text:
        return []
    qs = qs.filter(search_filter(text) | Q(name__icontains=text)).select_related("category")
    exact = list(qs.filter(Q(sku=text.upper()) | Q(barcode=text)).order_by("sku")[:limit])
    others = qs.exclude(pk__in=[p.pk for p in exact]).order_by("name", "sku")[: max(limit - len(exact), 0)]
    return exact + list(others)


def search_sold_at(store, text, *, limit=SEARCH_LIMIT) -> list:
    """Products sold in `store` matching `text` (find_products' keys, or a name containing it), for the till.

    An exact SKU or barcode comes first, then the others by name; each is read-only and carries its list price.
    """
    return _search(products_sold_at(store), text, limit)


def search_products(merchant, text, *, limit=SEARCH_LIMIT) -> list:
    """Active products of `merchant` matching `text` as the till's search does, for pickers on back-office forms."""
    return _search(Product.objects.filter(merchant=merchant, is_active=True), text, limit)


def product_label(product) -> str:
    """How a picker names a product: SKU, name and list price ("A001 拿铁 ¥28.00"), marked when switched off."""
    label = f"{product.sku} {product.name} ¥{fen_to_yuan_str(product.list_price)}"
    return label if product.is_active else f"{label} ({_('inactive')})"


def product_labels(merchant, ids) -> dict[int, str]:
    """{id: label} for the products of `merchant` among `ids` (others are left out)."""
    rows = Product.objects.filter(merchant=merchant, pk__in=list(ids)).only(
        "sku", "name", "list_price", "is_active"
    )
    return {product.pk: product_label(product) for product in rows}


def category_labels(merchant, ids) -> dict[int, str]:
    """{id: "食品 / 饮料"} for the categories of `merchant` among `ids`, their paths read in two queries."""
    rows = list(Category.objects.filter(merchant=merchant, pk__in=list(ids)).only("name", "path"))
    ancestors = {pk for row in rows for pk in row.ancestor_ids()}
    names = dict(Category.objects.filter(pk__in=ancestors).values_list("id", "name"))
    return {row.pk: " / ".join(names.get(pk, "?") for pk in reversed(row.ancestor_ids())) for row in rows}


def search_categories(merchant, text, *, limit=SEARCH_LIMIT) -> dict[int, str]:
    """{id: path label} of the active categories of `merchant` whose name contains `text`, by path."""
    text = (text or "").strip()
    if not text:
        return {}
    ids = Category.objects.filter(merchant=merchant, is_active=True, name__icontains=text).order_by("path")
    labels = category_labels(merchant, list(ids.values_list("pk", flat=True)[:limit]))
    return dict(sorted(labels.items(), key=lambda item: item[1]))


def is_sold_at(product, store):
    """True when `product` is active and sold in `store`."""
    return products_sold_at(store).filter(pk=product.pk).exists()


def category_subtree(category):
    """`category` and every category below it."""
    return Category.objects.filter(merchant_id=category.merchant_id, path__startswith=category.path)


def category_label(category):
    """The category's path as names, "Food / Drinks"."""
    if category is None:
        return ""
    names = dict(Category.objects.filter(pk__in=category.ancestor_ids()).values_list("id", "name"))
    return " / ".join(names[i] for i in reversed(category.ancestor_ids()) if i in names)


def products_for_codes(store, codes, tier=None) -> dict:
    """{code: product} for the SKUs and barcodes in `codes` that name a product sold in `store`, in one query.

    A code is a product's SKU (any case) or its barcode; when it is one product's SKU and another's
    barcode, the lower id wins. Blank codes and codes that name nothing are left out. Each product
    comes with its category loaded and `tier_price`: the member price in fen of `tier`, or None. Only
    the fields a cart line needs are read (LINE_FIELDS; the others are deferred, as with `only()`).
    The same rows as `products_sold_at(store)` filtered by SKU or barcode, read with plain SQL
    (core.rows: this runs on every quote).
    """
    codes = sorted({str(code).strip() for code in codes if str(code).strip()})
    if not codes:
        return {}
    skus = sorted({code.upper() for code in codes})
    through = Product.stores.through
    links = f"SELECT 1 FROM {sql_rows.table(through)} s WHERE s.{sql_rows.column(through, 'product')} = p.id"  # noqa: S608 - names from the models, values bound
    price = "NULL"
    params = []
    if tier is not None:
        price = (
            f"(SELECT mp.{sql_rows.column(MemberPrice, 'price')} FROM {sql_rows.table(MemberPrice)} mp "  # noqa: S608 - names from the models, values bound
            f"WHERE mp.{sql_rows.column(MemberPrice, 'product')} = p.id "
            f"AND mp.{sql_rows.column(MemberPrice, 'tier')} = %s)"
        )
        params.append(tier.pk)
    sql = (
        f"SELECT {sql_rows.column_list(Product, 'p', LINE_FIELDS)}, "  # noqa: S608 - names from the models, values bound
        f"{sql_rows.column_list(Category, 'c', CATEGORY_FIELDS)}, {price} "
        f"FROM {sql_rows.table(Product)} p LEFT JOIN {sql_rows.table(Category)} c "
        f"ON c.id = p.{sql_rows.column(Product, 'category')} "
        f"WHERE p.{sql_rows.column(Product, 'merchant')} = %s AND p.{sql_rows.column(Product, 'is_active')} = %s "
        f"AND (p.{sql_rows.column(Product, 'sku')} IN ({', '.join(['%s'] * len(skus))}) "
        f"OR p.{sql_rows.column(Product, 'barcode')} IN ({', '.join(['%s'] * len(codes))})) "
        f"AND (NOT EXISTS ({links}) OR EXISTS ({links} AND s.{sql_rows.column(through, 'orgnode')} = %s)) "
        "ORDER BY p.id"
    )
    params += [store.merchant_id, True, *skus, *codes, store.pk]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    n = len(sql_rows.fields(Product, LINE_FIELDS))
    m = n + len(sql_rows.fields(Category, CATEGORY_FIELDS))
    by_sku, by_barcode = {}, {}
    for row in rows:
        product = sql_rows.instance(Product, row[:n], LINE_FIELDS)
        category = sql_rows.instance(Category, row[n:m], CATEGORY_FIELDS)
        if category is not None:
            product.category = category
        product.tier_price = row[m]
        by_sku.setdefault(product.sku, product)
        if product.barcode:
            by_barcode.setdefault(product.barcode, product)
    found = {}
    for code in codes:
        matches = [p for p in (by_sku.get(code.upper()), by_barcode.get(code)) if p is not None]
        if matches:
            found[code] = min(matches, key=lambda p: p.pk)
    return found
