"""One pass of the pricing engine: the rules as the engine reads them, the pass's state and its four steps.

`pricing` (its module doc says the order of application, stacking, exclusivity and rounding) runs
the passes; this module holds what one pass does: the member price step, the line rules, the
spend thresholds and the coupons, on a `_Work` (the quoted lines, what is still due on each and what
touched them). Amounts are integer fen.
"""

import dataclasses
import datetime
from decimal import ROUND_HALF_UP, Decimal

from django.utils.translation import gettext as _

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


# ---- step 1 ------------------------------------------------------------------------------------------------


def _member_step(work: _Work, member_rules: list[Rule]):
    cart = work.cart
    has_member = cart.member_id is not None or cart.tier_id is not None
    for line in work.lines:
        item = work.source[line.key]
        options = []  # (discount, order, source, explanation)
        if item.member_price is not None and item.member_price < item.list_price:
            off = (item.list_price - item.member_price) * item.quantity
            options.append(
                (
                    off,
                    0,
                    "member_price",
                    lambda off=off, item=item: (
                        _("Member price ¥%(price)s: −¥%(amount)s")
                        % {"price": yuan(item.member_price), "amount": yuan(off)}
                    ),
                )
            )
        if cart.tier_discount_rate and has_member:
            off = line.list_total - apply_rate(line.list_total, cart.tier_discount_rate)
            options.append(
                (
                    off,
                    1,
                    "tier",
                    lambda off=off: (
                        _("Tier discount %(rate)s: −¥%(amount)s")
                        % {"rate": rate_text(cart.tier_discount_rate), "amount": yuan(off)}
                    ),
                )
            )
        for rule in member_rules:
            tiers = rule.params.get("tier_ids") or []
            if not has_member:
                continue
            if tiers and cart.tier_id not in tiers:
                continue
            if line.key not in work.matches[rule.id]:
                continue
            off = line.list_total - apply_rate(line.list_total, rule.params["rate"])
            options.append(
                (
                    off,
                    2,
                    f"promotion:{rule.id}",
                    lambda off=off, rule=rule: (
                        _("%(name)s, member %(rate)s: −¥%(amount)s")
                        % {"name": rule.name, "rate": rate_text(rule.params["rate"]), "amount": yuan(off)}
                    ),
                )
            )
        options = [option for option in options if option[0] > 0]
        if not options:
            continue
        off, _order, source, explanation = min(options, key=lambda o: (-o[0], o[1]))
        work.add(line, source, off, explanation)
        work.member_priced.add(line.key)
        if source.startswith("promotion:"):
            rule_id = int(source.split(":")[1])
            if rule_id not in work.applied:
                work.applied.append(rule_id)


# ---- step 2 ------------------------------------------------------------------------------------------------


def _line_rule(work: _Work, rule: Rule) -> int:
    """Apply one line-level rule; the fen it took."""
    source = f"promotion:{rule.id}"
    p = rule.params
    lines = _eligible(work, rule)
    if not lines:
        return 0
    taken = 0
    if rule.kind == DISCOUNT:
        for line in lines:
            off = work.due[line.key] - apply_rate(work.due[line.key], p["rate"])
            taken += work.add(
                line,
                source,
                off,
                lambda off=off: (
                    _("%(name)s, %(rate)s of the price: −¥%(amount)s")
                    % {"name": rule.name, "rate": rate_text(p["rate"]), "amount": yuan(off)}
                ),
            )
    elif rule.kind in (BUY_X_GET_Y, NTH_DISCOUNT):
        units = sorted(_units(work, lines), key=lambda u: (u[0], u[1]))
        if rule.kind == BUY_X_GET_Y:
            group = int(p["buy"]) + int(p["free"])
            count = len(units) // group * int(p["free"])
        else:
            count = len(units) // int(p["nth"])
        per_line: dict[str, int] = {}
        for price, _position, line in units[:count]:
            off = price if rule.kind == BUY_X_GET_Y else price - apply_rate(price, p["rate"])
            per_line[line.key] = per_line.get(line.key, 0) + off
        for line in lines:
            off = per_line.get(line.key, 0)
            taken += work.add(line, source, off, lambda off=off: _group_text(rule, off))
    elif rule.kind == BUNDLE:
        taken = _bundle(work, rule, lines)
    elif rule.kind == BIRTHDAY:
        if not birthday_matches(work.cart.birthday, work.cart.at.date(), p["window"]):
            return 0
        if p.get("rate"):
            for line in lines:
                off = work.due[line.key] - apply_rate(work.due[line.key], p["rate"])
                taken += work.add(
                    line,
                    source,
                    off,
                    lambda off=off: (
                        _("%(name)s, birthday %(rate)s: −¥%(amount)s")
                        % {"name": rule.name, "rate": rate_text(p["rate"]), "amount": yuan(off)}
                    ),
                )
        else:
            amount = min(int(p["amount_off"]), sum(work.due[line.key] for line in lines))
            taken = work.add_order(
                lines,
                source,
                amount,
                lambda: _("%(name)s, birthday: −¥%(amount)s") % {"name": rule.name, "amount": yuan(amount)},
            )
    if taken:
        work.promoted.update(line.key for line in lines if source in work.touched[line.key])
    return taken


