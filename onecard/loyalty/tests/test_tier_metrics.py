"""Tier figures from the ledger: what each metric counts, its window in Asia/Shanghai days, one query per call."""

import datetime
from decimal import Decimal

import pytest

from onecard.core.clock import moved_now
from onecard.loyalty.cards.choices import TierMetric
from onecard.loyalty.models import TierChange
from onecard.loyalty.points import services as points
from onecard.loyalty.stored_value import holds
from onecard.loyalty.stored_value import services as stored_value
from onecard.loyalty.tiers import services as tiers
from onecard.loyalty.tiers.metrics import LedgerMetrics, evaluate_merchant, window_bounds
from onecard.testing.points import local, points_cards, rule
from onecard.testing.stored_value import sv_card

TODAY = datetime.date(2026, 3, 1)
SINCE = datetime.date(2025, 3, 1)  # TODAY − 365 days


@pytest.fixture
def holder(chain, member_factory):
    """A member with a stored-value card allowed to hold ¥20,000 (so spend can pass ¥5,000)."""
    member = member_factory()
    return member, sv_card(chain, member, balance_cap=2_000_000)


def at(when, fn, *args, **kwargs):
    with moved_now(when):
        return fn(*args, **kwargs)


def test_window_runs_from_midnight_of_since_to_the_end_of_today_in_shanghai():
    start, end = window_bounds(SINCE, TODAY)
    assert start == local(2025, 3, 1, 0, 0)
    assert end == local(2026, 3, 2, 0, 0)


def test_spend_is_charges_and_captures_in_the_window_net_of_their_refunds(chain, holder, member_factory):
    member, card = holder
    a1 = chain.a1
    # given: ¥8,000 on the card (bonus would not count), then sales before and inside the window
    at(local(2025, 2, 1), stored_value.topup, None, card, 800_000, store=a1)
    at(local(2025, 2, 28, 23, 59), stored_value.charge, None, card, 100_000, store=a1)  # the day before: out
    first = at(local(2025, 3, 1, 0, 1), stored_value.charge, None, card, 300_000, store=a1)
    at(local(2025, 6, 1), stored_value.charge, None, card, 200_000, store=a1)
    held = at(local(2025, 7, 1, 10), holds.hold, None, card, 50_000, store=a1)
    at(local(2025, 7, 1, 10, 5), holds.capture, None, held, 30_000)  # a capture of ¥300 of the ¥500 held
    at(local(2026, 2, 1), stored_value.refund, None, first, 7_000, store=a1, reason="退货")
    at(local(2026, 3, 2, 0, 0), stored_value.charge, None, card, 10_000, store=a1)  # tomorrow: out
    other = member_factory()
    other_card = sv_card(chain, other)
    at(local(2025, 5, 1), stored_value.topup, None, other_card, 10_000, store=a1)
    at(local(2025, 5, 1), stored_value.charge, None, other_card, 2_500, store=a1)
    # when
    figures = LedgerMetrics(TODAY)([member.pk, other.pk], TierMetric.SPEND, SINCE)
    # then: 3,000 + 2,000 + 300 − 70 yuan; the other member apart
    assert figures == {member.pk: 523_000, other.pk: 2_500}


def test_topups_count_principal_net_of_topup_refunds_and_never_bonus(chain, holder):
    member, card = holder
    stored_value.create_bonus_rule(
        None, chain.merchant, name="充500送50", tiers=[[50_000, 5_000]], valid_from=local(2025, 1, 1)
    )
    at(local(2025, 2, 27), stored_value.topup, None, card, 50_000, store=chain.a1)  # before the window
    kept = at(local(2025, 4, 1), stored_value.topup, None, card, 100_000, store=chain.a1)
    at(local(2025, 8, 1), stored_value.topup, None, card, 50_000, store=chain.a1)
    at(local(2025, 8, 2), stored_value.refund_topup, None, kept, 40_000, store=chain.a1, reason="退款")
    # when
    figures = LedgerMetrics(TODAY)([member.pk], TierMetric.TOPUP, SINCE)
    # then: 1,000 + 500 − 400 yuan of principal; the ¥50 bonuses are not top-ups
    assert figures == {member.pk: 110_000}


