"""Basket analysis (/analytics/basket/): every pair's support, confidence and lift against pandas on random
baskets, gifts and product-less lines left out, the window and the store scope, "bought with" one product,
members' top products, the .xlsx exports, and who may read the pages."""

import datetime
import io
import json
import random
from types import SimpleNamespace

import pandas as pd
import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from onecard.analytics.basket import queries as basket
from onecard.analytics.models import MemberProductFacts
from onecard.catalog import services as catalog
from onecard.promotions.reports import Period, period_from
from onecard.sales.models import Sale, SaleLine
from onecard.sales.reports import SaleScope

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]
SEED = 20261207


def _record_sales(chain, baskets):
    """Sales written straight to the tables: [(store, created_at, [(product or None, gift), ...]), ...]."""
    sales = Sale.objects.bulk_create(
        [
            Sale(merchant=store.merchant, store=store, actor=chain.admin, business_ref=f"T-{n}",
                 list_total=0, discount_total=0, total_due=0)
            for n, (store, _at, _lines) in enumerate(baskets)
        ]
    )  # fmt: skip
    for sale, (_store, at, _lines) in zip(sales, baskets, strict=True):
        sale.created_at = at  # auto_now_add wrote "now" on insert; bulk_update writes the value as given
    Sale.objects.bulk_update(sales, ["created_at"])
    SaleLine.objects.bulk_create(
        [
            SaleLine(sale=sale, key=f"k{i}", product=product, sku=product.sku if product else "",
                     name=product.name if product else "消费", quantity=1, list_total=100, due=100, gift=gift)
            for sale, (_store, _at, lines) in zip(sales, baskets, strict=True)
            for i, (product, gift) in enumerate(lines)
        ]
    )  # fmt: skip
    return sales


@pytest.fixture
def shop(chain):
    """Eight acme products of falling popularity and one of the other merchant, 400 random baskets.

    Stores A1, A2, B1 (and the other merchant's store); times over the last 60 days, so the default
    window of 30 days leaves about half out. Lines: 8 percent without a product, 10 percent gifts, a
    product may repeat in a basket. The same rows as a pandas frame, for the independent computation.
    """
    rng = random.Random(SEED)
    products = [
        catalog.create_product(None, chain.merchant, sku=f"P{i}", name=f"商品{i}", list_price=100 + i)
        for i in range(8)
    ]
    foreign = catalog.create_product(None, chain.other, sku="X1", name="外商品", list_price=100)
    now = timezone.now()
    stores = [chain.a1, chain.a2, chain.b1]
    baskets = []
    for _n in range(400):
        store = rng.choice(stores)
        at = now - datetime.timedelta(minutes=rng.randrange(1, 60 * 24 * 60))
        lines = []
        for _i in range(rng.randint(1, 6)):
            roll = rng.random()
            product = None if roll < 0.08 else rng.choices(products, weights=[8, 7, 6, 5, 4, 3, 2, 1])[0]
            lines.append((product, rng.random() < 0.10 and product is not None))
        baskets.append((store, at, lines))
    for _n in range(20):  # the other merchant sells its product with acme's ids nowhere near
        baskets.append(
            (chain.other_store, now - datetime.timedelta(hours=1), [(foreign, False), (foreign, False)])
        )
    sales = _record_sales(chain, baskets)
    frame = pd.DataFrame(
        [
            {"sale": sale.pk, "store": store.pk, "merchant": store.merchant_id, "time": at,
             "product": product.pk if product else None, "gift": gift}
            for sale, (store, at, lines) in zip(sales, baskets, strict=True)
            for product, gift in lines
        ]
    )  # fmt: skip
    return SimpleNamespace(products=products, frame=frame)


