"""Promotion and coupon ROI (/analytics/roi/): treated and matched control groups, spend per member before and
during, incremental sales (difference in differences), cost and ROI per promotion and coupon template,
checked against an independent pandas computation on generated sales; scope, the method shown, the .xlsx
export and the permission."""

import datetime
import io
import random
import re
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from django.utils import timezone
from openpyxl import load_workbook

from onecard.analytics.roi import queries as roi
from onecard.catalog import services as catalog
from onecard.members.models import Member
from onecard.promotions import coupons
from onecard.promotions.reports import period_from
from onecard.sales.models import Sale, SaleKind, SaleLine
from onecard.testing.coupons import make_template
from onecard.testing.promotions import make_promotion

pytestmark = pytest.mark.django_db
URL = "/analytics/roi/"
DAY = datetime.timedelta(days=1)
GIFT_PRICE = 1500  # the gift's list price at the sale (kept in the sale's pricing snapshot)
GIFT_PRICE_NOW = 1800  # its list price now: what a sale made before snapshots were kept counts


def _write_sales(chain, gift, sales, lines):
    """The generated sales and lines as rows, each sale at its own time."""
    rows = Sale.objects.bulk_create(
        Sale(kind=SaleKind.CHECKOUT, merchant=chain.merchant, store_id=s["store"], member_id=s["member"],
             actor=chain.cashier_a1, business_ref=f"R-{s['n']}", list_total=s["due"], discount_total=0,
             total_due=s["due"], returned_due=s["returned"], promotions=s["promotions"], coupons=s["coupons"],
             pricing={"gift_prices": {str(gift.pk): GIFT_PRICE}} if s["n"] % 3 else {})
        for s in sales
    )  # fmt: skip
    ids = {s["n"]: row.pk for s, row in zip(sales, rows, strict=True)}
    for s in sales:
        Sale.objects.filter(pk=ids[s["n"]]).update(created_at=s["at"])
    SaleLine.objects.bulk_create(
        SaleLine(sale_id=ids[r["n"]], key=r["key"], product_id=r["product"], sku="", name="x",
                 quantity=r["quantity"], list_total=r["list"], adjustments=r["adjustments"], due=r["due"],
                 gift=r["gift"])
        for r in lines
    )  # fmt: skip


