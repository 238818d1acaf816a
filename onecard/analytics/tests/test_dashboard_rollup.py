"""The dashboards' daily rollups: closed days read from them plus today read raw draw exactly what reading every
raw row draws, through returns of rolled days, top-ups, imports and merges; the page rolls up by itself when
the job did not, the job and the command roll up each day once.
"""

import datetime
import io

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from benchmarks import analytics as bench
from onecard import jobs
from onecard.analytics import page_counts
from onecard.analytics.dashboards import queries as dashboards
from onecard.analytics.dashboards import rollup
from onecard.analytics.models import RollupState, StoreDay, StoreDayLiability, StoreDayProduct
from onecard.analytics.tests.dashboard_data import generate
from onecard.loyalty.stored_value import services as stored_value
from onecard.members.demo import seed_members
from onecard.members.merging import merge_members
from onecard.members.models import Member
from onecard.org.demo import build_demo_chain
from onecard.sales import checkout, demo_history, returns
from onecard.sales import signals as sale_signals
from onecard.sales.models import Sale, SaleImport

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

VIEWERS = ["hq_admin", "region_manager", "store_manager"]
ROLLUPS = rollup.ROLLUPS


@pytest.fixture
def data(chain, member_factory):
    return generate(chain, member_factory)


def _scope(chain, who):
    return dashboards.DashboardScope.for_user(
        getattr(chain, who), chain.merchant, cashier=who == "cashier_a1"
    )


def _drawn(chain, who, code, rolled_through=None) -> list:
    """Every chart of the viewer's dashboard as the page gets it (JSON data)."""
    period = dashboards.Period.last(code, rolled_through=rolled_through)
    return [chart.as_json() for chart in dashboards.dashboard_charts(_scope(chain, who), period)]


def _assert_rollups_draw_the_raw_figures(chain, through):
    for who in VIEWERS:
        for code in ("30d", "12m"):
            assert _drawn(chain, who, code, through) == _drawn(chain, who, code), (who, code)


def _rows(model):
    fields = [f.attname for f in model._meta.concrete_fields if f.attname != "id"]
    return sorted(model.objects.values_list(*fields))


def _yesterday():
    return timezone.localdate() - datetime.timedelta(days=1)


def _closed_takings(chain, store=None):
    """Takings of the money sales before today, summed from the raw rows in Python."""
    today = timezone.localdate()
    return sum(
        sale.total_due - sale.returned_due
        for sale in Sale.objects.filter(merchant=chain.merchant, kind__in=dashboards.MONEY_KINDS)
        if timezone.localtime(sale.created_at).date() < today and store in (None, sale.store_id)
    )


def test_rolled_days_and_todays_raw_rows_draw_every_figure_as_the_raw_rows_alone(chain, data):
    """Given 40 days of sales, top-ups, charges, points and members at three stores (and another merchant's)
    when the merchant's days up to yesterday are rolled up
    then every chart of HQ, the region and the store manager, by day and by month, is the one drawn from the
    raw rows, and the rolled takings are those of the closed days' sales."""
    written = rollup.roll_up(chain.merchant)
    assert written == StoreDay.objects.count() > 0
    assert rollup.rolled_through(chain.merchant.pk) == _yesterday()
    assert sum(StoreDay.objects.values_list("takings", flat=True)) == _closed_takings(chain) > 0
    assert not StoreDay.objects.exclude(merchant=chain.merchant).exists()
    assert StoreDayLiability.objects.exists() and StoreDayProduct.objects.exists()
    _assert_rollups_draw_the_raw_figures(chain, _yesterday())


def test_rolling_up_in_two_steps_writes_the_rows_of_one_roll_up(chain, data):
    """Given the days up to ten days ago rolled up, and later the rest up to yesterday
    when the rollups are compared with a roll-up of everything at once
    then they hold the same rows, and a second roll-up of the same days writes nothing."""
    rollup.roll_up(chain.merchant, _yesterday() - datetime.timedelta(days=9))
    _assert_rollups_draw_the_raw_figures(chain, _yesterday() - datetime.timedelta(days=9))
    rollup.roll_up(chain.merchant)
    stepwise = {model: _rows(model) for model in ROLLUPS}
    assert rollup.roll_up(chain.merchant) == 0
    RollupState.objects.all().delete()
    rollup.roll_up(chain.merchant)
    assert {model: _rows(model) for model in ROLLUPS} == stepwise