def test_visits_are_distinct_shanghai_days_with_a_charge_capture_or_topup(chain, holder):
    member, card = holder
    a1 = chain.a1
    # 00:30 and 23:30 on 5 January in Shanghai are two UTC dates but one visit
    at(local(2026, 1, 5, 0, 30), stored_value.topup, None, card, 50_000, store=a1)
    at(local(2026, 1, 5, 23, 30), stored_value.charge, None, card, 1_000, store=a1)
    at(local(2026, 1, 6, 12), stored_value.charge, None, card, 1_000, store=a1)
    held = at(local(2026, 1, 7, 12), holds.hold, None, card, 1_000, store=a1)
    at(local(2026, 1, 7, 12, 1), holds.void, None, held)  # a voided hold is no visit
    # when
    figures = LedgerMetrics(TODAY)([member.pk], TierMetric.VISITS, datetime.date(2026, 1, 1))
    # then
    assert figures == {member.pk: 2}


def test_points_earned_are_earned_lots_net_of_reversals_without_adjustments(chain, member_factory):
    # given: 1 point per ¥1; a points card earning for sales paid in cash
    member = member_factory()
    rule(chain, "1")
    (card,), _spare = points_cards(chain, [member])
    at(local(2025, 1, 10), points.earn_for_spend, None, card, 50_000, store=chain.a1)  # before: out
    lot = at(local(2025, 5, 10), points.earn_for_spend, None, card, 30_000, store=chain.a1).lot
    at(local(2025, 6, 10), points.earn_for_spend, None, card, 12_345, store=chain.a1)
    at(local(2025, 7, 1), points.reverse_earn, None, lot, 100)
    at(local(2025, 7, 2), points.adjust, chain.hq_admin, card, 1_000, reason="补录")
    # when
    figures = LedgerMetrics(TODAY)([member.pk], TierMetric.POINTS_EARNED, SINCE)
    # then: 300 + 123 − 100; the 1,000 adjusted points do not count
    assert figures == {member.pk: 323}


def test_one_query_per_metric_whatever_the_number_of_members(
    chain, member_factory, django_assert_num_queries
):
    members = [member_factory() for _ in range(5)]
    metrics = LedgerMetrics(TODAY)
    for metric in TierMetric.values:
        with django_assert_num_queries(1):
            metrics([m.pk for m in members], metric, SINCE)


def test_a_merged_members_card_brings_its_history_to_the_survivor(chain, holder, member_factory):
    from onecard.members import merging as member_merging

    member, card = holder
    survivor = member_factory()
    at(local(2025, 5, 1), stored_value.topup, None, card, 60_000, store=chain.a1)
    at(local(2025, 5, 1), stored_value.charge, None, card, 40_000, store=chain.a1)
    member_merging.merge_members(chain.hq_admin, survivor, member)
    figures = LedgerMetrics(TODAY)([survivor.pk], TierMetric.SPEND, SINCE)
    assert figures == {survivor.pk: 40_000}


def test_evaluation_from_the_ledger_records_the_reason(chain, holder, member_factory):
    # given: 普通 < 金卡 at ¥5,000 spent in 365 days; one member spends ¥5,230, another ¥100
    member, card = holder
    small = member_factory()
    small_card = sv_card(chain, small)
    entry = tiers.create_tier(None, chain.merchant, name="普通", rank=0)
    gold = tiers.create_tier(
        None, chain.merchant, name="金卡", rank=1, discount_rate=Decimal("0.95"),
        rules=[(TierMetric.SPEND, 500_000, 365)],
    )  # fmt: skip
    at(local(2025, 9, 1), stored_value.topup, None, card, 600_000, store=chain.a1)
    at(local(2025, 9, 2), stored_value.charge, None, card, 523_000, store=chain.a1)
    at(local(2025, 9, 1), stored_value.topup, None, small_card, 10_000, store=chain.a1)
    at(local(2025, 9, 2), stored_value.charge, None, small_card, 10_000, store=chain.a1)
    # when
    result = evaluate_merchant(chain.merchant, TODAY)
    again = evaluate_merchant(chain.merchant, TODAY)
    # then
    assert (result.evaluated, result.upgraded) == (2, 2)
    assert (tiers.member_tier(member), tiers.member_tier(small)) == (gold, entry)
    change = TierChange.objects.get(member=member)
    assert change.details["rules"] == [
        {"metric": "spend", "value": 523_000, "threshold": 500_000, "window_days": 365, "met": True}
    ]
    assert (change.metric, change.value, change.threshold) == (TierMetric.SPEND, 523_000, 500_000)
    assert (again.upgraded, again.downgraded, again.renewed, again.grace_started) == (0, 0, 0, 0)
    assert TierChange.objects.count() == 2
