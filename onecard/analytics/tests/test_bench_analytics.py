"""`onecard bench analytics` at a tiny size: the bulk demo history adds up, and DuckDB's classes are ours."""

import pandas as pd
from django.db.models import Sum
from django.utils import timezone

from benchmarks import analytics as bench
from onecard.analytics import facts, scoring
from onecard.analytics.models import MemberFacts, MemberMonth
from onecard.members.demo import seed_members
from onecard.sales import demo_history
from onecard.sales.models import InvoiceFact, Sale, SaleLine, SaleTender


def _seeded(chain, shop, members=200, lines=2_000):
    """The chain's stores with `members` demo members and `lines` bulk history lines, facts rebuilt."""
    stores = list(chain.merchant.nodes.filter(kind="store").order_by("id"))
    seed_members(chain.merchant, stores, {}, members)
    demo_history.seed_history(chain.merchant, stores, lines)
    return facts.rebuild(merchant=chain.merchant)


def test_the_bulk_history_and_the_rebuilt_facts_add_up(chain, shop):
    """Given 200 demo members and 2,000 history lines written in bulk, when the facts are rebuilt,
    then the lines' amounts equal the members' spend, their units the members' units, each sale has one
    cash tender and one invoice fact of its amount, and the month rows hold every sale once."""
    counts = _seeded(chain, shop)

    history = Sale.objects.filter(business_ref__startswith=demo_history.HISTORY_PREFIX)
    lines = SaleLine.objects.filter(sale__in=history)
    assert lines.count() == demo_history.history_lines(chain.merchant) == 2_000
    kept = MemberFacts.objects.filter(merchant=chain.merchant).aggregate(
        spend=Sum("spend"), items=Sum("items"), purchases=Sum("purchases")
    )
    assert kept["spend"] == lines.aggregate(s=Sum("due"))["s"] == history.aggregate(s=Sum("total_due"))["s"]
    assert kept["items"] == lines.aggregate(q=Sum("quantity"))["q"]
    assert kept["purchases"] == history.count()
    assert MemberMonth.objects.aggregate(p=Sum("purchases"))["p"] == history.count()
    assert (
        SaleTender.objects.filter(sale__in=history, kind="cash").aggregate(a=Sum("amount"))["a"]
        == kept["spend"]
    )
    assert InvoiceFact.objects.filter(sale__in=history).aggregate(a=Sum("invoiceable"))["a"] == kept["spend"]
    assert counts.members == MemberFacts.objects.filter(merchant=chain.merchant).exclude(purchases=0).count()


def test_duckdb_over_the_export_gives_every_member_our_classes(chain, shop, tmp_path):
    """Given the tiny demo scored by score_merchant, when the benchmark's hand-written DuckDB query runs
    over the Parquet export of the facts and months, then no member's R, F, M score, RFM class, ABCD
    class or stage differs, and the classes are varied enough for that to mean something."""
    _seeded(chain, shop)
    result = scoring.score_merchant(chain.merchant)

    paths, _ms = bench.export_rows(chain.merchant, tmp_path)
    theirs, times = bench.duckdb_classes(paths, scoring.settings_for(chain.merchant), timezone.localdate())
    ours = bench.our_classes(chain.merchant)

    assert bench.disagreements(ours, theirs) == 0
    assert len(theirs) == len(ours) == result.members >= 200
    assert len(times) == 1
    assert set(pd.unique(ours["rfm"])) >= {"important_value", "general_win_back"}
    assert len(set(pd.unique(ours["stage"]))) >= 4
    assert set(pd.unique(ours["abcd"])) >= {"A", "D"}


def test_a_changed_class_is_a_disagreement(chain, shop, tmp_path):
    """Given our classes and DuckDB's, when one member's stored RFM class is altered,
    then the comparison counts exactly one disagreement."""
    _seeded(chain, shop, members=50, lines=400)
    scoring.score_merchant(chain.merchant)
    paths, _ms = bench.export_rows(chain.merchant, tmp_path)
    theirs, _times = bench.duckdb_classes(paths, scoring.settings_for(chain.merchant), timezone.localdate())
    buyer = MemberFacts.objects.filter(merchant=chain.merchant).exclude(purchases=0).first()
    other = "general_grow" if buyer.rfm_class != "general_grow" else "general_keep"
    MemberFacts.objects.filter(pk=buyer.pk).update(rfm_class=other)

    assert bench.disagreements(bench.our_classes(chain.merchant), theirs) == 1


def _all_facts():
    columns = ["member_id", "merchant_id", *facts.FACT_COLUMNS]
    return {
        "facts": sorted(MemberFacts.objects.values_list(*columns)),
        "months": sorted(
            MemberMonth.objects.values_list("member_id", "month", "purchases", "visits", "spend")
        ),
    }


def test_rebuilding_some_members_restores_them_and_touches_no_one_else(chain, shop):
    """Given the tiny demo's rebuilt facts, when two members' rows are damaged and only they are rebuilt
    (as an import of past sales does), then every row is as before, and a merchant rebuild changes nothing."""
    _seeded(chain, shop, members=60, lines=600)
    before = _all_facts()
    damaged = list(
        MemberFacts.objects.exclude(purchases=0).order_by("member_id").values_list("member_id", flat=True)[:2]
    )
    MemberFacts.objects.filter(member_id__in=damaged).update(spend=1, visits=99, last_visit_day=None)
    MemberMonth.objects.filter(member_id__in=damaged).delete()

    counts = facts.rebuild(member_ids=damaged)

    assert counts.members == 2
    assert _all_facts() == before
    facts.rebuild(merchant=chain.merchant)
    assert _all_facts() == before
