"""Count and period cards (L8): sale, uses, refunds and expiry post exact journal entries; refusals write nothing."""

import datetime
import threading

import pytest
from django.db import connection
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from onecard.core.errors import ValidationFailed
from onecard.loyalty.cards import services as cards
from onecard.loyalty.cards.errors import CardFrozen, CardLost, CardNotAccepted
from onecard.loyalty.ledger.choices import AccountKind, EntryKind
from onecard.loyalty.models import JournalEntry, MemberPackage, PackageUse
from onecard.loyalty.packages import services as packages
from onecard.loyalty.packages.choices import MemberPackageStatus
from onecard.loyalty.stored_value.services import CashRefundTooLarge
from onecard.testing.cards import stock
from onecard.testing.concurrency import run_clients
from onecard.testing.packages import (
    connect_package_signals,
    days,
    entry_sum,
    gym_package,
    package_balance,
    wash_package,
)
from onecard.testing.stored_value import assert_ledger_clean, sv_card


def _assert_books(mp):
    """The package's parts add up to its price, the card's account matches, the ledger verifies."""
    mp.refresh_from_db()
    assert mp.recognised + mp.refunded + mp.breakage + mp.outstanding == mp.price
    assert packages.check_package_balances() == []
    assert_ledger_clean()


# ---- sale ---------------------------------------------------------------------------------------------


def test_sale_moves_the_price_from_store_cash_to_the_card_package_account(chain, card):
    # given a count card of 10 washes for ¥300
    package = wash_package(chain)
    # when it is sold at A1 for cash
    sold = packages.sell_package(chain.cashier_a1, card, package, store=chain.a1, tender="cash")
    # then one entry moved ¥300 and the card holds 10 uses
    assert sold.sale_entry.kind == EntryKind.PACKAGE_SALE
    assert entry_sum(sold.sale_entry, AccountKind.STORE_CASH) == -30_000
    assert entry_sum(sold.sale_entry, AccountKind.MEMBER_PACKAGE) == 30_000
    assert package_balance(card) == 30_000
    assert [(line.service, line.uses_left) for line in sold.lines.all()] == [("洗车", 10)]
    assert sold.total_uses == 10 and sold.status == MemberPackageStatus.ACTIVE and sold.valid_until is None
    assert sold.member_id == card.member_id
    _assert_books(sold)


def test_period_card_is_valid_through_its_last_day_in_shanghai(chain, card):
    # given a 30-day gym card sold at 2026-11-01 10:00 Beijing time
    at = datetime.datetime(2026, 11, 1, 2, 0, tzinfo=datetime.UTC)
    # when
    sold = packages.sell_package(None, card, gym_package(chain), store=chain.a1, at=at)
    # then it expires at 2026-12-01 00:00 Beijing time
    assert sold.valid_until.astimezone(packages.SHANGHAI).isoformat() == "2026-12-01T00:00:00+08:00"


def test_sale_refusals_write_nothing(chain, card, member_factory):
    package = wash_package(chain)
    entries = JournalEntry.objects.count()
    with pytest.raises(packages.InvalidTender):
        packages.sell_package(None, card, package, store=chain.a1, tender="gold")
    with pytest.raises(CardNotAccepted):
        packages.sell_package(None, card, package, store=chain.other_store)
    only_a2 = wash_package(chain, name="A2 only", stores=[chain.a2])
    with pytest.raises(packages.PackageNotAccepted):
        packages.sell_package(None, card, only_a2, store=chain.a1)
    packages.deactivate_package(None, package)
    with pytest.raises(packages.PackageNotOnSale):
        packages.sell_package(None, card, package, store=chain.a1)
    cards.freeze(None, card)
    with pytest.raises(CardFrozen):
        packages.sell_package(None, card, wash_package(chain, name="other"), store=chain.a1)
    assert JournalEntry.objects.count() == entries
    assert MemberPackage.objects.count() == 0


# ---- count card uses ---------------------------------------------------------------------------------------


