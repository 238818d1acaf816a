"""The charge reads everything once into a ChargeContext (stored_value.fetch) and acts on it; the POS lookup."""

from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from onecard.core.errors import BusinessError
from onecard.loyalty.cards import services as cards
from onecard.loyalty.ledger import services as ledger
from onecard.loyalty.ledger.choices import AccountKind
from onecard.loyalty.models import Account, CardTransaction
from onecard.loyalty.models.stored_value import ConsumptionOrder
from onecard.loyalty.stored_value import services as stored_value
from onecard.loyalty.stored_value.fetch import ChargeContext, LockedAccount, fetch_charge_context
from onecard.loyalty.tiers import services as tiers
from onecard.testing.stored_value import assert_ledger_clean, balances, sv_card

pytestmark = pytest.mark.django_db

# Private attributes the old charge stuck onto Card; none may come back.
OLD_CARD_ATTRIBUTES = (
    "_product_has_stores", "_revenue_account_id", "_earns_points", "_has_rebates", "_home_clearing_id",
    "_store_clearing_id", "_discount_rate", "_consumption_order", "_member_facts", "_points_accounts",
)  # fmt: skip


def _account(card, kind):
    return Account.objects.get(card_id=card.pk, kind=kind)


def test_the_context_holds_the_card_its_accounts_tier_and_settings(chain, member_factory):
    # given: a gold member's card (bonus first, a password) with ¥100 principal and ¥20 bonus
    member = member_factory()
    card = sv_card(chain, member, order=ConsumptionOrder.BONUS_FIRST, password_threshold=5_000)
    gold = tiers.create_tier(None, chain.merchant, name="金卡", rank=2, discount_rate=Decimal("0.900"))
    tiers.set_member_tier(None, member, gold, reason="test")
    cards.set_card_password(None, card, "123456")
    stored_value.create_bonus_rule(None, chain.merchant, name="送", tiers=[(10_000, 2_000)],
                                   valid_from=card.activated_at)  # fmt: skip
    stored_value.topup(None, card, 10_000, store=chain.a1)
    # when: read for a charge at another store of the merchant
    with transaction.atomic():
        context = fetch_charge_context(card.pk, chain.a2)
    # then
    assert isinstance(context, ChargeContext)
    assert context.card.pk == card.pk and context.store == chain.a2
    assert context.principal == LockedAccount(_account(card, AccountKind.MEMBER_PRINCIPAL).pk, 10_000)
    assert context.bonus == LockedAccount(_account(card, AccountKind.MEMBER_BONUS).pk, 2_000)
    assert context.discount_rate == Decimal("0.900")
    assert context.member_facts() == (gold, member.birthday)
    assert context.consumption_order == ConsumptionOrder.BONUS_FIRST
    assert context.password_hash == cards.lock_cards(card)[card.pk].password_hash != ""
    assert context.failed_password_attempts == 0
    assert context.card.password_required_for(5_001) is True
    assert context.accepts_store() is True and context.at_home() is False
    assert (context.earns_points, context.has_rebates) == (False, False)


def test_the_context_is_frozen(chain, member_factory):
    # given
    card = sv_card(chain, member_factory())
    with transaction.atomic():
        context = fetch_charge_context(card.pk, chain.a1)
    # when / then: nobody can change a fact after the read
    with pytest.raises(AttributeError):
        context.discount_rate = Decimal("0.5")


def test_accounts_not_opened_yet_are_opened_and_read_as_zero(chain, member_factory):
    # given: a card that never held value, so it has no principal or bonus account
    card = sv_card(chain, member_factory())
    assert not Account.objects.filter(card_id=card.pk).exists()
    # when
    with transaction.atomic():
        context = fetch_charge_context(card.pk, chain.a1)
    # then
    assert context.principal == LockedAccount(_account(card, AccountKind.MEMBER_PRINCIPAL).pk, 0)
    assert context.bonus == LockedAccount(_account(card, AccountKind.MEMBER_BONUS).pk, 0)
    assert context.at_home() is True


