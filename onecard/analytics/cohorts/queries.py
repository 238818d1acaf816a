"""Cohorts and retention (issue 11, item 5): by join month and home store; new, returning and lost buyers per month.

Definitions (every month is a calendar month in local time, Asia/Shanghai; "bought in month M" means the
member's `MemberMonth` row of M has at least one purchase):

- members: the active members the viewer may see (their node and below), of one merchant; with a store
  chosen, only the members whose home store it is. The store is the member's home store, not where they
  bought: a member of A1 who buys at B1 still counts for A1.
- cohort of month C: the members who joined (`Member.created_at`) in C. Retention cell (C, k), k = 0..11:
  how many of the cohort bought in month C + k, and that count ÷ the cohort's size. A cell after the last
  month shown is empty (None): that month has not happened yet.
- per month M (the last 12 months shown):
  - buyers: members who bought in M;
  - new: buyers of M who never bought before M (M is their first purchase month);
  - returning: buyers of M who also bought in some earlier month (buyers = new + returning);
  - lost: members whose last purchase month became N months old in M: they bought in month M − N and in no
    month from M − N + 1 to M. N = the merchant's "dormant within (days); lost after" setting
    (`AnalyticsSettings.dormant_days`, 365 by default) ÷ 30, rounded, at least 1: 12 months by default.
    A member is counted lost once per lapse, in the month the lapse completes; one who buys again later
    is a returning buyer then, and may lapse again.

The page's figures (`cohort_report`) are sums of the cells counted after the last scoring
(analytics.page_counts: CohortCell, FlowCell), so they are as of that refresh; `retention_rows` and
`monthly_flows` count the same figures live, from a fixed number of grouped queries over `MemberMonth`.
The members behind each figure (`cell_members`, `flow_members`) are read live.
"""

import datetime
from dataclasses import dataclass, field

from django.db.models import Count, DateField, Exists, OuterRef, Subquery, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone

from onecard.analytics import page_counts
from onecard.analytics.models import CohortCell, FlowCell, MemberMonth
from onecard.analytics.page_counts import lost_after_months
from onecard.members.queries import visible_members

MONTHS = page_counts.COHORT_MONTHS  # cohorts shown, months after joining (k = 0..11), months of the chart


# ---- months --------------------------------------------------------------------------------------------------


def month_start(day: datetime.date) -> datetime.date:
    """The first day of the month of `day`."""
    return day.replace(day=1)


def add_months(month: datetime.date, n: int) -> datetime.date:
    """The first day of the month `n` months after (n < 0: before) the month of `month`."""
    index = month.year * 12 + month.month - 1 + n
    return datetime.date(index // 12, index % 12 + 1, 1)


def parse_month(text) -> datetime.date | None:
    """'2026-11' → 1 Nov 2026; None for anything else."""
    try:
        return datetime.datetime.strptime(str(text or "").strip(), "%Y-%m").date()
    except ValueError:
        return None


def _local_midnight(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time()))


# ---- results -------------------------------------------------------------------------------------------------


@dataclass
class Cell:
    """Members of a cohort who bought in month `month`, and their share of the cohort (0..1)."""

    month: datetime.date
    count: int
    share: float

    @property
    def percent(self) -> int:
        """The share in whole percent, half up (what the page shows)."""
        return int(self.share * 100 + 0.5)


@dataclass
class CohortRow:
    """One join month: how many joined, and one cell per month after joining (None: not yet happened)."""

    month: datetime.date
    size: int
    cells: list = field(default_factory=list)


@dataclass
class FlowMonth:
    """One month's buyers split into new and returning, and the members lost in it."""

    month: datetime.date
    new: int = 0
    returning: int = 0
    lost: int = 0

    @property
    def buyers(self) -> int:
        return self.new + self.returning

    @property
    def links(self) -> list:
        """(kind, count) of the three flows, in the order the page shows them."""
        return [("new", self.new), ("returning", self.returning), ("lost", self.lost)]


@dataclass
class CohortReport:
    """The retention matrix and the monthly flows of one scope (and store), up to `last_month`."""

    last_month: datetime.date
    lost_after: int
    rows: list
    flows: list
    counted_at: datetime.datetime | None = None  # when the cells summed were counted


# ---- queries -------------------------------------------------------------------------------------------------


def scoped_members(user, merchant, store=None):
    """The active members of `merchant` the user may see; with `store`, only those whose home store it is."""
    qs = visible_members(user).filter(merchant=merchant)
    return qs if store is None else qs.filter(home_store=store)


def _bought(members):
    """MemberMonth rows with a purchase, of `members` (a queryset of members)."""
    return MemberMonth.objects.filter(member_id__in=members.values("id"), purchases__gt=0)


def _joined_between(members, first: datetime.date, last: datetime.date):
    return members.filter(
        created_at__gte=_local_midnight(first), created_at__lt=_local_midnight(add_months(last, 1))
    )