def test_each_count_use_recognises_its_cumulative_floor_share_and_the_last_takes_the_rest(chain, card):
    # given 3 washes for ¥100
    sold = packages.sell_package(None, card, wash_package(chain, uses=3, price=10_000), store=chain.a1)
    # when used three times at A2
    uses = [packages.use_package(chain.cashier_a1, sold, "洗车", store=chain.a2) for _ in range(3)]
    # then 3333 + 3333 + 3334, each its own entry into A2's revenue
    assert [u.value for u in uses] == [3_333, 3_333, 3_334]
    for use in uses:
        assert use.entry.kind == EntryKind.PACKAGE_USE
        assert entry_sum(use.entry, AccountKind.STORE_REVENUE) == use.value
        assert use.entry.node_id == chain.a2.pk
    sold.refresh_from_db()
    assert sold.status == MemberPackageStatus.USED_UP and sold.recognised == 10_000
    assert package_balance(card) == 0
    # and a fourth use is refused, nothing written
    with pytest.raises(packages.PackageUsedUp):
        packages.use_package(None, sold, "洗车", store=chain.a1)
    assert PackageUse.objects.count() == 3
    _assert_books(sold)


def test_several_uses_at_once_and_lines_counted_apart(chain, card):
    package = packages.create_package(
        None,
        chain.merchant,
        name="美容套餐",
        kind="count",
        price=70_000,
        lines=[("面部护理", 5), ("按摩", 2)],
    )
    sold = packages.sell_package(None, card, package, store=chain.a1)
    use = packages.use_package(None, sold, "面部护理", store=chain.a1, count=3)
    assert use.value == 3 * 70_000 // 7
    with pytest.raises(packages.PackageUsedUp):
        packages.use_package(None, sold, "按摩", store=chain.a1, count=3)
    with pytest.raises(packages.PackageServiceUnknown):
        packages.use_package(None, sold, "洗车", store=chain.a1)
    with pytest.raises(packages.InvalidUseCount):
        packages.use_package(None, sold, "按摩", store=chain.a1, count=0)
    lines = {line.service: line.uses_left for line in sold.lines.all()}
    assert lines == {"面部护理": 2, "按摩": 2}
    _assert_books(sold)


def test_use_refused_on_frozen_lost_card_other_merchant_and_store_not_listed(chain, card):
    sold = packages.sell_package(None, card, wash_package(chain, stores=[chain.a1, chain.a2]), store=chain.a1)
    with pytest.raises(packages.PackageNotAccepted):
        packages.use_package(None, sold, "洗车", store=chain.b1)
    with pytest.raises(CardNotAccepted):
        packages.use_package(None, sold, "洗车", store=chain.other_store)
    cards.freeze(None, card)
    with pytest.raises(CardFrozen):
        packages.use_package(None, sold, "洗车", store=chain.a1)
    cards.unfreeze(None, card)
    cards.report_lost(None, card)
    with pytest.raises(CardLost):
        packages.use_package(None, sold, "洗车", store=chain.a1)
    assert PackageUse.objects.count() == 0
    _assert_books(sold)


def test_daily_cap_counts_uses_of_the_shanghai_day(chain, card):
    sold = packages.sell_package(None, card, gym_package(chain, daily_cap=1), store=chain.a1)
    day = timezone.now() + days(3)
    packages.use_package(None, sold, "健身", store=chain.a1, at=day)
    with pytest.raises(packages.PackageDailyCapReached):
        packages.use_package(None, sold, "健身", store=chain.a1, at=day)
    packages.use_package(None, sold, "健身", store=chain.a1, at=day + days(1))
    assert PackageUse.objects.filter(member_package=sold).count() == 2


# ---- period card uses ---------------------------------------------------------------------------------------


def test_period_use_recognises_elapsed_days_and_a_zero_value_use_has_no_entry(chain, card):
    # given a 30-day card for ¥900 sold now
    start = timezone.now()
    sold = packages.sell_package(None, card, gym_package(chain), store=chain.a1, at=start)
    entries = JournalEntry.objects.count()
    # when used on the day of the sale: nothing to recognise, a row without an entry
    first = packages.use_package(None, sold, "健身", store=chain.a1, at=start)
    assert (first.value, first.entry) == (0, None)
    assert JournalEntry.objects.count() == entries
    # when used 10 days later: 10/30 of the price, in one entry
    later = packages.use_package(None, sold, "健身", store=chain.a1, at=start + days(10))
    assert later.value == 30_000 and entry_sum(later.entry, AccountKind.STORE_REVENUE) == 30_000
    # and again the same day: nothing more
    again = packages.use_package(None, sold, "健身", store=chain.a1, at=start + days(10))
    assert again.value == 0 and again.entry is None
    # and after the last day it is refused
    with pytest.raises(packages.PackageExpired):
        packages.use_package(None, sold, "健身", store=chain.a1, at=start + days(31))
    _assert_books(sold)


