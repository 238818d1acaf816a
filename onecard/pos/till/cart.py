"""The sale a cashier is building at the till (开单): kept in the session, priced on every render.

One cart per store (session key "till_sale:<store id>"): a refresh keeps it, and a cashier who picks
another store does not carry it along. The cart holds only what was scanned (the card number, SKUs
with quantities, coupon codes), never a price: every render prices it with sales.checkout.quote, and
the checkout prices it once more inside its own transaction.

`present(...)` turns a quote into what the screen and the tests read: per line the list price, the
line's own adjustments with their explanations and its share of the order-level ones; the
order-level adjustments once each; every amount still in fen (templates format with |yuan).
"""

import dataclasses

from onecard.catalog.errors import InvalidQuantity
from onecard.catalog.models import Product
from onecard.catalog.queries import products_for_codes
from onecard.core.money import fen_to_yuan_str
from onecard.promotions.coupon_errors import (
    CouponCodeInvalid,
    CouponExpired,
    CouponNotFound,
    CouponNotValidHere,
    CouponNotYetValid,
    CouponNotYours,
    CouponUsed,
    CouponVoid,
)
from onecard.sales.errors import COUPON_MESSAGES, CouponRefused, UnknownSku

SESSION_PREFIX = "till_sale:"
MAX_QUANTITY = 9999
MAX_LINES = 100
MAX_COUPONS = 10

# A coupon refused for one of these reasons may still apply once the cart changes: it stays in the cart.
CART_DEPENDENT = frozenset(COUPON_MESSAGES) - {"coupon_duplicate"}
REFUSAL_MESSAGES = {
    **{
        error.code: error.default_message
        for error in (
            CouponCodeInvalid,
            CouponNotFound,
            CouponExpired,
            CouponNotYetValid,
            CouponUsed,
            CouponVoid,
            CouponNotValidHere,
            CouponNotYours,
        )
    },
    **COUPON_MESSAGES,
}


def refusal_message(code):
    """The cashier's message for a coupon refusal code of the engine or the coupon services."""
    return REFUSAL_MESSAGES.get(code, CouponRefused.default_message)


@dataclasses.dataclass
class TillCart:
    """What was scanned for the sale in progress: the card number ("" for none), [SKU, quantity], coupon codes."""

    card: str = ""
    items: list = dataclasses.field(default_factory=list)
    coupons: list = dataclasses.field(default_factory=list)

    def quantity_of(self, sku) -> int:
        """Units of `sku` in the cart (0 when absent)."""
        return next((quantity for line_sku, quantity in self.items if line_sku == sku), 0)

    def add(self, sku, quantity=1) -> int:
        """One more unit (or `quantity`) of `sku`: a new line or the existing one; its quantity after."""
        return self.set_quantity(sku, self.quantity_of(sku) + quantity, append=True)

    def set_quantity(self, sku, quantity, *, append=False) -> int:
        """Set the line of `sku` to `quantity` units; 0 removes it. Refused: not whole, negative, too many."""
        if isinstance(quantity, bool) or not isinstance(quantity, int) or not 0 <= quantity <= MAX_QUANTITY:
            raise InvalidQuantity(extra={"sku": sku})
        for line in self.items:
            if line[0] == sku:
                line[1] = quantity
                break
        else:
            if quantity and append:
                if len(self.items) >= MAX_LINES:
                    raise InvalidQuantity(extra={"sku": sku, "lines": MAX_LINES})
                self.items.append([sku, quantity])
        self.items = [line for line in self.items if line[1] > 0]
        return quantity

    def add_coupon(self, code) -> bool:
        """Keep `code` for this sale; False when it is there already."""
        if code in self.coupons:
            return False
        if len(self.coupons) >= MAX_COUPONS:
            raise CouponRefused(code="coupon_duplicate", extra={"coupon": code})
        self.coupons.append(code)
        return True

    def remove_coupon(self, code) -> None:
        """Forget `code` for this sale."""
        self.coupons = [c for c in self.coupons if c != code]

    def as_items(self) -> list:
        """The checkout's items: [(SKU, quantity)] in scan order."""
        return [(sku, quantity) for sku, quantity in self.items]


def _key(store) -> str:
    return f"{SESSION_PREFIX}{store.pk}"


