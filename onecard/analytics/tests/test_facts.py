"""Per-member facts: kept current by the sales services, and equal to a rebuild from the sales."""

import datetime
import random

import pandas as pd
import pytest

from onecard.analytics import facts
from onecard.analytics.models import MemberFacts, MemberMonth, MemberProductFacts, MemberStoreFacts
from onecard.core.clock import moved_now
from onecard.loyalty.stored_value import services as stored_value
from onecard.sales import checkout, returns
from onecard.sales import services as sales
from onecard.sales.models import Sale
from onecard.testing.cards import put_value
from onecard.testing.stored_value import sv_card


def _state():
    """Every fact row as plain tuples, sorted, so two states compare with ==."""
    fact_columns = ["member_id", "merchant_id", *facts.FACT_COLUMNS]
    return {
        "facts": sorted(MemberFacts.objects.values_list(*fact_columns)),
        "months": sorted(
            MemberMonth.objects.values_list(
                "member_id", "month", "purchases", "visits", "spend", "last_visit_day"
            )
        ),
        "stores": sorted(MemberStoreFacts.objects.values_list("member_id", "store_id", "purchases", "spend")),
        "products": sorted(
            MemberProductFacts.objects.values_list(
                "member_id", "product_id", "quantity", "spend", "last_bought_at"
            )
        ),
    }


def _random_history(chain, shop, member_factory, seed, steps=60):
    """Sales, returns, charges, refunds and top-ups of two members and anonymous buyers over ~40 days."""
    rng = random.Random(seed)
    other = member_factory(name="韩梅梅")
    other_card = sv_card(chain, other)
    put_value(chain, other_card, principal=50_000, bonus=0)
    cards = [shop.card, other_card]
    checkouts, charges = [], []
    start = datetime.datetime(2026, 10, 1, 1, 0, tzinfo=datetime.UTC)
    with moved_now(start) as clock:
        for step in range(steps):
            clock.advance(datetime.timedelta(hours=rng.choice([1, 3, 9, 20, 30])))
            roll = rng.random()
            store = rng.choice([chain.a1, chain.a2])
            if roll < 0.35:
                card = rng.choice(cards + [None])
                items = [("CAKE-1", rng.randint(1, 3))] + (
                    [("TEA-1", rng.randint(1, 4))] if rng.random() < 0.6 else []
                )
                due = checkout.quote(chain.merchant, store, card, items).total_due
                sale = checkout.checkout(
                    chain.cashier_a1, store=store, card=card, items=items, tenders={"cash": due},
                    business_ref=f"S-{seed}-{step}",
                )  # fmt: skip
                checkouts.append(sale)
            elif roll < 0.55:
                card = rng.choice(cards)
                stored_value.topup(None, card, rng.choice([5_000, 20_000]), store=store)
            elif roll < 0.75:
                card = rng.choice(cards)
                charges.append(
                    sales.charge_card(chain.cashier_a1, card, rng.randint(100, 3_000), store=store)
                )
            elif roll < 0.9 and checkouts:
                sale = Sale.objects.get(pk=rng.choice(checkouts).pk)
                open_lines = [line for line in sale.lines.all() if line.returned_quantity < line.quantity]
                if open_lines:
                    line = rng.choice(open_lines)
                    returns.return_sale(
                        chain.cashier_a1, sale, store=store, lines={line.pk: 1}, reason="退货"
                    )  # fmt: skip
            elif charges:
                tx = rng.choice(charges)
                tx.refresh_from_db()
                left = tx.amount - tx.refunded_total
                if left > 0:
                    sales.refund_charge(
                        chain.cashier_a1, tx, rng.randint(1, left), store=store, reason="退款"
                    )


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_rebuild_agrees_with_the_facts_kept_as_sales_happen(chain, shop, member_factory, seed):
    """Given a random history of sales, returns, charges, refunds and top-ups, each counted as it happened,
    when the facts are rebuilt from the sales and invoice facts,
    then every facts, month, store and product row is what the incremental path had written."""
    _random_history(chain, shop, member_factory, seed)
    kept = _state()
    assert kept["facts"], "the history made no member facts"

    counts = facts.rebuild()

    assert _state() == kept
    assert counts.members == len(kept["facts"])