# ---- refunds ---------------------------------------------------------------------------------------------


def test_count_refund_pays_the_unused_uses_share_to_the_fen(chain, card):
    sold = packages.sell_package(None, card, wash_package(chain, uses=3, price=10_000), store=chain.a1)
    packages.use_package(None, sold, "洗车", store=chain.a1)
    # when refunded to the bank after 1 of 3 uses
    refunded = packages.refund_package(
        chain.store_manager, sold, store=chain.a1, reason="moving", method="bank"
    )
    # then 10000 − 3333 leave the store's cash
    assert refunded.refunded == 6_667 and refunded.status == MemberPackageStatus.REFUNDED
    assert entry_sum(refunded.close_entry, AccountKind.STORE_CASH) == 6_667
    assert refunded.close_entry.kind == EntryKind.PACKAGE_REFUND
    assert package_balance(card) == 0
    with pytest.raises(packages.PackageClosed):
        packages.refund_package(None, sold, store=chain.a1, reason="again", method="bank")
    with pytest.raises(packages.PackageClosed):
        packages.use_package(None, sold, "洗车", store=chain.a1)
    _assert_books(sold)


def test_cash_refund_above_100_yuan_is_refused(chain, card):
    sold = packages.sell_package(None, card, wash_package(chain), store=chain.a1)
    with pytest.raises(CashRefundTooLarge):
        packages.refund_package(None, sold, store=chain.a1, reason="x", method="cash")
    with pytest.raises(ValidationFailed):
        packages.refund_package(None, sold, store=chain.a1, reason=" ", method="bank")
    sold.refresh_from_db()
    assert sold.status == MemberPackageStatus.ACTIVE and package_balance(card) == 30_000


def test_period_refund_recognises_the_elapsed_days_and_pays_the_rest(chain, card):
    start = timezone.now()
    sold = packages.sell_package(
        None, card, gym_package(chain, days=30, price=10_000), store=chain.a1, at=start
    )
    packages.use_package(None, sold, "健身", store=chain.a2, at=start + days(4))  # 4/30 → 1333
    # when refunded on day 7: catch-up 7/30 − 4/30 = 2333 − 1333, refund 10000 − 2333
    mp = packages.refund_package(
        None, sold, store=chain.a1, reason="injury", method="original", at=start + days(7)
    )
    assert (mp.recognised, mp.refunded) == (2_333, 7_667)
    assert entry_sum(mp.close_entry, AccountKind.STORE_REVENUE) == 1_000
    assert entry_sum(mp.close_entry, AccountKind.STORE_CASH) == 7_667
    _assert_books(mp)


def test_refund_allowed_on_a_frozen_card(chain, card):
    sold = packages.sell_package(None, card, wash_package(chain, price=5_000), store=chain.a1)
    cards.freeze(None, card)
    mp = packages.refund_package(None, sold, store=chain.a1, reason="member asked", method="cash")
    assert mp.refunded == 5_000


# ---- expiry -------------------------------------------------------------------------------------------------


def test_expiry_recognises_the_rest_once(chain, card):
    start = timezone.now()
    sold = packages.sell_package(None, card, wash_package(chain, uses=4, price=10_000, validity_days=10),
                                 store=chain.a1, at=start)  # fmt: skip
    packages.use_package(None, sold, "洗车", store=chain.a1, at=start)
    # when the job runs after the last day, twice
    assert packages.expire_packages(start + days(11)) == 1
    assert packages.expire_packages(start + days(12)) == 0
    # then the 3 unused uses became revenue of the selling store
    sold.refresh_from_db()
    assert (sold.status, sold.recognised, sold.breakage) == (MemberPackageStatus.EXPIRED, 2_500, 7_500)
    assert sold.close_entry.kind == EntryKind.PACKAGE_EXPIRE
    assert entry_sum(sold.close_entry, AccountKind.STORE_REVENUE) == 7_500
    with pytest.raises(packages.PackageExpired):
        packages.use_package(None, sold, "洗车", store=chain.a1, at=start + days(12))
    _assert_books(sold)


