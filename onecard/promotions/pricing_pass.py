"""What one pass of the pricing engine works on: the rules as the engine reads them, the money helpers,
the pass's state (`_Work`: the quoted lines, what is still due on each and what touched them) and what a
rule or coupon targets. The four steps of a pass are in `pricing_steps`; `pricing` runs the passes.
Amounts are integer fen.
"""

import dataclasses
import datetime
from decimal import ROUND_HALF_UP, Decimal

from onecard.core.money import fen_to_yuan_str

from .cart import Adjustment, Cart, CartLine, CouponOffer, Quote, QuotedLine

MEMBER_PRICE = "member_price"
DISCOUNT = "discount"
THRESHOLD_CASH = "threshold_cash"
THRESHOLD_DISCOUNT = "threshold_discount"
THRESHOLD_GIFT = "threshold_gift"
BUY_X_GET_Y = "buy_x_get_y"
NTH_DISCOUNT = "nth_discount"
BUNDLE = "bundle"
BIRTHDAY = "birthday"

LINE_KINDS = (DISCOUNT, BUY_X_GET_Y, NTH_DISCOUNT, BUNDLE, BIRTHDAY)
ORDER_KINDS = (THRESHOLD_CASH, THRESHOLD_DISCOUNT, THRESHOLD_GIFT)


@dataclasses.dataclass(frozen=True)
class Rule:
    """A promotion as the engine reads it (`pricing.to_rule(promotion)` builds one from the model)."""

    id: int
    kind: str
    name: str = ""
    params: dict = dataclasses.field(default_factory=dict)
    product_ids: tuple[int, ...] = ()
    category_ids: tuple[int, ...] = ()
    priority: int = 0
    exclusive_group: str = ""
    stacks_with_coupons: bool = True
    applies_over_member_price: bool = True
    stock_total: int | None = None
    per_member_limit: int | None = None


def yuan(fen: int) -> str:
    return fen_to_yuan_str(fen)


