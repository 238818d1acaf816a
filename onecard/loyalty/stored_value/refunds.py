"""Refunds of stored value: of a charge or capture, of a top-up's principal, and the payout of a cancelled card.

Each refund points at its original and never gives back more than it took; principal, bonus,
points and rebates come back in proportion, by cumulative floors (docs/money.md, Refunds).
"""

from django.db import transaction
from django.db.models import Sum

from onecard.core.errors import BusinessError
from onecard.loyalty.cards import services as cards
from onecard.loyalty.cards.choices import CardStatus
from onecard.loyalty.cards.errors import CardNotAccepted
from onecard.loyalty.cards.services import Cancelled, card_account
from onecard.loyalty.ledger import services as ledger
from onecard.loyalty.ledger.card_entries import (
    card_accounts,
    clearing_for,
    locked_balances,
    post_entry,
    record,
    store_account,
)
from onecard.loyalty.ledger.choices import AccountKind, EntryKind
from onecard.loyalty.ledger.clearing import home_node
from onecard.loyalty.models.stored_value import CardTransaction, CardTxKind
from onecard.loyalty.stored_value import prepaid_rules
from onecard.loyalty.stored_value.amounts import check_amount, cumulative_share
from onecard.loyalty.stored_value.card_checks import current_card, lock_usable_card
from onecard.loyalty.stored_value.errors import NotRefundable, OverRefund
from onecard.loyalty.stored_value.rewards import reverse_rewards

REFUND_TENDERS = ("bank", "cash", "original")


def lock_original(original, kinds) -> CardTransaction:
    """The original transaction's row, locked (after its card), checked to be of one of `kinds`."""
    row = CardTransaction.objects.select_for_update().get(pk=original.pk)
    if row.kind not in kinds:
        raise NotRefundable(extra={"kind": row.kind})
    return row


def refunded_parts(original) -> tuple[int, int]:
    """(principal, bonus) already given back or withdrawn by refunds of `original`."""
    sums = CardTransaction.objects.filter(original=original, kind=CardTxKind.REFUND).aggregate(
        p=Sum("principal"), b=Sum("bonus")
    )
    return sums["p"] or 0, sums["b"] or 0


def rebate_bonus_taken_back(original) -> int:
    """The bonus rebate of `original` that its refunds took back so far (fen)."""
    total = CardTransaction.objects.filter(original=original, kind=CardTxKind.REFUND).aggregate(
        b=Sum("rebate_bonus")
    )["b"]
    return total or 0


def _remaining(original, amount):
    """The amount a refund takes (None: what remains), refused with over_refund beyond what remains."""
    remaining = original.amount - original.refunded_total
    amount = remaining if amount is None else check_amount(amount)
    if amount <= 0 or amount > remaining:
        raise OverRefund(extra={"requested": amount, "remaining": remaining})
    return amount


