"""Replace (补卡) and merge move every balance exactly through the ledger; member merges move cards."""

import threading

import pytest
from django.db import connection
from django.db.models import Sum

from onecard.core.errors import BusinessError
from onecard.loyalty.cards import services as svc
from onecard.loyalty.cards.choices import CardKind, CardStatus
from onecard.loyalty.ledger import services as ledger
from onecard.loyalty.ledger.choices import AccountKind, EntryKind
from onecard.loyalty.ledger.verify import verify_ledger
from onecard.loyalty.models import Account, Card, JournalEntry
from onecard.members import merging as member_merging
from onecard.testing.cards import active_card, make_product, put_value, reload, stock

ALL_KINDS = {
    AccountKind.MEMBER_PRINCIPAL: 30_000,
    AccountKind.MEMBER_BONUS: 5_000,
    AccountKind.MEMBER_POINTS: 1_200,
    AccountKind.HOLD_RESERVE: 2_000,
}


@pytest.fixture
def spare(chain, card_product):
    """Cards in A1's stock."""
    return stock(card_product, chain.a1, count=6)


@pytest.fixture
def old(chain, spare, member):
    """An active card with ¥320 principal (¥20 of it held), ¥50 bonus and 1,200 points."""
    card = active_card(spare[0], member)
    put_value(chain, card, principal=32_000, bonus=5_000, points=1_200, hold=2_000)
    svc.set_card_password(None, card, "246810")
    return reload(card)


def test_replace_moves_every_balance_to_the_new_card_and_the_books_stay_clean(chain, old, spare, member):
    # given: the member reports the card lost
    svc.report_lost(chain.cashier_a1, old)
    moved_signals = []
    svc.card_balances_moved.connect(lambda **kw: moved_signals.append(kw), weak=False, dispatch_uid="t")
    # when
    try:
        new = svc.replace(chain.cashier_a1, old, spare[1], reason="lost on the metro")
    finally:
        svc.card_balances_moved.disconnect(dispatch_uid="t")
    # then: the new card holds exactly what the old one held, the old one nothing
    assert svc.card_balances(new) == ALL_KINDS
    assert set(svc.card_balances(old).values()) == {0}
    old, new = reload(old), reload(new)
    assert (old.status, old.successor_id) == (CardStatus.REPLACED, new.pk)
    assert (new.status, new.member_id, new.password_hash) == (CardStatus.ACTIVE, member.pk, old.password_hash)
    # one transfer entry per account kind, with a memo naming both cards
    transfers = JournalEntry.objects.filter(kind=EntryKind.TRANSFER)
    assert transfers.count() == 4
    assert set(transfers.values_list("memo", flat=True)) == {f"replace: card {old.number} → {new.number}"}
    assert set(transfers.values_list("business_ref", flat=True)) == {f"card:{old.pk}:replace"}
    assert set(transfers.values_list("actor_id", flat=True)) == {chain.cashier_a1.pk}
    # the books: clean, and every currency still sums to zero
    report = verify_ledger()
    assert report.ok, report.problems
    assert report.totals == {"CNY": 0, "POINTS": 0}
    assert Account.objects.filter(card_id=new.pk, member__isnull=False).count() == 0
    # the old number stops working, the new one works
    with pytest.raises(BusinessError) as refused:
        svc.resolve_card(old.number)
    assert refused.value.code == "card_replaced"
    assert svc.resolve_card(new.number) == new
    assert moved_signals[0]["reason"] == "replace"
    assert sorted(moved_signals[0]["moved"]) == sorted(ALL_KINDS.items())


def test_a_refused_replacement_changes_nothing(chain, old, spare, member_factory):
    # given: the intended new card is already someone else's active card
    taken = active_card(spare[1], member_factory())
    entries = JournalEntry.objects.count()
    # when
    with pytest.raises(BusinessError) as refused:
        svc.replace(chain.cashier_a1, old, taken)
    # then
    assert refused.value.code == "card_already_active"
    assert (reload(old).status, reload(taken).status) == (CardStatus.ACTIVE, CardStatus.ACTIVE)
    assert svc.card_balances(old)[AccountKind.MEMBER_PRINCIPAL] == 30_000
    assert JournalEntry.objects.count() == entries


@pytest.mark.parametrize(
    "old_status, code", [(CardStatus.CANCELLED, "card_cancelled"), (CardStatus.REPLACED, "card_replaced")]
)
def test_a_closed_card_cannot_be_replaced(chain, old, spare, old_status, code):
    Card.objects.filter(pk=old.pk).update(status=old_status)
    with pytest.raises(BusinessError) as refused:
        svc.replace(None, old, spare[1])
    assert refused.value.code == code
    assert reload(spare[1]).status == CardStatus.IN_STOCK


def test_replace_needs_the_same_kind_of_card_and_respects_the_new_cards_cap(chain, old):
    points_card = stock(make_product(chain, name="积分卡", kind=CardKind.POINTS), chain.a1, prefix="77")[0]
    with pytest.raises(BusinessError) as refused:
        svc.replace(None, old, points_card)
    assert refused.value.code == "card_product_mismatch"
    small = make_product(chain, name="小额卡", balance_cap=20_000)
    with pytest.raises(BusinessError) as refused:
        svc.replace(None, old, stock(small, chain.a1, prefix="55")[0])
    assert refused.value.code == "balance_cap_exceeded"
    assert refused.value.extra == {"cap": 20_000, "balance": 35_000}