def test_a_return_of_a_rolled_day_recomputes_that_day(chain, data, shop):
    """Given a checkout three days ago at A1, rolled up
    when half its cakes come back today
    then that day's rolled takings drop by the amount returned and every chart still equals the raw one."""
    sale = checkout.checkout(
        chain.cashier_a1, store=chain.a1, card=shop.card, items=[("CAKE-1", 4), ("TEA-1", 2)],
        tenders={"stored_value": 5000, "cash": 8000}, business_ref="ROLL-1",
    )  # fmt: skip
    three_days_ago = timezone.now() - datetime.timedelta(days=3)
    Sale.objects.filter(pk=sale.pk).update(created_at=three_days_ago)
    sale.refresh_from_db()
    rollup.roll_up(chain.merchant)
    day = timezone.localtime(three_days_ago).date()
    before = StoreDay.objects.get(store=chain.a1, day=day)
    back = returns.return_sale(
        chain.cashier_a1, sale, store=chain.a1, lines={sale.lines.get(sku="CAKE-1").pk: 2}, reason="stale"
    )
    after = StoreDay.objects.get(store=chain.a1, day=day)
    assert back.amount > 0
    assert (after.takings, after.sales) == (before.takings - back.amount, before.sales)
    assert after.takings == _closed_takings(chain, chain.a1.pk) - sum(
        s.total_due - s.returned_due
        for s in Sale.objects.filter(store=chain.a1, kind__in=dashboards.MONEY_KINDS)
        if timezone.localtime(s.created_at).date() != day
        and timezone.localtime(s.created_at).date() < timezone.localdate()
    )
    _assert_rollups_draw_the_raw_figures(chain, _yesterday())


def test_todays_top_ups_and_sales_are_read_raw_next_to_the_rolled_days(chain, data, shop):
    """Given the rollups up to yesterday
    when a card is topped up and a checkout made today
    then the charts show them at once and still equal the raw ones; the rollups did not move."""
    rollup.roll_up(chain.merchant)
    rolled = {model: _rows(model) for model in ROLLUPS}
    before = _drawn(chain, "hq_admin", "30d", _yesterday())
    stored_value.topup(chain.cashier_a1, shop.card, 30000, store=chain.a1)
    checkout.checkout(
        chain.cashier_a1, store=chain.a1, card=shop.card, items=[("TEA-1", 2)], tenders={"cash": 1000},
        business_ref="ROLL-2",
    )  # fmt: skip
    after = _drawn(chain, "hq_admin", "30d", _yesterday())
    topups = next(c for c in after if c["name"] == "topups")["series"][0]["values"]
    earlier = next(c for c in before if c["name"] == "topups")["series"][0]["values"]
    assert topups[-1] == earlier[-1] + 30000 and topups[:-1] == earlier[:-1]
    assert {model: _rows(model) for model in ROLLUPS} == rolled
    _assert_rollups_draw_the_raw_figures(chain, _yesterday())


def test_an_imported_history_changes_no_rolled_figure(chain, data):
    """Given the rollups up to yesterday
    when sales dated in the rolled days are imported (history, not takings) and announced as the importer does
    then the rollups are unchanged and every chart still equals the raw one."""
    rollup.roll_up(chain.merchant)
    rolled = {model: _rows(model) for model in ROLLUPS}
    member = data.members[0]
    imported = Sale.objects.create(
        kind="imported", merchant=chain.merchant, store=chain.a1, member=member, business_ref="import:1:1",
        list_total=9900, discount_total=0, total_due=9900, created_at=timezone.now() - datetime.timedelta(days=5),
    )  # fmt: skip
    sale_signals.sales_imported.send(sender=SaleImport, merchant_id=chain.merchant.pk, member_ids={member.pk})
    assert imported.pk
    assert {model: _rows(model) for model in ROLLUPS} == rolled
    _assert_rollups_draw_the_raw_figures(chain, _yesterday())


def test_a_merged_member_leaves_the_day_they_joined(chain, data):
    """Given the rollups up to yesterday and two members who joined on rolled days
    when one is merged into the other
    then the day the merged one joined counts one member less, as the raw members do."""
    rollup.roll_up(chain.merchant)
    survivor, merged = data.members[0], data.members[1]
    day = timezone.localtime(Member.objects.get(pk=merged.pk).created_at).date()
    joined = StoreDay.objects.filter(day=day).values_list("joined", flat=True)
    before = sum(joined)
    merge_members(chain.hq_admin, survivor, merged)
    assert sum(StoreDay.objects.filter(day=day).values_list("joined", flat=True)) == before - 1
    _assert_rollups_draw_the_raw_figures(chain, _yesterday())


def test_the_page_rolls_up_by_itself_when_the_job_did_not(chain, data, client, login):
    """Given no rollup yet
    when the HQ dashboard is opened
    then the days up to yesterday are rolled up first and the page draws the raw figures;
    a cashier's page rolls nothing up and reads their own sales raw."""
    login(chain.cashier_a1)
    assert client.get(reverse("dashboards:dashboard")).status_code == 200
    assert not RollupState.objects.exists()
    login(chain.hq_admin)
    for code in ("30d", "12m"):
        page = client.get(reverse("dashboards:dashboard"), {"period": code})
        assert page.status_code == 200
        drawn = [
            {**chart, "series": [{**s, "drill": None} for s in chart["series"]]}
            for chart in page.context["charts_data"]
        ]
        assert drawn == _drawn(chain, "hq_admin", code)
    assert rollup.rolled_through(chain.merchant.pk) == _yesterday()


