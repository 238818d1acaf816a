"""What a scoring writes back: only the rows that moved, the month's snapshot whole, favourites of due members."""

import datetime

import pandas as pd
from django.db import connection
from django.utils import timezone

from onecard.analytics import scoring
from onecard.analytics.models import AnalyticsSettings, MemberClassSnapshot, MemberFacts
from onecard.catalog import services as catalog
from onecard.core.clock import moved_now
from onecard.sales import checkout, returns
from onecard.sales.models import Sale, SaleLine

TODAY = datetime.date(2026, 12, 7)
CLASS_COLUMNS = ("member_id", "rfm_class", "abcd_class", "life_stage")


def _buy(chain, store, card, items, ref):
    due = checkout.quote(chain.merchant, store, card, items).total_due
    return checkout.checkout(
        chain.cashier_a1, store=store, card=card, items=items, tenders={"cash": due}, business_ref=ref
    )


def _buyers(chain, shop, member_factory, count=12):
    """`count` members with cards, each with a few sales at A1 and A2 over November."""
    from onecard.testing.stored_value import sv_card

    cards = [shop.card] + [sv_card(chain, member_factory(name=f"会员{i}")) for i in range(count - 1)]
    start = datetime.datetime(2026, 11, 2, 3, 0, tzinfo=datetime.UTC)
    with moved_now(start) as clock:
        for i, card in enumerate(cards):
            for visit in range(1 + i % 4):
                clock.advance(datetime.timedelta(hours=5))
                store = chain.a1 if (i + visit) % 3 else chain.a2
                items = [("CAKE-1", 1 + visit % 2)] + ([("TEA-1", 1 + i % 3)] if i % 2 else [])
                _buy(chain, store, card, items, f"W-{i}-{visit}")
    return cards


def _snapshot(month):
    return sorted(MemberClassSnapshot.objects.filter(month=month).values_list(*CLASS_COLUMNS))


def _facts_classes(chain):
    return sorted(MemberFacts.objects.filter(merchant=chain.merchant).values_list(*CLASS_COLUMNS))


def test_a_second_scoring_rewrites_no_row_and_the_snapshot_stays_equal_to_the_facts(
    chain, shop, member_factory
):
    """Given members scored once today, when they are scored again with nothing new,
    then no facts row is rewritten, no class moved, December's snapshot still equals the facts, and the
    merchant's scoring time is the second scoring's."""
    _buyers(chain, shop, member_factory)
    first = scoring.score_merchant(chain.merchant, today=TODAY)
    assert first.written == first.members > 0
    before = timezone.now()

    second = scoring.score_merchant(chain.merchant, today=TODAY)

    assert (second.written, second.changed, second.members) == (0, 0, first.members)
    assert _snapshot(datetime.date(2026, 12, 1)) == _facts_classes(chain)
    assert AnalyticsSettings.objects.get(merchant=chain.merchant).scored_at >= before


def test_a_new_sale_rewrites_its_member_and_the_snapshot_follows(chain, shop, member_factory):
    """Given members scored today, when one of them buys again and they are scored again,
    then that member's row is among those rewritten (fewer than all), and the snapshot equals the facts."""
    cards = _buyers(chain, shop, member_factory)
    scoring.score_merchant(chain.merchant, today=TODAY)
    buyer = cards[5].member_id
    with moved_now(datetime.datetime(2026, 12, 6, 3, 0, tzinfo=datetime.UTC)):
        _buy(chain, chain.a1, cards[5], [("CAKE-1", 2)], "W-again")
    stored = MemberFacts.objects.get(member_id=buyer)

    result = scoring.score_merchant(chain.merchant, today=TODAY)

    again = MemberFacts.objects.get(member_id=buyer)
    assert again.window_purchases == stored.window_purchases + 1
    assert again.recency_score == 5
    assert 1 <= result.written < result.members
    assert _snapshot(datetime.date(2026, 12, 1)) == _facts_classes(chain)


def test_the_first_scoring_of_a_month_snapshots_every_member(chain, shop, member_factory):
    """Given members scored on the last day of November, when they are scored on the 1st of December,
    then December's snapshot holds every member (moved or not) and November's is kept."""
    _buyers(chain, shop, member_factory)
    scoring.score_merchant(chain.merchant, today=datetime.date(2026, 11, 30))
    november = _snapshot(datetime.date(2026, 11, 1))

    scoring.score_merchant(chain.merchant, today=datetime.date(2026, 12, 1))

    assert _snapshot(datetime.date(2026, 12, 1)) == _facts_classes(chain)
    assert len(november) == MemberFacts.objects.filter(merchant=chain.merchant).count()
    assert _snapshot(datetime.date(2026, 11, 1)) == november


