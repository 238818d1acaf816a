"""The four steps of one pricing pass: the member price, the line rules, the spend thresholds and the
coupons, each acting on a `_Work` (pricing_pass). `pricing` (its module doc says the order of application,
stacking, exclusivity and rounding) runs the passes. Amounts are integer fen.
"""

from decimal import Decimal

from django.utils.translation import gettext as _

from .cart import CouponOffer, QuotedLine
from .pricing_pass import (
    BIRTHDAY,
    BUNDLE,
    BUY_X_GET_Y,
    DISCOUNT,
    NTH_DISCOUNT,
    THRESHOLD_CASH,
    THRESHOLD_DISCOUNT,
    Rule,
    _eligible,
    _line_index,
    _matches,
    _units,
    _Work,
    apply_rate,
    birthday_matches,
    rate_text,
    spread,
    yuan,
)

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


def _rate_off_each(work: _Work, rule: Rule, lines, text) -> int:
    """Take the rule's rate off what each line still owes; the fen it took.

    `text()` gives the explanation in the user's language (with name, rate and amount); it is called only
    when the quote is explained.
    """
    rate = rule.params["rate"]
    taken = 0
    for line in lines:
        off = work.due[line.key] - apply_rate(work.due[line.key], rate)
        taken += work.add(
            line,
            f"promotion:{rule.id}",
            off,
            lambda off=off: text() % {"name": rule.name, "rate": rate_text(rate), "amount": yuan(off)},
        )
    return taken


def _line_rule(work: _Work, rule: Rule) -> int:
    """Apply one line-level rule; the fen it took."""
    source = f"promotion:{rule.id}"
    p = rule.params
    lines = _eligible(work, rule)
    if not lines:
        return 0
    taken = 0
    if rule.kind == DISCOUNT:
        taken = _rate_off_each(work, rule, lines, lambda: _("%(name)s, %(rate)s of the price: −¥%(amount)s"))
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
            taken = _rate_off_each(work, rule, lines, lambda: _("%(name)s, birthday %(rate)s: −¥%(amount)s"))
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
