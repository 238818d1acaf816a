"""Promotion and coupon ROI (issue 11, item 7): each promotion's and coupon template's cost against the sales it
added, estimated against a matched control group of members who did not get it.

The promotions app keeps no holdout group (no member is held back from a promotion or a coupon issue), so the
comparison is always a matched control, built as follows. All amounts are integer fen; times are local.

- scope: members = the active members the viewer may see (a store manager: their store's members); sales =
  the sales at the stores the viewer may see, by those members, net of returns (`total_due − returned_due`),
  every way of paying. Sales to non-members are left out of both the cost and the sales.
- period (the run): a promotion from `valid_from` to `valid_to`, or to now if it still runs; a coupon
  template from the first issue of a coupon of it to a member in scope to the latest `valid_until` of those
  coupons, or to now. Only runs that have started are evaluated.
- pre-period: the PRE_DAYS (8 weeks) just before the run starts.
- eligible members: members in scope who joined before the run started (so they have a pre-period).
- treated: eligible members who got it: for a promotion, those with a sale in the run that applied it
  (`Sale.promotions`); for a coupon template, those issued a coupon of it before the run ended.
- control: the other eligible members.
- matching (coarsened exact matching): every eligible member falls in a cell of pre-period spend band ×
  pre-period purchases band (SPEND_BANDS, PURCHASE_BANDS). Treated members in a cell without any control
  member are left out ("not matched"). The control's figures are each cell's control average, weighted by
  the number of treated members in the cell, so the control looks like the treated group before the run.
- spend per member: during = spend in the run; before = spend in the pre-period × run days ÷ PRE_DAYS (scaled
  to the run's length, so before and during compare like with like).
- incremental sales (difference in differences) = ((treated during − treated before) − (control during −
  control before)) × matched treated members, rounded half up to the fen.
- cost = discounts (the line adjustments whose source names it: "promotion:<id>", or "coupon:<code>" of
  its coupons; order-level amounts are already spread over the lines) + gifts (the list value at the sale
  of the gift lines it added, from the sale's pricing snapshot; for older sales, the list price now) on the matched treated members' sales in scope in the run (the members the
  incremental sales are measured on); gross of returns.
- ROI = (incremental sales − cost) ÷ cost; none when the cost is 0.

Caveat shown on the page: a promotion's treated members bought in the run by definition, so its estimate
leans high; a coupon template's treated members are those issued one (intent to treat), which does not.
"""

import datetime
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from django.db.models import Count, F, Sum
from django.utils import timezone

from onecard.catalog.models import Product
from onecard.core.scoping import scope
from onecard.members.queries import visible_members
from onecard.promotions.coupon_queries import visible_templates
from onecard.promotions.models import Coupon
from onecard.promotions.promotion_views import visible_promotions
from onecard.sales.models import Sale, SaleLine

PRE_DAYS = 56
# Lower bounds of the bands, fen: a net pre-period spend of 0 or less is band 0.
SPEND_BANDS = (1, 10_000, 50_000, 200_000)
PURCHASE_BANDS = (1, 2, 4, 8)


def band(value, bounds) -> int:
    """0 below the first bound, 1 from the first to below the second, ... len(bounds) from the last."""
    return sum(1 for bound in bounds if value >= bound)


def half_up(value: Fraction) -> int:
    """A fraction of fen rounded half up (away from zero) to the fen."""
    return int(Decimal(value.numerator / Decimal(value.denominator)).quantize(Decimal(1), ROUND_HALF_UP))


@dataclass
class RoiLine:
    """One promotion's or coupon template's run, groups, spend per member, incremental sales, cost and ROI."""

    subject: object
    kind: str  # "promotion" or "coupon"
    start: datetime.datetime
    end: datetime.datetime
    treated: int = 0
    matched: int = 0
    control: int = 0
    treated_before: int = 0
    treated_during: int = 0
    control_before: int = 0
    control_during: int = 0
    incremental: int = 0
    discounts: int = 0
    gifts: int = 0

    @property
    def not_matched(self) -> int:
        return self.treated - self.matched

    @property
    def cost(self) -> int:
        return self.discounts + self.gifts

    @property
    def roi(self) -> Decimal | None:
        """(incremental − cost) ÷ cost to two places, half up; None without a cost."""
        if not self.cost:
            return None
        return (Decimal(self.incremental - self.cost) / Decimal(self.cost)).quantize(
            Decimal("0.01"), ROUND_HALF_UP
        )

    @property
    def days(self) -> Fraction:
        return Fraction(int((self.end - self.start).total_seconds()), 86_400)


