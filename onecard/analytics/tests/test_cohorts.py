"""Cohorts and retention (/analytics/cohorts/): the retention matrix, new/returning/lost per month and the
members behind each figure, checked against an independent pandas computation on generated data; scope,
the store filter, the .xlsx export, the chart's data and the permission."""

import datetime
import io
import json
import random
import re
import zoneinfo
from types import SimpleNamespace

import pandas as pd
import pytest
from django.utils import timezone
from openpyxl import load_workbook

from onecard.analytics.cohorts import queries as cohorts
from onecard.analytics.models import AnalyticsSettings, MemberMonth
from onecard.members.models import Member

pytestmark = pytest.mark.django_db
URL = "/analytics/cohorts/"
MEMBERS_URL = "/analytics/cohorts/members/"
LOCAL = zoneinfo.ZoneInfo("Asia/Shanghai")


def _month(day):
    return day.replace(day=1)


def _shift(month, n):
    index = month.year * 12 + month.month - 1 + n
    return datetime.date(index // 12, index % 12 + 1, 1)


@pytest.fixture
def history(chain, member_factory):
    """150 members of A1, A2 and B1 who joined over the last 26 months, and their purchase months (seed 11).

    Some joined in the first half hour of a month, local time (the previous month in UTC); each month from
    joining on, a member bought with a probability of their own; a few month rows hold no purchase (0).
    """
    rng = random.Random(11)
    today = timezone.localdate()
    this_month = _month(today)
    stores = [chain.a1, chain.a2, chain.b1]
    member_rows, month_rows = [], []
    for i in range(150):
        store = stores[i % 3]
        member = member_factory(store=store)
        joined_month = _shift(this_month, -rng.randrange(0, 26))
        if i % 10 == 0:  # 00:10 local on the 1st: still the previous month in UTC
            joined = datetime.datetime.combine(joined_month, datetime.time(0, 10), tzinfo=LOCAL)
        else:
            day = rng.randrange(1, 28)
            joined = datetime.datetime(joined_month.year, joined_month.month, day, rng.randrange(0, 24),
                                       tzinfo=LOCAL)  # fmt: skip
        if joined.date() > today:
            joined = datetime.datetime.combine(today, datetime.time(0, 5), tzinfo=LOCAL)
        Member.objects.filter(pk=member.pk).update(created_at=joined)
        member_rows.append({"id": member.pk, "store": store.pk, "joined": joined})
        appetite = rng.choice([0.0, 0.1, 0.3, 0.6, 0.9])
        month = _month(joined.date())
        while month <= this_month:
            if rng.random() < appetite:
                purchases = 0 if rng.random() < 0.05 else rng.randrange(1, 4)
                month_rows.append({"member": member.pk, "month": month, "purchases": purchases})
            month = _shift(month, 1)
    MemberMonth.objects.bulk_create(
        MemberMonth(
            member_id=r["member"], merchant=chain.merchant, month=r["month"], purchases=r["purchases"],
            visits=r["purchases"], spend=1000 * r["purchases"], last_visit_day=r["month"],
        )
        for r in month_rows
    )  # fmt: skip
    members = pd.DataFrame(member_rows)
    members["cohort"] = members["joined"].map(lambda t: _month(t.astimezone(LOCAL).date()))
    return SimpleNamespace(
        members=members, months=pd.DataFrame(month_rows), today=today, this_month=this_month
    )


# ---- the independent computation ---------------------------------------------------------------------------


def _expected(history, store_ids, lost_after=12):
    """The matrix and flows computed with pandas from the generated rows, for members of `store_ids`."""
    members = history.members[history.members["store"].isin(store_ids)]
    bought = history.months[(history.months["purchases"] > 0) & history.months["member"].isin(members["id"])]
    last = history.this_month
    first = _shift(last, -11)
    matrix = {}
    for i in range(12):
        cohort = _shift(first, i)
        ids = set(members.loc[members["cohort"] == cohort, "id"])
        cells = []
        for k in range(12):
            month = _shift(cohort, k)
            if month > last:
                cells.append(None)
            else:
                cells.append(len(ids & set(bought.loc[bought["month"] == month, "member"])))
        matrix[cohort] = (len(ids), cells)
    first_month = bought.groupby("member")["month"].min()
    flows, who = {}, {}
    for i in range(12):
        month = _shift(first, i)
        buyers = set(bought.loc[bought["month"] == month, "member"])
        new = {m for m in buyers if first_month[m] == month}
        until = bought[bought["month"] <= month].groupby("member")["month"].max()
        lost = set(until[until == _shift(month, -lost_after)].index)
        flows[month] = (len(new), len(buyers - new), len(lost))
        who[month] = {"new": new, "returning": buyers - new, "lost": lost}
    return matrix, flows, who


def _as_tables(report):
    matrix = {
        row.month: (row.size, [None if c is None else c.count for c in row.cells]) for row in report.rows
    }
    flows = {f.month: (f.new, f.returning, f.lost) for f in report.flows}
    return matrix, flows


def _stores(chain, *names):
    return [getattr(chain, name).pk for name in names]


# ---- figures ---------------------------------------------------------------------------------------------------


def test_matrix_and_flows_equal_pandas_for_head_office(chain, history):
    # given the generated history; when head office reads the cohorts
    report = cohorts.cohort_report(chain.hq_admin, chain.merchant, today=history.today)
    matrix, flows = _as_tables(report)
    # then every cohort size, cell, new, returning and lost count is the pandas one
    expected_matrix, expected_flows, _who = _expected(history, _stores(chain, "a1", "a2", "b1"))
    assert matrix == expected_matrix
    assert flows == expected_flows
    # and the data is not trivial: members joined, bought, came back and lapsed
    assert sum(size for size, _cells in matrix.values()) > 40
    assert all(sum(f[i] for f in flows.values()) > 0 for i in range(3))
    # and the shares are count ÷ size
    row = next(r for r in report.rows if r.size)
    assert row.cells[0].share == pytest.approx(row.cells[0].count / row.size)


def test_a_store_manager_sees_only_their_store(chain, history):
    # given a store manager of A1; when they read the cohorts
    report = cohorts.cohort_report(chain.store_manager, chain.merchant, today=history.today)
    # then the figures are those of A1's members only
    expected_matrix, expected_flows, _who = _expected(history, _stores(chain, "a1"))
    assert _as_tables(report) == (expected_matrix, expected_flows)
    everyone, _flows, _who = _expected(history, _stores(chain, "a1", "a2", "b1"))
    assert expected_matrix != everyone


def test_store_filter_narrows_to_home_store(chain, history):
    # given the region manager of East (A1 and A2); when they choose A2
    report = cohorts.cohort_report(chain.region_manager, chain.merchant, store=chain.a2, today=history.today)
    # then only A2's members count
    expected = _expected(history, _stores(chain, "a2"))[:2]
    assert _as_tables(report) == expected


def test_lost_follows_the_merchants_dormant_setting(chain, history):
    # given "lost after" 180 days (6 months)
    AnalyticsSettings.objects.create(merchant=chain.merchant, dormant_days=180)
    # when head office reads the cohorts; then lost counts members whose last purchase is 6 months old
    report = cohorts.cohort_report(chain.hq_admin, chain.merchant, today=history.today)
    assert report.lost_after == 6
    expected_flows = _expected(history, _stores(chain, "a1", "a2", "b1"), lost_after=6)[1]
    assert _as_tables(report)[1] == expected_flows


def test_members_behind_each_figure_equal_pandas(chain, history):
    # given the history; when head office opens the members behind cells and flows
    _matrix, _flows, who = _expected(history, _stores(chain, "a1", "a2", "b1"))
    members = history.members
    bought = history.months[history.months["purchases"] > 0]
    for cohort in [_shift(history.this_month, -n) for n in (0, 3, 7, 11)]:
        ids = set(members.loc[members["cohort"] == cohort, "id"])
        listed = cohorts.cell_members(chain.hq_admin, chain.merchant, cohort, None)
        assert set(listed.values_list("id", flat=True)) == ids
        for k in range(12):
            month = _shift(cohort, k)
            if month > history.this_month:
                break
            expected = ids & set(bought.loc[bought["month"] == month, "member"])
            listed = cohorts.cell_members(chain.hq_admin, chain.merchant, cohort, k)
            assert set(listed.values_list("id", flat=True)) == expected
    for month, kinds in who.items():
        for kind, expected in kinds.items():
            listed = cohorts.flow_members(chain.hq_admin, chain.merchant, kind, month)
            assert set(listed.values_list("id", flat=True)) == expected, (month, kind)


# ---- the page ------------------------------------------------------------------------------------------------


def test_page_shows_the_heat_map_flows_and_chart_data(chain, history, login, english):
    # given head office; when they open the page
    response = login(chain.hq_admin).get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    expected_matrix, expected_flows, _who = _expected(history, _stores(chain, "a1", "a2", "b1"))
    # then each cohort row shows its cells' counts, shaded, and links to the members behind each
    for cohort, (size, cells) in expected_matrix.items():
        row = re.search(rf'<tr data-cohort="{cohort:%Y-%m}">(.*?)</tr>', html, re.S).group(1)
        assert re.search(rf'class="num">(<a [^>]*>)?{size}(</a>)?</td>', row)
        shown = [int(n) for n in re.findall(r'data-count="(\d+)"', row)]
        assert shown == [n for n in cells if n is not None]
        for k, n in enumerate(cells):
            link = f"cohort={cohort:%Y-%m}&amp;k={k}"
            assert (link in row) == bool(n)
    assert 'style="background: rgba(194, 65, 12,' in html
    # and the flow table and the chart's data hold the same new/returning/lost counts
    chart = json.loads(re.search(r'id="cohort-flows" type="application/json">(.*?)</script>', html).group(1))
    months = [_shift(history.this_month, n - 11) for n in range(12)]
    assert chart["months"] == [f"{m:%Y-%m}" for m in months]
    assert chart["new"] == [expected_flows[m][0] for m in months]
    assert chart["returning"] == [expected_flows[m][1] for m in months]
    assert chart["lost"] == [expected_flows[m][2] for m in months]
    assert "onecard/cohorts.js" in html and "<script>" not in html
    assert "data-print" in html


def test_member_list_page_shows_the_cell_members_masked(chain, history, login, english):
    # given the largest non-empty cell of the matrix
    report = cohorts.cohort_report(chain.hq_admin, chain.merchant, today=history.today)
    row, k, cell = max(
        ((r, k, c) for r in report.rows for k, c in enumerate(r.cells) if c is not None),
        key=lambda t: t[2].count,
    )
    # when head office opens its link
    response = login(chain.hq_admin).get(MEMBERS_URL, {"cohort": f"{row.month:%Y-%m}", "k": k})
    # then the list holds exactly its members, phones masked
    assert response.status_code == 200
    html = response.content.decode()
    assert sorted(int(i) for i in re.findall(r'data-member="(\d+)"', html)) == sorted(
        cohorts.cell_members(chain.hq_admin, chain.merchant, row.month, k).values_list("id", flat=True)
    )
    assert len(re.findall(r'data-member="', html)) == cell.count
    assert "****" in html and "13800000001" not in html
    # and the join month's own cell (month 0) opens too, as does the whole cohort; a month past 11 does not
    client = login(chain.hq_admin)
    row = next(r for r in report.rows if r.cells[0].count)
    for params in ({"k": 0}, {}):
        response = client.get(MEMBERS_URL, {"cohort": f"{row.month:%Y-%m}", **params})
        assert response.status_code == 200
        expected = cohorts.cell_members(chain.hq_admin, chain.merchant, row.month, params.get("k"))
        shown = sorted(int(i) for i in re.findall(r'data-member="(\d+)"', response.content.decode()))
        assert shown == sorted(expected.values_list("id", flat=True)) and shown
    assert client.get(MEMBERS_URL, {"cohort": f"{row.month:%Y-%m}", "k": 12}).status_code == 404


def test_store_manager_page_is_scoped_and_other_stores_refused(chain, history, login, english):
    # given A1's manager
    client = login(chain.store_manager)
    # when they open the page; then the figures are A1's and only A1 is offered as a store
    response = client.get(URL)
    assert response.status_code == 200
    expected = _expected(history, _stores(chain, "a1"))[:2]
    assert _as_tables(response.context["report"]) == expected
    assert [s.pk for s in response.context["stores"]] == [chain.a1.pk]
    # and asking for B1 (outside their scope) is refused, on the page and on the member list
    assert client.get(URL, {"store": chain.b1.pk}).status_code == 403
    cohort = f"{history.this_month:%Y-%m}"
    assert client.get(MEMBERS_URL, {"store": chain.b1.pk, "cohort": cohort}).status_code == 403
    # and the member list without a store holds A1's members only
    b1_ids = set(history.members.loc[history.members["store"] == chain.b1.pk, "id"])
    for month in range(12):
        cohort = f"{_shift(history.this_month, -month):%Y-%m}"
        html = client.get(MEMBERS_URL, {"cohort": cohort}).content.decode()
        assert not b1_ids & {int(i) for i in re.findall(r'data-member="(\d+)"', html)}


def test_export_opens_with_openpyxl_and_holds_the_figures(chain, history, login, english):
    # given head office; when they export A2's cohorts
    response = login(chain.hq_admin).get(URL, {"export": "xlsx", "store": chain.a2.pk})
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.content))
    expected_matrix, expected_flows, _who = _expected(history, _stores(chain, "a2"))
    # then the member counts, shares and flows are the pandas ones
    counts = list(book["Retention (members)"].iter_rows(min_row=2, values_only=True))
    shares = list(book["Retention (%)"].iter_rows(min_row=2, values_only=True))
    for count_row, share_row in zip(counts, shares, strict=True):
        size, cells = expected_matrix[datetime.datetime.strptime(count_row[0], "%Y-%m").date()]
        assert list(count_row[1:]) == [size, *cells]
        for n, share in zip(cells, share_row[2:], strict=True):
            assert share == (None if n is None else pytest.approx(round(100 * n / size, 1) if size else 0))
    flows = list(book["New, returning, lost"].iter_rows(min_row=2, values_only=True))
    assert [(r[2], r[3], r[4]) for r in flows] == [
        expected_flows[_shift(history.this_month, n - 11)] for n in range(12)
    ]
    assert all(r[1] == r[2] + r[3] for r in flows)


def test_a_cashier_is_refused(chain, history, login):
    # given a cashier (no analytics.view); then the page, the member list and the export are refused
    client = login(chain.cashier_a1)
    assert client.get(URL).status_code == 403
    assert client.get(URL, {"export": "xlsx"}).status_code == 403
    assert client.get(MEMBERS_URL, {"cohort": f"{history.this_month:%Y-%m}"}).status_code == 403
