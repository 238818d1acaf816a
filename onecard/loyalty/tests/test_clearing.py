"""Clearing between stores and merchants (L6): which legs each transaction posts, and alliance acceptance."""

import pytest
from django.db import connection
from django.db.models import Sum
from django.test.utils import CaptureQueriesContext

from onecard.core.errors import BusinessError
from onecard.loyalty.cards import services as cards
from onecard.loyalty.ledger.choices import AccountKind
from onecard.loyalty.models import Account, CardProduct, CardTransaction, Posting
from onecard.loyalty.stored_value import holds
from onecard.loyalty.stored_value import services as stored_value
from onecard.org.models import Alliance
from onecard.testing.cards import reload
from onecard.testing.stored_value import assert_ledger_clean, balances, bonus_rule, sv_card


@pytest.fixture
def card_with_300_yuan(chain, card):
    """`card` (issued at A1, its home) with ¥300 principal topped up there."""
    stored_value.topup(None, card, 30_000, store=chain.a1)
    return card


def clearing(owner, counterparty) -> int:
    """Balance of `owner`'s clearing account towards a store (same merchant) or a merchant; 0 if never opened."""
    rows = Account.objects.filter(kind=AccountKind.CLEARING, node=owner)
    if hasattr(counterparty, "kind"):
        rows = rows.filter(counterparty_node=counterparty)
    else:
        rows = rows.filter(counterparty_merchant=counterparty)
    return rows.aggregate(total=Sum("balance"))["total"] or 0


def clearing_legs_of(tx) -> dict:
    """{(owner code, counterparty): amount} of the clearing postings of a transaction's entry."""
    postings = Posting.objects.filter(
        entry_id=tx.entry_id, account__kind=AccountKind.CLEARING
    ).select_related("account__node", "account__counterparty_node", "account__counterparty_merchant")
    found = {}
    for p in postings:
        other = p.account.counterparty_node or p.account.counterparty_merchant
        found[(p.account.node.code, getattr(other, "code", None))] = p.amount
    return found


def assert_clearing_pairs_net_to_zero():
    """Store pairs: each account and its mirror sum to zero; merchant pairs: all accounts between them do."""
    store_pairs, merchant_pairs = {}, {}
    for account in Account.objects.filter(kind=AccountKind.CLEARING):
        if account.counterparty_node_id is not None:
            pair = tuple(sorted((account.node_id, account.counterparty_node_id)))
            store_pairs[pair] = store_pairs.get(pair, 0) + account.balance
        else:
            pair = tuple(sorted((account.merchant_id, account.counterparty_merchant_id)))
            merchant_pairs[pair] = merchant_pairs.get(pair, 0) + account.balance
    assert all(total == 0 for total in store_pairs.values()), store_pairs
    assert all(total == 0 for total in merchant_pairs.values()), merchant_pairs


@pytest.fixture
def alliance(chain):
    """Both merchants of the chain fixture in one alliance."""
    made = Alliance.objects.create(name="城市联盟")
    chain.merchant.alliance = made
    chain.merchant.save(update_fields=["alliance"])
    chain.other.alliance = made
    chain.other.save(update_fields=["alliance"])
    return made


def accept_at_alliance(card):
    CardProduct.objects.filter(pk=card.product_id).update(alliance_accepted=True)
    return reload(card)


# ---- same store: nothing ------------------------------------------------------------------------------


def test_same_store_transactions_post_no_clearing(chain, card_with_300_yuan):
    # when: top-up, charge, hold, capture and refund all at the card's home store
    sale = stored_value.charge(None, card_with_300_yuan, 5_000, store=chain.a1)
    hold = holds.hold(None, card_with_300_yuan, 2_000, store=chain.a1)
    holds.capture(None, hold, 1_500, store=chain.a1)
    stored_value.refund(None, sale, 1_000, store=chain.a1, reason="退货")
    # then
    assert not Account.objects.filter(kind=AccountKind.CLEARING).exists()
    assert_ledger_clean()


# ---- across stores of one merchant ---------------------------------------------------------------------