# ---- the groups' spend ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Universe:
    """Whose sales count for one viewer: the members and the sales of their scope."""

    members: object  # queryset of members
    sales: object  # queryset of sales

    @classmethod
    def for_user(cls, user, merchant):
        """The members and sales the viewer may see (sales at stores in their scope, by members in it)."""
        members = visible_members(user).filter(merchant=merchant)
        sales = scope(Sale.objects.filter(merchant=merchant, member_id__isnull=False), user, "store")
        return cls(members, sales.filter(member_id__in=members.values("id")))


def _spend(universe, eligible, start, end) -> dict:
    """{member id: (spend, purchases)} of the eligible members who bought between `start` and `end`."""
    rows = (
        universe.sales.filter(created_at__gte=start, created_at__lt=end, member_id__in=eligible.values("id"))
        .values("member_id")
        .annotate(spend=Sum(F("total_due") - F("returned_due")), n=Count("id"))
        .order_by()
        .values_list("member_id", "spend", "n")
    )
    return {member: (int(spend or 0), n) for member, spend, n in rows}


def _cell(pre, member):
    spend, n = pre.get(member, (0, 0))
    return band(spend, SPEND_BANDS), band(n, PURCHASE_BANDS)


def _cells(eligible_count, treated, pre, during):
    """{cell: [treated n, treated pre, treated during, control n, control pre, control during]} of every member."""
    cells = {}

    def add(member, offset):
        cell = cells.setdefault(_cell(pre, member), [0, 0, 0, 0, 0, 0])
        cell[offset] += 1
        cell[offset + 1] += pre.get(member, (0, 0))[0]
        cell[offset + 2] += during.get(member, (0, 0))[0]

    for member in treated:
        add(member, 0)
    seen = 0
    for member in set(pre) | set(during):
        if member not in treated:
            add(member, 3)
            seen += 1
    # Control members who bought neither before nor during: the empty cell, spending nothing.
    cells.setdefault((0, 0), [0, 0, 0, 0, 0, 0])[3] += eligible_count - len(treated) - seen
    return cells


def _estimate(line, cells):
    """Fills the groups' counts and per-member spend, and the incremental sales, from the matched cells."""
    matched = [c for c in cells.values() if c[0] and c[3]]
    line.matched = sum(c[0] for c in matched)
    line.control = sum(c[3] for c in matched)
    if not line.matched:
        return
    scale = line.days / PRE_DAYS
    t_pre = Fraction(sum(c[1] for c in matched), line.matched) * scale
    t_during = Fraction(sum(c[2] for c in matched), line.matched)
    c_pre = sum((Fraction(c[0] * c[4], c[3]) for c in matched), Fraction(0)) / line.matched * scale
    c_during = sum((Fraction(c[0] * c[5], c[3]) for c in matched), Fraction(0)) / line.matched
    line.treated_before, line.treated_during = half_up(t_pre), half_up(t_during)
    line.control_before, line.control_during = half_up(c_pre), half_up(c_during)
    line.incremental = half_up(((t_during - t_pre) - (c_during - c_pre)) * line.matched)


CHUNK = 5_000  # ids per IN list: SQLite limits the parameters of one statement


def _eligible_among(eligible, member_ids) -> set:
    """The ids of `member_ids` that are eligible members (in chunks, however many there are)."""
    ids = sorted(member_ids)
    found = set()
    for i in range(0, len(ids), CHUNK):
        found.update(eligible.filter(id__in=ids[i : i + CHUNK]).values_list("id", flat=True))
    return found


def evaluate(line, universe, treated_ids) -> set:
    """Fills `line`'s groups and incremental sales for `treated_ids` (filtered here); the matched treated ids."""
    pre_start = line.start - datetime.timedelta(days=PRE_DAYS)
    eligible = universe.members.filter(created_at__lt=line.start)
    line.treated = len(treated_ids)
    treated = _eligible_among(eligible, treated_ids)
    pre = _spend(universe, eligible, pre_start, line.start)
    during = _spend(universe, eligible, line.start, line.end)
    cells = _cells(eligible.count(), treated, pre, during)
    _estimate(line, cells)
    return {member for member in treated if cells[_cell(pre, member)][3]}


