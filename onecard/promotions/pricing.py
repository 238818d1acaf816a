"""The pricing engine: `price_cart(cart, promotions)` turns a Cart into a Quote, deterministically.

Order of application (each step works on what the lines are due after the step before):
1. Member price: per line the member gets the single best of the catalogue member price
   (`CartLine.member_price`), the tier's own discount (`Cart.tier_discount_rate`) and any
   `member_price` promotion for the member's tier. They never compound: only the best one applies.
2. Line-level promotions, highest priority first (then lower id): % off products, buy X get Y
   (买二送一: free units are the cheapest eligible units), Nth item at a rate (第二件半价: the
   cheapest units of each group of N get the rate), bundle price, birthday offers.
3. Order-level thresholds on the eligible lines' due after step 2: 满减 (tiered or "every"),
   满折, 满赠 — highest priority first; the threshold is reached at `base >= min` (¥200.00 is in).
4. Coupons, in the order presented (cash with min spend, discount with cap, gift, count).

Member price and promotions: a promotion with `applies_over_member_price` works on the member
price; without it, lines that got a member price or tier discount are not eligible for it (the
line keeps its member price, the promotion takes the other lines).
Coupons: a line touched by a promotion whose `stacks_with_coupons` is false is not eligible for any
coupon, nor is a line touched by any promotion for a coupon with `stacks_with_promotions` false.
Member price is not a promotion for this rule. Refusals land in `Quote.coupons_refused`:
coupon_not_applicable (no eligible line), coupon_min_spend (eligible due below the minimum),
coupon_duplicate (same code twice).

Exclusivity: promotions sharing a non-empty `exclusive_group` do not combine. Groups are settled
one after the other (by name); for each, the engine prices the cart with every alternative (and
with the choices already made) and keeps the one whose total due is lowest; ties go to the higher
priority, then the lower id.

Gifts (满赠 and gift coupons for a product not in the cart): the engine adds a `QuotedLine` with
`gift=True`, `list_total=0` and a zero-amount adjustment that explains it: the engine has no
catalogue, so it does not know the gift's list price, and a gift adds nothing to what is due.
A gift coupon for a product that is in the cart takes one unit of it off instead.

Limited quantity: `used_counts` maps a promotion id to (units used in total, units used by this
member); a promotion whose `stock_total` or `per_member_limit` is reached is skipped. The checkout
reserves the use under a row lock (`rules.reserve`), which is what holds under concurrency.

Rounding (all integer fen): a rate applies to a line's (or a unit's, for Nth-item) current due
and the result is rounded half-up to the fen; the discount is the difference. Order-level amounts
are spread over the eligible lines in proportion to their due with cumulative floors, so the last
line takes the remainder, each share is exact and no line goes below zero.
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
    """A promotion as the engine reads it (`rules.as_rule(promotion)` builds one from the model)."""

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
    """Mutable state of one pricing pass: the quoted lines and what touched them."""

    def __init__(self, cart: Cart):
        self.cart = cart
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
        self.due = {line.key: line.list_total for line in self.lines}  # kept in step with `add`: `due` sums
        self.member_priced: set[str] = set()
        self.promoted: set[str] = set()
        self.no_coupon: set[str] = set()
        self.matches: dict[int, frozenset] = {}  # rule id → keys of the lines it targets
        self.order_adjustments: list[Adjustment] = []
        self.applied: list[int] = []
        self.coupons_applied: list[str] = []
        self.refused: dict[str, str] = {}

    def quote(self) -> Quote:
        return Quote(
            lines=self.lines,
            order_adjustments=self.order_adjustments,
            promotions_applied=self.applied,
            coupons_applied=self.coupons_applied,
            coupons_refused=self.refused,
        )

    def paid_lines(self) -> list[QuotedLine]:
        return [line for line in self.lines if not line.gift]

    def add(self, line: QuotedLine, source: str, amount: int, explanation: str):
        amount = min(amount, self.due[line.key])
        if amount > 0:
            self.due[line.key] -= amount
            line.adjustments.append(
                Adjustment(source=source, amount=amount, explanation=explanation, line_key=line.key)
            )
        return amount

    def add_order(self, lines: list[QuotedLine], source: str, amount: int, explanation: str) -> int:
        """An order-level amount, capped at the lines' due, kept whole and spread over `lines`."""
        amount = min(amount, sum(self.due[line.key] for line in lines))
        if amount <= 0:
            return 0
        self.order_adjustments.append(Adjustment(source=source, amount=amount, explanation=explanation))
        for line, share in zip(lines, spread(amount, [self.due[line.key] for line in lines]), strict=True):
            self.add(line, source, share, explanation)
        return amount

    def add_gift(self, source: str, product_id: int, quantity: int, explanation: str):
        line = QuotedLine(
            key=f"gift:{source}", product_id=product_id, quantity=quantity, list_total=0, gift=True
        )
        line.adjustments.append(
            Adjustment(source=source, amount=0, explanation=explanation, line_key=line.key)
        )
        self.lines.append(line)
        self.order_adjustments.append(Adjustment(source=source, amount=0, explanation=explanation))