def test_replace_is_scoped_to_the_cards_stores(chain, old, spare):
    with pytest.raises(BusinessError) as refused:
        svc.replace(chain.cashier_b1, old, spare[1])
    assert refused.value.code == "permission_denied"
    assert reload(old).status == CardStatus.ACTIVE


def test_merge_combines_two_cards_of_one_member(chain, old, spare, member):
    # given: a second card of the same member with ¥100 and 300 points
    second = active_card(spare[1], member)
    put_value(chain, second, principal=10_000, points=300)
    # when
    target = svc.merge_cards(chain.cashier_a1, second, old)
    # then
    assert target == old
    assert svc.card_balances(old) == {
        **ALL_KINDS,
        AccountKind.MEMBER_PRINCIPAL: 40_000,
        AccountKind.MEMBER_POINTS: 1_500,
    }
    assert set(svc.card_balances(second).values()) == {0}
    second = reload(second)
    assert (second.status, second.successor_id) == (CardStatus.MERGED, old.pk)
    assert verify_ledger().ok
    with pytest.raises(BusinessError) as refused:
        svc.resolve_card(second.number)
    assert refused.value.code == "card_merged"


def test_cards_of_different_members_are_not_merged(chain, old, spare, member_factory):
    stranger = active_card(spare[1], member_factory())
    with pytest.raises(BusinessError) as refused:
        svc.merge_cards(None, stranger, old)
    assert refused.value.code == "card_member_mismatch"
    with pytest.raises(BusinessError) as refused:
        svc.merge_cards(None, old, old)
    assert refused.value.code == "card_member_mismatch"
    assert (reload(old).status, reload(stranger).status) == (CardStatus.ACTIVE, CardStatus.ACTIVE)


def test_a_member_merge_moves_the_cards_to_the_survivor_with_their_balances(
    chain, old, spare, member, member_factory
):
    # given: a duplicate record of the same person with a card of its own
    duplicate = member_factory(name="张三 (重复)")
    theirs = active_card(spare[1], duplicate)
    put_value(chain, theirs, principal=7_000)
    # when
    member_merging.merge_members(chain.store_manager, member, duplicate)
    # then
    assert set(Card.objects.filter(member=member).values_list("pk", flat=True)) == {old.pk, theirs.pk}
    assert not Card.objects.filter(member=duplicate).exists()
    assert svc.card_balances(theirs)[AccountKind.MEMBER_PRINCIPAL] == 7_000  # keyed by card: nothing moved
    total = Account.objects.filter(card_id__in=[old.pk, theirs.pk], kind=AccountKind.MEMBER_PRINCIPAL)
    assert total.aggregate(s=Sum("balance"))["s"] == 37_000
    assert verify_ledger().ok


def test_cancel_after_replacement_reports_the_new_cards_principal(chain, old, spare):
    new = svc.replace(None, old, spare[1])
    with pytest.raises(BusinessError) as refused:
        svc.cancel(None, new)  # ¥20 still held
    assert refused.value.code == "card_has_open_holds"
    assert svc.refundable_principal(new) == 30_000
    assert svc.refundable_principal(reload(old)) == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_charge_racing_the_replacement_is_either_moved_or_refused(chain, member_factory):
    rounds = 8
    # given: cards with ¥300 each, and a charge of ¥100 on the old card racing its replacement
    product = make_product(chain)
    cards = stock(product, chain.a1, count=2 * rounds)
    revenue = ledger.open_account(AccountKind.STORE_REVENUE, chain.merchant, node=chain.a1)
    outcomes = []
    for i in range(rounds):
        old, new = active_card(cards[2 * i], member_factory()), cards[2 * i + 1]
        put_value(chain, old, principal=30_000)
        principal = svc.card_account(old, AccountKind.MEMBER_PRINCIPAL)
        barrier = threading.Barrier(2)

        def charge(principal=principal, barrier=barrier):
            try:
                barrier.wait()
                ledger.transfer(principal, revenue, 10_000, kind=EntryKind.CHARGE, merchant=chain.merchant)
                outcomes.append("charged")
            except BusinessError as error:
                outcomes.append(error.code)
            finally:
                connection.close()

        def replace(old=old, new=new, barrier=barrier):
            try:
                barrier.wait()
                svc.replace(None, old, new)
            finally:
                connection.close()

        threads = [threading.Thread(target=charge), threading.Thread(target=replace)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        # then: nothing lost, nothing made up
        moved = svc.card_balances(new)[AccountKind.MEMBER_PRINCIPAL]
        assert svc.card_balances(old)[AccountKind.MEMBER_PRINCIPAL] == 0
        assert moved == (20_000 if outcomes[-1] == "charged" else 30_000)
    assert set(outcomes) <= {"charged", "insufficient_balance"}
    assert Account.objects.get(pk=revenue.pk).balance == 10_000 * outcomes.count("charged")
    assert verify_ledger().ok