def test_period_card_expiry_recognises_the_days_not_yet_recognised(chain, card):
    # given a 30-day ¥900 card used on day 10 (¥300 recognised)
    start = timezone.now()
    sold = packages.sell_package(None, card, gym_package(chain), store=chain.a1, at=start)
    packages.use_package(None, sold, "健身", store=chain.a2, at=start + days(10))
    # when the job runs after the last day
    assert packages.expire_packages(start + days(31)) == 1
    # then the other ¥600 is breakage, recognised at the selling store
    sold.refresh_from_db()
    assert (sold.recognised, sold.breakage, sold.refunded) == (30_000, 60_000, 0)
    assert sold.close_entry.node_id == chain.a1.pk
    assert package_balance(card) == 0
    _assert_books(sold)


def test_packages_ride_on_a_count_card_product_too(chain, member_factory):
    from onecard.loyalty.cards.choices import CardKind
    from onecard.testing.cards import active_card, make_product

    product = make_product(chain, name="洗车次卡", kind=CardKind.COUNT)
    card = active_card(stock(product, chain.a1, count=1, prefix="6600")[0], member_factory())
    sold = packages.sell_package(None, card, wash_package(chain), store=chain.a1)
    assert packages.use_package(None, sold, "洗车", store=chain.a1).value == 3_000


def test_expiry_skips_packages_not_yet_due(chain, card):
    sold = packages.sell_package(None, card, gym_package(chain), store=chain.a1)
    assert packages.expire_packages() == 0
    sold.refresh_from_db()
    assert sold.status == MemberPackageStatus.ACTIVE


# ---- cards replaced -----------------------------------------------------------------------------------------


def test_packages_follow_a_replaced_card(chain, card):
    connect_package_signals()
    # given a package on a card that is then replaced by a card from stock
    sold = packages.sell_package(None, card, wash_package(chain), store=chain.a1)
    replacement = stock(card.product, chain.a1, count=1, prefix="8897")[0]
    # when
    new = cards.replace(None, card, replacement)
    # then the package and its balance are on the new card, and it works there
    sold.refresh_from_db()
    assert sold.card_id == new.pk
    assert package_balance(new) == 30_000
    use = packages.use_package(None, sold, "洗车", store=chain.a1)
    assert use.value == 3_000
    _assert_books(sold)


# ---- definitions -----------------------------------------------------------------------------------------


def test_definition_validation_and_edits_do_not_touch_sold_packages(chain, card):
    with pytest.raises(ValidationFailed) as error:
        packages.create_package(None, chain.merchant, name="", kind="period", price=0, lines=[])
    assert set(error.value.errors) == {"name", "price", "validity_days"}
    with pytest.raises(ValidationFailed):
        packages.create_package(None, chain.merchant, name="x", kind="count", price=100, lines=[("a", 0)])
    package = wash_package(chain)
    sold = packages.sell_package(None, card, package, store=chain.a1)
    packages.update_package(None, package, price=1_000, lines=[("洗车", 2), ("打蜡", 1)])
    sold.refresh_from_db()
    assert (sold.price, sold.total_uses) == (30_000, 10)
    assert [line.service for line in sold.lines.all()] == ["洗车"]
    with pytest.raises(ValidationFailed):
        packages.update_package(None, package, kind="period", validity_days=30)


def test_region_manager_cannot_define_packages(chain):
    from onecard.core.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        packages.create_package(chain.store_manager, chain.merchant, name="x", kind="count", price=100,
                                lines=[("a", 1)])  # fmt: skip


