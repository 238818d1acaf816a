"""Which promotions a promotion stacks with: shown on its form, with an example basket, before it is saved.

Two promotions stack when a customer can get both on the same items: they are in force at a common
store at a common moment (dates, weekdays, daily hours) and the pricing engine, given a basket of an
item both target, applies both. The example is real, not a guess: a product sold at that store, enough
units to reach both promotions' thresholds, priced by `pricing.price_cart` with the two promotions, so
exclusivity groups, member-price rules and everything else the engine knows are respected. Stacking is
often wanted; the form only makes sure the person saving has seen what a customer will get.
"""

import datetime
import math
from dataclasses import dataclass
from types import SimpleNamespace

from django.db.models import Q
from django.utils import timezone

from onecard.catalog.models import Category, Product
from onecard.catalog.queries import products_sold_at
from onecard.loyalty.models import Tier
from onecard.org.choices import NodeKind
from onecard.org.models import OrgNode

from .cart import Cart, Quote
from .cart_lines import cart_line
from .models import Promotion, PromotionKind
from .pricing import price_cart
from .rules import in_window

UNSAVED_ID = 0  # the pricing engine's id for a promotion not saved yet
SEARCH_DAYS = 14  # two weeks hold every weekday: a common moment, if any, is found within them
MOST_UNITS = 999
THRESHOLD_KINDS = (
    PromotionKind.THRESHOLD_CASH,
    PromotionKind.THRESHOLD_DISCOUNT,
    PromotionKind.THRESHOLD_GIFT,
)


@dataclass
class StackingExample:
    """`other` stacks with the promotion on the form: a basket at `store` at `at`, priced with both."""

    other: Promotion
    store: OrgNode
    at: datetime.datetime
    quote: Quote  # the basket priced with both promotions
    names: dict[int, str]  # product id → name, for every line of the quote (gifts included)
    alone: tuple[int, int]  # the discount with only the form's promotion, with only `other`

    def lines(self):
        """(product name, quoted line) for the template."""
        return [(self.names.get(line.product_id, ""), line) for line in self.quote.lines]


def stacking_examples(merchant, node, values, *, promotion=None, now=None, limit=3) -> list[StackingExample]:
    """Up to `limit` promotions in force that stack with the promotion `values` (rules.checked_values) of `node`.

    `promotion`: the stored promotion being changed (left out of the comparison); None for a new one.
    """
    now = now or timezone.now()
    candidate = SimpleNamespace(id=promotion.pk if promotion else UNSAVED_ID, node=node, **values)
    if candidate.valid_to <= now:
        return []
    stores = _store_ids(merchant, node, candidate.store_ids)
    others = (
        Promotion.objects.filter(
            merchant=merchant,
            active=True,
            valid_from__lt=candidate.valid_to,
            valid_to__gt=max(candidate.valid_from, now),
        )
        .exclude(pk=candidate.id)
        .select_related("node")
        .order_by("-priority", "pk")
    )
    examples = []
    for other in others:
        common = [pk for pk in _store_ids(merchant, other.node, other.store_ids) if pk in stores]
        at = _common_moment(candidate, other, now)
        if not common or at is None:
            continue
        example = _example(merchant, candidate, other, OrgNode.objects.get(pk=common[0]), at)
        if example is not None:
            examples.append(example)
            if len(examples) == limit:
                break
    return examples


def _store_ids(merchant, node, store_ids) -> list[int]:
    """The stores a promotion owned by `node` applies at (narrowed to `store_ids` when given), by path."""
    stores = OrgNode.objects.filter(merchant=merchant, kind=NodeKind.STORE, path__startswith=node.path)
    if store_ids:
        stores = stores.filter(pk__in=store_ids)
    return list(stores.order_by("path").values_list("pk", flat=True))


def _common_moment(a, b, now) -> datetime.datetime | None:
    """The first moment from now at which both promotions are in force (dates, weekdays, hours), or None."""
    start, end = max(a.valid_from, b.valid_from, now), min(a.valid_to, b.valid_to)
    if start >= end:
        return None
    first = timezone.localtime(start)
    # Both daily windows are intervals: where they meet, they meet at one of their starts (or at `first`).
    clocks = sorted({clock for clock in (datetime.time(0), a.time_from, b.time_from) if clock is not None})
    for offset in range(SEARCH_DAYS):
        day = first.date() + datetime.timedelta(days=offset)
        for clock in clocks:
            moment = max(timezone.make_aware(datetime.datetime.combine(day, clock)), first)
            if moment >= end:
                return None
            if in_window(a, moment) and in_window(b, moment):
                return moment
    return None