def _expected(frame, merchant, period, stores=None):
    """Per pair (A, B), A < B: both, n(A), n(B), support, confidence both ways, lift; and N: pandas only."""
    lines = frame[
        (frame.merchant == merchant.pk)
        & (frame.time >= period.start)
        & (frame.time < period.end)
        & frame["product"].notna()
        & ~frame.gift
    ]
    if stores is not None:
        lines = lines[lines.store.isin([s.pk for s in stores])]
    items = lines[["sale", "product"]].drop_duplicates().astype({"product": "int64"})
    total = items.sale.nunique()
    per_product = items.groupby("product").sale.nunique()
    joined = items.merge(items, on="sale")
    joined = joined[joined.product_x < joined.product_y]
    pairs = joined.groupby(["product_x", "product_y"]).size().rename("both").reset_index()
    pairs["sales_a"] = pairs.product_x.map(per_product)
    pairs["sales_b"] = pairs.product_y.map(per_product)
    pairs["support"] = pairs.both / total
    pairs["confidence_ab"] = pairs.both / pairs.sales_a
    pairs["confidence_ba"] = pairs.both / pairs.sales_b
    pairs["lift"] = pairs.confidence_ab / (pairs.sales_b / total)
    return total, per_product, pairs.set_index(["product_x", "product_y"])


def _figures(pair):
    return (
        pair.both,
        pair.sales_a,
        pair.sales_b,
        pair.support,
        pair.confidence_ab,
        pair.confidence_ba,
        pair.lift,
    )


def _expected_figures(row):
    return (row.both, row.sales_a, row.sales_b, row.support, row.confidence_ab, row.confidence_ba, row.lift)


@pytest.mark.parametrize("fetch_rows", [7, 100_000])
def test_every_pair_matches_pandas(chain, shop, monkeypatch, fetch_rows):
    """Given 400 random baskets, when head office asks for every pair of the last 30 days (fetched 7 rows at
    a time, so sales straddle fetches, or all at once), then each pair's figures are pandas' figures."""
    monkeypatch.setattr(basket, "FETCH_ROWS", fetch_rows)
    monkeypatch.setattr(basket, "MERGE_CODES", 10)
    period = period_from({})
    total, _per_product, expected = _expected(shop.frame, chain.merchant, period)
    # when
    report = basket.product_pairs(
        SaleScope.for_user(chain.hq_admin, chain.merchant), period, min_both=1, top=1000
    )
    # then
    assert 150 < report.sales == total < 250
    assert report.pairs_found == len(expected) == len(report.pairs) == 28  # 8 products: every pair met
    got = {(p.product_a.pk, p.product_b.pk): _figures(p) for p in report.pairs}
    assert set(got) == set(expected.index)
    for key, row in expected.iterrows():
        assert got[key] == pytest.approx(_expected_figures(row), rel=1e-12), key
    # and the lift of A→B is the same as B→A's
    pair = report.pairs[0]
    assert pair.lift == pytest.approx(pair.confidence_ba / (pair.sales_a / pair.sales))


def test_threshold_and_ranking_match_pandas(chain, shop):
    """Given the baskets, when the top 5 pairs with at least 12 sales together are asked by lift and by support,
    then they are pandas' top 5 of the pairs that reach 12 (ties: more sales together, then product ids)."""
    period = period_from({})
    scope = SaleScope.for_user(chain.hq_admin, chain.merchant)
    _total, _per, expected = _expected(shop.frame, chain.merchant, period)
    reaching = expected[expected.both >= 12].reset_index()
    assert 5 < len(reaching) < 28  # the threshold cuts some pairs and leaves more than five
    for rank_by in ("lift", "support"):
        # when
        report = basket.product_pairs(scope, period, min_both=12, top=5, rank_by=rank_by)
        # then
        best = reaching.assign(score=reaching[rank_by]).sort_values(
            ["score", "both", "product_x", "product_y"], ascending=[False, False, True, True]
        )
        assert report.pairs_found == len(reaching)
        assert [(p.product_a.pk, p.product_b.pk) for p in report.pairs] == list(
            zip(best.product_x[:5], best.product_y[:5], strict=True)
        )