def test_the_facts_match_an_independent_count_of_the_sales(chain, shop, member_factory):
    """Given a random history, when the facts are kept as it happens,
    then purchases, net spend, returned and visits equal a pandas count of the sales rows."""
    _random_history(chain, shop, member_factory, seed=7, steps=40)
    rows = pd.DataFrame(
        Sale.objects.filter(member__isnull=False).values(
            "member_id", "created_at", "total_due", "returned_due"
        )
    )
    rows["day"] = rows["created_at"].dt.tz_convert("Asia/Shanghai").dt.date
    expected = rows.groupby("member_id").agg(
        purchases=("total_due", "size"),
        total=("total_due", "sum"),
        returned=("returned_due", "sum"),
        visits=("day", "nunique"),
    )
    for member_id, row in expected.iterrows():
        kept = MemberFacts.objects.get(member_id=member_id)
        assert (kept.purchases, kept.spend, kept.returned, kept.visits) == (
            row.purchases,
            row.total - row.returned,
            row.returned,
            row.visits,
        )


def test_a_top_up_and_its_refund_count_on_the_member(chain, card):
    """Given a member's card, when ¥200 is topped up and ¥50 of it paid back,
    then the member has one top-up and ¥150 of principal topped up, and no purchase."""
    tx = stored_value.topup(None, card, 20_000, store=chain.a1)
    stored_value.refund_topup(None, tx, 5_000, store=chain.a1, reason="退卡")

    kept = MemberFacts.objects.get(member_id=card.member_id)
    assert (kept.topups, kept.topup_amount, kept.purchases) == (1, 15_000, 0)


def test_an_anonymous_sale_makes_no_facts(chain, shop):
    """Given an anonymous checkout, then no member's facts change."""
    checkout.checkout(
        chain.cashier_a1,
        store=chain.a1,
        card=None,
        items=[("TEA-1", 1)],
        tenders={"cash": 500},
        business_ref="S-A",
    )
    assert not MemberFacts.objects.exists()
    assert not MemberMonth.objects.exists()


def test_imported_history_rebuilds_its_members_facts(chain, member_factory, import_settings):
    """Given a member who bought once at the till today, when two older purchases (2024) are imported,
    then their facts count 3 purchases, 3 visits, the imported spend, and the first purchase of 2024."""
    from onecard.catalog import services as catalog
    from onecard.sales import importing
    from onecard.testing.member_imports import xlsx_file

    catalog.create_product(None, chain.merchant, sku="TEA-1", name="乌龙茶", list_price=500)
    member = member_factory(name="张三")
    card = sv_card(chain, member)
    put_value(chain, card, principal=10_000)
    sales.charge_card(chain.cashier_a1, card, 1_000, store=chain.a1)
    rows = [
        [member.member_no, "", "2024-03-05 14:30", "68.50", "", "A1", "TEA-1×2"],
        [member.member_no, "", "2024-03-09 10:00", "20", "", "A1", ""],
    ]
    upload = xlsx_file(
        rows, ["会员号", "手机号", "消费时间", "金额", "数量", "门店编码", "商品"], "sales.xlsx"
    )
    job = importing.create_import_job(chain.hq_admin, chain.merchant, upload)
    importing.check_import(chain.hq_admin, job)
    importing.start_import(chain.hq_admin, job)

    kept = MemberFacts.objects.get(member=member)
    assert (kept.purchases, kept.visits, kept.spend) == (3, 3, 1_000 + 6_850 + 2_000)
    assert facts.local_day(kept.first_purchase_at) == datetime.date(2024, 3, 5)
    assert MemberMonth.objects.filter(member=member, month=datetime.date(2024, 3, 1)).get().purchases == 2


def test_the_command_rebuilds_and_scores(chain, shop):
    """Given one checkout of 李雷, when `onecard analytics rebuild` then `score` run,
    then each names the merchant with its counts and 李雷 is a first-purchase member."""
    from io import StringIO

    from django.core.management import call_command

    checkout.checkout(
        chain.cashier_a1,
        store=chain.a1,
        card=shop.card,
        items=[("TEA-1", 2)],
        tenders={"cash": 1000},
        business_ref="S-C",
    )
    out = StringIO()
    call_command("analytics", "rebuild", "--merchant", str(chain.merchant.pk), stdout=out)
    call_command("analytics", "score", "--merchant", str(chain.merchant.pk), stdout=out)

    assert f"merchant {chain.merchant.pk} ({chain.merchant.code}): 1 members' facts" in out.getvalue()
    assert "members scored" in out.getvalue()
    assert MemberFacts.objects.get(member=shop.member).life_stage == "first_purchase"
