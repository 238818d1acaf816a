"""RFM, ABCD and life cycle: the scores and classes equal an independent pandas computation."""

import datetime
import random

import numpy as np
import pandas as pd
import pytest
from django.utils import timezone

from onecard.analytics import scoring
from onecard.analytics.choices import LifeStage, ScoreMethod
from onecard.analytics.models import AnalyticsSettings, MemberClassSnapshot, MemberFacts, MemberMonth

TODAY = datetime.date(2026, 12, 7)


def _at(days_ago: int) -> datetime.datetime:
    """Noon, Shanghai time, `days_ago` before TODAY."""
    day = TODAY - datetime.timedelta(days=days_ago)
    return timezone.make_aware(datetime.datetime(day.year, day.month, day.day, 12))


def _generated_members(chain, member_factory, count=120, seed=5):
    """Members with random facts and month rows: some never bought, some topped up only."""
    rng = random.Random(seed)
    for i in range(count):
        member = member_factory(name=f"会员{i}")
        kind = rng.random()
        if kind < 0.15:
            MemberFacts.objects.create(member=member, merchant=chain.merchant, topups=rng.choice([0, 1]))
            continue
        first_ago = rng.randint(1, 700)
        last_ago = rng.randint(0, first_ago)
        months = {}
        for _ in range(rng.randint(1, 12)):
            ago = rng.randint(last_ago, first_ago)
            month = scoring.month_start(TODAY - datetime.timedelta(days=ago))
            purchases, spend = months.get(month, (0, 0))
            months[month] = (purchases + 1, spend + rng.randint(1, 400) * 100)
        for month, (purchases, spend) in months.items():
            MemberMonth.objects.create(
                member=member, merchant=chain.merchant, month=month, purchases=purchases, visits=purchases,
                spend=spend, last_visit_day=month,
            )  # fmt: skip
        MemberFacts.objects.create(
            member=member, merchant=chain.merchant, first_purchase_at=_at(first_ago), last_purchase_at=_at(last_ago),
            purchases=sum(p for p, _s in months.values()), spend=sum(s for _p, s in months.values()),
        )  # fmt: skip


def _expected(chain, window_months=12, top=20):
    """The classes computed again with pandas from the facts and months rows (ranks, means, top shares)."""
    facts = pd.DataFrame(
        MemberFacts.objects.filter(merchant=chain.merchant).values(
            "member_id", "first_purchase_at", "last_purchase_at", "purchases", "topups"
        )
    ).set_index("member_id")
    start = scoring.month_start(TODAY, window_months - 1)
    months = pd.DataFrame(
        MemberMonth.objects.filter(month__gte=start).values("member_id", "purchases", "spend")
    )
    window = months.groupby("member_id").sum()
    facts["f"] = window["purchases"].reindex(facts.index).fillna(0).astype(int)
    facts["m"] = window["spend"].reindex(facts.index).fillna(0).astype(int)
    buyers = facts[facts.purchases > 0].copy()
    last_days = buyers.last_purchase_at.dt.tz_convert("Asia/Shanghai").dt.date
    buyers["r"] = [(TODAY - d).days for d in last_days]
    n = len(buyers)
    # score = 1 + floor(5 × strictly-worse count / n); rank(method="min") − 1 counts the strictly smaller
    buyers["rs"] = 1 + (5 * (buyers.r.rank(method="min", ascending=False) - 1)) // n
    buyers["fs"] = 1 + (5 * (buyers.f.rank(method="min") - 1)) // n
    buyers["ms"] = 1 + (5 * (buyers.m.rank(method="min") - 1)) // n
    high = {c: buyers[c] > buyers[c].mean() for c in ("rs", "fs", "ms")}
    names = {
        (True, True, True): "important_value", (True, False, True): "important_grow",
        (False, True, True): "important_keep", (False, False, True): "important_win_back",
        (True, True, False): "general_value", (True, False, False): "general_grow",
        (False, True, False): "general_keep", (False, False, False): "general_win_back",
    }  # fmt: skip
    buyers["rfm"] = [names[(r, f, m)] for r, f, m in zip(high["rs"], high["fs"], high["ms"], strict=True)]
    freq_high = ((buyers.f.rank(method="min") - 1) * 100 >= (100 - top) * n) & (buyers.f > 0)
    amount_high = ((buyers.m.rank(method="min") - 1) * 100 >= (100 - top) * n) & (buyers.m > 0)
    buyers["abcd"] = np.where(freq_high, np.where(amount_high, "A", "B"), np.where(amount_high, "C", "D"))
    return buyers


