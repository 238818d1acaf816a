"""Giving back the points of a redemption (a returned sale paid with points): lots, expiry, limits."""

import datetime

import pytest
from django.utils import timezone

from onecard.core.errors import BusinessError
from onecard.loyalty.cards import services as card_service
from onecard.loyalty.ledger.choices import AccountKind, EntryKind
from onecard.loyalty.models import JournalEntry, PointsGiveBack, PointsLot
from onecard.loyalty.points import services as svc
from onecard.testing.points import assert_books, days_ago, points_balance, points_cards


def _redeemed(chain, card, points, ref="sale:1"):
    svc.redeem(chain.cashier_a1, card, points, store=chain.a1, business_ref=ref)
    return svc.redemption_entry(card, ref)


def test_points_go_back_to_the_lots_they_came_from_latest_expiry_first(chain, points_card):
    # given lots of 300 (300 days old) and 500 (100 days old), and 450 points redeemed: 300 + 150
    oldest = svc.earn(None, points_card, 300, store=chain.a1, at=days_ago(300))
    newest = svc.earn(None, points_card, 500, store=chain.a1, at=days_ago(100))
    entry = _redeemed(chain, points_card, 450)
    assert entry.kind == EntryKind.REDEEM
    # when 200 of them are given back
    given = svc.reverse_redeem(chain.cashier_a1, entry, 200, business_ref="sale:1/R1")
    # then the lot that expires last gets its 150 back first, then 50 go to the oldest lot
    assert [(use.lot.pk, use.points) for use in given.uses] == [(newest.pk, 150), (oldest.pk, 50)]
    assert dict(PointsLot.objects.values_list("pk", "remaining")) == {oldest.pk: 50, newest.pk: 500}
    assert (given.points, given.expired) == (200, 0)
    assert points_balance(points_card) == 350 + 200
    # and one reversal entry moved the points from A1's redeemed account back to the card
    assert given.entry.kind == EntryKind.REVERSAL
    assert given.entry.refers_to_id == entry.pk
    redeemed = svc.ledger.open_account(AccountKind.POINTS_REDEEMED, chain.merchant, node=chain.a1)
    redeemed.refresh_from_db()
    assert redeemed.balance == 450 - 200
    assert_books(points_card)


def test_no_more_than_the_redemption_took_is_given_back(chain, points_card):
    # given 100 points redeemed, 60 of them given back
    svc.earn(None, points_card, 100, store=chain.a1)
    entry = _redeemed(chain, points_card, 100)
    svc.reverse_redeem(None, entry, 60)
    entries = JournalEntry.objects.count()
    # when 41 more are asked for
    with pytest.raises(BusinessError) as error:
        svc.reverse_redeem(None, entry, 41)
    # then refused with what is left, nothing written; the last 40 still go back
    assert error.value.code == "invalid_points"
    assert error.value.extra == {"left": 40}
    assert JournalEntry.objects.count() == entries
    svc.reverse_redeem(None, entry, 40)
    assert points_balance(points_card) == 100
    assert PointsGiveBack.objects.filter(redemption=entry).count() == 2
    assert_books(points_card)


def test_an_entry_that_redeemed_nothing_and_bad_counts_are_refused(chain, points_card):
    # given an earning entry (not a redemption)
    lot = svc.earn(None, points_card, 100, store=chain.a1)
    # when it is named as a redemption, or a count is not a whole number above zero: refused
    for entry, count in ((lot.entry, 10), (_redeemed(chain, points_card, 50), 0), (lot.entry_id, -5)):
        with pytest.raises(BusinessError) as error:
            svc.reverse_redeem(None, entry, count)
        assert error.value.code == "invalid_points"
    assert points_balance(points_card) == 50
    assert_books(points_card)


def test_points_back_in_an_expired_lot_leave_with_the_next_expiry_run(chain, points_card):
    # given 100 points of a lot redeemed, and the lot past its expiry since
    lot = svc.earn(None, points_card, 100, store=chain.a1, at=days_ago(10))
    entry = _redeemed(chain, points_card, 100)
    PointsLot.objects.filter(pk=lot.pk).update(expires_at=timezone.now() - datetime.timedelta(minutes=1))
    # when they are given back
    given = svc.reverse_redeem(None, entry, 100)
    # then they are counted as expired: not available, and the expiry run takes them to A1's expired account
    assert given.expired == 100
    assert svc.available_points(points_card) == 0
    run = svc.expire_points(timezone.now())
    assert run.points == 100
    assert points_balance(points_card) == 0
    expired = svc.ledger.open_account(AccountKind.POINTS_EXPIRED, chain.merchant, node=chain.a1)
    expired.refresh_from_db()
    assert expired.balance == 100
    assert_books(points_card)


def test_a_cancelled_card_gets_no_points_back(chain, points_card):
    # given 100 points redeemed, then the card cancelled
    svc.earn(None, points_card, 100, store=chain.a1)
    entry = _redeemed(chain, points_card, 100)
    card_service.cancel(chain.store_manager, points_card, reason="member left")
    entries = JournalEntry.objects.count()
    # when the points are given back: refused with the card's status, nothing written
    with pytest.raises(BusinessError) as error:
        svc.reverse_redeem(None, entry, 100)
    assert error.value.code == "card_cancelled"
    assert JournalEntry.objects.count() == entries


def test_a_replaced_card_gets_the_points_on_its_new_card(chain, member_factory):
    # given 100 points redeemed from a card that is then replaced
    cards, spare = points_cards(chain, [member_factory()], prefix="6610")
    old = cards[0]
    svc.earn(None, old, 100, store=chain.a1)
    entry = _redeemed(chain, old, 60)
    new = card_service.replace(chain.store_manager, old, spare[0])
    # when 60 points are given back
    svc.reverse_redeem(None, entry, 60)
    # then they land on the new card
    assert points_balance(new) == 100
    assert points_balance(old) == 0
    assert_books(old, new)
