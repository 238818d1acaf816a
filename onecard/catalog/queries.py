"""Reads of the catalogue shared by pages, the API, the import and the checkout.

The catalogue is merchant-wide: every staff member of a merchant sees all of it (`catalog.view`), so
queries filter by merchant rather than by org node; `products_sold_at` narrows to one store.
"""

from django.db.models import Exists, OuterRef, Q

from onecard.org.models import Merchant
from onecard.promotions.cart import CartLine

from .choices import ProductKind
from .errors import InvalidQuantity
from .models import Category, MemberPrice, Product

SEARCH_LIMIT = 20


def merchant_ids_for(user):
    """The merchants whose catalogue the user may see (every one for a superuser without a node)."""
    if user.sees_everything:
        return list(Merchant.objects.values_list("id", flat=True))
    return [user.node.merchant_id] if user.node_id else []


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


def cart_line(product, quantity, tier, key):
    """The pricing engine's line for `quantity` × `product` bought by a member of `tier` (None: no member)."""
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
        raise InvalidQuantity()
    member_price = None
    if tier is not None and tier.merchant_id == product.merchant_id:
        member_price = (
            MemberPrice.objects.filter(product_id=product.pk, tier_id=tier.pk)
            .values_list("price", flat=True)
            .first()
        )
    category_ids = product.category.ancestor_ids() if product.category_id else ()
    return CartLine(
        key=str(key),
        product_id=product.pk,
        sku=product.sku,
        name=product.name,
        quantity=quantity,
        list_price=product.list_price,
        category_ids=category_ids,
        member_price=member_price,
        is_service=product.kind == ProductKind.SERVICE,
    )