def test_a_topup_away_from_home_makes_that_store_owe_the_home_the_value_with_its_bonus(
    chain, card_with_300_yuan
):
    # given: A2 gives 充100送10
    bonus_rule(chain, [[10_000, 1_000]], store=chain.a2)
    # when
    tx = stored_value.topup(None, card_with_300_yuan, 10_000, store=chain.a2)
    # then: A2 took the cash and funds the bonus; A1 owes the card 110 yuan
    assert tx.bonus == 1_000
    assert clearing_legs_of(tx) == {("A2", "A1"): 11_000, ("A1", "A2"): -11_000}
    assert (clearing(chain.a2, chain.a1), clearing(chain.a1, chain.a2)) == (11_000, -11_000)
    assert_clearing_pairs_net_to_zero()
    assert_ledger_clean()


def test_a_charge_away_from_home_makes_the_home_owe_the_charging_store(chain, card_with_300_yuan):
    # when: the fast path at A2
    tx = stored_value.charge(None, card_with_300_yuan, 4_321, store=chain.a2)
    # then
    assert clearing_legs_of(tx) == {("A1", "A2"): 4_321, ("A2", "A1"): -4_321}
    assert balances(card_with_300_yuan) == (30_000 - 4_321, 0, 0)
    assert_clearing_pairs_net_to_zero()
    assert_ledger_clean()


def test_a_charge_with_a_password_takes_the_other_path_and_clears_the_same(chain, card_with_300_yuan):
    # given: a password above ¥10
    cards.set_card_password(None, card_with_300_yuan, "246810")
    card_with_300_yuan = reload(card_with_300_yuan)
    card_with_300_yuan.password_threshold = 1_000
    card_with_300_yuan.save(update_fields=["password_threshold"])
    # when: charged at B1 with the password
    tx = stored_value.charge(None, card_with_300_yuan, 5_000, store=chain.b1, password="246810")
    # then
    assert clearing_legs_of(tx) == {("A1", "B1"): 5_000, ("B1", "A1"): -5_000}
    assert_ledger_clean()


def test_a_charge_away_from_home_takes_no_more_queries_than_a_home_charge(chain, card_with_300_yuan):
    # given: every account opened by a first charge at A2 (that one opens the clearing pair)
    first = stored_value.charge(None, card_with_300_yuan, 100, store=chain.a2)
    assert clearing_legs_of(first) == {("A1", "A2"): 100, ("A2", "A1"): -100}
    # when
    with CaptureQueriesContext(connection) as queries:
        again = stored_value.charge(None, card_with_300_yuan, 200, store=chain.a2)
    # then: the clearing accounts were found by the card's locking read, as the revenue account is
    assert len(queries.captured_queries) == 8, [q["sql"][:80] for q in queries.captured_queries]
    assert clearing_legs_of(again) == {("A1", "A2"): 200, ("A2", "A1"): -200}
    assert (clearing(chain.a1, chain.a2), clearing(chain.a2, chain.a1)) == (300, -300)
    assert_ledger_clean()


def test_holds_clear_nothing_and_a_capture_clears_with_the_capturing_store(chain, card_with_300_yuan):
    # when: a hold at A2, captured in part at B1
    hold = holds.hold(None, card_with_300_yuan, 6_000, store=chain.a2)
    assert clearing_legs_of(hold) == {}
    captured = holds.capture(None, hold, 4_000, store=chain.b1)
    # then: A1 owes B1 the captured part; A2, where the hold was placed, is not involved
    assert clearing_legs_of(captured) == {("A1", "B1"): 4_000, ("B1", "A1"): -4_000}
    assert clearing(chain.a2, chain.a1) == 0
    assert balances(card_with_300_yuan) == (26_000, 0, 0)
    assert_ledger_clean()


def test_a_refund_reverses_the_clearing_between_the_original_store_and_home(chain, card_with_300_yuan):
    # given: a charge of ¥80 at A2
    sale = stored_value.charge(None, card_with_300_yuan, 8_000, store=chain.a2)
    # when: ¥30 refunded at B1, then the rest at A1
    first = stored_value.refund(None, sale, 3_000, store=chain.b1, reason="退货")
    rest = stored_value.refund(None, sale, store=chain.a1, reason="退货")
    # then: each refund moves the debt back between A2 and A1 only
    assert clearing_legs_of(first) == {("A2", "A1"): 3_000, ("A1", "A2"): -3_000}
    assert clearing_legs_of(rest) == {("A2", "A1"): 5_000, ("A1", "A2"): -5_000}
    assert clearing(chain.a1, chain.a2) == 0 and clearing(chain.b1, chain.a1) == 0
    assert balances(card_with_300_yuan) == (30_000, 0, 0)
    assert_clearing_pairs_net_to_zero()
    assert_ledger_clean()


