"""Tiers: definitions, evaluation with reasons, grace and downgrade, idempotence, manual and merge."""

import datetime
from decimal import Decimal

import pytest
from django.utils import translation

from onecard.core.errors import PermissionDenied, ValidationFailed
from onecard.loyalty.cards.choices import TierChangeKind, TierMetric
from onecard.loyalty.models import MemberTier, TierChange
from onecard.loyalty.tiers import services as tiers
from onecard.members import merging as member_merging

D0 = datetime.date(2026, 1, 10)


class Figures:
    """A metrics_provider backed by a dict {metric: {member_id: value}}; records its calls."""

    def __init__(self):
        self.values = {metric: {} for metric in TierMetric.values}
        self.calls = []

    def set(self, member, metric, value):
        self.values[metric][member.pk] = value

    def __call__(self, member_ids, metric, since):
        self.calls.append((metric, since, len(member_ids)))
        return {m: v for m, v in self.values[metric].items() if m in set(member_ids)}


def _english(change):
    with translation.override("en"):
        return change.reason_text


@pytest.fixture
def ladder(chain):
    """普通 (entry) < 银卡 (spend ≥ ¥2,000 / 365 d) < 金卡 (spend ≥ ¥5,000 / 365 d or 30 visits / 90 d)."""
    m = chain.merchant
    return (
        tiers.create_tier(chain.hq_admin, m, name="普通", rank=0),
        tiers.create_tier(
            None,
            m,
            name="银卡",
            rank=1,
            discount_rate=Decimal("0.98"),
            rules=[(TierMetric.SPEND, 200_000, 365)],
            review_period_days=365,
            grace_days=30,
        ),  # fmt: skip
        tiers.create_tier(
            None,
            m,
            name="金卡",
            rank=2,
            discount_rate=Decimal("0.95"),
            points_multiplier=Decimal("1.5"),
            benefits="生日双倍积分",
            review_period_days=365,
            grace_days=30,
            rules=[(TierMetric.SPEND, 500_000, 365), (TierMetric.VISITS, 30, 90)],
        ),  # fmt: skip
    )


@pytest.fixture
def figures():
    return Figures()


def test_first_evaluation_places_every_member_with_a_reason(chain, ladder, figures, member_factory):
    # given
    entry, silver, gold = ladder
    big, regular, loyal = member_factory(), member_factory(), member_factory()
    figures.set(big, TierMetric.SPEND, 523_000)
    figures.set(loyal, TierMetric.VISITS, 31)
    figures.set(loyal, TierMetric.SPEND, 10_000)
    # when
    result = tiers.evaluate_tiers(chain.merchant, figures, D0)
    # then
    assert (result.evaluated, result.upgraded, result.downgraded) == (3, 3, 0)
    assert tiers.member_tier(big) == gold and tiers.member_tier(loyal) == gold
    assert tiers.member_tier(regular) == entry
    with translation.override("en"):
        reasons = {c.member_id: c.reason_text for c in TierChange.objects.all()}
    assert reasons == {
        big.pk: "Spend ¥5,230.00 in the last 365 days ≥ ¥5,000.00",
        regular.pk: "entry tier",
        loyal.pk: "Visits 31 in the last 90 days ≥ 30",
    }
    assert TierChange.objects.get(member=big).details == {
        "why": "rule_met",
        "rules": [
            {"metric": "spend", "value": 523_000, "threshold": 500_000, "window_days": 365, "met": True}
        ],
    }
    change = TierChange.objects.get(member=big)
    assert (change.kind, change.from_tier, change.to_tier, change.value, change.threshold) == (
        TierChangeKind.UPGRADE, None, gold, 523_000, 500_000)  # fmt: skip
    state = MemberTier.objects.get(member=big)
    assert (state.since, state.review_on) == (D0, D0 + datetime.timedelta(days=365))
    # one call per (metric, window), with the window's first day
    assert sorted(figures.calls) == [
        (TierMetric.SPEND, D0 - datetime.timedelta(days=365), 3),
        (TierMetric.VISITS, D0 - datetime.timedelta(days=90), 3),
    ]


