"""The promotion and coupon report (/reports/promotions/): figures per promotion and template, liability,
period, scope, totals that count a sale once, a fixed number of queries, and the .xlsx export."""

import datetime
import io
from types import SimpleNamespace

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from openpyxl import load_workbook

from onecard.catalog import services as catalog
from onecard.core.clock import moved_now
from onecard.promotions import coupons
from onecard.promotions import reports as coupon_reports
from onecard.promotions.coupon_choices import CouponKind
from onecard.promotions.coupon_queries import visible_coupons, visible_templates
from onecard.promotions.promotion_views import visible_promotions
from onecard.sales import checkout, reports, returns
from onecard.sales.report_views import report_data
from onecard.testing.cards import put_value
from onecard.testing.coupons import make_template
from onecard.testing.promotions import make_promotion
from onecard.testing.stored_value import assert_ledger_clean, sv_card

pytestmark = pytest.mark.django_db
URL = "/reports/promotions/"


def _days(n):
    return timezone.now() + datetime.timedelta(days=n)


@pytest.fixture
def promotion_history(chain, member_factory):
    """Three sales of today and one of 40 days ago, with two promotions and three kinds of coupon.

    CAKE-1 ¥30, TEA-1 ¥5, PEN-1 ¥80 (never sold). Promotions: 满100减10 on everything; TEA-1 at 80 percent,
    10 in stock; 10 percent off PEN-1 (never used); one that ended 100 days ago. Member 1 (store A1, card with ¥200): a ¥20-off-¥100
    voucher (used), a second one (void) and a 3-use count coupon for TEA-1 (used once). Member 2
    (store B1): a voucher and a gift coupon for TEA-1 (both outstanding), a discount coupon issued
    3 days ago valid for 1 day (lapsed, the nightly job has not run).
    """
    catalog.create_product(None, chain.merchant, sku="CAKE-1", name="蛋糕", list_price=3000)
    tea = catalog.create_product(None, chain.merchant, sku="TEA-1", name="乌龙茶", list_price=500)
    window = {"valid_from": _days(-60), "valid_to": _days(30)}
    threshold = make_promotion(
        chain, "threshold_cash", name="满100减10", params={"steps": [{"min": 10000, "off": 1000}]}, **window
    )
    flash = make_promotion(
        chain,
        "discount",
        name="乌龙茶8折",
        params={"rate": "0.8"},
        product_ids=[tea.pk],
        stock_total=10,
        **window,
    )
    pen = catalog.create_product(None, chain.merchant, sku="PEN-1", name="钢笔", list_price=8000)
    idle = make_promotion(chain, "discount", name="无人问津", params={"rate": "0.9"}, product_ids=[pen.pk],
                          valid_from=_days(-5), valid_to=_days(5))  # fmt: skip
    ended = make_promotion(chain, "discount", name="早已结束", valid_from=_days(-120), valid_to=_days(-100))
    m1, m2 = member_factory(), member_factory(store=chain.b1)
    card = sv_card(chain, m1)
    put_value(chain, card, principal=20_000)
    voucher = make_template(chain, name="满100减20", value=2000, min_spend=10_000)
    count = make_template(
        chain, name="乌龙茶3次券", kind=CouponKind.COUNT, value=3, product_ids=[tea.pk], min_spend=0
    )
    gift = make_template(
        chain, name="乌龙茶兑换券", kind=CouponKind.GIFT, gift_product_id=tea.pk, min_spend=0
    )
    discount = make_template(chain, name="9折券", kind=CouponKind.DISCOUNT, value=900, cap=3000, valid_days=1)
    used, outstanding, voided = (coupons.issue_by_hand(None, voucher, m) for m in (m1, m2, m1))
    coupons.void_coupon(None, voided, reason="issued twice")
    count_coupon = coupons.issue_by_hand(None, count, m1)
    coupons.issue_by_hand(None, gift, m2)
    with moved_now(_days(-3)):
        coupons.issue_by_hand(None, discount, m2)
    with moved_now(_days(-40)):  # outside the default period of 30 days
        old = checkout.checkout(chain.cashier_a1, store=chain.a1, card=None, items=[("CAKE-1", 4)],
                                tenders={"cash": 11_000}, business_ref="OLD-1")  # fmt: skip
    # S1: ¥120 of cake − ¥10 (满100减10) − ¥20 voucher = ¥90, all stored value
    s1 = checkout.checkout(chain.cashier_a1, store=chain.a1, card=card, items=[("CAKE-1", 4)],
                           coupon_codes=[used.code], tenders={"stored_value": 9000}, business_ref="S-1")  # fmt: skip
    # S2: 5 teas ¥25 − 20 percent (¥5) − one tea free with the count coupon (¥4) = ¥16 cash
    s2 = checkout.checkout(chain.cashier_a1, store=chain.a1, card=card, items=[("TEA-1", 5)],
                           coupon_codes=[count_coupon.code], tenders={"cash": 1600}, business_ref="S-2")  # fmt: skip
    # S3 (anonymous, at B1): ¥120 cake + ¥5 tea − ¥1 (tea 80 percent) − ¥10 (满100减10) = ¥114 by WeChat
    s3 = checkout.checkout(chain.cashier_b1, store=chain.b1, card=None, items=[("CAKE-1", 4), ("TEA-1", 1)],
                           tenders={"wechat": 11_400}, business_ref="S-3")  # fmt: skip
    # two of S1's four cakes come back: ¥45
    line = s1.lines.get()
    returns.return_sale(chain.cashier_a1, s1, store=chain.a1, lines={line.pk: 2}, reason="broken")
    return SimpleNamespace(
        threshold=threshold, flash=flash, idle=idle, ended=ended, voucher=voucher, count=count, gift=gift,
        discount=discount, sales=(s1, s2, s3), old=old, m1=m1, m2=m2, card=card, tea=tea,
    )  # fmt: skip


