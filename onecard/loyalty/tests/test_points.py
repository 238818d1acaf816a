"""Points (L4): earn rules, lots spent earliest expiry first, expiry, reversal, adjustments, cash value."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from onecard.core.errors import BusinessError
from onecard.core.models import AuditEntry
from onecard.loyalty.cards import services as card_service
from onecard.loyalty.ledger.choices import AccountKind, EntryKind
from onecard.loyalty.models import JournalEntry, PointsLot, PointsLotUse, PointsPolicy
from onecard.loyalty.models.points import ExpiryMode, LotSource
from onecard.loyalty.points import services as svc
from onecard.loyalty.tiers import services as tiers
from onecard.testing.points import (
    SHANGHAI,
    assert_books,
    days_ago,
    local,
    lots_total,
    points_balance,
    points_cards,
    rule,
)


@pytest.fixture
def card_and_spare(chain, member):
    cards, spare = points_cards(chain, [member])
    return cards[0], spare


def code_of(excinfo):
    return excinfo.value.code


# ---- earn rules --------------------------------------------------------------------------------------


def test_points_for_spend_applies_the_tier_multiplier_and_rounds_down(chain, points_card, member):
    # given: 1 point per ¥1 and a gold tier at × 1.5
    rule(chain, "1")
    gold = tiers.create_tier(None, chain.merchant, name="金卡", rank=1, points_multiplier=Decimal("1.5"))
    tiers.set_member_tier(None, member, gold, reason="VIP")
    # when: the member spends ¥99.99 on a Wednesday
    quote = svc.points_for_spend(points_card, 9999, store=chain.a1, at=local(2026, 11, 25))
    # then: 99.99 × 1 × 1.5 = 149.985 → 149 (floor), and the steps say so
    assert quote.points == 149
    assert any("1.5" in step and "149.985" in step for step in quote.explanation)
    assert quote.explanation[-1].endswith("149")


def test_weekday_rule_wins_on_its_days_by_priority(chain, points_card):
    # given: 1 point per ¥1 every day, 2 per ¥1 at weekends with a higher priority
    rule(chain, "1", name="base")
    rule(chain, "2", name="weekend", weekdays="67", priority=10)
    # then: ¥100 on Saturday earns 200, on Wednesday 100
    assert svc.points_for_spend(points_card, 10_000, store=chain.a1, at=local(2026, 11, 28)).points == 200
    assert svc.points_for_spend(points_card, 10_000, store=chain.a1, at=local(2026, 11, 25)).points == 100


def test_store_rule_applies_only_at_its_stores(chain, points_card):
    # given: 3 points per ¥1 at store A2 only
    rule(chain, "1", name="base")
    rule(chain, "3", name="A2 promo", stores=[chain.a2], priority=5)
    # then
    assert svc.points_for_spend(points_card, 10_000, store=chain.a2, at=local(2026, 11, 25)).points == 300
    assert svc.points_for_spend(points_card, 10_000, store=chain.a1, at=local(2026, 11, 25)).points == 100


def test_birthday_multiplier_counts_the_day_in_shanghai(chain, points_card):
    # given: 1 point per ¥1 and × 2 on the member's birthday (21 May)
    rule(chain, "1", birthday_multiplier=Decimal("2"))
    # when: 00:30 on 21 May in Shanghai is still 20 May in UTC
    just_after_midnight = datetime.datetime(2026, 5, 20, 16, 30, tzinfo=datetime.UTC)
    quote = svc.points_for_spend(points_card, 5_050, store=chain.a1, at=just_after_midnight)
    # then: 50.50 × 2 = 101; the day before earns 50 (50.5 rounded down)
    assert quote.points == 101
    assert any("2" in step for step in quote.explanation[1:-1])
    assert (
        svc.points_for_spend(points_card, 5_050, store=chain.a1, at=local(2026, 5, 20, 23, 59)).points == 50
    )


def test_no_matching_rule_is_refused_with_points_rate_missing(chain, points_card):
    # given: only a rule that ended last year
    rule(chain, "1", valid_until=datetime.date(2025, 12, 31))
    # then
    with pytest.raises(BusinessError) as excinfo:
        svc.points_for_spend(points_card, 10_000, store=chain.a1, at=local(2026, 3, 1))
    assert code_of(excinfo) == "points_rate_missing"
    with pytest.raises(BusinessError) as excinfo:
        svc.earn_for_spend(chain.cashier_a1, points_card, 10_000, store=chain.a1, at=local(2026, 3, 1))
    assert code_of(excinfo) == "points_rate_missing"
    assert not JournalEntry.objects.exists()


def test_earn_for_spend_posts_one_entry_and_a_lot_and_zero_points_post_nothing(chain, points_card):
    # given: 1 point per ¥1
    rule(chain, "1")
    # when: ¥88.80 is spent now
    earned = svc.earn_for_spend(chain.cashier_a1, points_card, 8_880, store=chain.a1, business_ref="sale:1")
    # then: 88 points in a lot that expires in 365 days (the default policy)
    assert earned.points == 88
    lot = earned.lot
    assert (lot.original, lot.remaining, lot.source, lot.business_ref) == (88, 88, LotSource.EARN, "sale:1")
    assert lot.expires_at - lot.earned_at == datetime.timedelta(days=365)
    assert lot.entry.kind == EntryKind.EARN and lot.entry.business_ref == "sale:1"
    assert points_balance(points_card) == 88
    # when: ¥0.99 earns nothing
    nothing = svc.earn_for_spend(chain.cashier_a1, points_card, 99, store=chain.a1)
    # then: no lot, no entry
    assert (nothing.points, nothing.lot) == (0, None)
    assert JournalEntry.objects.count() == 1
    assert_books(points_card)


def test_earn_refuses_bad_points_and_frozen_cards_and_writes_nothing(chain, points_card):
    for bad in (0, -5, 1.5, "10", True):
        with pytest.raises(BusinessError) as excinfo:
            svc.earn(chain.cashier_a1, points_card, bad, store=chain.a1)
        assert code_of(excinfo) == "invalid_points"
    card_service.freeze(chain.store_manager, points_card)
    with pytest.raises(BusinessError) as excinfo:
        svc.earn(chain.cashier_a1, points_card, 10, store=chain.a1)
    assert code_of(excinfo) == "card_frozen"
    with pytest.raises(BusinessError) as excinfo:
        svc.earn(chain.cashier_a1, points_card, 10, store=chain.other_store)
    assert not JournalEntry.objects.exists()
    assert not PointsLot.objects.exists()


# ---- expiry dates ---------------------------------------------------------------------------------------


def test_expiry_dates_by_policy():
    earned = local(2026, 12, 15, 22, 0)
    days = PointsPolicy(expiry_mode=ExpiryMode.DAYS, expiry_days=90)
    month = PointsPolicy(expiry_mode=ExpiryMode.MONTH_END)
    year = PointsPolicy(expiry_mode=ExpiryMode.YEAR_END)
    assert svc.expiry_for(days, earned) == earned + datetime.timedelta(days=90)
    assert svc.expiry_for(month, earned) == datetime.datetime(2027, 1, 1, tzinfo=SHANGHAI)
    assert svc.expiry_for(month, local(2026, 2, 3)) == datetime.datetime(2026, 3, 1, tzinfo=SHANGHAI)
    assert svc.expiry_for(year, earned) == datetime.datetime(2027, 1, 1, tzinfo=SHANGHAI)
    assert svc.expiry_for(year, local(2026, 1, 1, 0, 1)) == datetime.datetime(2027, 1, 1, tzinfo=SHANGHAI)


# ---- redeem ---------------------------------------------------------------------------------------------


def test_redeem_spends_the_lot_that_expires_first_across_several_lots(chain, points_card):
    # given: three lots (365-day policy) earned 100, 300 and 200 days ago
    newest = svc.earn(None, points_card, 500, store=chain.a1, at=days_ago(100))
    oldest = svc.earn(None, points_card, 300, store=chain.a1, at=days_ago(300))
    middle = svc.earn(None, points_card, 200, store=chain.a1, at=days_ago(200))
    # when: 450 points are redeemed
    uses = svc.redeem(chain.cashier_a1, points_card, 450, store=chain.a1, business_ref="sale:9")
    # then: the oldest lot is emptied, then 150 of the middle one; the newest is untouched
    assert [(use.lot.pk, use.points) for use in uses] == [(oldest.pk, 300), (middle.pk, 150)]
    remaining = dict(PointsLot.objects.values_list("pk", "remaining"))
    assert remaining == {oldest.pk: 0, middle.pk: 50, newest.pk: 500}
    assert points_balance(points_card) == 550
    entry = JournalEntry.objects.get(kind=EntryKind.REDEEM)
    assert sorted(PointsLotUse.objects.filter(entry=entry).values_list("points", flat=True)) == [150, 300]
    assert_books(points_card)


def test_redeem_ties_on_expiry_go_by_earning_time(chain, points_card):
    # given: month-end expiry; two lots of this month, the later one created first
    PointsPolicy.objects.create(merchant=chain.merchant, expiry_mode=ExpiryMode.MONTH_END)
    now = timezone.now()
    later = svc.earn(None, points_card, 100, store=chain.a1, at=now)
    earlier = svc.earn(None, points_card, 100, store=chain.a1, at=now - datetime.timedelta(seconds=5))
    assert later.expires_at == earlier.expires_at
    # when
    uses = svc.redeem(chain.cashier_a1, points_card, 120, store=chain.a1)
    # then: the earlier earning is spent first
    assert [(use.lot.pk, use.points) for use in uses] == [(earlier.pk, 100), (later.pk, 20)]
    assert_books(points_card)


def test_insufficient_points_are_refused_and_nothing_is_written(chain, points_card):
    # given: 100 unexpired points and 50 in a lot that expired (not yet swept by the job)
    svc.earn(None, points_card, 100, store=chain.a1)
    svc.earn(None, points_card, 50, store=chain.a1, at=days_ago(400))
    entries = JournalEntry.objects.count()
    # when: 101 are asked for
    with pytest.raises(BusinessError) as excinfo:
        svc.redeem(chain.cashier_a1, points_card, 101, store=chain.a1)
    # then: refused with the available figure; no entry, no lot touched
    assert code_of(excinfo) == "insufficient_points"
    assert excinfo.value.extra == {"available": 100, "requested": 101}
    assert JournalEntry.objects.count() == entries
    assert sorted(PointsLot.objects.values_list("remaining", flat=True)) == [50, 100]
    assert not PointsLotUse.objects.exists()
    assert_books(points_card)


# ---- expiry job --------------------------------------------------------------------------------------------


def test_expiry_job_twice_has_one_effect(chain, points_card):
    # given: 300 points earned 400 days ago (40 of them spent... no: expired lots cannot be spent), 200 recent
    old = svc.earn(None, points_card, 300, store=chain.a1, at=days_ago(400))
    recent = svc.earn(None, points_card, 200, store=chain.a2, at=days_ago(10))
    now = timezone.now()
    # when: the job runs twice
    first = svc.expire_points(now)
    second = svc.expire_points(now)
    # then: 300 points expired once, into A1's expired account; the second run did nothing
    assert (first.cards, first.lots, first.points) == (1, 1, 300)
    assert (second.cards, second.lots, second.points) == (0, 0, 0)
    assert JournalEntry.objects.filter(kind=EntryKind.EXPIRE).count() == 1
    old.refresh_from_db()
    recent.refresh_from_db()
    assert (old.remaining, recent.remaining) == (0, 200)
    assert points_balance(points_card) == 200
    expired = svc.ledger.open_account(AccountKind.POINTS_EXPIRED, chain.merchant, node=chain.a1)
    expired.refresh_from_db()
    assert expired.balance == 300
    assert_books(points_card)


# ---- reverse an earning ----------------------------------------------------------------------------------


def test_reverse_earn_partial_then_the_rest_reports_the_shortfall(chain, points_card):
    # given: an older lot of 100 and a sale that earned 300
    svc.earn(None, points_card, 100, store=chain.a1, at=days_ago(300))
    sale = svc.earn(None, points_card, 300, store=chain.a1, business_ref="sale:7")
    # when: a partial refund takes back 100 of the sale's points
    first = svc.reverse_earn(chain.store_manager, sale.entry, 100)
    # then: they come off the sale's own lot
    assert (first.taken, first.shortfall) == (100, 0)
    assert [(u.lot.pk, u.points) for u in first.uses] == [(sale.pk, 100)]
    assert first.entry.refers_to_id == sale.entry_id and first.entry.business_ref == "sale:7"
    assert points_balance(points_card) == 300
    # when: the member spends 250 (the older lot's 100, then 150 of the sale's lot), then the rest is refunded
    svc.redeem(chain.cashier_a1, points_card, 250, store=chain.a1)
    rest = svc.reverse_earn(chain.store_manager, sale)
    # then: 200 were still reversible, only 50 were left: 150 short, the balance stops at zero
    assert (rest.requested, rest.taken, rest.shortfall) == (200, 50, 150)
    assert points_balance(points_card) == 0
    # and: nothing is left to reverse
    with pytest.raises(BusinessError) as excinfo:
        svc.reverse_earn(chain.store_manager, sale, 1)
    assert code_of(excinfo) == "invalid_points"
    assert_books(points_card)


def test_reverse_earn_takes_from_other_lots_when_its_own_is_spent(chain, points_card):
    # given: a sale's lot of 100, fully redeemed, and a later lot of 80
    sale = svc.earn(None, points_card, 100, store=chain.a1, at=days_ago(50))
    svc.redeem(None, points_card, 100, store=chain.a1)
    other = svc.earn(None, points_card, 80, store=chain.a1)
    # when: the sale is refunded in full
    result = svc.reverse_earn(None, sale)
    # then: 80 come off the other lot, 20 short
    assert (result.taken, result.shortfall) == (80, 20)
    assert [(u.lot.pk, u.points) for u in result.uses] == [(other.pk, 80)]
    assert_books(points_card)


# ---- adjustments ---------------------------------------------------------------------------------------


def test_adjustments_need_the_permission_and_a_reason(chain, points_card):
    svc.earn(None, points_card, 100, store=chain.a1, at=days_ago(30))
    for actor in (chain.cashier_a1, None):
        with pytest.raises(BusinessError) as excinfo:
            svc.adjust(actor, points_card, 50, reason="goodwill")
        assert code_of(excinfo) == "permission_denied"
    with pytest.raises(BusinessError) as excinfo:
        svc.adjust(chain.store_manager, points_card, 50, reason="   ")
    assert code_of(excinfo) == "adjustment_reason_required"
    with pytest.raises(BusinessError) as excinfo:
        svc.adjust(chain.other_manager, points_card, 50, reason="goodwill")
    assert code_of(excinfo) == "permission_denied"
    assert JournalEntry.objects.count() == 1
    assert all(
        getattr(chain, name).has_perm("points.adjust")
        for name in ("hq_admin", "region_manager", "store_manager")
    )


def test_adjust_up_makes_a_lot_and_down_spends_earliest_expiry_audited_with_the_reason(chain, points_card):
    # given: 100 points earned 300 days ago
    old = svc.earn(None, points_card, 100, store=chain.a1, at=days_ago(300))
    # when: +500 for a complaint, then −150 for points given twice
    lot = svc.adjust(chain.store_manager, points_card, 500, reason="complaint #12")
    uses = svc.adjust(chain.store_manager, points_card, -150, reason="double credit")
    # then
    assert (lot.source, lot.original, lot.entry.kind, lot.entry.memo) == (
        LotSource.ADJUST,
        500,
        EntryKind.ADJUST,
        "complaint #12",
    )
    assert [(u.lot.pk, u.points) for u in uses] == [(old.pk, 100), (lot.pk, 50)]
    assert points_balance(points_card) == 450
    notes = list(AuditEntry.objects.filter(subject_type="loyalty.card").values_list("note", flat=True))
    assert "points adjustment +500: complaint #12" in notes
    assert "points adjustment -150: double credit" in notes
    # and: more than the card holds is refused
    with pytest.raises(BusinessError) as excinfo:
        svc.adjust(chain.store_manager, points_card, -451, reason="oops")
    assert code_of(excinfo) == "insufficient_points"
    assert_books(points_card)


# ---- expiring soon -----------------------------------------------------------------------------------------


def test_expiring_soon_per_member_and_in_total(chain, points_card, member_factory):
    # given: member 1 has 100 expiring in 10 days and 200 in 40; member 2 has 50 in 20 days
    other_member = member_factory(name="李四")
    (other_card,), _spare = points_cards(chain, [other_member], prefix="6611")
    svc.earn(None, points_card, 100, store=chain.a1, at=days_ago(355))
    svc.earn(None, points_card, 200, store=chain.a1, at=days_ago(325))
    svc.earn(None, other_card, 50, store=chain.a1, at=days_ago(345))
    # when
    merchant_wide = svc.expiring_soon(chain.merchant, days=30)
    one_card = svc.expiring_soon(points_card, days=30)
    # then
    assert merchant_wide.total == 150
    assert merchant_wide.by_member == {points_card.member_id: 100, other_member.pk: 50}
    assert (one_card.total, one_card.by_card) == (100, {points_card.pk: 100})
    assert svc.expiring_soon(points_card, days=60).total == 300
    assert svc.expiring_soon(chain.other, days=30).total == 0
    assert_books(points_card, other_card)


# ---- replace -----------------------------------------------------------------------------------------------


def test_replacing_a_card_moves_its_lots_with_the_balance(chain, card_and_spare):
    # given: a card with two lots, 120 of them spent
    card, spare = card_and_spare
    first = svc.earn(None, card, 100, store=chain.a1, at=days_ago(200))
    second = svc.earn(None, card, 300, store=chain.a1)
    svc.redeem(None, card, 120, store=chain.a1)
    # when: the card is lost and replaced
    card_service.report_lost(chain.cashier_a1, card)
    new = card_service.replace(chain.cashier_a1, card, spare[0], reason="lost")
    # then: the lots belong to the new card, which holds the 280 points; the old one holds none
    assert set(PointsLot.objects.values_list("card_id", flat=True)) == {new.pk}
    assert (points_balance(new), lots_total(new), points_balance(card), lots_total(card)) == (280, 280, 0, 0)
    # and: the new card redeems them, the lot that expires first first
    uses = svc.redeem(chain.cashier_a1, new, 50, store=chain.a1)
    assert [(u.lot.pk, u.points) for u in uses] == [(second.pk, 50)]  # the first lot was spent already
    first.refresh_from_db()
    assert first.remaining == 0
    assert_books(card, new)


# ---- cash value and caps -----------------------------------------------------------------------------------


def test_max_redeemable_respects_the_rate_and_both_caps(chain, points_card):
    # given: 100 points = ¥1, at most 50% of a bill and at most ¥20; the card holds 5,000 points
    PointsPolicy.objects.create(
        merchant=chain.merchant, points_per_yuan=100, cap_percent=Decimal(50), cap_fen=2_000
    )
    svc.earn(None, points_card, 5_000, store=chain.a1)
    # then: a ¥30 bill: 50% = ¥15 → 1,500 points; a ¥100 bill: capped at ¥20 → 2,000 points
    assert svc.max_redeemable(points_card, 3_000) == (1_500, 1_500)
    assert svc.max_redeemable(points_card, 10_000) == (2_000, 2_000)
    assert svc.max_redeemable(points_card, 33) == (16, 16)  # 50% of 33 fen = 16.5 → 16
    assert svc.max_redeemable(points_card, 0) == (0, 0)
    assert svc.points_to_cash(chain.merchant, 5_000) == 5_000


def test_points_to_cash_rounds_down_and_points_needed_round_up(chain, points_card):
    # given: 150 points = ¥1, no cap; the card holds 1,000 points
    PointsPolicy.objects.create(merchant=chain.merchant, points_per_yuan=150)
    svc.earn(None, points_card, 1_000, store=chain.a1)
    # then: 1,000 points are worth 666 fen (666.67 down); 666 fen need 999 points (999 exactly)
    assert svc.points_to_cash(chain.merchant, 1_000) == 666
    assert svc.cash_to_points(chain.merchant, 665) == 998  # 997.5 up
    assert svc.max_redeemable(points_card, 100_000) == (999, 666)
    assert_books(points_card)


def test_merging_cards_moves_lots_and_a_refund_after_replace_takes_from_the_new_card(
    chain, member, card_and_spare
):
    # given: the member's first card with a sale's lot of 200, and a second card with 50 points
    card, spare = card_and_spare
    sale = svc.earn(None, card, 200, store=chain.a1, business_ref="sale:3")
    second = card_service.activate(None, card_service.bind_to_member(None, spare[0], member))
    svc.earn(None, second, 50, store=chain.a1)
    # when: the first card is merged into the second
    card_service.merge_cards(chain.store_manager, card, second, reason="one card is enough")
    # then: the second card holds both lots and 250 points
    assert set(PointsLot.objects.values_list("card_id", flat=True)) == {second.pk}
    assert points_balance(second) == lots_total(second) == 250
    # when: the second card is replaced, then the sale is refunded
    card_service.report_lost(chain.cashier_a1, second)
    third = card_service.replace(chain.cashier_a1, second, spare[1])
    result = svc.reverse_earn(chain.store_manager, sale.entry)
    # then: the sale's points come off the card that now holds them
    assert (result.taken, result.shortfall) == (200, 0)
    assert points_balance(third) == lots_total(third) == 50
    assert_books(card, second, third)
