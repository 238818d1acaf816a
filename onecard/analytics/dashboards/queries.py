"""The sales dashboards' figures (issue 11, A6): one grouped query per chart, scoped like every other page.

Scope and period: analytics.dashboards.scope. A period's last bucket is the one not over yet
(`Chart.partial`), drawn as such.

All amounts are integer fen. Takings are a sale's amount due less what was returned since, over the sales
of the four money kinds (checkout, charge, hold capture, package use): an imported history is not takings.
Liability over time is the balance at the end of each bucket of the same accounts the prepaid-liability
report sums today (loyalty.stored_value.liability: principal, bonus, held, packages; points apart), by the
card's issuing store: today's balance less the movements posted after the bucket's end.

The closed days come from the daily rollups (analytics.dashboards.rollup: StoreDay and its siblings) up to
the merchant's through_day (`Period.rolled_through`, set by the view after bringing them up to date); only
the days after it (today) are read from the raw rows. A period without rolled_through reads everything
raw, as does the cashier dashboard (a cashier's own sales are few and the rollups are per store).
"""

import datetime
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Count, F, Q, Sum
from django.utils.translation import gettext as _

from onecard.analytics import page_counts
from onecard.analytics.choices import LifeStage, RfmClass
from onecard.analytics.dashboards.scope import (  # the scope and period, named here for the callers
    DEFAULT_PERIOD,
    MONEY_KINDS,
    PERIODS,
    DashboardScope,
    Period,
)
from onecard.analytics.models import (
    ClassCell,
    LiabilityKind,
    StoreDay,
    StoreDayLiability,
    StoreDayProduct,
    StoreDayTender,
    StoreLiabilityBalance,
    StoreMonthProduct,
    TierCell,
)
from onecard.catalog.models import Product
from onecard.loyalty.ledger.choices import AccountKind
from onecard.loyalty.models import Account, CardTransaction, Posting
from onecard.loyalty.stored_value.liability import LIABILITY_KINDS
from onecard.members.models import Member
from onecard.org.models import Merchant
from onecard.sales.models import Sale, SaleLine, SaleTender, TenderKind

TOP_COUNT = 10


# ---- the figures of a chart ------------------------------------------------------------------------------------


@dataclass
class Series:
    """One series of a chart; `drill`: (list name, query parameter) a click on a point opens."""

    name: str
    label: str
    values: list
    unit: str = "fen"  # "fen", "count" or "points"
    drill: tuple | None = None


@dataclass
class Chart:
    """What one chart draws: its categories (`keys` for the drill-down, `labels` shown) and series."""

    name: str
    title: str
    shape: str  # "time" (buckets, the last partial), "bar", "pie" or "line"
    keys: list
    labels: list
    series: list = field(default_factory=list)
    partial: bool = False  # the last category is a period not over yet
    counted_at: datetime.datetime | None = None  # figures as of this time (counted members), None: live

    def as_json(self, drill_urls=None) -> dict:
        """The plain data dashboards.js draws; `drill_urls`: {list name: URL prefix ending in "param="}."""
        drill_urls = drill_urls or {}
        return {
            "name": self.name,
            "title": str(self.title),
            "shape": self.shape,
            "keys": [str(k) for k in self.keys],
            "labels": [str(label) for label in self.labels],
            "partial": self.partial,
            "partialLabel": _("partial: not over yet"),
            "series": [
                {
                    "name": s.name,
                    "label": str(s.label),
                    "unit": s.unit,
                    "values": s.values,
                    "drill": drill_urls.get(s.drill) if s.drill else None,
                }
                for s in self.series
            ],
        }


def _int(value) -> int:
    return int(value or 0)  # PostgreSQL sums bigints as numeric


def _by_bucket(rows, value="total") -> dict:
    return {row["bucket"]: _int(row[value]) for row in rows}


def _time_chart(name, title, period, series) -> Chart:
    return Chart(
        name, title, "time", [b.isoformat() for b in period.buckets],
        [period.label(b) for b in period.buckets], series, partial=True,
    )  # fmt: skip


NET_DUE = F("total_due") - F("returned_due")


