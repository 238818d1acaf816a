"""Cancelling a card with a refund reason: the CHINA-RULES price is paid out and the card is emptied."""

import pytest

from onecard.loyalty.ledger.choices import AccountKind
from onecard.loyalty.models import Account
from onecard.loyalty.models.stored_value import ConsumptionOrder
from onecard.loyalty.stored_value import services as stored_value
from onecard.testing.stored_value import assert_ledger_clean, balances, bonus_rule, sv_card

pytestmark = pytest.mark.django_db


def store_balance(kind, store):
    return Account.objects.get(kind=kind, node=store).balance


@pytest.fixture
def used_card(chain, member_factory):
    """¥3,000 paid in with ¥1,000 bonus (充3000送1000), ¥2,000 spent proportionally at A1."""
    card = sv_card(chain, member_factory(), order=ConsumptionOrder.PROPORTIONAL, balance_cap=10**9)
    bonus_rule(chain, [[300_000, 100_000]])
    stored_value.topup(None, card, 300_000, store=chain.a1)
    stored_value.charge(None, card, 200_000, store=chain.a1)  # 150,000 principal + 50,000 bonus
    return card


def test_member_request_prices_use_before_discount_and_empties_the_card(chain, used_card):
    # when the member asks for a refund: 3,000 paid − 2,000 used at list price = ¥1,000
    result = stored_value.cancel_card(
        chain.store_manager, used_card, reason="moving", payout_store=chain.a1, refund_reason="member_request"
    )
    # then ¥1,000 leaves A1's cash, the other ¥500 principal becomes revenue, the ¥500 bonus goes back
    assert (result.payout.amount, result.payout.principal, result.payout.bonus) == (100_000, 100_000, 0)
    assert balances(used_card) == (0, 0, 0)
    assert store_balance(AccountKind.STORE_CASH, chain.a1) == -300_000 + 100_000
    assert store_balance(AccountKind.STORE_REVENUE, chain.a1) == 200_000 + 50_000
    assert store_balance(AccountKind.BONUS_EXPENSE, chain.a1) == -100_000 + 50_000
    assert any("1000.00" in str(line) for line in result.quote.lines)
    assert_ledger_clean()


def test_merchant_fault_shares_use_over_principal_and_bonus(chain, used_card):
    # when the merchant is at fault: 3,000 × 2,000 ÷ 4,000 = ¥1,500
    result = stored_value.cancel_card(
        chain.store_manager,
        used_card,
        reason="closing",
        payout_store=chain.a1,
        refund_reason="merchant_fault",
    )
    # then ¥1,500 is paid out, nothing is forfeited, the bonus is withdrawn
    assert result.payout.amount == 150_000
    assert store_balance(AccountKind.STORE_REVENUE, chain.a1) == 200_000
    assert balances(used_card) == (0, 0, 0)
    assert_ledger_clean()


def test_cash_above_the_limit_is_refused_and_the_card_stays_active(chain, used_card):
    # when
    with pytest.raises(stored_value.CashRefundTooLarge):
        stored_value.cancel_card(
            chain.store_manager,
            used_card,
            payout_store=chain.a1,
            method="cash",
            refund_reason="member_request",
        )
    # then nothing changed
    used_card.refresh_from_db()
    assert used_card.status == "active"
    assert store_balance(AccountKind.STORE_CASH, chain.a1) == -300_000