def _targets(product_ids, category_ids, line: CartLine) -> bool:
    if not product_ids and not category_ids:
        return True
    return line.product_id in product_ids or any(c in category_ids for c in line.category_ids)


def _eligible(work: _Work, rule: Rule) -> list[QuotedLine]:
    """The paid lines `rule` may touch: its targets, minus member-priced lines when it does not apply over them."""
    lines = []
    for line in work.paid_lines():
        if work.due[line.key] <= 0 or line.key not in work.matches[rule.id]:
            continue
        if not rule.applies_over_member_price and line.key in work.member_priced:
            continue
        lines.append(line)
    return lines


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
                    _("Member price ¥%(price)s: −¥%(amount)s")
                    % {"price": yuan(item.member_price), "amount": yuan(off)},
                )
            )
        if cart.tier_discount_rate and (cart.member_id is not None or cart.tier_id is not None):
            off = line.list_total - apply_rate(line.list_total, cart.tier_discount_rate)
            options.append(
                (
                    off,
                    1,
                    "tier",
                    _("Tier discount %(rate)s: −¥%(amount)s")
                    % {"rate": rate_text(cart.tier_discount_rate), "amount": yuan(off)},
                )
            )
        for rule in member_rules:
            tiers = rule.params.get("tier_ids") or []
            if cart.member_id is None and cart.tier_id is None:
                continue
            if tiers and cart.tier_id not in tiers:
                continue
            if not _targets(rule.product_ids, rule.category_ids, item):
                continue
            off = line.list_total - apply_rate(line.list_total, rule.params["rate"])
            options.append(
                (
                    off,
                    2,
                    f"promotion:{rule.id}",
                    _("%(name)s, member %(rate)s: −¥%(amount)s")
                    % {"name": rule.name, "rate": rate_text(rule.params["rate"]), "amount": yuan(off)},
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
                _("%(name)s, %(rate)s of the price: −¥%(amount)s")
                % {"name": rule.name, "rate": rate_text(p["rate"]), "amount": yuan(off)},
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
            if rule.kind == BUY_X_GET_Y:
                text = _("%(name)s, buy %(buy)s get %(free)s free: −¥%(amount)s") % {
                    "name": rule.name,
                    "buy": p["buy"],
                    "free": p["free"],
                    "amount": yuan(off),
                }
            else:
                text = _("%(name)s, one in every %(nth)s items at %(rate)s: −¥%(amount)s") % {
                    "name": rule.name,
                    "nth": p["nth"],
                    "rate": rate_text(p["rate"]),
                    "amount": yuan(off),
                }
            taken += work.add(line, source, off, text)
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
                    _("%(name)s, birthday %(rate)s: −¥%(amount)s")
                    % {"name": rule.name, "rate": rate_text(p["rate"]), "amount": yuan(off)},
                )
        else:
            amount = min(int(p["amount_off"]), sum(work.due[line.key] for line in lines))
            taken = work.add_order(
                lines,
                source,
                amount,
                _("%(name)s, birthday: −¥%(amount)s") % {"name": rule.name, "amount": yuan(amount)},
            )
    if taken:
        work.promoted.update(line.key for line in lines if any(a.source == source for a in line.adjustments))
    return taken


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
    text = _("%(name)s, bundle at ¥%(price)s: −¥%(amount)s") % {
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
        text = _("Spend ¥%(min)s, ¥%(off)s off (%(name)s): −¥%(amount)s") % {
            "min": yuan(minimum),
            "off": yuan(off if p.get("repeat") else amount),
            "name": rule.name,
            "amount": yuan(min(amount, base)),
        }
        taken = work.add_order(lines, source, amount, text)
    elif rule.kind == THRESHOLD_DISCOUNT:
        if base < int(p["min"]):
            return 0
        amount = base - apply_rate(base, p["rate"])
        text = _("Spend ¥%(min)s, %(rate)s of the price (%(name)s): −¥%(amount)s") % {
            "min": yuan(int(p["min"])),
            "rate": rate_text(p["rate"]),
            "name": rule.name,
            "amount": yuan(amount),
        }
        taken = work.add_order(lines, source, amount, text)
    else:
        if base < int(p["min"]):
            return 0
        text = _("Spend ¥%(min)s, gift (%(name)s)") % {"min": yuan(int(p["min"])), "name": rule.name}
        work.add_gift(source, int(p["gift_product_id"]), int(p.get("gift_quantity", 1)), text)
        taken = 1
    if taken:
        work.promoted.update(line.key for line in lines)
    return taken


# ---- step 4 ------------------------------------------------------------------------------------------------


def _coupon_lines(work: _Work, coupon: CouponOffer) -> list[QuotedLine]:
    lines = []
    for line in work.paid_lines():
        if line.key in work.no_coupon or work.due[line.key] <= 0:
            continue
        if not coupon.stacks_with_promotions and line.key in work.promoted:
            continue
        if not _targets(coupon.product_ids, coupon.category_ids, work.source[line.key]):
            continue
        lines.append(line)
    return lines


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
                source, coupon.gift_product_id, 1, _("Gift coupon %(code)s") % {"code": coupon.code}
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
            _("Cash coupon %(code)s: −¥%(amount)s") % {"code": coupon.code, "amount": yuan(amount)},
        )
    elif coupon.kind == "discount":
        amount = base - apply_rate(base, Decimal(coupon.value) / 1000)
        if coupon.cap is not None:
            amount = min(amount, coupon.cap)
        work.add_order(
            lines,
            source,
            amount,
            _("Discount coupon %(code)s: −¥%(amount)s") % {"code": coupon.code, "amount": yuan(amount)},
        )
    else:  # gift (product in the cart) or count: one unit free, the dearest eligible one
        price, _position, line = max(_units(work, lines), key=lambda u: (u[0], -u[1]))
        work.add(
            line,
            source,
            price,
            _("Coupon %(code)s, one item free: −¥%(amount)s") % {"code": coupon.code, "amount": yuan(price)},
        )
    work.coupons_applied.append(coupon.code)


# ---- the engine --------------------------------------------------------------------------------------------


def _order_key(rule: Rule):
    return (-rule.priority, rule.id)


def _available(rule: Rule, cart: Cart, used_counts) -> bool:
    used_total, used_member = (used_counts or {}).get(rule.id, (0, 0))
    if rule.stock_total is not None and used_total >= rule.stock_total:
        return False
    member_capped = rule.per_member_limit is not None and cart.member_id is not None
    return not (member_capped and used_member >= rule.per_member_limit)


def _run(cart: Cart, rules: list[Rule], matches: dict[int, frozenset]) -> Quote:
    work = _Work(cart)
    work.matches = matches
    rules = sorted(rules, key=_order_key)
    _member_step(work, [rule for rule in rules if rule.kind == MEMBER_PRICE])
    for step_kinds, apply in ((LINE_KINDS, _line_rule), (ORDER_KINDS, _order_rule)):
        for rule in rules:
            if rule.kind in step_kinds and apply(work, rule):
                work.applied.append(rule.id)
    for rule in rules:
        if rule.id in work.applied and not rule.stacks_with_coupons:
            source = f"promotion:{rule.id}"
            work.no_coupon.update(
                line.key for line in work.lines if any(a.source == source for a in line.adjustments)
            )
    for coupon in cart.coupons:
        _coupon(work, coupon)
    return work.quote()


def to_rule(promotion) -> Rule:
    """A Rule from a Rule or any object with the same attributes (a Promotion row)."""
    if isinstance(promotion, Rule):
        return promotion
    return Rule(
        id=promotion.id,
        kind=promotion.kind,
        name=promotion.name,
        params=dict(promotion.params or {}),
        product_ids=tuple(promotion.product_ids or ()),
        category_ids=tuple(promotion.category_ids or ()),
        priority=promotion.priority,
        exclusive_group=promotion.exclusive_group or "",
        stacks_with_coupons=promotion.stacks_with_coupons,
        applies_over_member_price=promotion.applies_over_member_price,
        stock_total=promotion.stock_total,
        per_member_limit=promotion.per_member_limit,
    )


def _relevant(rule: Rule, cart: Cart) -> bool:
    """False when `rule` cannot touch this cart at all (no target line, no member, not the birthday...)."""
    if rule.kind == MEMBER_PRICE and cart.member_id is None and cart.tier_id is None:
        return False
    if rule.kind == BIRTHDAY and not birthday_matches(
        cart.birthday, cart.at.date(), rule.params.get("window")
    ):
        return False
    if rule.kind == BUNDLE:
        present = {line.product_id for line in cart.lines}
        return all(product_id in present for product_id in rule.params.get("product_ids", ()))
    return True


def _matches(rule: Rule, cart: Cart) -> frozenset:
    """Keys of the cart lines that `rule` targets (computed once per cart: each pass only looks it up)."""
    products, categories = frozenset(rule.product_ids), frozenset(rule.category_ids)
    return frozenset(line.key for line in cart.lines if _targets(products, categories, line))


def price_cart(cart: Cart, promotions, *, used_counts=None) -> Quote:
    """Price `cart` with the promotions in force (Rules or Promotion rows) and the coupons it carries."""
    matches, rules = {}, []
    for rule in map(to_rule, promotions):
        if not _available(rule, cart, used_counts) or not _relevant(rule, cart):
            continue
        matches[rule.id] = _matches(rule, cart)
        if matches[rule.id]:
            rules.append(rule)
    free = [rule for rule in rules if not rule.exclusive_group]
    groups: dict[str, list[Rule]] = {}
    for rule in rules:
        if rule.exclusive_group:
            groups.setdefault(rule.exclusive_group, []).append(rule)
    chosen: list[Rule] = []
    for name in sorted(groups):
        if len(groups[name]) == 1:
            chosen.append(groups[name][0])
            continue
        best = None
        for rule in sorted(groups[name], key=_order_key):
            due = _run(cart, free + chosen + [rule], matches).total_due
            if best is None or due < best[0]:
                best = (due, rule)
        chosen.append(best[1])
    return _run(cart, free + chosen, matches)