def _rolled_rows(model, scope, period, keys, **sums) -> list:
    """The rollup rows of `model` in scope and on the period's rolled days, grouped by `keys`; [] when none."""
    rolled = scope.rolled(period)
    if rolled is None:
        return []
    rows = model.objects.filter(rolled)
    if "bucket" in keys:
        rows = rows.annotate(bucket=period.rolled_bucket())
    return list(rows.values(*keys).annotate(**sums).order_by())


def _add(totals: dict, rows, key, *values) -> dict:
    """Add each row's `values` into totals[row[key]] (a list per key)."""
    for row in rows:
        into = totals.setdefault(row[key], [0] * len(values))
        for i, value in enumerate(values):
            into[i] += _int(row[value])
    return totals


def takings_by_period(scope, period) -> Chart:
    """Takings (amount due less returned) per day or month: rolled days plus one query grouped by the local bucket."""
    rows = (
        Sale.objects.filter(scope.sales(period, since=scope.live_since(period)))
        .annotate(bucket=period.trunc("created_at"))
        .values("bucket")
        .annotate(total=Sum(NET_DUE), n=Count("pk"))
        .order_by()
    )
    totals = _add({}, rows, "bucket", "total", "n")
    rolled = _rolled_rows(StoreDay, scope, period, ["bucket"], total=Sum("takings"), n=Sum("sales"))
    totals = {bucket: tuple(value) for bucket, value in _add(totals, rolled, "bucket", "total", "n").items()}
    return _time_chart(
        "takings", _("Takings"), period,
        [
            Series("takings", _("Takings"), [totals.get(b, (0, 0))[0] for b in period.buckets], drill=("sales", "bucket")),
            Series("sales", _("Sales"), [totals.get(b, (0, 0))[1] for b in period.buckets], unit="count", drill=("sales", "bucket")),
        ],
    )  # fmt: skip


def takings_by_tender(scope, period) -> Chart:
    """Takings per tender (the tender's amount less what it gave back), largest first."""
    live = (
        SaleTender.objects.filter(scope.sales(period, "sale__", since=scope.live_since(period)))
        .values("kind")
        .annotate(total=Sum(F("amount") - F("returned_amount")))
        .order_by()
    )
    totals = _add({}, live, "kind", "total")
    _add(totals, _rolled_rows(StoreDayTender, scope, period, ["kind"], total=Sum("amount")), "kind", "total")
    rows = [{"kind": kind, "total": total} for kind, (total,) in totals.items()]
    rows.sort(key=lambda r: (-r["total"], r["kind"]))
    names = dict(TenderKind.choices)
    return Chart(
        "tenders", _("Takings by tender"), "pie", [r["kind"] for r in rows],
        [names.get(r["kind"], r["kind"]) for r in rows],
        [Series("takings", _("Takings"), [_int(r["total"]) for r in rows], drill=("sales", "tender"))],
    )  # fmt: skip


def takings_by_store(scope, period) -> Chart:
    """Takings per store in scope, largest first."""
    live = (
        Sale.objects.filter(scope.sales(period, since=scope.live_since(period)))
        .values("store_id", "store__name")
        .annotate(total=Sum(NET_DUE))
        .order_by()
    )
    # a day with top-ups or new members but no sale has a row: the store sold nothing that day
    rolled = [
        row
        for row in _rolled_rows(
            StoreDay, scope, period, ["store_id", "store__name"], total=Sum("takings"), n=Sum("sales")
        )
        if row["n"]
    ]
    names = {row["store_id"]: row["store__name"] for row in (*rolled, *live)}
    totals = _add(_add({}, live, "store_id", "total"), rolled, "store_id", "total")
    rows = [
        {"store_id": store, "store__name": names[store], "total": total} for store, (total,) in totals.items()
    ]
    rows.sort(key=lambda r: (-r["total"], r["store_id"]))
    return Chart(
        "stores", _("Takings by store"), "bar", [r["store_id"] for r in rows], [r["store__name"] for r in rows],
        [Series("takings", _("Takings"), [_int(r["total"]) for r in rows], drill=("sales", "store"))],
    )  # fmt: skip