def _report(user, merchant, period=None):
    return report_data(user, merchant, period or coupon_reports.period_from({}))


def _by_promotion(report):
    return {line.promotion.name: line for line in report.lines}


def _by_template(report):
    return {line.template.name: line for line in report.lines}


def test_each_promotion_shows_its_sales_members_discount_and_stock(chain, promotion_history):
    # given the shop's sales; when head office reads the last 30 days
    data = _report(chain.hq_admin, chain.merchant)
    lines = _by_promotion(data["promotions"])
    # then the ended promotion is not listed, the idle one is, with nothing
    assert set(lines) == {"满100减10", "乌龙茶8折", "无人问津"}
    assert (lines["无人问津"].sales, lines["无人问津"].discount) == (0, 0)
    # and 满100减10 drove S1 and S3 (member 1 only: S3 is anonymous), ¥90 + ¥114, ¥45 returned since
    threshold = lines["满100减10"]
    assert (threshold.sales, threshold.members, threshold.amount, threshold.returned) == (2, 1, 20_400, 4_500)
    # and took ¥10 from each; two of S1's four cakes came back, so ¥5 of S1's is net of returns
    assert (threshold.discount, threshold.discount_net) == (2_000, 1_500)
    # and the tea at 80 percent: S2 (¥5 off) and S3 (¥1 off), 2 units of its 10 taken, 8 left
    flash = lines["乌龙茶8折"]
    assert (flash.sales, flash.members, flash.amount, flash.discount, flash.discount_net) == (
        2,
        1,
        13_000,
        600,
        600,
    )
    assert (flash.stock_used, flash.stock_left) == (2, 8)
    assert threshold.stock_left is None
    # and the total counts each of S1, S2, S3 once
    total = data["promotions"].total
    assert (total.sales, total.members, total.amount, total.returned) == (3, 1, 22_000, 4_500)
    assert (total.discount, total.discount_net, total.stock_used) == (2_600, 2_100, 2)
    assert_ledger_clean()


def test_each_coupon_template_shows_issued_states_uses_and_discount(chain, promotion_history):
    # when
    data = _report(chain.hq_admin, chain.merchant)
    lines = _by_template(data["coupons"])
    # then the voucher: 3 issued; now 1 redeemed, 1 void, 1 outstanding; used by S1 (¥20 off, half returned)
    voucher = lines["满100减20"]
    assert (voucher.issued, voucher.redeemed, voucher.expired, voucher.void, voucher.outstanding) == (
        3,
        1,
        0,
        1,
        1,
    )
    assert (voucher.uses, voucher.sales, voucher.members, voucher.amount, voucher.returned) == (
        1,
        1,
        1,
        9_000,
        4_500,
    )
    assert (voucher.discount, voucher.discount_net) == (2_000, 1_000)
    # and the count coupon: used once (one ¥4 tea free), still outstanding with uses left
    count = lines["乌龙茶3次券"]
    assert (count.issued, count.redeemed, count.outstanding, count.uses, count.sales, count.discount) == (
        1, 0, 1, 1, 1, 400)  # fmt: skip
    # and the discount coupon lapsed 2 days ago: counted expired before the nightly job marks it
    assert (lines["9折券"].issued, lines["9折券"].expired, lines["9折券"].outstanding) == (1, 1, 0)
    assert (lines["乌龙茶兑换券"].issued, lines["乌龙茶兑换券"].outstanding) == (1, 1)
    # and the total: S1 and S2 once each
    total = data["coupons"].total
    assert (total.issued, total.redeemed, total.expired, total.void, total.outstanding) == (6, 1, 1, 1, 3)
    assert (total.uses, total.sales, total.members, total.amount, total.discount) == (2, 2, 1, 10_600, 2_400)