@transaction.atomic
def refund(actor, original_charge, amount=None, *, store, reason, business_ref="") -> CardTransaction:
    """退款 of a charge or capture, in part or in full (amount None: what remains).

    Principal and bonus go back to the card in the proportion the original took them; the
    refund that completes the original takes the exact remainder. Refused with over_refund
    beyond what was taken minus what was refunded already. The refunded amount leaves the
    original store's revenue (cleared with the card's home); the points the original earned and
    its rebate are taken back in proportion (module doc), in the same transaction.
    """
    card = current_card(original_charge.card)
    card = lock_usable_card(card, allowed=(CardStatus.ACTIVE, CardStatus.FROZEN, CardStatus.EXPIRED))
    original = lock_original(original_charge, {CardTxKind.CHARGE, CardTxKind.CAPTURE})
    if store.merchant_id != original.store.merchant_id:
        # The refund comes out of the original store's revenue: only that merchant's stores give it.
        raise NotRefundable(extra={"kind": original.kind, "reason": "other_merchant"})
    amount = _remaining(original, amount)
    refunded_before = original.refunded_total
    _done_principal, done_bonus = refunded_parts(original)
    bonus = cumulative_share(refunded_before + amount, original.amount, original.bonus, done_bonus)
    principal = amount - bonus
    accounts = card_accounts(card)
    revenue = store_account(AccountKind.STORE_REVENUE, original.store)
    legs = [
        (accounts[AccountKind.MEMBER_PRINCIPAL], principal),
        (accounts[AccountKind.MEMBER_BONUS], bonus),
        (revenue, -amount),
    ]
    flows = [(original.store, -amount)]
    rebate_back = 0
    if original.rebate_bonus:
        share = cumulative_share(
            refunded_before + amount,
            original.amount,
            original.rebate_bonus,
            rebate_bonus_taken_back(original),
        )
        # Never below zero: what the card holds after this refund's own bonus comes back.
        held = locked_balances({"bonus": accounts[AccountKind.MEMBER_BONUS]})["bonus"]
        rebate_back = max(0, min(share, held + bonus))
        if rebate_back:
            expense = store_account(AccountKind.BONUS_EXPENSE, original.store)
            legs += [(accounts[AccountKind.MEMBER_BONUS], -rebate_back), (expense, rebate_back)]
            flows.append((original.store, rebate_back))
    legs += clearing_for(card, flows)
    entry = post_entry(EntryKind.REFUND, card, store, actor, legs, memo=f"refund of #{original.pk}: {reason}",
                       business_ref=business_ref, refers_to=original.entry_id)  # fmt: skip
    rewards = reverse_rewards(actor, original, refunded_before, amount, business_ref=business_ref)
    original.refunded_total += amount
    original.save(update_fields=["refunded_total"])
    return record(
        CardTxKind.REFUND, card, store, actor, entry, amount=amount, principal=principal, bonus=bonus,
        original=original, reason=reason[:200], business_ref=business_ref, rebate_bonus=rebate_back, **rewards,
    )  # fmt: skip


@transaction.atomic
def refund_topup(actor, original_topup, amount=None, *, store, reason, method="bank",
                 business_ref="") -> CardTransaction:  # fmt: skip
    """Pay back principal of a top-up (CHINA-RULES): principal only leaves; the top-up's bonus is withdrawn.

    `amount` (None: what remains) is principal paid out to the holder by `method` (bank, cash,
    original); cash is refused above ¥100. The bonus withdrawn is proportional to the top-up's
    bonus, capped at the card's bonus balance (never below zero). The payout leaves the store's cash
    (cleared with the card's home: the home owes that store the payout); only at the issuer's stores.
    """
    if method not in REFUND_TENDERS:
        raise BusinessError(code="invalid_refund_method", extra={"method": method})
    card = current_card(original_topup.card)
    allowed = (CardStatus.ACTIVE, CardStatus.FROZEN, CardStatus.EXPIRED, CardStatus.CANCELLED)
    card = lock_usable_card(card, allowed=allowed)
    if store.merchant_id != card.merchant_id:  # prepaid funds are paid back by the issuer
        raise CardNotAccepted(extra={"card": card.number})
    original = lock_original(original_topup, {CardTxKind.TOPUP})
    amount = _remaining(original, amount)
    prepaid_rules.check_cash_refund(card.merchant_id, amount, method)
    _done_principal, done_bonus = refunded_parts(original)
    bonus = cumulative_share(original.refunded_total + amount, original.principal, original.bonus, done_bonus)
    accounts = card_accounts(card)
    balances = locked_balances(accounts)
    bonus = max(0, min(bonus, balances[AccountKind.MEMBER_BONUS]))
    cash = store_account(AccountKind.STORE_CASH, store)
    expense = store_account(AccountKind.BONUS_EXPENSE, original.store)
    legs = [(accounts[AccountKind.MEMBER_PRINCIPAL], -amount), (cash, amount)]
    if bonus:
        legs += [(accounts[AccountKind.MEMBER_BONUS], -bonus), (expense, bonus)]
    legs += clearing_for(card, [(store, amount), (original.store, bonus)])
    entry = post_entry(EntryKind.REFUND, card, store, actor, legs, memo=f"top-up refund #{original.pk}: {reason}",
                       business_ref=business_ref, refers_to=original.entry_id)  # fmt: skip
    original.refunded_total += amount
    original.save(update_fields=["refunded_total"])
    return record(
        CardTxKind.REFUND, card, store, actor, entry, amount=amount, principal=amount, bonus=bonus,
        original=original, tender=method, reason=reason[:200], business_ref=business_ref,
    )  # fmt: skip