def test_gifts_product_less_lines_and_repeats_are_left_out(chain):
    """Given S1 A+B; S2 A + B as a gift; S3 A + a line without product; S4 only a line without product;
    S5 A + B + B: when the pairs are read, then 4 sales count, B is in 2 of them, A and B are together twice."""
    a = catalog.create_product(None, chain.merchant, sku="A", name="咖啡", list_price=100)
    b = catalog.create_product(None, chain.merchant, sku="B", name="蛋糕", list_price=100)
    at = timezone.now() - datetime.timedelta(hours=2)
    _record_sales(
        chain,
        [
            (chain.a1, at, [(a, False), (b, False)]),
            (chain.a1, at, [(a, False), (b, True)]),
            (chain.a1, at, [(a, False), (None, False)]),
            (chain.a1, at, [(None, False)]),
            (chain.a1, at, [(a, False), (b, False), (b, False)]),
        ],
    )
    # when
    report = basket.product_pairs(
        SaleScope.for_user(chain.hq_admin, chain.merchant), period_from({}), min_both=1
    )
    # then
    assert report.sales == 4
    (pair,) = report.pairs
    assert (pair.product_a, pair.product_b, pair.both, pair.sales_a, pair.sales_b) == (a, b, 2, 4, 2)
    assert (pair.support, pair.confidence_ab, pair.confidence_ba, pair.lift) == (0.5, 0.5, 1.0, 1.0)
    # and at the default threshold of 3 sales together the pair is not shown
    assert (
        basket.product_pairs(SaleScope.for_user(chain.hq_admin, chain.merchant), period_from({})).pairs == []
    )


def test_window_and_scope_filter_the_sales(chain, shop):
    """Given the baskets, when A1's manager and East's manager read days 45 to 10 ago, then they get the pairs
    of their stores' sales of those days only, as pandas computes them."""
    today = timezone.localdate()
    period = Period(today - datetime.timedelta(days=45), today - datetime.timedelta(days=10))
    for user, stores in ((chain.store_manager, [chain.a1]), (chain.region_manager, [chain.a1, chain.a2])):
        total, _per, expected = _expected(shop.frame, chain.merchant, period, stores=stores)
        # when
        report = basket.product_pairs(SaleScope.for_user(user, chain.merchant), period, min_both=1, top=100)
        # then
        assert report.sales == total
        got = {(p.product_a.pk, p.product_b.pk): _figures(p) for p in report.pairs}
        assert set(got) == set(expected.index)
        for key, row in expected.iterrows():
            assert got[key] == pytest.approx(_expected_figures(row), rel=1e-12)
    # and the store's own figures differ from the whole chain's
    everyone = basket.product_pairs(SaleScope.for_user(chain.hq_admin, chain.merchant), period, min_both=1)
    assert everyone.sales > total


def test_bought_with_matches_pandas(chain, shop, monkeypatch):
    """Given the baskets, when head office asks what the most sold product is bought with (at least 10 sales
    together; 7 rows a fetch), then each partner's sales together, confidence and lift are pandas', ranked
    by confidence."""
    monkeypatch.setattr(basket, "FETCH_ROWS", 7)
    period = period_from({})
    product = shop.products[0]
    total, per_product, expected = _expected(shop.frame, chain.merchant, period)
    rows = expected.reset_index()
    rows = rows[(rows.product_x == product.pk) | (rows.product_y == product.pk)]
    rows = rows.assign(other=rows.product_x.where(rows.product_x != product.pk, rows.product_y))
    rows = rows[rows.both >= 10].sort_values(["both", "other"], ascending=[False, True])
    assert 2 <= len(rows) < 7
    # when
    result = basket.bought_with(
        SaleScope.for_user(chain.hq_admin, chain.merchant), period, product, min_both=10
    )
    # then
    assert (result.sales, result.sales_with) == (total, per_product[product.pk])
    assert [p.product_b.pk for p in result.partners] == list(rows.other)
    for pair, row in zip(result.partners, rows.itertuples(), strict=True):
        confidence = row.both / per_product[product.pk]
        lift = confidence / (per_product[row.other] / total)
        assert (pair.both, pair.sales_b) == (row.both, per_product[row.other])
        assert (pair.confidence_ab, pair.lift) == pytest.approx((confidence, lift), rel=1e-12)
    # and ranked by lift, the same partners in the order of their lift
    by_lift = basket.bought_with(
        SaleScope.for_user(chain.hq_admin, chain.merchant), period, product, min_both=10, rank_by="lift"
    )
    lifts = [p.lift for p in by_lift.partners]
    assert lifts == sorted(lifts, reverse=True) and len(lifts) == len(rows)