def test_a_refund_of_a_capture_at_another_store_clears_with_the_capturing_store(chain, card_with_300_yuan):
    hold = holds.hold(None, card_with_300_yuan, 5_000, store=chain.a1)
    captured = holds.capture(None, hold, store=chain.b1)
    refund = stored_value.refund(None, captured, 2_000, store=chain.a1, reason="x")
    assert clearing_legs_of(refund) == {("B1", "A1"): 2_000, ("A1", "B1"): -2_000}
    assert clearing(chain.a1, chain.b1) == 3_000
    assert_ledger_clean()


def test_a_topup_refund_paid_elsewhere_makes_the_home_owe_the_paying_and_the_topup_store(
    chain, member_factory
):
    # given: 充100送10 at A2 on a card of A1
    card = sv_card(chain, member_factory())
    bonus_rule(chain, [[10_000, 1_000]], store=chain.a2)
    topup = stored_value.topup(None, card, 10_000, store=chain.a2)
    # when: ¥40 paid back from B1's cash
    out = stored_value.refund_topup(None, topup, 4_000, store=chain.b1, reason="会员申请")
    # then: A1 owes B1 the payout, and owes A2 back the ¥4 bonus withdrawn to A2's expense
    assert out.bonus == 400
    assert clearing_legs_of(out) == {
        ("A1", "B1"): 4_000,
        ("B1", "A1"): -4_000,
        ("A1", "A2"): 400,
        ("A2", "A1"): -400,
    }
    assert clearing(chain.a2, chain.a1) == 11_000 - 400
    assert_clearing_pairs_net_to_zero()
    assert_ledger_clean()


def test_a_topup_refund_at_the_topup_store_nets_payout_and_bonus_in_one_pair(chain, member_factory):
    card = sv_card(chain, member_factory())
    bonus_rule(chain, [[10_000, 1_000]], store=chain.a2)
    topup = stored_value.topup(None, card, 10_000, store=chain.a2)
    out = stored_value.refund_topup(None, topup, store=chain.a2, reason="x")
    assert clearing_legs_of(out) == {("A1", "A2"): 11_000, ("A2", "A1"): -11_000}
    assert clearing(chain.a2, chain.a1) == 0
    assert_ledger_clean()


def test_cancel_with_payout_pays_the_principal_and_clears_with_the_paying_store(chain, card_with_300_yuan):
    # given: ¥300 principal on a card of A1 and ¥50 spent
    stored_value.charge(None, card_with_300_yuan, 5_000, store=chain.a1)
    # when: cancelled with the payout from A2's cash
    result = stored_value.cancel_card(
        chain.hq_admin, card_with_300_yuan, reason="销户", payout_store=chain.a2, method="bank"
    )
    # then
    assert result.card.status == "cancelled"
    assert (result.refundable_principal, result.payout.amount, result.payout.tender) == (0, 25_000, "bank")
    assert balances(card_with_300_yuan) == (0, 0, 0)
    assert clearing_legs_of(result.payout) == {("A1", "A2"): 25_000, ("A2", "A1"): -25_000}
    assert_ledger_clean()


def test_cancel_refuses_a_large_cash_payout_and_changes_nothing(chain, card_with_300_yuan):
    with pytest.raises(BusinessError) as refused:
        stored_value.cancel_card(chain.hq_admin, card_with_300_yuan, payout_store=chain.a1, method="cash")
    assert refused.value.code == "cash_refund_too_large"
    assert reload(card_with_300_yuan).status == "active"
    assert balances(card_with_300_yuan) == (30_000, 0, 0)


def test_cancel_without_payout_keeps_the_principal_for_later(chain, card_with_300_yuan):
    result = cards.cancel(chain.hq_admin, card_with_300_yuan)
    assert (result.refundable_principal, result.payout) == (30_000, None)
    assert balances(card_with_300_yuan) == (30_000, 0, 0)


# ---- alliance ----------------------------------------------------------------------------------------------