# ---- cost --------------------------------------------------------------------------------------------------------


def _cost(line, sales, sources: set):
    """Adds to `line` the discounts and gift values that the adjustments of `sources` gave on `sales`."""
    gifts = [f"gift:{source}" for source in sources]
    for i in range(0, len(sales), CHUNK):
        lines = SaleLine.objects.filter(sale_id__in=sales[i : i + CHUNK])
        for adjustments in lines.filter(gift=False).values_list("adjustments", flat=True).iterator():
            line.discounts += sum(
                int(a.get("amount") or 0) for a in adjustments if a.get("source") in sources
            )
        # A gift line costs 0 on the sale; its value is the gift's list price the sale kept (pricing snapshot).
        gift_lines = lines.filter(gift=True, key__in=gifts).values_list(
            "product_id", "quantity", "sale__pricing"
        )
        missing = []
        for product_id, quantity, pricing in gift_lines:
            price = ((pricing or {}).get("gift_prices") or {}).get(str(product_id))
            if price is None:
                missing.append((product_id, quantity))
            else:
                line.gifts += int(price) * quantity
        if missing:  # sales made before the snapshot was kept: the product's list price now
            prices = dict(
                Product.objects.filter(pk__in={p for p, _q in missing}).values_list("pk", "list_price")
            )
            line.gifts += sum(prices.get(product_id, 0) * quantity for product_id, quantity in missing)


# ---- promotions and coupon templates -------------------------------------------------------------------------


def _run_sales(universe, line):
    return universe.sales.filter(created_at__gte=line.start, created_at__lt=line.end)


def promotion_line(universe, promotion, now) -> RoiLine | None:
    """The ROI line of one promotion over its run (None when it has not started)."""
    if promotion.valid_from >= now:
        return None
    line = RoiLine(promotion, "promotion", promotion.valid_from, min(promotion.valid_to, now))
    using = [
        (sale_id, member_id)
        for sale_id, member_id, ids in _run_sales(universe, line)
        .exclude(promotions=[])
        .values_list("id", "member_id", "promotions")
        .iterator()
        if promotion.pk in ids
    ]
    matched = evaluate(line, universe, {member for _sale, member in using})
    _cost(line, [sale for sale, member in using if member in matched], {f"promotion:{promotion.pk}"})
    return line


def coupon_line(universe, template, now) -> RoiLine | None:
    """The ROI line of one coupon template over its run (None when no coupon of it went to a member in scope)."""
    coupons = Coupon.objects.filter(template=template, member_id__in=universe.members.values("id"))
    first = coupons.order_by("issued_at").values_list("issued_at", flat=True).first()
    if first is None or first >= now:
        return None
    last = coupons.order_by("-valid_until").values_list("valid_until", flat=True).first()
    line = RoiLine(template, "coupon", first, min(last, now))
    treated = set(coupons.filter(issued_at__lt=line.end).values_list("member_id", flat=True))
    matched = evaluate(line, universe, treated)
    sources = {
        f"coupon:{code}" for code in Coupon.objects.filter(template=template).values_list("code", flat=True)
    }
    sales = [
        sale_id
        for sale_id, member_id, codes in _run_sales(universe, line)
        .exclude(coupons=[])
        .values_list("id", "member_id", "coupons")
        .iterator()
        if member_id in matched and any(f"coupon:{code}" in sources for code in codes)
    ]
    _cost(line, sales, sources)
    return line


def roi_report(user, merchant, period, *, now=None) -> dict:
    """{"promotions": [...], "coupons": [...]}: a line per promotion and template whose run overlaps `period`."""
    now = now or timezone.now()
    universe = Universe.for_user(user, merchant)
    promotions = (
        visible_promotions(user, merchant)
        .filter(valid_from__lt=period.end, valid_to__gt=period.start)
        .order_by("valid_from", "pk")
    )
    templates = visible_templates(user).filter(merchant=merchant).order_by("name", "pk")
    promotion_lines = [line for p in promotions if (line := promotion_line(universe, p, now)) is not None]
    coupon_lines = [
        line
        for t in templates
        if (line := coupon_line(universe, t, now)) is not None
        and line.start < period.end
        and line.end > period.start
    ]
    return {"promotions": promotion_lines, "coupons": coupon_lines}
