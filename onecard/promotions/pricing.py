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

How a quote stays quick (a till prices every scan; `onecard bench checkout` measures it): which
lines each rule and coupon targets is worked out once per cart; the passes that only compare the
alternatives of a group build no explanation text; and a group's alternatives are priced from one
shared pass, forked where each alternative comes in the order of application (one that takes
nothing there leaves the pass as it was). `tests/test_pricing_alternatives.py` holds these to the
plain reading above on random carts. The steps of a pass are in `pricing_steps`, what they work on in `pricing_pass`.
"""

from .cart import Cart, Quote
from .pricing_pass import (  # noqa: F401 (the engine's vocabulary, imported from here by callers and tests)
    BIRTHDAY,
    BUNDLE,
    BUY_X_GET_Y,
    DISCOUNT,
    LINE_KINDS,
    MEMBER_PRICE,
    NTH_DISCOUNT,
    ORDER_KINDS,
    THRESHOLD_CASH,
    THRESHOLD_DISCOUNT,
    THRESHOLD_GIFT,
    Rule,
    _line_index,
    _matches,
    _Work,
    apply_rate,
    birthday_matches,
    rate_text,
    spread,
    yuan,
)
from .pricing_steps import _coupon, _line_rule, _member_step, _order_rule

# ---- the engine --------------------------------------------------------------------------------------------


def _order_key(rule: Rule):
    return (-rule.priority, rule.id)


def _available(rule: Rule, cart: Cart, used_counts) -> bool:
    used_total, used_member = (used_counts or {}).get(rule.id, (0, 0))
    if rule.stock_total is not None and used_total >= rule.stock_total:
        return False
    member_capped = rule.per_member_limit is not None and cart.member_id is not None
    return not (member_capped and used_member >= rule.per_member_limit)


def _steps(rules: list[Rule]) -> tuple[list[Rule], list[Rule]]:
    """(member price rules, then the line rules and the threshold rules in the order they apply)."""
    rules = sorted(rules, key=_order_key)
    member = [rule for rule in rules if rule.kind == MEMBER_PRICE]
    ordered = [rule for rule in rules if rule.kind in LINE_KINDS] + [
        rule for rule in rules if rule.kind in ORDER_KINDS
    ]
    return member, ordered


def _apply(work: _Work, rule: Rule) -> int:
    """Apply one line or threshold rule; what it took (0: the pass is exactly as it was before)."""
    taken = (_line_rule if rule.kind in LINE_KINDS else _order_rule)(work, rule)
    if taken:
        work.applied.append(rule.id)
    return taken


def _finish(work: _Work, rules: list[Rule]) -> _Work:
    """Lines of promotions that do not stack with coupons are closed to them; then the coupons apply."""
    applied = set(work.applied)
    for rule in rules:
        if rule.id in applied and not rule.stacks_with_coupons:
            source = f"promotion:{rule.id}"
            work.no_coupon.update(key for key, sources in work.touched.items() if source in sources)
    for coupon in work.cart.coupons:
        _coupon(work, coupon)
    return work


def _run(cart: Cart, rules: list[Rule], matches: dict[int, frozenset], *, explain: bool = True) -> _Work:
    """One whole pricing pass with `rules` (the module doc's order of application)."""
    work = _Work(cart, matches, explain=explain)
    member, ordered = _steps(rules)
    _member_step(work, member)
    for rule in ordered:
        _apply(work, rule)
    return _finish(work, rules)


def _alternative_dues(cart: Cart, base: list[Rule], alternatives: list[Rule], matches) -> list[int]:
    """The total due of `base` plus each alternative in turn, as whole passes with that rule set would give.

    The pass of `base` runs once; before each place where an alternative would come in the order of
    application, its state is forked, so an alternative only runs its own rule and the ones after it.
    A member price alternative changes the first step: it gets a pass of its own.
    """
    member, ordered = _steps(base)
    keys = [_order_key(rule) for rule in ordered]
    line_count = sum(1 for rule in ordered if rule.kind in LINE_KINDS)
    places = {}
    for index, rule in enumerate(alternatives):
        if rule.kind in LINE_KINDS:
            low, high = 0, line_count
        elif rule.kind in ORDER_KINDS:
            low, high = line_count, len(ordered)
        else:
            continue
        key = _order_key(rule)
        places[index] = low + sum(1 for k in keys[low:high] if k < key)
    dues: list[int | None] = [None] * len(alternatives)
    for index, rule in enumerate(alternatives):
        if index not in places:
            dues[index] = _run(cart, base + [rule], matches, explain=False).total_due()
    work = _Work(cart, matches, explain=False)
    _member_step(work, member)
    waiting = sorted(places.items(), key=lambda item: item[1])
    idle = []  # alternatives that took nothing where they came in: the pass is the base's own
    for position in range(len(ordered) + 1):
        while waiting and waiting[0][1] == position:
            index, _place = waiting.pop(0)
            fork = work.fork()
            if not _apply(fork, alternatives[index]):
                idle.append(index)
                continue
            for rule in ordered[position:]:
                _apply(fork, rule)
            dues[index] = _finish(fork, base + [alternatives[index]]).total_due()
        if position < len(ordered):
            _apply(work, ordered[position])
    if idle:
        due = _finish(work, base).total_due()
        for index in idle:
            dues[index] = due
    return dues


def to_rule(promotion) -> Rule:
    """A Rule from a Rule or any object with the same attributes (a Promotion row)."""
    if isinstance(promotion, Rule):
        return promotion
    prepared = getattr(promotion, "pricing_rule", None)  # rules.active_promotions keeps one on cached rows
    if isinstance(prepared, Rule):
        return prepared
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


def touching(cart: Cart, promotions) -> list:
    """The promotions (rows or Rules) that can change `cart`: relevant to it and targeting one of its lines."""
    index = _line_index(cart)
    return [p for p in promotions if _relevant(to_rule(p), cart) and _matches(to_rule(p), index)]


def price_cart(cart: Cart, promotions, *, used_counts=None) -> Quote:
    """Price `cart` with the promotions in force (Rules or Promotion rows) and the coupons it carries."""
    matches, rules = {}, []
    index = _line_index(cart)
    for rule in map(to_rule, promotions):
        if not _available(rule, cart, used_counts) or not _relevant(rule, cart):
            continue
        matches[rule.id] = _matches(rule, index)
        if matches[rule.id]:
            rules.append(rule)
    for coupon in cart.coupons:
        matches[coupon] = _matches(coupon, index)
    free = [rule for rule in rules if not rule.exclusive_group]
    groups: dict[str, list[Rule]] = {}
    for rule in rules:
        if rule.exclusive_group:
            groups.setdefault(rule.exclusive_group, []).append(rule)
    chosen: list[Rule] = []
    for name in sorted(groups):
        alternatives = sorted(groups[name], key=_order_key)
        if len(alternatives) == 1:
            chosen.append(alternatives[0])
            continue
        dues = _alternative_dues(cart, free + chosen, alternatives, matches)
        chosen.append(alternatives[min(range(len(alternatives)), key=lambda i: (dues[i], i))])
    return _run(cart, free + chosen, matches).quote()