def test_other_merchants_refuse_a_card_without_an_alliance_agreement(chain, card_with_300_yuan, alliance):
    # given: both merchants in one alliance, but the product is not accepted at alliance merchants
    with pytest.raises(BusinessError) as refused:
        stored_value.charge(None, card_with_300_yuan, 1_000, store=chain.other_store)
    assert refused.value.code == "card_not_accepted_here"
    assert not card_with_300_yuan.product.accepts_store(chain.other_store)


def test_an_alliance_product_needs_both_merchants_in_the_same_alliance(chain, card_with_300_yuan):
    card_with_300_yuan = accept_at_alliance(card_with_300_yuan)
    assert not card_with_300_yuan.product.accepts_store(chain.other_store)  # no alliance at all
    chain.other.alliance = Alliance.objects.create(name="别的联盟")
    chain.other.save(update_fields=["alliance"])
    chain.merchant.alliance = Alliance.objects.create(name="我们的联盟")
    chain.merchant.save(update_fields=["alliance"])
    assert not reload(card_with_300_yuan).product.accepts_store(chain.other_store)
    with pytest.raises(BusinessError) as refused:
        cards.resolve_card(card_with_300_yuan.number, store=chain.other_store)
    assert refused.value.code == "card_not_accepted_here"


def test_an_alliance_card_charges_at_another_merchant_and_clears_between_the_merchants(
    chain, card_with_300_yuan, alliance
):
    # given: the product accepted at alliance merchants
    card_with_300_yuan = accept_at_alliance(card_with_300_yuan)
    assert cards.resolve_card(card_with_300_yuan.number, store=chain.other_store).pk == card_with_300_yuan.pk
    # when: charged ¥60 at the other merchant's store, ¥20 of it refunded there
    sale = stored_value.charge(None, card_with_300_yuan, 6_000, store=chain.other_store)
    refund = stored_value.refund(None, sale, 2_000, store=chain.other_store, reason="退货")
    # then: revenue is the other merchant's; the home owes the other merchant through clearing
    revenue = Account.objects.get(kind=AccountKind.STORE_REVENUE, node=chain.other_store)
    assert (revenue.merchant_id, revenue.balance) == (chain.other.pk, 4_000)
    assert clearing_legs_of(sale) == {("A1", "other"): 6_000, ("O1", "acme"): -6_000}
    assert clearing_legs_of(refund) == {("O1", "acme"): 2_000, ("A1", "other"): -2_000}
    assert clearing(chain.a1, chain.other) == 4_000
    assert clearing(chain.other_store, chain.merchant) == -4_000
    assert balances(card_with_300_yuan) == (26_000, 0, 0)
    assert_clearing_pairs_net_to_zero()
    assert_ledger_clean()


def test_an_alliance_card_is_held_and_captured_at_the_other_merchant(chain, card_with_300_yuan, alliance):
    card_with_300_yuan = accept_at_alliance(card_with_300_yuan)
    hold = holds.hold(None, card_with_300_yuan, 3_000, store=chain.other_store)
    captured = holds.capture(None, hold, 2_500, store=chain.other_store)
    assert clearing_legs_of(captured) == {("A1", "other"): 2_500, ("O1", "acme"): -2_500}
    assert balances(card_with_300_yuan) == (27_500, 0, 0)
    assert_ledger_clean()


def test_an_alliance_card_cannot_be_topped_up_or_paid_out_at_the_other_merchant(
    chain, card_with_300_yuan, alliance
):
    card_with_300_yuan = accept_at_alliance(card_with_300_yuan)
    topup = CardTransaction.objects.get(card=card_with_300_yuan, kind="topup")
    for call in (
        lambda: stored_value.topup(None, card_with_300_yuan, 1_000, store=chain.other_store),
        lambda: stored_value.refund_topup(None, topup, 1_000, store=chain.other_store, reason="x"),
    ):
        with pytest.raises(BusinessError) as refused:
            call()
        assert refused.value.code == "card_not_accepted_here"
    assert balances(card_with_300_yuan) == (30_000, 0, 0)