# ---- pages -----------------------------------------------------------------------------------------------------------


def _sheet_rows(response):
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    workbook = load_workbook(io.BytesIO(response.content), read_only=True)
    return [list(row) for row in workbook.worksheets[0].iter_rows(values_only=True)]


def test_pairs_page_links_each_product_and_exports_the_rows(chain, shop, login):
    """Given the baskets, when A1's manager opens the pairs page and its export, then the page lists A1's pairs
    with each product linked to its "bought with" page, and the sheet holds the same pairs and figures."""
    client = login(chain.store_manager)
    period = period_from({})
    report = basket.product_pairs(SaleScope.for_user(chain.store_manager, chain.merchant), period, min_both=2)
    assert report.pairs  # the store has pairs to show
    # when
    page = client.get(reverse("basket:pairs"), {"min": 2})
    # then
    assert page.status_code == 200
    html = page.content.decode()
    first = report.pairs[0]
    assert f'data-pair="{first.product_a.pk}-{first.product_b.pk}"' in html
    assert reverse("basket:product", args=[first.product_a.pk]) + "?" in html
    assert html.count("data-pair=") == len(report.pairs)
    # when the export is asked for
    rows = _sheet_rows(client.get(reverse("basket:pairs"), {"min": 2, "export": "xlsx"}))
    # then
    assert rows[0][:4] == ["SKU A", "Product A", "SKU B", "Product B"]
    assert len(rows) == len(report.pairs) + 1
    for row, pair in zip(rows[1:], report.pairs, strict=True):
        assert row[:5] == [
            pair.product_a.sku,
            pair.product_a.name,
            pair.product_b.sku,
            pair.product_b.name,
            pair.both,
        ]
        assert row[5:] == pytest.approx(
            [pair.sales_a, pair.sales_b, pair.support, pair.confidence_ab, pair.confidence_ba, pair.lift],
            abs=1e-6,
        )


def test_product_page_shows_what_it_is_bought_with(chain, shop, login):
    """Given the baskets, when head office opens the first product's page and export, then every partner
    that reaches the threshold is listed with its sales together."""
    client = login(chain.hq_admin)
    product = shop.products[0]
    result = basket.bought_with(SaleScope.for_user(chain.hq_admin, chain.merchant), period_from({}), product)
    # when
    page = client.get(reverse("basket:product", args=[product.pk]))
    rows = _sheet_rows(client.get(reverse("basket:product", args=[product.pk]), {"export": "xlsx"}))
    # then
    assert page.status_code == 200
    assert page.content.decode().count('<tr data-product="') == len(result.partners) == 7
    assert [(r[0], r[2]) for r in rows[1:]] == [(p.product_b.sku, p.both) for p in result.partners]
    # and the chart's bars are the partners' confidence in percent, best first
    chart = json.loads(
        page.content.decode().split('id="bought-with-data" type="application/json">')[1].split("<")[0]
    )
    assert chart == [
        {"name": p.product_b.name, "confidence": round(100 * p.both / result.sales_with, 1)}
        for p in result.partners
    ]
    # and another merchant's product is not found
    other = catalog.create_product(None, chain.other, sku="Z", name="别家", list_price=1)
    assert client.get(reverse("basket:product", args=[other.pk])).status_code == 404


def test_cashier_may_not_read_the_basket_pages(chain, shop, login):
    """Given a cashier, when they open any basket page, then the answer is 403."""
    client = login(chain.cashier_a1)
    for url in (
        reverse("basket:pairs"),
        reverse("basket:product", args=[shop.products[0].pk]),
        reverse("basket:members"),
    ):
        assert client.get(url).status_code == 403
        assert client.get(url, {"export": "xlsx"}).status_code == 403