def _expected_favourites(chain):
    """Each member's store and category of the most net spend (ties: more purchases, then the smaller id)."""
    sales = pd.DataFrame(
        Sale.objects.filter(merchant=chain.merchant, member__isnull=False).values(
            "member_id", "store_id", "total_due", "returned_due"
        )
    )
    sales["net"] = sales.total_due - sales.returned_due
    stores = sales.groupby(["member_id", "store_id"]).agg(spend=("net", "sum"), n=("net", "size"))
    stores = stores.reset_index().sort_values(
        ["member_id", "spend", "n", "store_id"], ascending=[True, False, False, True]
    )
    lines = pd.DataFrame(
        SaleLine.objects.filter(sale__member__isnull=False, gift=False).values(
            "sale__member_id", "product__category_id", "due", "returned_due"
        )
    )
    lines["net"] = lines.due - lines.returned_due
    categories = (
        lines.groupby(["sale__member_id", "product__category_id"])["net"].sum().reset_index()
    ).sort_values(["sale__member_id", "net", "product__category_id"], ascending=[True, False, True])
    return (
        stores.groupby("member_id").first()["store_id"].to_dict(),
        categories.groupby("sale__member_id").first()["product__category_id"].to_dict(),
    )


def test_favourites_equal_a_pandas_ranking_and_follow_a_return(chain, shop, member_factory):
    """Given members who bought cakes and teas (two categories) at A1 and A2, scored once,
    when the member who spent most at A2 returns most of it and the members are scored again,
    then every member's favourite store and category equal a pandas ranking of their sales, the returning
    member's favourite store moved, and only that member was due for ranking again."""
    cakes = catalog.create_category(None, chain.merchant, name="蛋糕类")
    teas = catalog.create_category(None, chain.merchant, name="茶饮")
    for sku, category in (("CAKE-1", cakes), ("TEA-1", teas)):
        product = shop.cake if sku == "CAKE-1" else shop.tea
        catalog.update_product(None, product, category=category)
    cards = _buyers(chain, shop, member_factory)
    card = cards[2]  # visits at A2 then A1, A1 ... : make A2 the biggest first
    with moved_now(datetime.datetime(2026, 12, 1, 3, 0, tzinfo=datetime.UTC)):
        big = _buy(chain, chain.a2, card, [("CAKE-1", 6)], "W-big")
    scoring.score_merchant(chain.merchant, today=TODAY)
    member = MemberFacts.objects.get(member_id=card.member_id)
    assert member.favourite_store_id == chain.a2.pk
    assert MemberFacts.objects.filter(merchant=chain.merchant, favourites_due=True).count() == 0

    line = big.lines.get()
    returns.return_sale(chain.cashier_a1, big, store=chain.a2, lines={line.pk: 6}, reason="退货")
    due = list(MemberFacts.objects.filter(favourites_due=True).values_list("member_id", flat=True))
    scoring.score_merchant(chain.merchant, today=TODAY)

    assert due == [card.member_id]
    stores, categories = _expected_favourites(chain)
    kept = MemberFacts.objects.filter(merchant=chain.merchant, purchases__gt=0)
    assert {f.member_id: f.favourite_store_id for f in kept} == stores
    assert {f.member_id: f.favourite_category_id for f in kept} == categories
    assert MemberFacts.objects.get(member_id=card.member_id).favourite_store_id == chain.a1.pk


def test_the_binary_read_equals_the_cursor(chain, shop, member_factory):
    """Given scored members, when their facts are read as arrays (binary COPY on PostgreSQL),
    then the arrays hold exactly what a plain cursor reads, NULL-free columns as integers."""
    _buyers(chain, shop, member_factory)
    scoring.score_merchant(chain.merchant, today=TODAY)
    sql = (
        "SELECT member_id, purchases, spend, COALESCE(recency_score, 0) AS r FROM analytics_memberfacts "
        "WHERE merchant_id = %s ORDER BY member_id"
    )

    arrays = scoring.read_arrays(
        sql,
        [chain.merchant.pk],
        [("member_id", "bigint"), ("purchases", "integer"), ("spend", "bigint"), ("r", "smallint")],
    )

    with connection.cursor() as cursor:
        cursor.execute(sql, [chain.merchant.pk])
        rows = cursor.fetchall()
    assert len(rows) == 12
    assert list(
        zip(*(arrays[name].tolist() for name in ("member_id", "purchases", "spend", "r")), strict=True)
    ) == [tuple(row) for row in rows]