def test_a_product_store_list_does_not_limit_the_alliance(chain, member_factory, alliance):
    # given: a product accepted only at A1 within its merchant, and at alliance merchants
    card = sv_card(chain, member_factory(), stores=[chain.a1])
    card = accept_at_alliance(card)
    assert card.product.accepts_store(chain.a1)
    assert not card.product.accepts_store(chain.a2)
    assert card.product.accepts_store(chain.other_store)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_cross_store_charges_and_topups_keep_clearing_exact(chain, member_factory):
    # given: two cards of A1, each with ¥500
    from onecard.testing.concurrency import run_clients

    made = [sv_card(chain, member_factory()) for _ in range(2)]
    for one in made:
        stored_value.topup(None, one, 50_000, store=chain.a1)
    stores = [chain.a1, chain.a2, chain.b1]

    def client(n):
        one = made[n % 2]
        for i in range(10):
            store = stores[(n + i) % 3]
            if i % 3 == 2:
                stored_value.topup(None, one, 500, store=store)
            else:
                stored_value.charge(None, one, 300, store=store)

    # when: 6 clients at once
    run_clients(6, client)
    # then: every charge and top-up away from A1 is in the clearing balances exactly once
    assert_clearing_pairs_net_to_zero()
    owed_by_a1 = clearing(chain.a1, chain.a2) + clearing(chain.a1, chain.b1)
    away = CardTransaction.objects.exclude(store=chain.a1)
    charged = away.filter(kind="charge").aggregate(t=Sum("amount"))["t"] or 0
    topped = away.filter(kind="topup").aggregate(t=Sum("amount"))["t"] or 0
    assert owed_by_a1 == charged - topped
    assert_ledger_clean()


def test_charges_at_other_stores_count_towards_the_daily_limit(chain, card_with_300_yuan):
    card_with_300_yuan = reload(card_with_300_yuan)
    card_with_300_yuan.daily_charge_limit = 5_000
    card_with_300_yuan.save(update_fields=["daily_charge_limit"])
    stored_value.charge(None, card_with_300_yuan, 4_000, store=chain.a2)
    with pytest.raises(BusinessError) as refused:
        stored_value.charge(None, card_with_300_yuan, 2_000, store=chain.b1)
    assert refused.value.code == "daily_limit_exceeded"


def test_a_replacement_card_of_another_store_takes_the_liability_with_clearing(chain, card_with_300_yuan):
    from onecard.testing.cards import stock

    # given: ¥50 charged at A1, a refundable charge, and a spare card of the same product in stock at A2
    sale = stored_value.charge(None, card_with_300_yuan, 5_000, store=chain.a1)
    spare = stock(card_with_300_yuan.product, chain.a2, count=1, prefix="9901")[0]
    # when: the card is replaced by the A2 card
    new = cards.replace(None, card_with_300_yuan, spare, reason="补卡")
    # then: A1 owes A2 the ¥250 that the new card's home now owes the member
    assert (clearing(chain.a1, chain.a2), clearing(chain.a2, chain.a1)) == (25_000, -25_000)
    assert balances(new) == (25_000, 0, 0)
    # and: a charge at A2 is now a home charge; the old charge's refund is owed by A1 to A2
    home_sale = stored_value.charge(None, new, 1_000, store=chain.a2)
    assert clearing_legs_of(home_sale) == {}
    refund = stored_value.refund(None, sale, 2_000, store=chain.a2, reason="退货")
    assert clearing_legs_of(refund) == {("A1", "A2"): 2_000, ("A2", "A1"): -2_000}
    # A1 owes A2 what the card holds (¥260) plus the ¥10 it already spent at A2
    assert sum(balances(new)) == 26_000
    assert clearing(chain.a1, chain.a2) == 26_000 + 1_000
    assert_clearing_pairs_net_to_zero()
    assert_ledger_clean()


def test_a_charge_made_at_an_alliance_merchant_is_refunded_there_only(chain, card_with_300_yuan, alliance):
    # given: a ¥60 charge at the other merchant's store
    accept_at_alliance(card_with_300_yuan)
    sale = stored_value.charge(None, card_with_300_yuan, 6_000, store=chain.other_store)
    # when the issuer's own store tries to refund it (it would take the other merchant's revenue)
    with pytest.raises(stored_value.NotRefundable):
        stored_value.refund(None, sale, store=chain.a1, reason="wrong till")
    # then nothing moved; the other merchant's store can refund it
    assert reload_tx(sale).refunded_total == 0
    stored_value.refund(None, sale, store=chain.other_store, reason="wrong size")
    assert reload_tx(sale).refunded_total == 6_000
    assert_clearing_pairs_net_to_zero()
    assert_ledger_clean()


def reload_tx(tx):
    return type(tx).objects.get(pk=tx.pk)