@pytest.fixture
def shop(chain, member_factory):
    """120 members of A1, A2 and B1 and 4 months of their sales (seed 7), with two promotions and a coupon.

    10 members joined during the runs (not eligible). Promotion "八折" ran from 30 to 2 days ago (discount
    lines); "满赠" from 60 to 20 days ago (a gift, list value ¥15 at the sale and ¥18 now; a third of the
    sales kept no pricing snapshot); "早已结束" ended 150 days ago.
    Coupon "满100减20" was issued 40 days ago to 40 members, valid 30 days; used coupons took ¥20 off.
    Members who used something spend more in the run; some sales are partly returned; a few sales at
    another store than the member's own, and anonymous sales with the promotion, are mixed in.
    """
    rng = random.Random(7)
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    gift = catalog.create_product(None, chain.merchant, sku="GIFT-1", name="赠品", list_price=GIFT_PRICE_NOW)
    p1 = make_promotion(chain, "discount", name="八折", valid_from=now - 30 * DAY, valid_to=now - 2 * DAY)
    p2 = make_promotion(chain, "threshold_gift", name="满赠", valid_from=now - 60 * DAY, valid_to=now - 20 * DAY,
                        params={"min": 20000, "gift_product_id": gift.pk})  # fmt: skip
    make_promotion(chain, "discount", name="早已结束", valid_from=now - 200 * DAY, valid_to=now - 150 * DAY)
    template = make_template(chain, name="满100减20", value=2000, min_spend=10_000, valid_days=30)
    stores = [chain.a1, chain.a2, chain.b1]
    members = []
    for i in range(120):
        member = member_factory(store=stores[i % 3])
        joined = now - (10 * DAY if i % 12 == 5 else 200 * DAY)
        Member.objects.filter(pk=member.pk).update(created_at=joined)
        members.append(SimpleNamespace(id=member.pk, store=stores[i % 3], joined=joined, obj=member))
    holders = rng.sample(members, 40)
    codes = {}
    for m in holders:
        coupon = coupons.issue_by_hand(None, template, m.obj, at=now - 40 * DAY)
        codes[m.id] = coupon.code
    sales, lines = [], []
    n = 0

    def sale(member, store, at, amount, promotions=(), coupon=None, gift_line=False, discount=0):
        nonlocal n
        n += 1
        source = f"promotion:{promotions[0]}" if promotions else (f"coupon:{coupon}" if coupon else None)
        returned = amount // 4 if rng.random() < 0.1 else 0
        sales.append({"n": n, "member": member, "store": store.pk, "at": at, "due": amount - discount,
                      "returned": returned, "promotions": list(promotions), "coupons": [coupon] if coupon else []})  # fmt: skip
        adjustments = (
            [{"source": source, "amount": discount, "explanation": "", "line": "1"}] if discount else []
        )
        lines.append({"n": n, "key": "1", "gift": False, "product": None, "quantity": 1, "list": amount,
                      "due": amount - discount, "adjustments": adjustments})  # fmt: skip
        if gift_line:
            lines.append({"n": n, "key": f"gift:{source}", "gift": True, "product": gift.pk, "quantity": 1,
                          "list": 0, "due": 0, "adjustments": [{"source": source, "amount": 0}]})  # fmt: skip

    for m in members:
        keen = rng.random() < 0.5
        start = max(m.joined, now - 120 * DAY)
        for _ in range(rng.randrange(0, 12)):
            at = start + datetime.timedelta(seconds=rng.randrange(int((now - start).total_seconds())))
            store = m.store if rng.random() < 0.85 else rng.choice(stores)
            amount = rng.randrange(20, 400) * 100
            if keen and now - 30 * DAY <= at < now - 2 * DAY and rng.random() < 0.7:
                sale(m.id, store, at, amount + 10_000, promotions=[p1.pk], discount=(amount + 10_000) // 5)
            elif keen and now - 60 * DAY <= at < now - 20 * DAY and rng.random() < 0.5:
                sale(m.id, store, at, amount + 20_000, promotions=[p2.pk], gift_line=True)
            elif m.id in codes and now - 40 * DAY <= at < now - 10 * DAY and rng.random() < 0.4:
                code = codes.pop(m.id)
                sale(m.id, store, at, amount + 10_000, coupon=code, discount=2000)
            else:
                sale(m.id, store, at, amount)
    for _ in range(15):  # anonymous sales with the promotion: neither cost nor sales of members
        sale(None, chain.a1, now - 10 * DAY, 30_000, promotions=[p1.pk], discount=6000)
    _write_sales(chain, gift, sales, lines)
    template_coupons = list(template.coupons.values("code", "member_id", "issued_at", "valid_until"))
    return SimpleNamespace(
        now=now, p1=p1, p2=p2, template=template, coupons=pd.DataFrame(template_coupons),
        members=pd.DataFrame([{"id": m.id, "store": m.store.pk, "joined": m.joined} for m in members]),
        sales=pd.DataFrame(sales), lines=pd.DataFrame(lines),
    )  # fmt: skip


# ---- the independent computation ---------------------------------------------------------------------------


def _bands(values, bounds):
    return np.searchsorted(np.array(bounds), np.asarray(values), side="right")


def _expected(shop, kind, subject, store_ids):
    """The line's figures computed with pandas from the generated rows, for members and sales of `store_ids`."""
    members = shop.members[shop.members["store"].isin(store_ids)]
    sales = shop.sales[shop.sales["store"].isin(store_ids) & shop.sales["member"].isin(members["id"])].copy()
    sales["net"] = sales["due"] - sales["returned"]
    if kind == "promotion":
        start, end = subject.valid_from, min(subject.valid_to, shop.now)
        run = sales[(sales["at"] >= start) & (sales["at"] < end)]
        using = run[run["promotions"].map(lambda ids: subject.pk in ids)]
        treated = set(using["member"])
        sources = {f"promotion:{subject.pk}"}
    else:
        mine = shop.coupons[shop.coupons["member_id"].isin(members["id"])]
        start, end = mine["issued_at"].min(), min(mine["valid_until"].max(), shop.now)
        treated = set(mine.loc[mine["issued_at"] < end, "member_id"])
        sources = {f"coupon:{c}" for c in shop.coupons["code"]}
        run = sales[(sales["at"] >= start) & (sales["at"] < end)]
        using = run[run["coupons"].map(lambda cs: any(f"coupon:{c}" in sources for c in cs))]
    eligible = members[members["joined"] < start][["id"]].copy()
    pre = (
        sales[(sales["at"] >= start - 56 * DAY) & (sales["at"] < start)]
        .groupby("member")["net"]
        .agg(["sum", "count"])
    )
    during = run.groupby("member")["net"].sum()
    eligible["pre"] = eligible["id"].map(pre["sum"]).fillna(0)
    eligible["n"] = eligible["id"].map(pre["count"]).fillna(0)
    eligible["during"] = eligible["id"].map(during).fillna(0)
    eligible["treated"] = eligible["id"].isin(treated)
    eligible["cell"] = list(
        zip(_bands(eligible["pre"], roi.SPEND_BANDS), _bands(eligible["n"], roi.PURCHASE_BANDS), strict=True)
    )
    t = (
        eligible[eligible["treated"]]
        .groupby("cell")
        .agg(tn=("id", "size"), tpre=("pre", "sum"), tdur=("during", "sum"))
    )
    c = (
        eligible[~eligible["treated"]]
        .groupby("cell")
        .agg(cn=("id", "size"), cpre=("pre", "mean"), cdur=("during", "mean"))
    )
    cells = t.join(c, how="inner")
    matched_n = int(cells["tn"].sum())
    days = (end - start).total_seconds() / 86400
    scale = days / 56
    t_pre = cells["tpre"].sum() / matched_n * scale
    t_dur = cells["tdur"].sum() / matched_n
    c_pre = (cells["tn"] * cells["cpre"]).sum() / matched_n * scale
    c_dur = (cells["tn"] * cells["cdur"]).sum() / matched_n
    matched_ids = set(eligible.loc[eligible["treated"] & eligible["cell"].isin(cells.index), "id"])
    cost_sales = set(using.loc[using["member"].isin(matched_ids), "n"])
    cost_lines = shop.lines[shop.lines["n"].isin(cost_sales)]
    discounts = sum(
        a["amount"]
        for adj in cost_lines.loc[~cost_lines["gift"], "adjustments"]
        for a in adj
        if a["source"] in sources
    )
    gift_keys = {f"gift:{s}" for s in sources}
    gift_lines = cost_lines[cost_lines["gift"] & cost_lines["key"].isin(gift_keys)]
    gifts = int(sum(GIFT_PRICE if n % 3 else GIFT_PRICE_NOW for n in gift_lines["n"]))
    incremental = ((t_dur - t_pre) - (c_dur - c_pre)) * matched_n
    cost = discounts + gifts
    return {
        "treated": len(treated), "matched": matched_n, "control": int(cells["cn"].sum()),
        "treated_before": t_pre, "treated_during": t_dur, "control_before": c_pre, "control_during": c_dur,
        "incremental": incremental, "discounts": discounts, "gifts": gifts, "cost": cost,
        "roi": (incremental - cost) / cost if cost else None,
    }  # fmt: skip


def _check(line, expected):
    for name in ("treated", "matched", "control", "discounts", "gifts", "cost"):
        assert getattr(line, name) == expected[name], name
    for name in ("treated_before", "treated_during", "control_before", "control_during", "incremental"):
        assert getattr(line, name) == pytest.approx(expected[name], abs=1), name  # rounded to the fen
    if expected["roi"] is None:
        assert line.roi is None
    else:
        assert float(line.roi) == pytest.approx(expected["roi"], abs=0.006)


def _report(user, shop, chain, **params):
    return roi.roi_report(user, chain.merchant, period_from(params), now=shop.now)


def _all(chain):
    return [chain.a1.pk, chain.a2.pk, chain.b1.pk]


# ---- figures ---------------------------------------------------------------------------------------------------


def test_each_promotion_and_template_equals_pandas_for_head_office(chain, shop):
    # given the generated sales; when head office reads the ROI of the last 30 days
    data = _report(chain.hq_admin, shop, chain)
    # then the promotions that overlap are listed (not the one that ended 150 days ago), and the template
    assert [line.subject.name for line in data["promotions"]] == ["满赠", "八折"]
    assert [line.subject.name for line in data["coupons"]] == ["满100减20"]
    # and every figure is the pandas one
    for line in data["promotions"]:
        _check(line, _expected(shop, "promotion", line.subject, _all(chain)))
    _check(data["coupons"][0], _expected(shop, "coupon", shop.template, _all(chain)))
    # and the data is not trivial: groups are matched, costs exist, members joined late are not matched
    p1 = data["promotions"][1]
    assert p1.matched > 10 and p1.control > 10 and p1.discounts > 0 and p1.gifts == 0
    assert data["promotions"][0].gifts > 0 and data["coupons"][0].discounts > 0
    assert any(line.not_matched for line in data["promotions"] + data["coupons"])


def test_a_store_manager_sees_their_stores_members_and_sales_only(chain, shop):
    # given A1's manager; when they read the ROI
    data = _report(chain.store_manager, shop, chain)
    everyone = _report(chain.hq_admin, shop, chain)
    # then each figure is computed over A1's members and A1's sales only
    for line in data["promotions"]:
        _check(line, _expected(shop, "promotion", line.subject, [chain.a1.pk]))
    _check(data["coupons"][0], _expected(shop, "coupon", shop.template, [chain.a1.pk]))
    assert data["promotions"][1].treated < everyone["promotions"][1].treated


def test_a_period_without_runs_lists_nothing(chain, shop):
    # given the shop; when the period is a year ago (before every run but the ended promotion's)
    day = (shop.now - 400 * DAY).date()
    data = roi.roi_report(
        chain.hq_admin,
        chain.merchant,
        period_from({"from": str(day), "to": str(day + 10 * DAY)}),
        now=shop.now,
    )
    # then nothing is listed
    assert data == {"promotions": [], "coupons": []}


def test_roi_is_net_return_on_cost():
    # given a line with ¥500 incremental sales for ¥200 of cost; then its ROI is 1.5; without cost, none
    line = roi.RoiLine(
        None, "promotion", timezone.now(), timezone.now(), incremental=50_000, discounts=15_000, gifts=5_000
    )
    assert line.roi == pytest.approx(1.5)
    assert roi.RoiLine(None, "promotion", timezone.now(), timezone.now()).roi is None


# ---- the page ------------------------------------------------------------------------------------------------


def test_page_shows_the_figures_and_the_method(chain, shop, login, english):
    # given head office; when they open the page
    response = login(chain.hq_admin).get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    # then each promotion's row shows its pandas figures
    for promotion in (shop.p1, shop.p2):
        expected = _expected(shop, "promotion", promotion, _all(chain))
        row = re.search(rf'<tr data-promotion="{promotion.pk}">(.*?)</tr>', html, re.S).group(1)
        assert re.search(rf"data-treated>{expected['treated']}<", row)
        assert re.search(rf"data-matched>{expected['matched']}<", row)
        assert re.search(rf'data-cost="{expected["cost"]}"', row)
        shown = int(re.search(r'data-incremental="(-?\d+)"', row).group(1))
        assert shown == pytest.approx(expected["incremental"], abs=1)
    # and the method is stated, saying there is no holdout group
    assert "There is no holdout group" in html and "difference in differences" in html


def test_export_opens_with_openpyxl(chain, shop, login, english):
    # given A1's manager; when they export
    response = login(chain.store_manager).get(URL, {"export": "xlsx"})
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.content))
    # then the promotion sheet holds A1's figures, in yuan, and the method sheet the method
    rows = {r[0]: r for r in book["Promotions"].iter_rows(min_row=2, values_only=True)}
    expected = _expected(shop, "promotion", shop.p1, [chain.a1.pk])
    assert rows["八折"][3] == expected["treated"] and rows["八折"][4] == expected["matched"]
    assert rows["八折"][14] == pytest.approx(expected["cost"] / 100)
    assert rows["八折"][11] == pytest.approx(expected["incremental"] / 100, abs=0.011)
    coupons = list(book["Coupon templates"].iter_rows(min_row=2, values_only=True))
    assert [r[0] for r in coupons] == ["满100减20"]
    assert "holdout" in book["Method"]["A2"].value


def test_a_cashier_is_refused(chain, shop, login):
    # given a cashier (no analytics.view); then the page and its export are refused
    client = login(chain.cashier_a1)
    assert client.get(URL).status_code == 403
    assert client.get(URL, {"export": "xlsx"}).status_code == 403