def retention_rows(members, last_month: datetime.date) -> list:
    """The cohorts of the MONTHS join months up to `last_month`, oldest first, each with its cells (live)."""
    first = add_months(last_month, -(MONTHS - 1))
    joined = _joined_between(members, first, last_month)
    sizes = dict(
        joined.annotate(cohort=TruncMonth("created_at", output_field=DateField()))
        .values_list("cohort")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts = {
        (cohort, month): n
        for cohort, month, n in _bought(joined)
        .filter(month__gte=first, month__lte=last_month)
        .annotate(cohort=TruncMonth("member__created_at", output_field=DateField()))
        .values_list("cohort", "month")
        .annotate(n=Count("id"))
        .order_by()
    }
    return _retention(first, last_month, sizes, counts)


def counted_retention_rows(cells, last_month: datetime.date) -> list:
    """retention_rows summed from the cohort cells `cells` (CohortCell rows of the stores in scope)."""
    first = add_months(last_month, -(MONTHS - 1))
    sums = (
        cells.filter(cohort_month__gte=first, cohort_month__lte=last_month)
        .order_by()
        .values_list("cohort_month", "month")
        .annotate(n=Sum("members"))
    )
    sizes, counts = {}, {}
    for cohort, month, n in sums:
        if month is None:
            sizes[cohort] = n
        else:
            counts[(cohort, month)] = n
    return _retention(first, last_month, sizes, counts)


def _retention(first, last_month, sizes, counts) -> list:
    rows = []
    for i in range(MONTHS):
        cohort = add_months(first, i)
        size = sizes.get(cohort, 0)
        row = CohortRow(cohort, size)
        for k in range(MONTHS):
            month = add_months(cohort, k)
            if month > last_month:
                row.cells.append(None)
                continue
            n = counts.get((cohort, month), 0)
            row.cells.append(Cell(month, n, n / size if size else 0.0))
        rows.append(row)
    return rows


def _with_neighbours(rows):
    """Each purchase month annotated with whether the member bought earlier and their next purchase month."""
    same_member = MemberMonth.objects.filter(member_id=OuterRef("member_id"), purchases__gt=0)
    return rows.annotate(
        earlier=Exists(same_member.filter(month__lt=OuterRef("month"))),
        next_month=Subquery(
            same_member.filter(month__gt=OuterRef("month")).order_by("month").values("month")[:1]
        ),
    )


def monthly_flows(members, last_month: datetime.date, lost_after: int) -> list:
    """New, returning and lost members in each of the MONTHS months up to `last_month`, oldest first (live)."""
    first = add_months(last_month, -(MONTHS - 1))
    flows = {add_months(first, i): FlowMonth(add_months(first, i)) for i in range(MONTHS)}
    rows = _with_neighbours(
        _bought(members).filter(month__gte=add_months(first, -lost_after), month__lte=last_month)
    )
    groups = rows.values_list("month", "earlier", "next_month").annotate(n=Count("id")).order_by()
    for month, earlier, next_month, n in groups:
        if month in flows:
            if earlier:
                flows[month].returning += n
            else:
                flows[month].new += n
        lapses = add_months(month, lost_after)  # the month the lapse completes
        if lapses in flows and (next_month is None or next_month > lapses):
            flows[lapses].lost += n
    return list(flows.values())


def counted_flows(cells, last_month: datetime.date) -> list:
    """monthly_flows summed from the flow cells `cells` (FlowCell rows of the stores in scope)."""
    first = add_months(last_month, -(MONTHS - 1))
    flows = {add_months(first, i): FlowMonth(add_months(first, i)) for i in range(MONTHS)}
    sums = (
        cells.filter(month__gte=first, month__lte=last_month)
        .order_by()
        .values_list("month")
        .annotate(new=Sum("new"), returning=Sum("returning"), lost=Sum("lost"))
    )
    for month, new, returning, lost in sums:
        flows[month].new, flows[month].returning, flows[month].lost = new, returning, lost
    return list(flows.values())


def cohort_report(user, merchant, *, store=None, last_month=None, today=None) -> CohortReport:
    """The retention matrix and the monthly new/returning/lost of the user's members (of `store`, when given).

    Summed from the cells of the last refresh (analytics.page_counts), which runs first if it never did;
    lost counts use the dormant setting in force at that refresh (its N is the report's `lost_after`).
    """
    today = today or timezone.localdate()
    current = month_start(today)
    last = min(month_start(last_month), current) if last_month else current
    state = page_counts.state_of(merchant)
    cohort_cells = page_counts.cells_in_scope(CohortCell, user, merchant, store)
    flow_cells = page_counts.cells_in_scope(FlowCell, user, merchant, store)
    return CohortReport(
        last,
        state.lost_after_months,
        counted_retention_rows(cohort_cells, last),
        counted_flows(flow_cells, last),
        state.refreshed_at,
    )


# ---- the members behind a figure ----------------------------------------------------------------------------


def cell_members(user, merchant, cohort: datetime.date, k: int | None, *, store=None):
    """The members of the cohort of month `cohort` who bought in month cohort + k (k None: the whole cohort)."""
    cohort = month_start(cohort)
    joined = _joined_between(scoped_members(user, merchant, store), cohort, cohort)
    if k is not None:
        bought = MemberMonth.objects.filter(
            member_id=OuterRef("pk"), month=add_months(cohort, k), purchases__gt=0
        )
        joined = joined.filter(Exists(bought))
    return joined.order_by("created_at", "id")


FLOW_KINDS = ("new", "returning", "lost")


def flow_members(user, merchant, kind: str, month: datetime.date, *, store=None):
    """The members counted as `kind` ("new", "returning" or "lost") in `month`, by the module's definitions."""
    month = month_start(month)
    members = scoped_members(user, merchant, store)
    if kind == "lost":
        lost_after = lost_after_months(merchant)
        then = add_months(month, -lost_after)
        later = MemberMonth.objects.filter(
            member_id=OuterRef("member_id"), purchases__gt=0, month__gt=then, month__lte=month
        )
        ids = _bought(members).filter(month=then).filter(~Exists(later)).values("member_id")
    elif kind in ("new", "returning"):
        earlier = MemberMonth.objects.filter(
            member_id=OuterRef("member_id"), purchases__gt=0, month__lt=month
        )
        condition = Exists(earlier) if kind == "returning" else ~Exists(earlier)
        ids = _bought(members).filter(month=month).filter(condition).values("member_id")
    else:
        return members.none()
    return members.filter(id__in=ids).order_by("created_at", "id")
