"""A sale's pricing kept for later, so that what a customer keeps after a return can be priced again.

At checkout the sale keeps (`snapshot`) its cart as priced (unit and member prices, categories, the
member's tier discount and birthday, the time), the promotions that could touch it as they read then, and
the coupons it used. `reprice(snapshot, quantities)` prices the kept units with exactly those: a
promotion changed or ended since does not change the answer (docs/sales.md, "What is kept is priced
again").

Why some inputs differ from the first pass: a limited promotion the sale used holds its reserved unit
until the whole sale comes back, so its limits are left out; one the sale did not get (sold out, member
cap) stays out. A coupon used stays used until the whole sale comes back, so it keeps its value on what
is kept: its minimum spend is not checked again.
"""

import dataclasses
import datetime
import functools

from .cart import Cart, CartLine, CouponOffer, Quote
from .pricing import Rule, price_cart, to_rule, touching


@functools.cache
def _field_names(cls) -> tuple[str, ...]:
    return tuple(field.name for field in dataclasses.fields(cls))


def _row(value) -> dict:
    """A flat dataclass (Rule, CartLine, CouponOffer) as a dict of its fields, for JSON.

    dataclasses.asdict deep-copies every value and cost most of a checkout's snapshot; these dataclasses
    hold no dataclass inside, and the JSON encoder writes their tuples as lists all the same.
    """
    return {name: getattr(value, name) for name in _field_names(type(value))}


def _rule_row(rule: Rule, applied: set) -> dict | None:
    """A rule as the snapshot keeps it; None for a limited rule the sale did not get."""
    limited = rule.stock_total is not None or rule.per_member_limit is not None
    if limited and rule.id not in applied:
        return None
    return {**_row(rule), "stock_total": None, "per_member_limit": None}


def snapshot(cart: Cart, promotions, quote: Quote, gift_prices: dict) -> dict:
    """What `reprice` needs, as JSON: the cart's lines and buyer, the promotions and coupons, gift values.

    `gift_prices`: {product id: list price, fen} of the gift products, what a gift not earned any more costs.
    """
    applied = set(quote.promotions_applied)
    rules = [_rule_row(to_rule(p), applied) for p in touching(cart, promotions)]
    used = set(quote.coupons_applied)
    return {
        "at": cart.at.isoformat(),
        "member_id": cart.member_id,
        "tier_id": cart.tier_id,
        "tier_discount_rate": cart.tier_discount_rate,
        "birthday": cart.birthday.isoformat() if cart.birthday else None,
        "lines": [{k: v for k, v in _row(line).items() if k != "quantity"} for line in cart.lines],
        "rules": [row for row in rules if row is not None],
        "coupons": [{**_row(offer), "min_spend": 0} for offer in cart.coupons if offer.code in used],
        "gift_prices": {str(pk): price for pk, price in gift_prices.items()},
    }


def _rule(row: dict) -> Rule:
    return Rule(
        **{**row, "product_ids": tuple(row["product_ids"]), "category_ids": tuple(row["category_ids"])}
    )


def _offer(row: dict) -> CouponOffer:
    return CouponOffer(
        **{**row, "product_ids": tuple(row["product_ids"]), "category_ids": tuple(row["category_ids"])}
    )


def kept_cart(kept: dict, quantities: dict) -> Cart:
    """The snapshot's cart with `quantities` {line key: units} (lines with none left out)."""
    lines = tuple(
        CartLine(**{**row, "quantity": quantities[row["key"]], "category_ids": tuple(row["category_ids"])})
        for row in kept["lines"]
        if quantities.get(row["key"], 0) > 0
    )
    birthday = kept.get("birthday")
    return Cart(
        merchant_id=0,  # the engine reads neither: the promotions are the snapshot's own
        store_id=0,
        at=datetime.datetime.fromisoformat(kept["at"]),
        lines=lines,
        member_id=kept.get("member_id"),
        tier_id=kept.get("tier_id"),
        tier_discount_rate=kept.get("tier_discount_rate"),
        birthday=datetime.date.fromisoformat(birthday) if birthday else None,
        coupons=tuple(_offer(row) for row in kept.get("coupons", ())),
    )


def reprice(kept: dict, quantities: dict) -> Quote:
    """The kept units {line key: units} priced with the sale's own promotions and coupons (module doc)."""
    cart = kept_cart(kept, quantities)
    if not cart.lines:
        return Quote(lines=[])
    return price_cart(cart, [_rule(row) for row in kept.get("rules", ())])


def gift_price(kept: dict, product_id) -> int | None:
    """The list price a gift product had at the sale (None: not kept)."""
    return (kept.get("gift_prices") or {}).get(str(product_id))


def rule_names(kept: dict) -> dict:
    """{adjustment source ("promotion:<id>"): the promotion's name} of the snapshot's promotions."""
    return {f"promotion:{row['id']}": row.get("name", "") for row in kept.get("rules", ())}