def test_each_chart_reads_the_rollups_and_today_in_a_few_queries(chain, data):
    """Given the rollups up to yesterday and the members counted (as after the nightly scoring)
    when each chart is computed
    then it takes at most three queries (rollups, today's rows, today's balance; for the member charts
    the count state and the cells), however many days it spans."""
    rollup.roll_up(chain.merchant)
    page_counts.refresh(chain.merchant)
    scope = _scope(chain, "hq_admin")
    period = dashboards.Period.last("12m", rolled_through=_yesterday())
    for name in dashboards.chart_names(scope):
        with CaptureQueriesContext(connection) as queries:
            dashboards.chart_named(scope, period, name)
        assert len(queries) <= 3, name


def test_the_job_rolls_up_every_merchant_once_a_day(chain, data):
    """Given no rollup yet
    when the daily job runs twice
    then the first run rolls every merchant up to yesterday and the second writes nothing."""
    first = jobs.run_job("roll_up_dashboards")
    second = jobs.run_job("roll_up_dashboards")
    assert first.ok and first.changed == StoreDay.objects.count() > 0
    assert (second.ok, second.changed) == (True, 0)
    assert set(RollupState.objects.values_list("merchant_id", "through_day")) == {
        (chain.merchant.pk, _yesterday()),
        (chain.other_store.merchant_id, _yesterday()),
    }
    _assert_rollups_draw_the_raw_figures(chain, _yesterday())


def test_the_command_rolls_up_and_rebuild_rolls_up_again(chain, data):
    """Given no rollup yet
    when `onecard analytics rollup` and then `onecard analytics rebuild` run
    then the first rolls up to yesterday and the rebuild writes the same rows again."""
    out = io.StringIO()
    call_command("analytics", "rollup", "--merchant", str(chain.merchant.pk), stdout=out)
    assert f"rolled up through {_yesterday()}" in out.getvalue()
    rows = {model: _rows(model) for model in ROLLUPS}
    call_command("analytics", "rebuild", "--merchant", str(chain.merchant.pk), stdout=io.StringIO())
    assert {model: _rows(model) for model in ROLLUPS} == rows
    assert rollup.rolled_through(chain.merchant.pk) == _yesterday()


def test_the_benchmark_times_each_viewers_pages_after_rolling_up(db):
    """Given the demo chain with a few members and bulk history lines
    when the benchmark's dashboard cases run once
    then the roll-up is timed first and each of the six pages (HQ, store manager, cashier × 30d, 12m) answered."""
    merchant, stores, _staff, _passwords = build_demo_chain()
    seed_members(merchant, stores, {}, 50)
    demo_history.seed_history(merchant, stores, 500)
    cases = bench.dashboard_cases(merchant, 1, 0)
    assert [case["case"] for case in cases] == ["dashboards: roll up every closed day (once)"] + [
        f"dashboards: GET ?period={code} as {label} ({username})"
        for label, username in bench.DASHBOARD_VIEWERS
        for code in ("30d", "12m")
    ]
    assert all(case["note"].startswith("charts (ms): ") and case["samples"] == 1 for case in cases[1:])
    assert cases[0]["target_ms"] is None and {case["target_ms"] for case in cases[1:]} == {300}
    assert rollup.rolled_through(merchant.pk) == _yesterday()


def test_the_member_charts_add_up_the_counted_cells_until_the_next_count(chain, data, login):
    """Given the members counted, when an A1 member with a tier and a class moves to A2,
    then A1's manager still sees the counted figures (and when they were counted) until the next count,
    after which the member is gone from A1's RFM, stage and tier charts."""
    page_counts.refresh(chain.merchant)
    scope = _scope(chain, "store_manager")
    period = dashboards.Period.last("30d")

    def totals():
        return {
            name: sum(dashboards.chart_named(scope, period, name).series[0].values)
            for name in ("rfm", "stages", "tiers")
        }

    counted = totals()
    moving = Member.objects.filter(
        home_store=chain.a1, status="active", facts__isnull=False, tier_state__isnull=False
    ).first()
    assert moving is not None and min(counted.values()) > 0
    Member.objects.filter(pk=moving.pk).update(home_store=chain.a2)

    assert totals() == counted
    page = login(chain.store_manager).get(reverse("dashboards:dashboard"))
    assert page.content.count(b"data-counted-at") == 3

    page_counts.refresh(chain.merchant)
    assert totals() == {name: n - 1 for name, n in counted.items()}
