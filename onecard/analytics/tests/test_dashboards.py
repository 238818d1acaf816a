"""The sales dashboards: every chart's figures against an independent pandas computation on generated data,
scoped to the viewer (a store manager sees only their store, a cashier only their own sales), the partial
current period flagged, each chart's drill-down list summing to the figure clicked, exports opening in openpyxl.
"""

import datetime
import io
import zoneinfo

import openpyxl
import pandas as pd
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from onecard.analytics.dashboards import lists as dashboard_lists
from onecard.analytics.dashboards import queries as dashboards
from onecard.analytics.models import MemberFacts
from onecard.analytics.tests.dashboard_data import generate
from onecard.catalog.models import Product
from onecard.loyalty.models import Account, Card, CardTransaction, JournalEntry, MemberTier, Posting
from onecard.loyalty.stored_value.liability import liability_by_store
from onecard.members.models import Member
from onecard.sales.models import Sale, SaleLine, SaleTender

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
MONEY = {"checkout", "charge", "capture", "package_use"}
SV_KINDS = {"member_principal", "member_bonus", "hold_reserve", "member_package"}


@pytest.fixture
def data(chain, member_factory):
    return generate(chain, member_factory)


def _stores_of(chain, who):
    """The nodes each viewer may see, written out by hand from the `chain` tree."""
    every = {chain.hq.pk, chain.east.pk, chain.north.pk, chain.a1.pk, chain.a2.pk, chain.b1.pk}
    return {
        "hq_admin": every,
        "region_manager": {chain.east.pk, chain.a1.pk, chain.a2.pk},
        "store_manager": {chain.a1.pk},
        "cashier_a1": {chain.a1.pk},
    }[who]


def _frame(queryset, *fields):
    return pd.DataFrame(list(queryset.values(*fields)), columns=list(fields))


def _local(series):
    return pd.to_datetime(series, utc=True).dt.tz_convert(SHANGHAI)


