"""Stored value's verbs, in one place for the till, the POS API, the checkout and packages.

Each lives in the module of its sub-domain: top-ups and bonus rules in topup.py, the charge in
charge.py (reading what it needs once through fetch.py), refunds and a cancelled card's payout
in refunds.py, holds in holds.py. The money rules are described in docs/money.md.
"""

from onecard.loyalty.ledger.card_entries import store_account
from onecard.loyalty.models.prepaid import CASH_REFUND_LIMIT
from onecard.loyalty.stored_value.amounts import check_amount, consumption_order
from onecard.loyalty.stored_value.charge import (
    amount_due,
    charge,
    charge_at_terminal,
    charge_within,
    check_charge_password,
    check_pay_password,
    pay,
    prepare_terminal_charge,
    shanghai_day_start,
    terminal_card,
)
from onecard.loyalty.stored_value.errors import (
    CashRefundTooLarge,
    DailyLimitExceeded,
    NotRefundable,
    NotStoredValueCard,
    OverRefund,
)
from onecard.loyalty.stored_value.refunds import REFUND_TENDERS, Cancelled, cancel_card, refund, refund_topup
from onecard.loyalty.stored_value.rewards import charge_rewards
from onecard.loyalty.stored_value.topup import bonus_for, bonus_rule_for, create_bonus_rule, topup

__all__ = [
    "CASH_REFUND_LIMIT",
    "REFUND_TENDERS",
    "Cancelled",
    "CashRefundTooLarge",
    "DailyLimitExceeded",
    "NotRefundable",
    "NotStoredValueCard",
    "OverRefund",
    "amount_due",
    "bonus_for",
    "bonus_rule_for",
    "cancel_card",
    "charge",
    "charge_within",
    "charge_at_terminal",
    "charge_rewards",
    "check_amount",
    "check_charge_password",
    "check_pay_password",
    "consumption_order",
    "create_bonus_rule",
    "pay",
    "prepare_terminal_charge",
    "refund",
    "refund_topup",
    "shanghai_day_start",
    "store_account",
    "terminal_card",
    "topup",
]
