"""A catalogue product as a line of the pricing engine's cart (cart.py), at the member's tier price.

The engine itself knows no models; this is where a product, its category ancestry and its member price
become a `CartLine` (promotions sit above the catalogue).
"""

from onecard.catalog.choices import ProductKind
from onecard.catalog.errors import InvalidQuantity
from onecard.catalog.models import MemberPrice

from .cart import CartLine


def cart_line(product, quantity, tier, key, *, prices=None):
    """The pricing engine's line for `quantity` × `product` bought by a member of `tier` (None: no member).

    `prices`: {product id: member price} of `tier` read beforehand for a whole cart (products_for_codes'
    `tier_price`); None reads this product's.
    """
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
        raise InvalidQuantity()
    member_price = None
    if tier is not None and tier.merchant_id == product.merchant_id:
        if prices is not None:
            member_price = prices.get(product.pk)
        else:
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
