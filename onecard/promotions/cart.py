"""What the pricing engine reads and returns: plain dataclasses, independent of the catalogue's models.

The checkout builds a `Cart` from catalogue products (catalog app), the member's tier and the
coupons presented; `pricing.price_cart(cart, promotions)` returns a `Quote`. Amounts are integer
fen; every adjustment says which rule took how much (`Adjustment.source`, `explanation`).
"""

import datetime
from dataclasses import dataclass, field


@dataclass(frozen=True)
class CartLine:
    """One line of a cart: a product (by id and SKU) × quantity at its list price, with its categories."""

    key: str  # the line's own id in the cart ("1", "2", ...): adjustments point at it
    product_id: int
    sku: str
    name: str
    quantity: int
    list_price: int  # fen per unit
    category_ids: tuple[int, ...] = ()  # the product's category and every ancestor, nearest first
    member_price: int | None = None  # fen per unit for the member's tier (catalogue MemberPrice), if any
    is_service: bool = False


@dataclass(frozen=True)
class CouponOffer:
    """A coupon the member presents, as the engine needs it (promotions coupons → offer)."""

    code: str
    template_id: int
    kind: str  # "cash" 代金券, "discount" 折扣券, "gift" 兑换券, "count" 次数券
    value: int = 0  # cash: fen off; discount: rate in thousandths (850 = 85折); count: uses
    min_spend: int = 0  # fen, on the eligible lines after promotions
    cap: int | None = None  # discount: the most fen it may take off
    gift_product_id: int | None = None  # gift: the product it makes free (one unit)
    product_ids: tuple[int, ...] = ()  # empty: every product
    category_ids: tuple[int, ...] = ()
    stacks_with_promotions: bool = True


@dataclass(frozen=True)
class Cart:
    """Everything pricing depends on: lines, who buys (tier, birthday), where and when, coupons presented."""

    merchant_id: int
    store_id: int
    at: datetime.datetime
    lines: tuple[CartLine, ...]
    member_id: int | None = None
    tier_id: int | None = None
    tier_discount_rate: str | None = None  # Decimal as text, e.g. "0.950"; None: no tier discount
    birthday: datetime.date | None = None
    coupons: tuple[CouponOffer, ...] = ()


@dataclass
class Adjustment:
    """One rule's effect: `amount` fen off (negative adds, never here), on a line or on the whole order."""

    source: str  # "member_price", "tier", "promotion:<id>", "coupon:<code>"
    amount: int
    explanation: str
    line_key: str | None = None  # None: an order-level adjustment, spread over lines in `Quote.lines`


@dataclass
class QuotedLine:
    """A priced line: list total, every adjustment that touched it, and what is due for it."""

    key: str
    product_id: int
    quantity: int
    list_total: int
    adjustments: list[Adjustment] = field(default_factory=list)
    gift: bool = False  # a line the engine added (满赠, 兑换券, 买二送一's free unit)

    @property
    def due(self) -> int:
        return self.list_total - sum(a.amount for a in self.adjustments)


@dataclass
class Quote:
    """The priced cart: lines (order-level discounts already spread over them), totals, what was used."""

    lines: list[QuotedLine]
    order_adjustments: list[Adjustment] = field(default_factory=list)  # the same, before spreading
    promotions_applied: list[int] = field(default_factory=list)  # promotion ids
    coupons_applied: list[str] = field(default_factory=list)  # codes
    coupons_refused: dict[str, str] = field(default_factory=dict)  # code → error code, e.g. coupon_min_spend

    @property
    def list_total(self) -> int:
        return sum(line.list_total for line in self.lines)

    @property
    def total_due(self) -> int:
        return sum(line.due for line in self.lines)

    @property
    def discount_total(self) -> int:
        return self.list_total - self.total_due