def _group_text(rule: Rule, off: int) -> str:
    """The explanation of a buy X get Y or Nth item rule's saving on a line."""
    p = rule.params
    if rule.kind == BUY_X_GET_Y:
        return _("%(name)s, buy %(buy)s get %(free)s free: −¥%(amount)s") % {
            "name": rule.name,
            "buy": p["buy"],
            "free": p["free"],
            "amount": yuan(off),
        }
    return _("%(name)s, one in every %(nth)s items at %(rate)s: −¥%(amount)s") % {
        "name": rule.name,
        "nth": p["nth"],
        "rate": rate_text(p["rate"]),
        "amount": yuan(off),
    }


def _bundle(work: _Work, rule: Rule, lines: list[QuotedLine]) -> int:
    """Sets of one unit of each bundled product at the bundle price; the saving spread over the products."""
    source = f"promotion:{rule.id}"
    members = []
    for product_id in rule.params["product_ids"]:
        candidates = [line for line in lines if line.product_id == product_id]
        if not candidates:
            return 0
        members.append(candidates)
    sets = min(sum(line.quantity for line in candidates) for candidates in members)
    if sets <= 0:
        return 0
    firsts = [candidates[0] for candidates in members]
    unit_prices = [work.due[line.key] // line.quantity for line in firsts]
    saving = (sum(unit_prices) - int(rule.params["price"])) * sets
    if saving <= 0:
        return 0

    def text():
        return _("%(name)s, bundle at ¥%(price)s: −¥%(amount)s") % {
            "name": rule.name,
            "price": yuan(int(rule.params["price"])),
            "amount": yuan(saving),
        }

    taken = 0
    for line, share in zip(firsts, spread(saving, [price * sets for price in unit_prices]), strict=True):
        taken += work.add(line, source, share, text)
    return taken


# ---- step 3 ------------------------------------------------------------------------------------------------


def _order_rule(work: _Work, rule: Rule) -> int:
    """Apply one threshold rule to its eligible lines; the fen it took (a gift counts as 1)."""
    source = f"promotion:{rule.id}"
    p = rule.params
    lines = _eligible(work, rule)
    base = sum(work.due[line.key] for line in lines)
    if not lines:
        return 0
    if rule.kind == THRESHOLD_CASH:
        steps = sorted(((int(s["min"]), int(s["off"])) for s in p["steps"]), reverse=True)
        if p.get("repeat"):
            minimum, off = steps[0]
            amount = off * (base // minimum)
        else:
            reached = [(minimum, off) for minimum, off in steps if base >= minimum]
            if not reached:
                return 0
            minimum, amount = reached[0]
        if amount <= 0:
            return 0
        taken = work.add_order(
            lines,
            source,
            amount,
            lambda: (
                _("Spend ¥%(min)s, ¥%(off)s off (%(name)s): −¥%(amount)s")
                % {
                    "min": yuan(minimum),
                    "off": yuan(off if p.get("repeat") else amount),
                    "name": rule.name,
                    "amount": yuan(min(amount, base)),
                }
            ),
        )
    elif rule.kind == THRESHOLD_DISCOUNT:
        if base < int(p["min"]):
            return 0
        amount = base - apply_rate(base, p["rate"])
        taken = work.add_order(
            lines,
            source,
            amount,
            lambda: (
                _("Spend ¥%(min)s, %(rate)s of the price (%(name)s): −¥%(amount)s")
                % {
                    "min": yuan(int(p["min"])),
                    "rate": rate_text(p["rate"]),
                    "name": rule.name,
                    "amount": yuan(amount),
                }
            ),
        )
    else:
        if base < int(p["min"]):
            return 0
        work.add_gift(
            source,
            int(p["gift_product_id"]),
            int(p.get("gift_quantity", 1)),
            lambda: _("Spend ¥%(min)s, gift (%(name)s)") % {"min": yuan(int(p["min"])), "name": rule.name},
        )
        taken = 1
    if taken:
        work.promoted.update(line.key for line in lines)
    return taken


# ---- step 4 ------------------------------------------------------------------------------------------------


def _coupon_lines(work: _Work, coupon: CouponOffer) -> list[QuotedLine]:
    targets = work.matches.get(coupon)  # price_cart adds each coupon's target keys to the matches
    if targets is None:
        targets = _matches(coupon, _line_index(work.cart))
    due, no_coupon, promoted = work.due, work.no_coupon, work.promoted
    return [
        line
        for line in work.paid
        if line.key in targets
        and line.key not in no_coupon
        and due[line.key] > 0
        and (coupon.stacks_with_promotions or line.key not in promoted)
    ]


def _coupon(work: _Work, coupon: CouponOffer):
    source = f"coupon:{coupon.code}"
    if coupon.code in work.coupons_applied or coupon.code in work.refused:
        work.refused[coupon.code] = "coupon_duplicate"
        return
    lines = _coupon_lines(work, coupon)
    if coupon.kind == "gift" and coupon.gift_product_id is not None:
        lines = [line for line in lines if line.product_id == coupon.gift_product_id]
        if not lines:
            if coupon.min_spend and sum(work.due[line.key] for line in work.paid_lines()) < coupon.min_spend:
                work.refused[coupon.code] = "coupon_min_spend"
                return
            work.add_gift(
                source, coupon.gift_product_id, 1, lambda: _("Gift coupon %(code)s") % {"code": coupon.code}
            )
            work.coupons_applied.append(coupon.code)
            return
    if not lines:
        work.refused[coupon.code] = "coupon_not_applicable"
        return
    base = sum(work.due[line.key] for line in lines)
    if base < coupon.min_spend:
        work.refused[coupon.code] = "coupon_min_spend"
        return
    if coupon.kind == "cash":
        amount = min(coupon.value, base)
        work.add_order(
            lines,
            source,
            amount,
            lambda: _("Cash coupon %(code)s: −¥%(amount)s") % {"code": coupon.code, "amount": yuan(amount)},
        )
    elif coupon.kind == "discount":
        amount = base - apply_rate(base, Decimal(coupon.value) / 1000)
        if coupon.cap is not None:
            amount = min(amount, coupon.cap)
        work.add_order(
            lines,
            source,
            amount,
            lambda: (
                _("Discount coupon %(code)s: −¥%(amount)s") % {"code": coupon.code, "amount": yuan(amount)}
            ),
        )
    else:  # gift (product in the cart) or count: one unit free, the dearest eligible one
        price, _position, line = max(_units(work, lines), key=lambda u: (u[0], -u[1]))
        work.add(
            line,
            source,
            price,
            lambda: (
                _("Coupon %(code)s, one item free: −¥%(amount)s")
                % {"code": coupon.code, "amount": yuan(price)}
            ),
        )
    work.coupons_applied.append(coupon.code)


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