def topups_against_consumption(scope, period) -> Chart:
    """Principal topped up and stored value spent (stored-value tenders less returned), per bucket."""
    since = scope.live_since(period)
    topups = _by_bucket(
        CardTransaction.objects.filter(scope.topups(period, since=since))
        .annotate(bucket=period.trunc("created_at"))
        .values("bucket")
        .annotate(total=Sum("principal"))
        .order_by()
    )
    spent = _by_bucket(
        SaleTender.objects.filter(scope.sales(period, "sale__", since=since), kind=TenderKind.STORED_VALUE)
        .annotate(bucket=period.trunc("sale__created_at"))
        .values("bucket")
        .annotate(total=Sum(F("amount") - F("returned_amount")))
        .order_by()
    )
    for row in _rolled_rows(
        StoreDay, scope, period, ["bucket"], topups=Sum("topups"), spent=Sum("stored_value_spent")
    ):
        topups[row["bucket"]] = topups.get(row["bucket"], 0) + _int(row["topups"])
        spent[row["bucket"]] = spent.get(row["bucket"], 0) + _int(row["spent"])
    return _time_chart(
        "topups", _("Top-ups against consumption"), period,
        [
            Series("topups", _("Top-ups (principal)"), [topups.get(b, 0) for b in period.buckets], drill=("topups", "bucket")),
            Series("consumption", _("Paid with stored value"), [spent.get(b, 0) for b in period.buckets], drill=("sales", "sv_bucket")),
        ],
    )  # fmt: skip


def _balances_over_time(scope, period, kinds, rolled_kind) -> list:
    """The summed balance of the scope's card accounts of `kinds` at the end of each bucket (the last: now).

    Grouped queries: the movements since the period's start per bucket (the rolled days' from
    StoreDayLiability rows of `rolled_kind`, the rest from the postings), and a balance to start from: with
    rolled days, the balance at the end of the last of them (StoreLiabilityBalance, written by the roll-up)
    less the rolled movements; without, today's account balances less every movement since.
    """
    moved = _by_bucket(
        Posting.objects.filter(
            scope.liability_accounts(kinds, "account__"),
            account__merchant_id=scope.merchant_id,
            entry__created_at__gte=scope.live_since(period),
        )
        .annotate(bucket=period.trunc("entry__created_at"))
        .values("bucket")
        .annotate(total=Sum("amount"))
        .order_by()
    )
    rolled = scope.rolled(period)
    if rolled is None:
        now = Account.objects.filter(Q(merchant_id=scope.merchant_id) & scope.liability_accounts(kinds))
        balance = _int(now.aggregate(total=Sum("balance"))["total"]) - sum(moved.values())
    else:
        rolled_moves = 0
        for row in (
            StoreDayLiability.objects.filter(rolled, kind=rolled_kind)
            .annotate(bucket=period.rolled_bucket())
            .values("bucket")
            .annotate(total=Sum("amount"))
            .order_by()
        ):
            moved[row["bucket"]] = moved.get(row["bucket"], 0) + _int(row["total"])
            rolled_moves += _int(row["total"])
        closing = StoreLiabilityBalance.objects.filter(
            Q(merchant_id=scope.merchant_id, kind=rolled_kind) & scope._nodes("store_id")
        ).aggregate(total=Sum("balance"))["total"]
        balance = _int(closing) - rolled_moves
    values = []
    for bucket in period.buckets:
        balance += moved.get(bucket, 0)
        values.append(balance)
    return values


def stored_value_liability(scope, period) -> Chart:
    """Stored value owed (principal, bonus, held, packages) at the end of each bucket."""
    values = _balances_over_time(scope, period, LIABILITY_KINDS, LiabilityKind.STORED_VALUE)
    chart = _time_chart(
        "liability", _("Stored-value liability"), period,
        [Series("liability", _("Stored-value liability"), values, drill=("movements", "bucket"))],
    )  # fmt: skip
    chart.shape = "line"
    return chart