def test_outstanding_liability_is_face_value_where_a_coupon_has_one(chain, promotion_history):
    # when
    liability = _report(chain.hq_admin, chain.merchant)["liability"]
    lines = _by_template(liability)
    # then the outstanding voucher owes ¥20, the gift coupon its tea's list price ¥5; the count coupon
    # has no face value (0) but shows its 2 uses left; the lapsed discount coupon owes nothing
    assert set(lines) == {"满100减20", "乌龙茶兑换券", "乌龙茶3次券"}
    assert (lines["满100减20"].outstanding, lines["满100减20"].face_value, lines["满100减20"].liability) == (
        1,
        2000,
        2000,
    )
    assert (lines["乌龙茶兑换券"].face_value, lines["乌龙茶兑换券"].liability) == (500, 500)
    count = lines["乌龙茶3次券"]
    assert (count.outstanding, count.uses_left, count.face_value, count.liability) == (1, 2, None, 0)
    assert (liability.total.outstanding, liability.total.uses_left, liability.total.liability) == (3, 2, 2500)


def test_the_period_takes_whole_local_days(chain, promotion_history):
    # given a period from 45 days ago to 30 days ago: only the old sale
    today = timezone.localdate()
    period = coupon_reports.period_from(
        {
            "from": (today - datetime.timedelta(days=45)).isoformat(),
            "to": (today - datetime.timedelta(days=30)).isoformat(),
        }
    )
    # when
    data = _report(chain.hq_admin, chain.merchant, period)
    lines = _by_promotion(data["promotions"])
    # then 满100减10 has the old sale only, the idle promotion (5 days old) is not in that period
    assert (lines["满100减10"].sales, lines["满100减10"].amount, lines["满100减10"].discount) == (
        1,
        11_000,
        1_000,
    )
    assert "无人问津" not in lines
    assert _by_template(data["coupons"])["满100减20"].issued == 0


def test_a_sale_just_after_local_midnight_is_in_its_own_day(chain, promotion_history):
    """Given a 满100减10 sale at 00:30 Shanghai time 10 days ago (16:30 UTC the day before),
    when the report covers that day alone, then the sale is in it; the day before alone, it is not."""
    day = timezone.localdate() - datetime.timedelta(days=10)
    at = timezone.make_aware(datetime.datetime(day.year, day.month, day.day, 0, 30))
    with moved_now(at):
        checkout.checkout(chain.cashier_a1, store=chain.a1, card=None, items=[("CAKE-1", 4)],
                          tenders={"cash": 11_000}, business_ref="MIDNIGHT-1")  # fmt: skip

    def sales_on(first, last):
        period = coupon_reports.period_from({"from": first.isoformat(), "to": last.isoformat()})
        line = _by_promotion(_report(chain.hq_admin, chain.merchant, period)["promotions"]).get("满100减10")
        return line.sales if line else 0

    assert sales_on(day, day) == 1
    assert sales_on(day - datetime.timedelta(days=1), day - datetime.timedelta(days=1)) == 0


def test_period_parsing_defaults_swaps_and_caps():
    today = datetime.date(2026, 11, 25)
    # default: the last 30 days to today
    assert coupon_reports.period_from({}, today) == coupon_reports.Period(datetime.date(2026, 10, 27), today)
    # reversed dates are swapped; a malformed one falls back
    swapped = coupon_reports.period_from({"from": "2026-11-20", "to": "2026-11-01"}, today)
    assert swapped == coupon_reports.Period(datetime.date(2026, 11, 1), datetime.date(2026, 11, 20))
    assert coupon_reports.period_from({"from": "junk", "to": "2026-11-10"}, today).first == datetime.date(
        2026, 10, 12
    )
    # at most three years
    long = coupon_reports.period_from({"from": "2000-01-01", "to": "2026-11-25"}, today)
    assert long.days == coupon_reports.MAX_DAYS
    # the bounds are local midnights
    assert timezone.localtime(swapped.end).date() == datetime.date(2026, 11, 21)
    assert timezone.localtime(swapped.start).time() == datetime.time(0)