def test_running_twice_on_one_day_changes_nothing_more(chain, ladder, figures, member_factory):
    member = member_factory()
    figures.set(member, TierMetric.SPEND, 250_000)
    tiers.evaluate_tiers(chain.merchant, figures, D0)
    before = list(MemberTier.objects.values_list("member_id", "tier_id", "since", "review_on", "grace_until"))
    # when
    again = tiers.evaluate_tiers(chain.merchant, figures, D0)
    # then
    assert (again.upgraded, again.downgraded, again.grace_started, again.renewed) == (0, 0, 0, 0)
    assert TierChange.objects.count() == 1
    assert (
        list(MemberTier.objects.values_list("member_id", "tier_id", "since", "review_on", "grace_until"))
        == before
    )


def test_a_member_moves_up_as_soon_as_a_higher_rule_is_met(chain, ladder, figures, member_factory):
    entry, silver, gold = ladder
    member = member_factory()
    figures.set(member, TierMetric.SPEND, 250_000)
    tiers.evaluate_tiers(chain.merchant, figures, D0)
    figures.set(member, TierMetric.SPEND, 500_000)
    result = tiers.evaluate_tiers(chain.merchant, figures, D0 + datetime.timedelta(days=3))
    assert result.upgraded == 1 and tiers.member_tier(member) == gold
    change = TierChange.objects.filter(member=member).first()
    assert (change.from_tier, change.to_tier, _english(change)) == (
        silver, gold, "Spend ¥5,000.00 in the last 365 days ≥ ¥5,000.00")  # fmt: skip


def test_downgrade_waits_for_the_review_then_the_grace_period(chain, ladder, figures, member_factory):
    # given: gold since D0, then the spend drops to ¥1,000
    entry, silver, gold = ladder
    member = member_factory()
    figures.set(member, TierMetric.SPEND, 600_000)
    tiers.evaluate_tiers(chain.merchant, figures, D0)
    figures.set(member, TierMetric.SPEND, 100_000)
    day = D0.__add__
    # when: before the review nothing happens
    assert tiers.evaluate_tiers(chain.merchant, figures, day(datetime.timedelta(days=364))).grace_started == 0
    # at the review the grace period starts (twice on that day: once)
    review = day(datetime.timedelta(days=365))
    assert tiers.evaluate_tiers(chain.merchant, figures, review).grace_started == 1
    assert tiers.evaluate_tiers(chain.merchant, figures, review).grace_started == 0
    assert MemberTier.objects.get(member=member).grace_until == review + datetime.timedelta(days=30)
    # inside the grace period: still gold
    assert tiers.evaluate_tiers(chain.merchant, figures, review + datetime.timedelta(days=29)).downgraded == 0
    assert tiers.member_tier(member) == gold
    # at its end: down to the best tier still earned (entry: ¥1,000 is below silver's ¥2,000)
    end = review + datetime.timedelta(days=30)
    assert tiers.evaluate_tiers(chain.merchant, figures, end).downgraded == 1
    assert tiers.evaluate_tiers(chain.merchant, figures, end).downgraded == 0
    # then
    assert tiers.member_tier(member) == entry
    change = TierChange.objects.filter(member=member).first()
    assert change.kind == TierChangeKind.DOWNGRADE and change.from_tier == gold
    assert _english(change) == (
        "Spend ¥1,000.00 in the last 365 days < ¥5,000.00; Visits 0 in the last 90 days < 30 "
        f"(grace ended {end.isoformat()})"
    )
    with translation.override("zh-hans"):
        assert change.reason_text.startswith("消费金额 ¥1,000.00（近 365 天）< ¥5,000.00；")