def points_liability(scope, period) -> Chart:
    """Points outstanding at the end of each bucket."""
    values = _balances_over_time(scope, period, (AccountKind.MEMBER_POINTS,), LiabilityKind.POINTS)
    chart = _time_chart(
        "points", _("Points liability"), period,
        [Series("points", _("Points outstanding"), values, unit="points", drill=("movements", "points_bucket"))],
    )  # fmt: skip
    chart.shape = "line"
    return chart


def member_growth(scope, period) -> Chart:
    """New members (joined, home store in scope) per bucket."""
    joined = _by_bucket(
        Member.objects.filter(
            scope.members(), created_at__gte=scope.live_since(period), created_at__lt=period.end
        )
        .annotate(bucket=period.trunc("created_at"))
        .values("bucket")
        .annotate(total=Count("pk"))
        .order_by()
    )
    for row in _rolled_rows(StoreDay, scope, period, ["bucket"], total=Sum("joined")):
        joined[row["bucket"]] = joined.get(row["bucket"], 0) + _int(row["total"])
    return _time_chart(
        "members", _("New members"), period,
        [Series("members", _("New members"), [joined.get(b, 0) for b in period.buckets], unit="count", drill=("members", "joined"))],
    )  # fmt: skip


def _cells(model, scope):
    """The count cells (analytics.page_counts) of the home stores in the scope, and when they were counted.

    Counting a million members per view takes seconds; the cells are counted after each scoring and a
    chart adds up a few thousand of them. A merchant never counted is counted first.
    """
    state = page_counts.state_of(Merchant(pk=scope.merchant_id))
    cells = model.objects.filter(merchant_id=scope.merchant_id)
    if scope.node_ids is not None:
        cells = cells.filter(store_id__in=scope.node_ids)
    return cells, state.refreshed_at


def _class_chart(name, title, column, choices, scope, param) -> Chart:
    """Members in scope per value of a MemberFacts class column, every class shown (0 too), then unscored."""
    cells, counted_at = _cells(ClassCell, scope)
    counts = {
        row[column]: _int(row["n"]) for row in cells.values(column).annotate(n=Sum("members")).order_by()
    }
    keys = [value for value, _label in choices]
    labels = [str(label) for _value, label in choices]
    if counts.get(""):
        keys.append("none")
        labels.append(_("Not scored yet"))
    values = [counts.get(k if k != "none" else "", 0) for k in keys]
    return Chart(
        name,
        title,
        "pie",
        keys,
        labels,
        [Series(name, title, values, unit="count", drill=("members", param))],
        counted_at=counted_at,
    )


def rfm_distribution(scope) -> Chart:
    """Members per RFM class."""
    return _class_chart("rfm", _("RFM classes"), "rfm_class", RfmClass.choices, scope, "rfm")


def life_stage_distribution(scope) -> Chart:
    """Members per life-cycle stage."""
    return _class_chart("stages", _("Life-cycle stages"), "life_stage", LifeStage.choices, scope, "stage")


def tier_distribution(scope) -> Chart:
    """Members in scope per tier they hold, lowest tier first."""
    cells, counted_at = _cells(TierCell, scope)
    rows = list(
        cells.values("tier_id", "tier__name", "tier__rank")
        .annotate(n=Sum("members"))
        .order_by("tier__rank", "tier_id")
    )
    return Chart(
        "tiers", _("Tiers"), "bar", [r["tier_id"] for r in rows], [r["tier__name"] for r in rows],
        [Series("tiers", _("Members"), [_int(r["n"]) for r in rows], unit="count", drill=("members", "tier"))],
        counted_at=counted_at,
    )  # fmt: skip


def _rolled_products(scope, period) -> list:
    """Rolled takings and units per product id: month rows for a 12-month period, day rows for 30 days."""
    months = period.grain == "month"
    rolled = scope.rolled(period, months=months)
    if rolled is None:
        return []
    rows = (StoreMonthProduct if months else StoreDayProduct).objects.filter(rolled)
    return list(rows.values("product_id").annotate(total=Sum("takings"), units=Sum("units")).order_by())


