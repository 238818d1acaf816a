"""The demo ledger: a small year of history through the services, at past times, that `ledger verify` accepts."""

import datetime
import io

import pytest
from django.core.management import call_command
from django.db.models import F, Max, Min
from django.utils import timezone

from onecard import jobs
from onecard.core.clock import moved_now
from onecard.loyalty.cards.choices import CardStatus
from onecard.loyalty.demo import seed_loyalty
from onecard.loyalty.models import (
    Card,
    CardProduct,
    JournalEntry,
    MemberTier,
    PointsEarnRule,
    PointsLot,
    Tier,
    TierChange,
    TopupBonusRule,
)
from onecard.loyalty.models.stored_value import CardTransaction
from onecard.testing.stored_value import assert_ledger_clean

EASY_CARD = "8888000000018"  # 8888 + serial 00000001 + Luhn digit: the first card of the first store


@pytest.fixture
def demo(db):
    """The demo chain (12 stores, staff) with 120 members, without any loyalty data."""
    from onecard.members.demo import seed_members
    from onecard.org.demo import build_demo_chain

    merchant, stores, _staff, _passwords = build_demo_chain()
    seed_members(merchant, stores, {}, 120)
    return merchant


def test_the_moved_clock_reaches_timezone_now_field_defaults_and_isinstance():
    past = datetime.datetime(2025, 6, 1, 4, 0, tzinfo=datetime.UTC)
    # when
    with moved_now(past) as clock:
        inside = timezone.now()
        rule = TopupBonusRule()  # created_at = default=timezone.now, bound at import
        clock.advance(datetime.timedelta(hours=1))
        later = timezone.localdate()
    # then
    assert inside == past and rule.created_at == past
    assert later == datetime.date(2025, 6, 1)  # 13:00 in Shanghai
    assert isinstance(inside, datetime.datetime) and timezone.now() > past


def test_a_small_demo_year_is_posted_in_the_past_and_verifies(demo):
    now = timezone.now()
    # when
    summary = seed_loyalty(demo, holders=40, days=90, seed=7, now=now, run_jobs=jobs.run_jobs)
    # then: the books are clean and every account sums to zero
    assert_ledger_clean()
    assert summary.refused == {}
    # the set-up, made through the services
    assert set(CardProduct.objects.filter(merchant=demo).values_list("name", flat=True)) == {
        "储值卡", "积分卡", "礼品卡（不记名）"}  # fmt: skip
    assert list(Tier.objects.filter(merchant=demo).order_by("rank").values_list("name", flat=True)) == [
        "普通会员", "银卡", "金卡", "钻石卡"]  # fmt: skip
    assert TopupBonusRule.objects.get(merchant=demo).tiers == [
        [50_000, 5_000],
        [100_000, 15_000],
        [200_000, 40_000],
    ]
    assert PointsEarnRule.objects.filter(merchant=demo).count() == 2
    # the cards: bound and activated, the README's card first
    active = Card.objects.filter(merchant=demo, status=CardStatus.ACTIVE)
    assert active.count() == summary.cards == 40
    assert not active.filter(member__isnull=True).exists()
    assert summary.easy_card == EASY_CARD and active.filter(number=EASY_CARD).exists()
    # the history lies in the past 90 days, and the rows carry the moved time
    span = JournalEntry.objects.aggregate(first=Min("created_at"), last=Max("created_at"))
    assert now - datetime.timedelta(days=91) <= span["first"] < now - datetime.timedelta(days=60)
    assert span["last"] <= now
    assert summary.operations["charge"] > 0 and summary.operations["top-up"] > 0
    assert CardTransaction.objects.exclude(created_at=F("entry__created_at")).count() == 0
    assert PointsLot.objects.exclude(earned_at=F("entry__created_at")).count() == 0
    # every active member got a tier, with a reason, today
    assert MemberTier.objects.filter(merchant=demo).count() == 120
    assert not TierChange.objects.filter(details={}).exists()
    assert set(TierChange.objects.values_list("effective_on", flat=True)) == {
        timezone.localdate(now, jobs.SHANGHAI)
    }
    # the tier job finds nothing more to do today
    (tier_run,) = jobs.run_jobs(only=["evaluate_tiers"])
    assert tier_run.ok and tier_run.changed == 0


def test_seed_demo_builds_the_ledger_once_and_prints_the_card_for_the_till(db):
    out = io.StringIO()
    # when
    call_command("seed_demo", members=60, cards=15, history_days=30, sales=20, stdout=out)
    again = io.StringIO()
    call_command("seed_demo", members=60, cards=15, history_days=30, sales=20, stdout=again)
    # then
    text = out.getvalue()
    assert "demo ledger: 15 cards" in text
    assert f"Demo card for the till (/till/): {EASY_CARD} (" in text
    assert "log in as cashier / onecard2026" in text
    assert "demo cards and ledger history already present" in again.getvalue()
    assert Card.objects.filter(status=CardStatus.ACTIVE).count() == 15
    assert_ledger_clean()