def test_qualifying_again_during_grace_keeps_the_tier(chain, ladder, figures, member_factory):
    entry, silver, gold = ladder
    member = member_factory()
    figures.set(member, TierMetric.SPEND, 600_000)
    tiers.evaluate_tiers(chain.merchant, figures, D0)
    figures.set(member, TierMetric.SPEND, 100_000)
    review = D0 + datetime.timedelta(days=365)
    tiers.evaluate_tiers(chain.merchant, figures, review)
    # when: the member shops again within the grace period
    figures.set(member, TierMetric.SPEND, 510_000)
    result = tiers.evaluate_tiers(chain.merchant, figures, review + datetime.timedelta(days=10))
    # then
    assert (result.renewed, result.downgraded) == (1, 0)
    state = MemberTier.objects.get(member=member)
    assert (state.tier, state.grace_until) == (gold, None)
    assert state.review_on == review + datetime.timedelta(days=10 + 365)
    assert TierChange.objects.filter(member=member).count() == 1


def test_tier_definitions_are_checked(chain, ladder):
    with pytest.raises(ValidationFailed) as refused:
        tiers.create_tier(None, chain.merchant, name="钻石", rank=3, discount_rate=0.9)
    assert "discount_rate" in refused.value.errors
    with pytest.raises(ValidationFailed) as refused:
        tiers.create_tier(None, chain.merchant, name="钻石", rank=3, discount_rate=Decimal("1.10"))
    assert "discount_rate" in refused.value.errors
    with pytest.raises(ValidationFailed) as refused:
        tiers.create_tier(None, chain.merchant, name="钻石", rank=2)
    assert "rank" in refused.value.errors
    with pytest.raises(ValidationFailed) as refused:
        tiers.create_tier(None, chain.merchant, name="钻石", rank=3, rules=[("spend", 0, 365)])
    assert "rules" in refused.value.errors
    with pytest.raises(PermissionDenied):
        tiers.create_tier(chain.store_manager, chain.merchant, name="钻石", rank=3)


def test_update_tier_replaces_its_rules(chain, ladder, figures, member_factory):
    entry, silver, gold = ladder
    tiers.update_tier(chain.hq_admin, silver, rules=[(TierMetric.TOPUP, 100_000, 180)], grace_days=0)
    member = member_factory()
    figures.set(member, TierMetric.TOPUP, 150_000)
    tiers.evaluate_tiers(chain.merchant, figures, D0)
    assert tiers.member_tier(member) == silver
    assert (
        _english(TierChange.objects.get(member=member))
        == "Top-ups ¥1,500.00 in the last 180 days ≥ ¥1,000.00"
    )


def test_staff_set_a_tier_by_hand_within_scope(chain, ladder, member_factory):
    entry, silver, gold = ladder
    member = member_factory()
    with pytest.raises(PermissionDenied):
        tiers.set_member_tier(chain.cashier_b1, member, gold, reason="VIP")
    tiers.set_member_tier(chain.store_manager, member, gold, reason="董事长的朋友", today=D0)
    change = TierChange.objects.get(member=member)
    assert (change.kind, change.to_tier, change.actor, change.reason) == (
        TierChangeKind.MANUAL, gold, chain.store_manager, "董事长的朋友")  # fmt: skip


def test_a_member_merge_keeps_the_better_tier(chain, ladder, member_factory):
    entry, silver, gold = ladder
    survivor, duplicate = member_factory(), member_factory()
    tiers.set_member_tier(None, survivor, silver, reason="x", today=D0)
    tiers.set_member_tier(None, duplicate, gold, reason="y", today=D0)
    member_merging.merge_members(chain.store_manager, survivor, duplicate)
    assert tiers.member_tier(survivor) == gold
    assert TierChange.objects.filter(member=survivor, kind=TierChangeKind.MERGE).count() == 1


def test_merged_members_are_not_evaluated(chain, ladder, figures, member_factory):
    survivor, duplicate = member_factory(), member_factory()
    member_merging.merge_members(None, survivor, duplicate)
    result = tiers.evaluate_tiers(chain.merchant, figures, D0)
    assert result.evaluated == 1
    assert not MemberTier.objects.filter(member=duplicate).exists()