def _top_lines(scope, period, key, name):
    """The TOP_COUNT products or categories (`key`, `name`: paths from a line) with the most takings."""
    live = list(
        SaleLine.objects.filter(
            scope.sales(period, "sale__", since=scope.live_since(period)), product__isnull=False
        )
        .values(key, name)
        .annotate(total=Sum(F("due") - F("returned_due")), units=Sum(F("quantity") - F("returned_quantity")))
        .order_by()
    )
    names = {row[key]: row[name] for row in live}
    totals = _add({}, live, key, "total", "units")
    rolled = _rolled_products(scope, period)
    if rolled:
        # the rollups are per product: its name, or its category, is read as the live rows read it
        product_key = "id" if key == "product_id" else key.removeprefix("product__")
        product_name = name.removeprefix("product__")
        products = {
            row["id"]: row
            for row in Product.objects.filter(pk__in=[r["product_id"] for r in rolled]).values(
                "id", product_key, product_name
            )
        }
        for row in rolled:
            product = products[row["product_id"]]
            names[product[product_key]] = product[product_name]
            _add(totals, [{**row, key: product[product_key]}], key, "total", "units")
    rows = [{key: k, name: names[k], "total": total, "units": units} for k, (total, units) in totals.items()]
    rows.sort(key=lambda r: (-r["total"], *_null_order(r[key])))
    return rows[:TOP_COUNT]


def _null_order(value) -> tuple:
    """A key sorting like the database's ascending ORDER BY: NULL last on PostgreSQL, first on SQLite."""
    missing = value is None
    return (missing if connection.vendor == "postgresql" else not missing, value or 0)


def top_products(scope, period) -> Chart:
    """The ten products with the most takings (line due less returned) and their units kept."""
    rows = _top_lines(scope, period, "product_id", "product__name")
    return Chart(
        "products", _("Top products"), "bar", [r["product_id"] for r in rows], [r["product__name"] for r in rows],
        [
            Series("takings", _("Takings"), [_int(r["total"]) for r in rows], drill=("lines", "product")),
            Series("units", _("Units"), [_int(r["units"]) for r in rows], unit="count", drill=("lines", "product")),
        ],
    )  # fmt: skip


def top_categories(scope, period) -> Chart:
    """The ten categories (of the products sold) with the most takings; products without one together."""
    rows = _top_lines(scope, period, "product__category_id", "product__category__name")
    return Chart(
        "categories", _("Top categories"), "bar",
        [r["product__category_id"] or "none" for r in rows],
        [r["product__category__name"] or _("(no category)") for r in rows],
        [Series("takings", _("Takings"), [_int(r["total"]) for r in rows], drill=("lines", "category"))],
    )  # fmt: skip


# name → (function of (scope, period), shown to a cashier), in page order.
CHARTS = {
    "takings": (takings_by_period, True),
    "tenders": (takings_by_tender, True),
    "stores": (takings_by_store, False),
    "topups": (topups_against_consumption, True),
    "liability": (stored_value_liability, False),
    "points": (points_liability, False),
    "members": (member_growth, False),
    "rfm": (lambda scope, _period: rfm_distribution(scope), False),
    "tiers": (lambda scope, _period: tier_distribution(scope), False),
    "stages": (lambda scope, _period: life_stage_distribution(scope), False),
    "products": (top_products, True),
    "categories": (top_categories, True),
}


def chart_names(scope) -> list:
    """The charts of the scope's dashboard, in page order (a cashier: only their own sales and top-ups)."""
    return [name for name, (_function, cashier) in CHARTS.items() if cashier or not scope.is_cashier]


def chart_named(scope, period, name):
    """The chart `name` of the scope's dashboard, or None (also for a chart the audience does not have)."""
    if name not in chart_names(scope):
        return None
    return CHARTS[name][0](scope, period)


def dashboard_charts(scope, period) -> list:
    """Every chart of the scope's dashboard, in page order."""
    return [CHARTS[name][0](scope, period) for name in chart_names(scope)]


__all__ = [
    "CHARTS", "DEFAULT_PERIOD", "MONEY_KINDS", "PERIODS", "Chart", "DashboardScope", "Period", "Series",
    "chart_named", "chart_names", "dashboard_charts",
]  # fmt: skip