@transaction.atomic
def cancel_card(actor, card, *, reason="", payout_store=None, method="bank", refund_reason=None) -> Cancelled:
    """Close a card for good (cards.cancel: refused while holds are open) and pay its balance out.

    With `payout_store`, the balance is paid out at once from that store's cash, by `method`
    (bank, cash up to the merchant's cash-refund limit, original), in the same transaction: one
    refund entry, cleared with the card's home when the store is another (the home owes the
    paying store the payout). Without `refund_reason` the payout is the principal left and any
    bonus stays on the closed card. With `refund_reason` ("member_request", "merchant_fault") the
    payout is priced by prepaid_rules.balance_refund_quote (CHINA-RULES) and the card is emptied
    in the same entry: principal not refunded becomes the home store's revenue, bonus not
    refunded goes back to its bonus expense. Without `payout_store` the principal stays on the
    card for a later payout (stored_value.refund_topup).
    """
    if payout_store is not None and method not in REFUND_TENDERS:
        raise BusinessError(code="invalid_refund_method", extra={"method": method})
    closed = cards.cancel(actor, card, reason=reason)  # the card's own transition: status, scope, open holds
    card, owed = closed.card, closed.refundable_principal
    if payout_store is not None and payout_store.merchant_id != card.merchant_id:
        raise CardNotAccepted(extra={"card": card.number})
    quote = prepaid_rules.balance_refund_quote(card, refund_reason) if refund_reason else None
    if payout_store is None:
        return Cancelled(card=card, refundable_principal=owed, quote=quote)
    principal_left, bonus_left = owed, cards.card_balances(card).get(AccountKind.MEMBER_BONUS, 0)
    pay_principal, pay_bonus = (quote.from_principal, quote.from_bonus) if quote else (owed, 0)
    paid = pay_principal + pay_bonus
    prepaid_rules.check_cash_refund(card.merchant_id, paid, method)
    legs = [
        (card_account(card, AccountKind.MEMBER_PRINCIPAL), -pay_principal),
        (card_account(card, AccountKind.MEMBER_BONUS), -pay_bonus),
        (store_account(AccountKind.STORE_CASH, payout_store), paid),
    ]
    legs += clearing_for(card, [(payout_store, paid)])
    if quote is not None:
        # The card is closed for good: what is not refunded leaves it at its home store.
        home = home_node(card)
        forfeited, withdrawn = principal_left - pay_principal, bonus_left - pay_bonus
        legs += [
            (card_account(card, AccountKind.MEMBER_PRINCIPAL), -forfeited),
            (ledger.open_account(AccountKind.STORE_REVENUE, card.merchant_id, node=home), forfeited),
            (card_account(card, AccountKind.MEMBER_BONUS), -withdrawn),
            (ledger.open_account(AccountKind.BONUS_EXPENSE, card.merchant_id, node=home), withdrawn),
        ]
    if not any(amount for _account, amount in legs):
        return Cancelled(card=card, refundable_principal=0, quote=quote)
    entry = post_entry(
        EntryKind.REFUND, card, payout_store, actor, legs, memo=f"cancel payout {card.number}: {reason}",
        business_ref=f"card:{card.pk}:cancel",
    )  # fmt: skip
    payout = record(
        CardTxKind.REFUND, card, payout_store, actor, entry, amount=paid, principal=pay_principal,
        bonus=pay_bonus, tender=method, reason=(reason or "cancel")[:200], business_ref=f"card:{card.pk}:cancel",
    )  # fmt: skip
    return Cancelled(card=card, refundable_principal=0, payout=payout, quote=quote)