def load_cart(session, store) -> TillCart:
    """The cart of `store` in this session (empty when there is none or it is malformed)."""
    data = session.get(_key(store)) or {}
    try:
        items = [[str(sku), int(quantity)] for sku, quantity in data.get("items", [])]
        return TillCart(
            card=str(data.get("card") or ""), items=items, coupons=[str(c) for c in data.get("coupons", [])]
        )
    except (TypeError, ValueError, AttributeError):
        return TillCart()


def save_cart(session, store, cart) -> None:
    """Keep the cart of `store` in the session."""
    session[_key(store)] = dataclasses.asdict(cart)


def clear_cart(session, store) -> None:
    """Start the next customer's sale: forget the card, the lines and the coupons."""
    session.pop(_key(store), None)


def scanned_product(store, text) -> Product:
    """The product a scanned SKU or barcode names, sold in `store`; unknown_sku otherwise (as the checkout)."""
    text = str(text or "").strip()
    product = products_for_codes(store, [text]).get(text) if text else None
    if product is None:
        raise UnknownSku(extra={"sku": text[:40]})
    return product


# ---- presenting a quote -----------------------------------------------------------------------------------


def adjustment_row(source, amount, explanation) -> dict:
    """An adjustment as the pages show it: `label` is the explanation without the amount it ends with.

    The engine's explanations mostly end with the amount ("满 ¥200.00 减 ¥20.00（店庆）：−¥20.00"); a
    page with a column for the amount shows `label` there, so the amount is not printed twice.
    """
    explanation = str(explanation)
    written = f"−¥{fen_to_yuan_str(amount)}"
    label = explanation
    if amount and explanation.endswith(written):
        label = explanation[: -len(written)].rstrip().rstrip(":：").rstrip()
    return {
        "source": source,
        "amount": amount,
        "explanation": explanation,
        "label": label,
        "says_amount": f"¥{fen_to_yuan_str(amount)}" in explanation,
    }


def _adjustment(adjustment) -> dict:
    return adjustment_row(adjustment.source, adjustment.amount, adjustment.explanation)


def present(cart, checkout_quote) -> dict:
    """What the quote panel shows: lines, order-level adjustments, totals and what may pay (fen)."""
    quote = checkout_quote.quote
    order_sources = {a.source for a in quote.order_adjustments}
    products = {p.pk: p for p in Product.objects.filter(pk__in={line.product_id for line in quote.lines})}
    lines = []
    for line in quote.lines:
        product = products.get(line.product_id)
        own = [_adjustment(a) for a in line.adjustments if a.source not in order_sources]
        shared = sum(a.amount for a in line.adjustments if a.source in order_sources)
        number = int(line.key) if line.key.isdigit() else None
        sku = cart.items[number - 1][0] if number and number <= len(cart.items) else ""
        lines.append(
            {
                "key": line.key,
                "number": number,
                "sku": sku or (product.sku if product else ""),
                "name": product.name if product else "",
                "quantity": line.quantity,
                "unit_price": product.list_price if product and not line.gift else 0,
                "list_total": line.list_total,
                "adjustments": own,
                "order_share": shared,
                "due": line.due,
                "gift": line.gift,
            }
        )
    applied = set(quote.coupons_applied)
    coupons = []
    for code in cart.coupons:
        refused = quote.coupons_refused.get(code)
        amount = sum(
            a.amount for line in quote.lines for a in line.adjustments if a.source == f"coupon:{code}"
        )
        coupons.append(
            {
                "code": code,
                "applied": code in applied,
                "amount": amount,
                "reason": refusal_message(refused) if refused else "",
                "refusal": refused or "",
            }
        )
    return {
        "lines": lines,
        "order_adjustments": [_adjustment(a) for a in quote.order_adjustments],
        "coupons": coupons,
        "coupons_applied": list(quote.coupons_applied),
        "list_total": quote.list_total,
        "discount_total": quote.discount_total,
        "line_discounts": quote.discount_total - sum(a.amount for a in quote.order_adjustments),
        "total_due": quote.total_due,
        "points_to_earn": checkout_quote.points_to_earn,
        "max_points": checkout_quote.max_points,
        "max_points_cash": checkout_quote.max_points_cash,
        "max_stored_value": checkout_quote.max_stored_value,
    }