def test_a_store_manager_sees_the_sales_of_their_store_and_their_members_coupons(chain, promotion_history):
    # given the A1 manager: S3 was made at B1, member 2's coupons belong to B1
    data = _report(chain.store_manager, chain.merchant)
    promotions = _by_promotion(data["promotions"])
    # then only S1 and S2 count
    assert (promotions["满100减10"].sales, promotions["乌龙茶8折"].sales) == (1, 1)
    assert data["promotions"].total.sales == 2
    templates = _by_template(data["coupons"])
    assert (templates["满100减20"].issued, templates["满100减20"].outstanding) == (2, 0)
    assert set(_by_template(data["liability"])) == {"乌龙茶3次券"}
    # and the B1 region's view has S3 only
    north = SimpleNamespace(sees_everything=False, node_id=chain.north.pk, node=chain.north)
    scope = reports.SaleScope.for_user(north, chain.merchant)
    report = reports.promotion_report(visible_promotions(chain.hq_admin, chain.merchant), scope,
                                      coupon_reports.period_from({}))  # fmt: skip
    assert _by_promotion(report)["满100减10"].amount == 11_400
    # and someone of another merchant sees no sale at all
    nobody = reports.SaleScope.for_user(chain.other_manager, chain.merchant)
    assert nobody.node_path == ""
    other = reports.promotion_report(visible_promotions(chain.hq_admin, chain.merchant), nobody,
                                     coupon_reports.period_from({}))  # fmt: skip
    assert other.total.sales == 0 and all(line.sales == 0 for line in other.lines)


def test_the_report_runs_a_fixed_number_of_queries(chain, promotion_history, member_factory):
    # given the report's query count now
    scope = reports.SaleScope.for_user(chain.hq_admin, chain.merchant)
    period = coupon_reports.period_from({})

    def count():
        with CaptureQueriesContext(connection) as queries:
            reports.promotion_report(visible_promotions(chain.hq_admin, chain.merchant), scope, period)
            reports.coupon_report(
                visible_templates(chain.hq_admin), visible_coupons(chain.hq_admin), scope, period
            )
            coupon_reports.liability_report(
                visible_templates(chain.hq_admin), visible_coupons(chain.hq_admin)
            )
        return len(queries.captured_queries)

    count()  # the viewer's scope is read once and kept on the user
    before = count()
    # when more promotions, templates, coupons and sales exist
    for n in range(3):
        make_promotion(chain, "discount", name=f"more {n}", params={"rate": "0.95"}, product_ids=[promotion_history.tea.pk],
                       valid_from=_days(-1), valid_to=_days(1))  # fmt: skip
        template = make_template(chain, name=f"more {n}", value=500, min_spend=0)
        coupons.issue_by_hand(None, template, member_factory())
        checkout.checkout(chain.cashier_a1, store=chain.a1, card=None, items=[("CAKE-1", 1)],
                          tenders={"cash": 3000}, business_ref=f"MORE-{n}")  # fmt: skip
    # then the same number of queries
    assert count() == before
    assert before == 14  # 6 for the promotions, 5 for the templates, 3 for the liability


def test_the_page_shows_the_figures_and_totals(chain, promotion_history, login):
    # when head office opens the page in English
    response = login(chain.hq_admin).get(URL, HTTP_ACCEPT_LANGUAGE="en")
    # then
    assert response.status_code == 200
    html = response.content.decode()
    assert "满100减10" in html and "乌龙茶3次券" in html
    assert "¥204.00" in html  # 满100减10's sales amount
    assert "¥25.00" in html  # the liability total
    assert "Total (each sale counted once)" in html
    assert "export=xlsx" in html


def test_the_export_has_one_sheet_per_table_with_total_rows(chain, promotion_history, login):
    # when
    response = login(chain.hq_admin).get(URL + "?export=xlsx", HTTP_ACCEPT_LANGUAGE="en")
    # then
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["Promotions", "Coupon templates", "Coupon liability"]
    promotions = list(book["Promotions"].iter_rows(values_only=True))
    assert promotions[0][:6] == ("Promotion", "Type", "Owner", "Valid from", "Valid to", "Sales")
    by_name = {row[0]: row for row in promotions[1:]}
    assert by_name["满100减10"][5:11] == (2, 1, 204, 45, 20, 15)
    assert by_name["乌龙茶8折"][11:] == (0, 2, 10, 8)
    assert by_name["Total"][5:11] == (3, 1, 220, 45, 26, 21)
    templates = {row[0]: row for row in book["Coupon templates"].iter_rows(values_only=True)}
    assert templates["满100减20"][2:8] == (3, 1, 0, 1, 1, 1)
    assert templates["Total"][2:9] == (6, 1, 1, 1, 3, 2, 2)
    liability = {row[0]: row for row in book["Coupon liability"].iter_rows(values_only=True)}
    assert liability["乌龙茶兑换券"][2:] == (1, 0, 5, 5)
    assert liability["Total"][2:] == (3, 2, None, 25)


def test_without_promotions_view_the_page_is_refused(chain, login):
    # given a cashier (no promotions.view); then
    assert login(chain.cashier_a1).get(URL).status_code == 403
    # and the navigation offers the page to those who may see it
    response = login(chain.store_manager).get(URL, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert any(item["url"] == URL for item in response.context["nav_items"])