@pytest.fixture
def bought(chain, member_factory):
    """Two members of A1 and one of B1 with product facts: 甲 bought 7 products, 乙 two, 丙 (B1) one."""
    products = [
        catalog.create_product(None, chain.merchant, sku=f"M{i}", name=f"货品{i}", list_price=100)
        for i in range(7)
    ]
    jia = member_factory(name="甲", phone="13912345678")
    yi = member_factory(name="乙")
    bing = member_factory(name="丙", store=chain.b1)
    member_factory(name="丁")  # bought nothing
    at = timezone.now()
    spends = {
        jia: [500, 900, 100, 700, 300, 900, 0],
        yi: [200, 0, 0, 0, 0, 0, 50],
        bing: [100, 0, 0, 0, 0, 0, 0],
    }
    MemberProductFacts.objects.bulk_create(
        [
            MemberProductFacts(member=m, product=p, quantity=1, spend=s, last_bought_at=at)
            for m, row in spends.items()
            for p, s in zip(products, row, strict=True)
            if s or m is jia
        ]
    )
    return SimpleNamespace(products=products, jia=jia, yi=yi, bing=bing)


def test_members_top_products_page_and_export(chain, bought, login):
    """Given the facts, when A1's manager opens the top products page and its export, then 甲 and 乙 (not 丙 of
    B1, not 丁 who bought nothing) are listed with their top 5 products by spend, phone masked."""
    client = login(chain.store_manager)
    p = bought.products
    # when
    page = client.get(reverse("basket:members"))
    rows = _sheet_rows(client.get(reverse("basket:members"), {"export": "xlsx"}))
    # then
    html = page.content.decode()
    assert page.status_code == 200
    assert f'data-member="{bought.jia.pk}"' in html and f'data-member="{bought.yi.pk}"' in html
    assert f'data-member="{bought.bing.pk}"' not in html
    assert "139****5678" in html and "13912345678" not in html
    # 甲: 900 twice (the lower product id first), 700, 500, 300; the 100 and the 0 are cut
    jia_top = [p[1], p[5], p[3], p[0], p[4]]
    assert rows[0][:5] == ["Member no.", "Name", "Phone", "Product 1", "Spend 1 (¥)"]
    by_no = {row[0]: row for row in rows[1:]}
    assert set(by_no) == {bought.jia.member_no, bought.yi.member_no}
    jia = by_no[bought.jia.member_no]
    assert jia[1:3] == ["甲", "139****5678"]
    assert jia[3::2] == [x.name for x in jia_top]
    assert jia[4::2] == [9, 9, 7, 5, 3]
    assert [c for c in by_no[bought.yi.member_no][3:] if c is not None] == [p[0].name, 2, p[6].name, 0.5]
    # and the page's order for 甲 is the same
    ranked = html.split(f'data-member="{bought.jia.pk}"')[1].split("</tr>")[0]
    assert [int(x.split('"')[0]) for x in ranked.split('data-product="')[1:]] == [x.pk for x in jia_top]


def test_top_products_per_member_count(chain, bought):
    """Given the facts, when the top 2 are asked for, then each member has at most 2, by spend."""
    ranked = basket.top_products([bought.jia.pk, bought.yi.pk, bought.bing.pk], top=2)
    assert [f.product for f in ranked[bought.jia.pk]] == [bought.products[1], bought.products[5]]
    assert [f.spend for f in ranked[bought.yi.pk]] == [200, 50]
    assert [f.spend for f in ranked[bought.bing.pk]] == [100]


def test_the_catalogue_links_each_product_to_what_it_is_bought_with(chain, login):
    """Given a product, when HQ opens the catalogue, its row links to the product's "bought with" page;
    a cashier (no analytics.view) sees no such link."""
    from onecard.catalog import services as catalog

    tea = catalog.create_product(None, chain.merchant, sku="TEA-9", name="红茶", list_price=500)

    page = login(chain.hq_admin).get(reverse("catalog:products")).content.decode()
    assert f'href="{reverse("basket:product", args=[tea.pk])}" data-product-link="basket:product"' in page
    assert (
        "data-product-link" not in login(chain.cashier_a1).get(reverse("catalog:products")).content.decode()
    )