class Expected:
    """The figures computed again in pandas from the raw tables, for one viewer and a 30-day period."""

    def __init__(self, chain, who, now, *, months=False):
        self.nodes = _stores_of(chain, who)
        self.actor = chain.cashier_a1.pk if who == "cashier_a1" else None
        self.now = now
        today = now.astimezone(SHANGHAI).date()
        if months:
            first = today.replace(day=1)
            self.buckets = [
                datetime.date(first.year + (first.month - 1 - n) // 12, (first.month - 1 - n) % 12 + 1, 1)
                for n in range(11, -1, -1)
            ]
        else:
            self.buckets = [today - datetime.timedelta(days=n) for n in range(29, -1, -1)]
        self.months = months
        sales = _frame(
            Sale.objects.all(),
            "id",
            "kind",
            "merchant_id",
            "store_id",
            "actor_id",
            "total_due",
            "returned_due",
            "created_at",
        )
        sales["bucket"] = self._bucket(sales["created_at"])
        keep = (
            sales["kind"].isin(MONEY)
            & (sales["merchant_id"] == chain.merchant.pk)
            & sales["store_id"].isin(self.nodes)
        )
        keep &= sales["bucket"].isin(self.buckets)
        if self.actor:
            keep &= sales["actor_id"] == self.actor
        self.sales = sales[keep].assign(net=lambda f: f["total_due"] - f["returned_due"])

    def _bucket(self, times):
        local = _local(times)
        days = local.dt.date
        return days.map(lambda d: d.replace(day=1)) if self.months else days

    def _per_bucket(self, frame, column):
        sums = frame.groupby("bucket")[column].sum()
        return [int(sums.get(b, 0)) for b in self.buckets]

    def takings(self):
        return self._per_bucket(self.sales, "net"), self._per_bucket(self.sales.assign(n=1), "n")

    def tenders(self):
        tenders = _frame(SaleTender.objects.all(), "sale_id", "kind", "amount", "returned_amount")
        tenders = tenders.merge(self.sales[["id", "bucket"]], left_on="sale_id", right_on="id")
        tenders["net"] = tenders["amount"] - tenders["returned_amount"]
        return tenders

    def by_tender(self):
        return self.tenders().groupby("kind")["net"].sum().astype(int).to_dict()

    def by_store(self):
        return self.sales.groupby("store_id")["net"].sum().astype(int).to_dict()

    def topups(self):
        tx = _frame(
            CardTransaction.objects.all(),
            "kind",
            "card_id",
            "store_id",
            "actor_id",
            "principal",
            "created_at",
        )
        cards = _frame(Card.objects.all(), "id", "merchant_id")
        tx = tx.merge(cards, left_on="card_id", right_on="id")
        tx["bucket"] = self._bucket(tx["created_at"])
        keep = (tx["kind"] == "topup") & tx["store_id"].isin(self.nodes) & tx["bucket"].isin(self.buckets)
        if self.actor:
            keep &= tx["actor_id"] == self.actor
        consumption = self.tenders().query("kind == 'stored_value'")
        return self._per_bucket(tx[keep], "principal"), self._per_bucket(consumption, "net")

    def balances(self, kinds):
        """The balance at the end of each bucket (the last: now), summed from the journal's first entry."""
        postings = _frame(Posting.objects.all(), "amount", "account_id", "entry_id")
        accounts = _frame(Account.objects.all(), "id", "kind", "card_id")
        cards = _frame(Card.objects.all(), "id", "issued_store_id")
        entries = _frame(JournalEntry.objects.all(), "id", "created_at")
        frame = (
            postings.merge(accounts, left_on="account_id", right_on="id")
            .merge(cards, left_on="card_id", right_on="id", suffixes=("", "_card"))
            .merge(entries, left_on="entry_id", right_on="id", suffixes=("", "_entry"))
        )
        frame = frame[frame["kind"].isin(kinds) & frame["issued_store_id"].isin(self.nodes)]
        times = pd.to_datetime(frame["created_at"], utc=True)
        values = []
        for bucket in self.buckets:
            following = (
                bucket + datetime.timedelta(days=1)
                if not self.months
                else (bucket + datetime.timedelta(days=32)).replace(day=1)
            )
            end = min(datetime.datetime.combine(following, datetime.time.min, tzinfo=SHANGHAI), self.now)
            values.append(int(frame.loc[times < pd.Timestamp(end), "amount"].sum()))
        return values

    def members(self):
        frame = _frame(Member.objects.all(), "id", "home_store_id", "status", "created_at")
        return frame[frame["home_store_id"].isin(self.nodes) & (frame["status"] == "active")]

    def joined(self):
        members = self.members().assign(bucket=lambda f: self._bucket(f["created_at"]), n=1)
        return self._per_bucket(members[members["bucket"].isin(self.buckets)], "n")

    def classes(self, column):
        facts = _frame(MemberFacts.objects.all(), "member_id", column).merge(
            self.members(), left_on="member_id", right_on="id"
        )
        return facts.groupby(column)["id"].count().astype(int).to_dict()

    def tiers(self):
        tiers = _frame(MemberTier.objects.all(), "member_id", "tier__name").merge(
            self.members(), left_on="member_id", right_on="id"
        )
        return tiers.groupby("tier__name")["id"].count().astype(int).to_dict()

    def lines(self):
        lines = _frame(
            SaleLine.objects.all(),
            "sale_id",
            "product_id",
            "due",
            "returned_due",
            "quantity",
            "returned_quantity",
        )
        products = _frame(Product.objects.all(), "id", "name", "category_id")
        lines = lines.merge(self.sales[["id"]], left_on="sale_id", right_on="id").merge(
            products, left_on="product_id", right_on="id", suffixes=("", "_product")
        )
        lines["net"] = lines["due"] - lines["returned_due"]
        lines["units"] = lines["quantity"] - lines["returned_quantity"]
        return lines

    def top_products(self):
        sums = self.lines().groupby("name")[["net", "units"]].sum()
        return {name: (int(r.net), int(r.units)) for name, r in sums.iterrows()}

    def top_categories(self):
        lines = self.lines()
        lines["category_id"] = lines["category_id"].fillna(0).astype(int)
        return lines.groupby("category_id")["net"].sum().astype(int).to_dict()


def _charts(chain, who, *, period="30d"):
    user = getattr(chain, who)
    scope = dashboards.DashboardScope.for_user(user, chain.merchant, cashier=who == "cashier_a1")
    charts = dashboards.dashboard_charts(scope, dashboards.Period.last(period))
    return scope, {chart.name: chart for chart in charts}


def _values(chart, series=0):
    return chart.series[series].values


def _keyed(chart, series=0):
    return {str(k): v for k, v in zip(chart.keys, chart.series[series].values, strict=True)}


@pytest.mark.parametrize("who", ["hq_admin", "region_manager", "store_manager"])
@pytest.mark.parametrize("period", ["30d", "12m"])
def test_every_chart_equals_an_independent_pandas_computation(chain, data, who, period):
    """Given generated sales, top-ups, charges, points and members at three stores and another merchant's
    when a viewer opens their dashboard for 30 days or 12 months
    then every figure equals pandas' over the raw tables, for the stores of their node only."""
    _scope, charts = _charts(chain, who, period=period)
    expected = Expected(chain, who, data.now, months=period == "12m")
    takings, counts = expected.takings()
    assert sum(takings) > 0
    assert _values(charts["takings"]) == takings
    assert _values(charts["takings"], 1) == counts
    assert _keyed(charts["tenders"]) == {k: v for k, v in expected.by_tender().items()}
    assert _keyed(charts["stores"]) == {str(k): v for k, v in expected.by_store().items()}
    topups, consumption = expected.topups()
    assert _values(charts["topups"]) == topups
    assert _values(charts["topups"], 1) == consumption
    assert _values(charts["liability"]) == expected.balances(SV_KINDS)
    assert _values(charts["points"]) == expected.balances({"member_points"})
    assert _values(charts["members"]) == expected.joined()
    rfm = expected.classes("rfm_class")
    assert {k: v for k, v in _keyed(charts["rfm"]).items() if v} == {(k or "none"): v for k, v in rfm.items()}
    stages = expected.classes("life_stage")
    assert {k: v for k, v in _keyed(charts["stages"]).items() if v} == stages
    assert dict(zip(charts["tiers"].labels, _values(charts["tiers"]), strict=True)) == expected.tiers()
    products = expected.top_products()
    drawn = dict(
        zip(
            charts["products"].labels,
            zip(_values(charts["products"]), _values(charts["products"], 1), strict=True),
            strict=True,
        )
    )
    assert drawn == products  # four products: all of them are in the top ten
    assert _values(charts["products"]) == sorted(_values(charts["products"]), reverse=True)
    categories = {(0 if k == "none" else int(k)): v for k, v in _keyed(charts["categories"]).items()}
    assert categories == expected.top_categories()


def test_todays_liability_is_the_prepaid_liability_reports_figure(chain, data):
    """Given the generated top-ups and charges
    when head office and the A1 manager look at the stored-value liability
    then its last point equals the prepaid-liability report's total of the same issuing stores."""
    rows = liability_by_store(chain.merchant)
    for who, stores in (
        ("hq_admin", {chain.a1.pk, chain.a2.pk, chain.b1.pk}),
        ("store_manager", {chain.a1.pk}),
    ):
        _scope, charts = _charts(chain, who)
        assert _values(charts["liability"])[-1] == sum(r.total for r in rows if r.store_id in stores)
    assert sum(r.total for r in rows) > 0


def test_a_cashier_sees_only_the_sales_and_top_ups_they_made(chain, data):
    """Given sales and top-ups at A1 by its cashier and by its manager
    when the A1 cashier opens the dashboard
    then the figures are their own only, and there is no store, liability or member chart."""
    scope, charts = _charts(chain, "cashier_a1")
    assert scope.audience == "cashier"
    assert list(charts) == ["takings", "tenders", "topups", "products", "categories"]
    expected = Expected(chain, "cashier_a1", data.now)
    takings, _counts = expected.takings()
    everyone = Expected(chain, "store_manager", data.now).takings()[0]
    assert 0 < sum(takings) < sum(everyone)
    assert _values(charts["takings"]) == takings
    assert _keyed(charts["tenders"]) == expected.by_tender()
    assert [_values(charts["topups"]), _values(charts["topups"], 1)] == list(expected.topups())
    assert sum(_values(charts["topups"])) > 0


def test_each_chart_is_a_few_grouped_queries(chain, data):
    """Given the generated data
    when each chart is computed
    then it takes at most two queries, however many rows there are (nothing is read row by row)."""
    scope, _charts_ = _charts(chain, "hq_admin")
    period = dashboards.Period.last("30d")
    for name in dashboards.chart_names(scope):
        with CaptureQueriesContext(connection) as queries:
            dashboards.chart_named(scope, period, name)
        assert len(queries) <= 2, name


def test_the_partial_current_period_is_flagged(chain, data, client, login):
    """Given sales made moments ago
    when the dashboard is drawn by day and by month
    then the time charts say their last bucket (today, this month) is partial, and the printed table says so."""
    today = data.now.astimezone(SHANGHAI).date()
    _scope, charts = _charts(chain, "hq_admin")
    for name in ("takings", "topups", "liability", "points", "members"):
        assert charts[name].partial is True
        assert charts[name].labels[-1] == today.isoformat()
    assert _values(charts["takings"])[-1] > 0  # today is drawn with what it has so far
    assert charts["tenders"].partial is False
    _scope, months = _charts(chain, "hq_admin", period="12m")
    assert months["takings"].labels[-1] == today.strftime("%Y-%m") and months["takings"].partial
    login(chain.hq_admin)
    page = client.get(reverse("dashboards:dashboard"))
    assert page.status_code == 200
    chart_data = page.context["charts_data"]
    assert chart_data[0]["partial"] is True and chart_data[0]["partialLabel"] == "partial: not over yet"
    assert "partial: not over yet" in page.content.decode()


def _xlsx_rows(response):
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    book = openpyxl.load_workbook(
        io.BytesIO(b"".join(response.streaming_content) if response.streaming else response.content)
    )
    return list(book.active.iter_rows(values_only=True))


def test_each_chart_exports_its_figures_to_xlsx(chain, data, client, login):
    """Given the A1 manager's dashboard
    when each chart's .xlsx link is followed
    then the workbook opens and holds a row per category with the chart's figures (amounts in yuan)."""
    login(chain.store_manager)
    _scope, charts = _charts(chain, "store_manager")
    for name, chart in charts.items():
        rows = _xlsx_rows(client.get(reverse("dashboards:chart_export", args=[name]), {"period": "30d"}))
        assert len(rows) == len(chart.labels) + 1, name
        assert [r[0] for r in rows[1:]] == [str(label) for label in chart.labels]
        factor = 100 if chart.series[0].unit == "fen" else 1
        assert [round(float(r[1]) * factor) for r in rows[1:]] == chart.series[0].values, name
    takings = _xlsx_rows(client.get(reverse("dashboards:chart_export", args=["takings"])))
    assert takings[-1][-1] == "partial: not over yet"


def _list(client, name, **params):
    return client.get(reverse("dashboards:list", args=[name]), {"period": "30d", **params})


def test_a_day_of_takings_drills_down_to_its_sales(chain, data, client, login):
    """Given the A1 manager's takings by day
    when they click the day with the most takings (its list, exported)
    then the list holds that day's A1 sales and its takings add up to the bar."""
    login(chain.store_manager)
    _scope, charts = _charts(chain, "store_manager")
    takings = charts["takings"]
    best = max(range(len(takings.keys)), key=lambda i: takings.series[0].values[i])
    page = _list(client, "sales", bucket=takings.keys[best])
    assert page.status_code == 200
    rows = _xlsx_rows(_list(client, "sales", bucket=takings.keys[best], export="xlsx"))
    assert rows[0][-1] == "Takings (¥)"
    assert round(sum(float(r[-1]) for r in rows[1:]) * 100) == takings.series[0].values[best]
    assert {r[3] for r in rows[1:]} == {chain.a1.name}
    assert {r[0][:10] for r in rows[1:]} == {takings.keys[best]}


def test_every_drill_down_of_a_store_manager_holds_only_their_store(chain, data, client, login):
    """Given a store manager at A1
    when they open every list behind every chart, each figure of each chart
    then each row belongs to A1 (sales and top-ups made there, members at home there, cards issued there)
    and each list's total is the figure clicked."""
    login(chain.store_manager)
    scope, charts = _charts(chain, "store_manager")
    period = dashboards.Period.last("30d")
    checked = 0
    for chart in charts.values():
        for series in chart.series:
            list_name, param = series.drill
            drill = dashboard_lists.LISTS[list_name]
            for key, value in zip(chart.keys, series.values, strict=True):
                rows = dashboard_lists.drill_rows(drill, scope, period, {param: str(key)})
                if list_name in ("sales", "topups"):
                    assert set(rows.values_list("store_id", flat=True)) <= {chain.a1.pk}
                elif list_name == "lines":
                    assert set(rows.values_list("sale__store_id", flat=True)) <= {chain.a1.pk}
                elif list_name == "members":
                    assert set(rows.values_list("home_store_id", flat=True)) <= {chain.a1.pk}
                    if series.unit == "count":
                        assert rows.count() == value, (chart.name, key)
                elif list_name == "movements":
                    cards = Card.objects.filter(pk__in=rows.values("account__card_id"))
                    assert set(cards.values_list("issued_store_id", flat=True)) <= {chain.a1.pk}
                checked += rows.count()
    assert checked > 0
    for name in dashboard_lists.LISTS:
        response = _list(client, name, export="xlsx")
        _xlsx_rows(response)
        page = _list(client, name)
        assert page.status_code == 200
        for other in (chain.a2.name, chain.b1.name, chain.other_store.name):
            assert other not in page.content.decode()


def test_a_tender_and_a_product_drill_down_to_their_sales_and_lines(chain, data, client, login):
    """Given head office's tender and product charts
    when a tender and a product are clicked
    then the lists hold the sales paid with that tender and the lines of that product, adding up to the figure."""
    login(chain.hq_admin)
    scope, charts = _charts(chain, "hq_admin")
    period = dashboards.Period.last("30d")
    tender, product = charts["tenders"], charts["products"]
    sales = dashboard_lists.drill_rows(
        dashboard_lists.LISTS["sales"], scope, period, {"tender": tender.keys[0]}
    )
    paid = SaleTender.objects.filter(sale__in=sales, kind=tender.keys[0])
    assert sum(t.amount - t.returned_amount for t in paid) == tender.series[0].values[0]
    lines = dashboard_lists.drill_rows(
        dashboard_lists.LISTS["lines"], scope, period, {"product": str(product.keys[0])}
    )
    assert sum(line.due - line.returned_due for line in lines) == product.series[0].values[0]
    assert {line.product_id for line in lines} == {product.keys[0]}
    page = _list(client, "lines", product=product.keys[0])
    assert page.status_code == 200 and page.context["page"].paginator.count == lines.count()


def test_who_may_open_which_dashboard(chain, data, client, login):
    """Given staff of every kind
    when they open the dashboard and the lists
    then a region sees the region dashboard, a cashier their own sales and no member list, a sales rep nothing."""
    login(chain.region_manager)
    assert client.get(reverse("dashboards:dashboard")).context["scope"].audience == "region"
    login(chain.cashier_a1)
    page = client.get(reverse("dashboards:dashboard"))
    assert page.status_code == 200 and "My sales" in page.content.decode()
    assert _list(client, "members").status_code == 403
    assert _list(client, "movements").status_code == 403
    assert client.get(reverse("dashboards:chart_export", args=["liability"])).status_code == 404
    assert _list(client, "sales").status_code == 200
    login(chain.sales)
    assert client.get(reverse("dashboards:dashboard")).status_code == 403
    assert _list(client, "sales").status_code == 403


def test_a_bucket_outside_the_period_or_an_unknown_filter_lists_nothing(chain, data):
    """Given the 30-day period
    when a list is asked for a day before it, or a tender that does not exist
    then it holds no row (rather than every row)."""
    scope = dashboards.DashboardScope.for_user(chain.hq_admin, chain.merchant)
    period = dashboards.Period.last("30d")
    sales = dashboard_lists.LISTS["sales"]
    old = (period.buckets[0] - datetime.timedelta(days=1)).isoformat()
    assert not dashboard_lists.drill_rows(sales, scope, period, {"bucket": old}).exists()
    assert not dashboard_lists.drill_rows(sales, scope, period, {"tender": "gold"}).exists()
    assert dashboard_lists.drill_rows(sales, scope, period, {}).exists()


def test_a_list_names_its_filter_as_the_reader_knows_it(chain, data, client, login):
    """Given head office clicking the Alipay slice and a store's bar
    when the lists open
    then they say "Tender: Alipay" and "Store: <the store's name>", not the codes in the address."""
    login(chain.hq_admin)
    alipay = _list(client, "sales", tender="alipay").content.decode()
    assert "Tender: Alipay" in alipay
    store = _list(client, "sales", store=chain.b1.pk).content.decode()
    assert f"Store: {chain.b1.name}" in store
    rfm = _list(client, "members", rfm="important_value").content.decode()
    assert "RFM class: 重要价值 Important value" in rfm