def apply_rate(amount: int, rate) -> int:
    """amount × rate, rounded half-up to the fen."""
    return int((Decimal(amount) * Decimal(str(rate))).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def spread(amount: int, weights: list[int]) -> list[int]:
    """`amount` split in proportion to `weights` with cumulative floors; the shares sum to `amount` exactly."""
    total = sum(weights)
    if total <= 0 or amount <= 0:
        return [0] * len(weights)
    shares, running, previous = [], 0, 0
    for weight in weights:
        running += weight
        cumulative = amount * running // total
        shares.append(cumulative - previous)
        previous = cumulative
    return shares


def rate_text(rate) -> str:
    """Decimal('0.850') → '85%' of the price (i.e. 15% off is shown as '85%')."""
    value = (Decimal(str(rate)) * 100).normalize()
    return f"{value:f}%"


def birthday_matches(birthday: datetime.date | None, today: datetime.date, window: str) -> bool:
    """True when `today` is the birthday (day), in its ISO week (week) or in its month (month) this year."""
    if birthday is None:
        return False
    if window == "month":
        return birthday.month == today.month
    try:
        anniversary = birthday.replace(year=today.year)
    except ValueError:  # 29 February outside a leap year: celebrated on the 28th
        anniversary = datetime.date(today.year, 2, 28)
    if window == "day":
        return anniversary == today
    return anniversary.isocalendar()[:2] == today.isocalendar()[:2]


class _Work:
    """Mutable state of one pricing pass: the quoted lines and what touched them.

    With `explain` false (the passes that only compare alternatives' totals) no Adjustment and no
    explanation text is made: `due` and `touched` carry everything the rules read, and `fork` copies
    the state so that several alternatives can continue from one shared prefix.
    """

    def __init__(self, cart: Cart, matches: dict[int, frozenset], *, explain: bool = True):
        self.cart = cart
        self.explain = explain
        self.source = {line.key: line for line in cart.lines}
        self.lines = [
            QuotedLine(
                key=line.key,
                product_id=line.product_id,
                quantity=line.quantity,
                list_total=line.list_price * line.quantity,
            )
            for line in cart.lines
        ]
        self.paid = list(self.lines)  # the cart's own lines; gift lines are only appended to `lines`
        self.due = {line.key: line.list_total for line in self.lines}  # kept in step with `add`: `due` sums
        self.touched: dict[str, set[str]] = {
            line.key: set() for line in self.lines
        }  # sources that took from it
        self.member_priced: set[str] = set()
        self.promoted: set[str] = set()
        self.no_coupon: set[str] = set()
        self.matches = matches  # rule id → keys of the lines it targets
        self.targets: dict[int, list[QuotedLine]] = {}  # rule id → its target lines, in cart order
        self.order_adjustments: list[Adjustment] = []
        self.applied: list[int] = []
        self.coupons_applied: list[str] = []
        self.refused: dict[str, str] = {}

    def fork(self) -> "_Work":
        """An independent copy of a pass that does not explain (its QuotedLines are never changed)."""
        other = _Work.__new__(_Work)
        other.__dict__.update(self.__dict__)
        other.lines = list(self.lines)
        other.due = dict(self.due)
        other.touched = {key: set(sources) for key, sources in self.touched.items()}
        other.member_priced = set(self.member_priced)
        other.promoted = set(self.promoted)
        other.no_coupon = set(self.no_coupon)
        other.applied = list(self.applied)
        other.coupons_applied = list(self.coupons_applied)
        other.refused = dict(self.refused)
        other.order_adjustments = []
        return other

    def total_due(self) -> int:
        return sum(self.due.values())

    def quote(self) -> Quote:
        return Quote(
            lines=self.lines,
            order_adjustments=self.order_adjustments,
            promotions_applied=self.applied,
            coupons_applied=self.coupons_applied,
            coupons_refused=self.refused,
        )

    def paid_lines(self) -> list[QuotedLine]:
        return self.paid

    def target_lines(self, rule_id: int) -> list[QuotedLine]:
        """The cart's lines that rule `rule_id` targets, in cart order."""
        lines = self.targets.get(rule_id)
        if lines is None:
            keys = self.matches[rule_id]
            lines = self.targets[rule_id] = [line for line in self.paid if line.key in keys]
        return lines

    def add(self, line: QuotedLine, source: str, amount: int, explanation):
        """Take `amount` (at most what the line still owes) off a line; `explanation` is text or a callable."""
        amount = min(amount, self.due[line.key])
        if amount > 0:
            self.due[line.key] -= amount
            self.touched[line.key].add(source)
            if self.explain:
                text = explanation() if callable(explanation) else explanation
                line.adjustments.append(
                    Adjustment(source=source, amount=amount, explanation=text, line_key=line.key)
                )
        return amount

    def add_order(self, lines: list[QuotedLine], source: str, amount: int, explanation) -> int:
        """An order-level amount, capped at the lines' due, kept whole and spread over `lines`."""
        due = self.due
        weights = [due[line.key] for line in lines]
        amount = min(amount, sum(weights))
        if amount <= 0:
            return 0
        if self.explain:
            explanation = explanation() if callable(explanation) else explanation
            self.order_adjustments.append(Adjustment(source=source, amount=amount, explanation=explanation))
        shares = spread(amount, weights)
        if self.explain:
            for line, share in zip(lines, shares, strict=True):
                self.add(line, source, share, explanation)
            return amount
        touched = self.touched
        for line, share in zip(lines, shares, strict=True):  # `add` without an explanation, inlined
            if share > 0:  # spread never gives a line more than its weight, its due
                due[line.key] -= share
                touched[line.key].add(source)
        return amount

    def add_gift(self, source: str, product_id: int, quantity: int, explanation):
        line = QuotedLine(
            key=f"gift:{source}", product_id=product_id, quantity=quantity, list_total=0, gift=True
        )
        self.touched[line.key] = {source}
        if self.explain:
            explanation = explanation() if callable(explanation) else explanation
            line.adjustments.append(
                Adjustment(source=source, amount=0, explanation=explanation, line_key=line.key)
            )
            self.order_adjustments.append(Adjustment(source=source, amount=0, explanation=explanation))
        self.lines.append(line)


def _targets(product_ids, category_ids, line: CartLine) -> bool:
    if not product_ids and not category_ids:
        return True
    return line.product_id in product_ids or any(c in category_ids for c in line.category_ids)


def _eligible(work: _Work, rule: Rule) -> list[QuotedLine]:
    """The paid lines `rule` may touch: its targets, minus member-priced lines when it does not apply over them."""
    due, member_priced = work.due, work.member_priced
    over_member_price = rule.applies_over_member_price
    return [
        line
        for line in work.target_lines(rule.id)
        if due[line.key] > 0 and (over_member_price or line.key not in member_priced)
    ]


def _units(work: "_Work", lines: list[QuotedLine]) -> list[tuple[int, int, QuotedLine]]:
    """Each unit of the lines as (price, position, line); a line's odd fen go to its first units."""
    units = []
    for line in lines:
        base, extra = divmod(work.due[line.key], line.quantity)
        for n in range(line.quantity):
            units.append((base + (1 if n < extra else 0), len(units), line))
    return units


# ---- what a rule or coupon targets ----------------------------------------------------------------------


def _line_index(cart: Cart):
    """(every line key, product id → keys, category id → keys) of the cart's lines."""
    by_product: dict[int, set[str]] = {}
    by_category: dict[int, set[str]] = {}
    for line in cart.lines:
        by_product.setdefault(line.product_id, set()).add(line.key)
        for category_id in line.category_ids:
            by_category.setdefault(category_id, set()).add(line.key)
    return frozenset(line.key for line in cart.lines), by_product, by_category


def _matches(rule: Rule | CouponOffer, index) -> frozenset:
    """Keys of the cart lines that a rule or coupon targets (computed once per cart: each pass looks it up).

    The same lines `_targets` accepts: every line for a rule without targets, else the lines of its
    products and the lines with one of its categories among their own and their ancestors.
    """
    every, by_product, by_category = index
    if not rule.product_ids and not rule.category_ids:
        return every
    keys: set[str] = set()
    for product_id in rule.product_ids:
        keys.update(by_product.get(product_id, ()))
    for category_id in rule.category_ids:
        keys.update(by_category.get(category_id, ()))
    return frozenset(keys)