# ---- property: the parts of every package add up to its price -----------------------------------------------


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    kind=st.sampled_from(["count", "period"]),
    price=st.integers(min_value=1, max_value=10**9),
    size=st.integers(min_value=1, max_value=12),
    steps=st.lists(st.tuples(st.integers(0, 5), st.integers(1, 3)), max_size=10),
    end=st.sampled_from(["refund", "expire", "none"]),
)
def test_price_equals_recognised_plus_refunded_plus_breakage(
    chain, member_factory, kind, price, size, steps, end
):
    # given a package of `size` uses (count) or days (period) sold now
    card = sv_card(chain, member_factory())
    start = timezone.now()
    if kind == "count":
        package = wash_package(chain, name=f"c{MemberPackage.objects.count()}-{price}", uses=size, price=price,
                               validity_days=size + 30)  # fmt: skip
    else:
        package = gym_package(chain, name=f"p{MemberPackage.objects.count()}-{price}", days=size, price=price)
    service = "洗车" if kind == "count" else "健身"
    sold = packages.sell_package(None, card, package, store=chain.a1, at=start)
    # when used at random days and counts (refusals are fine: they change nothing)
    day = 0
    for gap, count in steps:
        day += gap
        try:
            use = packages.use_package(None, sold, service, store=chain.a2, count=count, at=start + days(day))
        except packages.PackageError:
            continue
        assert (use.entry is None) == (use.value == 0)
    sold.refresh_from_db()
    if (
        end == "refund"
        and sold.status == MemberPackageStatus.ACTIVE
        and not packages.is_expired(sold, start + days(day))
    ):
        packages.refund_package(None, sold, store=chain.a1, reason="r", method="bank", at=start + days(day))
    elif end == "expire":
        packages.expire_packages(start + days(size + 31))
    # then
    sold.refresh_from_db()
    used = sum(PackageUse.objects.filter(member_package=sold).values_list("value", flat=True))
    assert used <= sold.recognised
    if sold.status != MemberPackageStatus.ACTIVE:
        assert sold.recognised + sold.refunded + sold.breakage == sold.price
    assert sold.recognised + sold.refunded + sold.breakage + package_balance(card) == sold.price
    assert packages.check_package_balances() == []
    assert_ledger_clean()


# ---- concurrency (PostgreSQL) -----------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_cashiers_racing_for_the_last_use_exactly_one_wins(chain, member_factory):
    # given a package with one use left
    card = sv_card(chain, member_factory())
    sold = packages.sell_package(None, card, wash_package(chain, uses=2, price=10_001), store=chain.a1)
    packages.use_package(None, sold, "洗车", store=chain.a1)
    barrier = threading.Barrier(8)
    outcomes = []

    def client(n):
        barrier.wait()
        try:
            packages.use_package(None, sold, "洗车", store=chain.a1 if n % 2 else chain.a2)
            outcomes.append("ok")
        except packages.PackageUsedUp:
            outcomes.append("used_up")

    # when 8 cashiers try at once
    run_clients(8, client)
    # then exactly one use went through and the books are exact
    assert sorted(outcomes) == ["ok"] + ["used_up"] * 7
    sold.refresh_from_db()
    assert (sold.uses_done, sold.recognised, sold.status) == (2, 10_001, MemberPackageStatus.USED_UP)
    assert PackageUse.objects.filter(member_package=sold).count() == 2
    assert package_balance(card) == 0
    assert connection.vendor == "postgresql"
    _assert_books(sold)


def test_a_use_and_a_refund_at_another_store_post_clearing_with_the_selling_store(chain, card):
    # given: 10 washes for ¥300 sold at A1
    from onecard.loyalty.ledger import clearing

    mp = packages.sell_package(None, card, wash_package(chain), store=chain.a1)
    # when: one wash at A2, then the rest refunded at B1 by bank transfer
    packages.use_package(None, mp, "洗车", store=chain.a2)
    packages.refund_package(None, mp, store=chain.b1, reason="moving", method="bank")
    # then: A1 owes A2 the ¥30 wash and owes B1 the ¥270 B1 paid out; each pair nets to zero
    a1_a2, a2_a1 = (
        clearing.clearing_account(chain.a1, chain.a2),
        clearing.clearing_account(chain.a2, chain.a1),
    )
    a1_b1, b1_a1 = (
        clearing.clearing_account(chain.a1, chain.b1),
        clearing.clearing_account(chain.b1, chain.a1),
    )
    for account in (a1_a2, a2_a1, a1_b1, b1_a1):
        account.refresh_from_db()
    assert (a1_a2.balance, a2_a1.balance) == (3_000, -3_000)
    assert (a1_b1.balance, b1_a1.balance) == (27_000, -27_000)
    _assert_books(mp)