def test_a_charge_reads_the_card_row_once_and_leaves_no_private_attributes(chain, member_factory):
    # given: a topped-up card, every account open
    card = sv_card(chain, member_factory())
    stored_value.topup(None, card, 10_000, store=chain.a1)
    stored_value.charge(None, card, 100, store=chain.a1)
    # when
    with CaptureQueriesContext(connection) as queries:
        tx = stored_value.charge(None, card, 500, store=chain.a1)
    # then: one statement reads the card table, under its lock
    card_reads = [q["sql"] for q in queries.captured_queries if 'FROM "loyalty_card" ' in q["sql"]]
    assert len(card_reads) == 1, card_reads
    assert balances(card) == (9_400, 0, 0)
    assert not [name for name in OLD_CARD_ATTRIBUTES if name in vars(tx.card)]
    assert_ledger_clean()


def test_a_charge_that_needs_the_password_without_one_is_refused_and_writes_nothing(chain, member_factory):
    # given: a card whose charges above ¥50 need its password
    card = sv_card(chain, member_factory(), password_threshold=5_000)
    cards.set_card_password(None, card, "123456")
    stored_value.topup(None, card, 10_000, store=chain.a1)
    charges = CardTransaction.objects.filter(kind="charge").count()
    # when
    with pytest.raises(BusinessError) as refused:
        stored_value.charge(None, card, 5_001, store=chain.a1)
    # then
    assert refused.value.code == "card_password_required"
    assert CardTransaction.objects.filter(kind="charge").count() == charges
    assert balances(card) == (10_000, 0, 0)


def test_the_terminal_lookup_finds_a_card_by_number_and_the_charge_takes_it(chain, member_factory):
    # given: a topped-up card without a password
    card = sv_card(chain, member_factory())
    stored_value.topup(None, card, 10_000, store=chain.a1)
    # when
    target = stored_value.prepare_terminal_charge(card.number, 1_000, store=chain.a1)
    tx = stored_value.charge_at_terminal(target, 1_000, store=chain.a1, business_ref="T-1")
    # then
    assert target.card.pk == card.pk and target.card_no == card.number
    assert (tx.card_id, tx.amount, tx.business_ref) == (card.pk, 1_000, "T-1")
    assert balances(card) == (9_000, 0, 0)


def test_the_terminal_lookup_leaves_unknown_numbers_to_the_charge(chain):
    # given: a number no card has
    # when
    target = stored_value.prepare_terminal_charge("8899000000019", 1_000, store=chain.a1)
    # then: nothing found before the charge, and the charge refuses it with card_not_found
    assert target.card is None
    with pytest.raises(BusinessError) as refused:
        stored_value.charge_at_terminal(target, 1_000, store=chain.a1)
    assert refused.value.code == "card_not_found"


def test_the_terminal_lookup_checks_the_password_of_a_card_that_has_one(chain, member_factory):
    # given: a card whose charges above ¥50 need its password
    card = sv_card(chain, member_factory(), password_threshold=5_000)
    cards.set_card_password(None, card, "123456")
    # when: the wrong password, then none
    with pytest.raises(BusinessError) as wrong:
        stored_value.prepare_terminal_charge(card.number, 6_000, store=chain.a1, password="000000")
    with pytest.raises(BusinessError) as missing:
        stored_value.prepare_terminal_charge(card.number, 6_000, store=chain.a1)
    # then: the wrong try is counted on the card
    assert (wrong.value.code, missing.value.code) == ("wrong_card_password", "card_password_required")
    card.refresh_from_db()
    assert card.failed_password_attempts == 1


def test_lock_accounts_by_key_answers_the_keys_that_have_an_account(chain):
    # given: one store account opened, one key without an account
    revenue = ledger.open_account(AccountKind.STORE_REVENUE, chain.merchant, node=chain.a1)
    missing = ledger.account_key(AccountKind.STORE_CASH, chain.merchant, node=chain.a1)
    # when
    with transaction.atomic():
        locked = ledger.lock_accounts_by_key([revenue.key, missing])
    # then
    assert locked == {revenue.key: (revenue.pk, 0)}