def test_quantile_scores_and_classes_equal_a_pandas_computation(chain, member_factory):
    """Given 120 members with random purchase months, some who never bought,
    when the merchant is scored by quantiles,
    then each buyer's R, F, M scores, RFM class and ABCD class are pandas's, and non-buyers have none."""
    _generated_members(chain, member_factory)
    expected = _expected(chain)

    result = scoring.score_merchant(chain.merchant, today=TODAY)

    kept = {f.member_id: f for f in MemberFacts.objects.filter(merchant=chain.merchant)}
    assert result.members == len(kept)
    for member_id, row in expected.iterrows():
        facts = kept[member_id]
        assert (facts.recency_score, facts.frequency_score, facts.monetary_score) == (row.rs, row.fs, row.ms)
        assert (facts.window_purchases, facts.window_spend) == (row.f, row.m)
        assert facts.rfm_class == row.rfm
        assert facts.abcd_class == row.abcd
    for facts in kept.values():
        if facts.purchases == 0:
            assert (facts.rfm_class, facts.abcd_class, facts.recency_score) == ("", "", None)
            assert facts.life_stage == (LifeStage.INTERESTED if facts.topups else LifeStage.PROSPECT)
    assert sum(result.classes.values()) == len(expected)
    assert set(expected.rfm.value_counts().items()) == set(result.classes.items())


def test_fixed_boundaries_score_by_the_merchants_values(chain, member_factory):
    """Given fixed boundaries (R ≤ 30/60/90/180 days, F ≥ 2/3/5/8, M ≥ ¥200/500/1000/3000),
    when members are scored, then a member who bought 10 days ago, 3 times for ¥600 scores 5, 3, 3."""
    AnalyticsSettings.objects.create(
        merchant=chain.merchant, score_method=ScoreMethod.FIXED, recency_days=[30, 60, 90, 180],
        frequency_counts=[2, 3, 5, 8], monetary_amounts=[20000, 50000, 100000, 300000],
    )  # fmt: skip
    member = member_factory()
    MemberFacts.objects.create(
        member=member,
        merchant=chain.merchant,
        first_purchase_at=_at(200),
        last_purchase_at=_at(10),
        purchases=3,
    )
    MemberMonth.objects.create(
        member=member, merchant=chain.merchant, month=scoring.month_start(TODAY), purchases=3, visits=3,
        spend=60000, last_visit_day=TODAY,
    )  # fmt: skip

    scoring.score_merchant(chain.merchant, today=TODAY)

    facts = MemberFacts.objects.get(member=member)
    assert (facts.recency_score, facts.frequency_score, facts.monetary_score) == (5, 3, 3)
    assert facts.life_stage == LifeStage.ACTIVE


@pytest.mark.parametrize(
    ("first_ago", "last_ago", "purchases", "stage"),
    [
        (5, 5, 1, LifeStage.FIRST_PURCHASE),
        (20, 2, 3, LifeStage.NEW),
        (100, 60, 4, LifeStage.ACTIVE),
        (300, 150, 4, LifeStage.LAPSING),
        (500, 300, 4, LifeStage.DORMANT),
        (700, 400, 4, LifeStage.LOST),
        (400, 400, 1, LifeStage.LOST),
    ],
)
def test_life_cycle_stages_follow_the_default_thresholds(
    chain, member_factory, first_ago, last_ago, purchases, stage
):
    """Given a member's first and last purchase, when scored (new 30, active 90, lapsing 180, dormant 365 days),
    then their stage is the one the thresholds give."""
    member = member_factory()
    MemberFacts.objects.create(
        member=member, merchant=chain.merchant, first_purchase_at=_at(first_ago), last_purchase_at=_at(last_ago),
        purchases=purchases,
    )  # fmt: skip
    scoring.score_merchant(chain.merchant, today=TODAY)
    assert MemberFacts.objects.get(member=member).life_stage == stage


def test_members_without_facts_are_scored_as_prospects_and_snapshotted(chain, member_factory):
    """Given two members who never bought (no facts row), when scored twice in December,
    then both are prospects and December's snapshot holds each once."""
    members = [member_factory(), member_factory()]
    scoring.score_merchant(chain.merchant, today=TODAY)
    scoring.score_merchant(chain.merchant, today=TODAY)
    for member in members:
        assert MemberFacts.objects.get(member=member).life_stage == LifeStage.PROSPECT
    december = MemberClassSnapshot.objects.filter(month=datetime.date(2026, 12, 1))
    assert sorted(december.values_list("member_id", flat=True)) == sorted(m.pk for m in members)