def _targets(promotion) -> Q:
    """The products a promotion works on, as a filter (a bundle: its own products)."""
    if promotion.kind == PromotionKind.BUNDLE:
        return Q(pk__in=promotion.params.get("product_ids", []))
    if not promotion.product_ids and not promotion.category_ids:
        return Q()
    targets = Q(pk__in=promotion.product_ids)
    for path in Category.objects.filter(pk__in=promotion.category_ids).values_list("path", flat=True):
        targets |= Q(category__path__startswith=path)
    return targets


def _basket_products(store, a, b) -> list:
    """Products for the example: every product of a bundle among them, else one product both target."""
    sold = products_sold_at(store).filter(list_price__gt=0).select_related("category")
    bundles = [p for p in (a, b) if p.kind == PromotionKind.BUNDLE]
    if bundles:
        wanted = {pk for bundle in bundles for pk in bundle.params.get("product_ids", [])}
        products = list(sold.filter(pk__in=wanted).order_by("pk"))
        return products if len(products) == len(wanted) else []
    product = sold.filter(_targets(a)).filter(_targets(b)).order_by("pk").first()
    return [product] if product else []


def _units_needed(promotion) -> int:
    params = promotion.params
    if promotion.kind == PromotionKind.BUY_X_GET_Y:
        return params["buy"] + params["free"]
    if promotion.kind == PromotionKind.NTH_DISCOUNT:
        return params["nth"]
    return 1


def _threshold(promotion) -> int:
    """The least spend (fen) a threshold promotion asks; 0 for the others."""
    if promotion.kind == PromotionKind.THRESHOLD_CASH:
        return min(step["min"] for step in promotion.params["steps"])
    if promotion.kind in THRESHOLD_KINDS:
        return promotion.params["min"]
    return 0


def _tier(merchant, promotions):
    """A tier the member-price promotions among `promotions` are for (None when there is none)."""
    wanted = [p for p in promotions if p.kind == PromotionKind.MEMBER_PRICE]
    if not wanted:
        return None
    tiers = Tier.objects.filter(merchant=merchant).order_by("rank", "pk")
    for promotion in wanted:
        if promotion.params.get("tier_ids"):
            tiers = tiers.filter(pk__in=promotion.params["tier_ids"])
    return tiers.first()


def _example(merchant, candidate, other, store, at) -> StackingExample | None:
    """A basket both promotions apply to, priced, or None when the engine never applies both."""
    products = _basket_products(store, candidate, other)
    if not products:
        return None
    pair = (candidate, other)
    tier = _tier(merchant, pair)
    birthday = at.date() if any(p.kind == PromotionKind.BIRTHDAY for p in pair) else None
    units = max(map(_units_needed, pair))
    spend = max(map(_threshold, pair))
    if spend:
        units = max(units, math.ceil(spend / sum(product.list_price for product in products)))
    # Line discounts come before thresholds, so a basket at the threshold may fall below it: try more.
    for _attempt in range(3):
        units = min(units, MOST_UNITS)
        lines = tuple(cart_line(product, units, tier, index) for index, product in enumerate(products, 1))
        cart = Cart(
            merchant_id=merchant.pk,
            store_id=store.pk,
            at=at,
            lines=lines,
            tier_id=tier.pk if tier else None,
            birthday=birthday,
        )
        quote = price_cart(cart, [candidate, other])
        if {candidate.id, other.id} <= set(quote.promotions_applied):
            alone = tuple(price_cart(cart, [p]).discount_total for p in pair)
            ids = {line.product_id for line in quote.lines}
            names = dict(Product.objects.filter(pk__in=ids).values_list("pk", "name"))
            return StackingExample(other=other, store=store, at=at, quote=quote, names=names, alone=alone)
        if not spend or units == MOST_UNITS:
            return None
        units *= 2
    return None
