"""Holds (预授权): reserve stored value, then capture it (in full or part), void it, or let it expire.

Every call locks the card, then the hold, so exactly one of capture, void and expiry closes a
hold. The rules (bonus share of a capture, clearing, rewards) are in docs/money.md (Holds).
"""

import datetime

from django.db import transaction
from django.utils import timezone

from onecard.core.batches import rows_in_pk_batches
from onecard.loyalty.cards.choices import CardStatus
from onecard.loyalty.ledger.card_entries import (
    card_accounts,
    clearing_for,
    locked_balances,
    post_entry,
    record,
    store_account,
)
from onecard.loyalty.ledger.choices import AccountKind, EntryKind
from onecard.loyalty.models.stored_value import CardTransaction, CardTxKind, CardTxStatus
from onecard.loyalty.stored_value.amounts import check_amount, consumption_order, split_due
from onecard.loyalty.stored_value.card_checks import current_card, lock_usable_card, require_active
from onecard.loyalty.stored_value.charge import check_daily_limit
from onecard.loyalty.stored_value.errors import CaptureTooLarge, HoldExpired, HoldNotOpen
from onecard.loyalty.stored_value.rewards import charge_rewards

DEFAULT_EXPIRY = datetime.timedelta(minutes=30)
OPEN_STATUSES = (
    CardStatus.ACTIVE,
    CardStatus.FROZEN,
    CardStatus.LOST,
    CardStatus.EXPIRED,
    CardStatus.CANCELLED,
)


@transaction.atomic
def hold(actor, card, amount, *, store, expires_in=DEFAULT_EXPIRY, business_ref="") -> CardTransaction:
    """Reserve `amount` fen of the card's stored value for a later capture; an open hold row."""
    check_amount(amount)
    card = lock_usable_card(card, store=store)
    accounts = card_accounts(card)
    balances = locked_balances(accounts)
    principal, bonus = split_due(
        amount,
        balances[AccountKind.MEMBER_PRINCIPAL],
        balances[AccountKind.MEMBER_BONUS],
        consumption_order(card.product),
    )
    legs = [
        (accounts[AccountKind.MEMBER_PRINCIPAL], -principal),
        (accounts[AccountKind.MEMBER_BONUS], -bonus),
        (accounts[AccountKind.HOLD_RESERVE], amount),
    ]
    entry = post_entry(EntryKind.HOLD, card, store, actor, legs, memo=f"hold {card.number}",
                       business_ref=business_ref)  # fmt: skip
    return record(
        CardTxKind.HOLD, card, store, actor, entry, amount=amount, principal=principal, bonus=bonus,
        status=CardTxStatus.OPEN, expires_at=timezone.now() + expires_in, business_ref=business_ref,
    )  # fmt: skip


def _lock_hold(hold_row):
    """Lock the hold's card (its current successor), then the hold row; both re-read under the locks."""
    card = lock_usable_card(current_card(hold_row.card), allowed=OPEN_STATUSES)
    row = CardTransaction.objects.select_for_update().get(pk=hold_row.pk, kind=CardTxKind.HOLD)
    return card, row


def _release(actor, card, row, kind, status, *, captured=0, captured_bonus=0, store=None, business_ref=""):
    """Close the hold: `captured` to revenue, the rest back to principal and bonus; one entry, one row."""
    store = store or row.store
    accounts = card_accounts(card)
    legs = [
        (accounts[AccountKind.HOLD_RESERVE], -row.amount),
        (accounts[AccountKind.MEMBER_PRINCIPAL], row.principal - (captured - captured_bonus)),
        (accounts[AccountKind.MEMBER_BONUS], row.bonus - captured_bonus),
    ]
    if captured:
        legs.append((store_account(AccountKind.STORE_REVENUE, store), captured))
        legs += clearing_for(card, [(store, captured)])
    entry_kind = {CardTxKind.CAPTURE: EntryKind.CAPTURE, CardTxKind.VOID: EntryKind.VOID}.get(
        kind, EntryKind.EXPIRE
    )
    entry = post_entry(entry_kind, card, store, actor, legs, memo=f"{kind} of hold #{row.pk}",
                       business_ref=business_ref, refers_to=row.entry_id)  # fmt: skip
    now = timezone.now()
    row.status, row.closed_at = status, now
    row.save(update_fields=["status", "closed_at"])
    rewards = {}
    if captured:
        rewards = charge_rewards(actor, card, store, captured, business_ref=business_ref, refers_to=entry)
    return record(
        kind, card, store, actor, entry, amount=captured, principal=captured - captured_bonus,
        bonus=captured_bonus, list_amount=captured, original=row, business_ref=business_ref, **rewards,
    )  # fmt: skip


def capture(actor, hold_row, amount=None, *, store=None, business_ref="") -> CardTransaction:
    """Take `amount` (None: all) of an open hold into revenue and release the rest.

    Refused with hold_not_open once captured, voided or expired, and with hold_expired past
    `expires_at` (the hold is released by that same call).
    """
    expired = False
    with transaction.atomic():
        card, row = _lock_hold(hold_row)
        if row.status != CardTxStatus.OPEN:
            raise HoldNotOpen(extra={"hold": row.pk, "status": row.status})
        if row.expires_at <= timezone.now():
            _release(None, card, row, CardTxKind.EXPIRE, CardTxStatus.EXPIRED)
            expired = True
        else:
            require_active(card)
            amount = row.amount if amount is None else check_amount(amount)
            if amount > row.amount:
                raise CaptureTooLarge(extra={"held": row.amount, "requested": amount})
            check_daily_limit(card, amount)
            captured_bonus = amount * row.bonus // row.amount
            return _release(
                actor, card, row, CardTxKind.CAPTURE, CardTxStatus.CAPTURED,
                captured=amount, captured_bonus=captured_bonus, store=store, business_ref=business_ref,
            )  # fmt: skip
    if expired:
        raise HoldExpired(extra={"hold": hold_row.pk})


@transaction.atomic
def void(actor, hold_row, *, business_ref="") -> CardTransaction:
    """Release an open hold in full (撤销预授权); hold_not_open when it is already closed."""
    card, row = _lock_hold(hold_row)
    if row.status != CardTxStatus.OPEN:
        raise HoldNotOpen(extra={"hold": row.pk, "status": row.status})
    return _release(actor, card, row, CardTxKind.VOID, CardTxStatus.VOIDED, business_ref=business_ref)


def expire_holds(now=None, *, batch=200) -> int:
    """The job: release every open hold past its expiry, one transaction per hold. Running twice changes nothing."""
    now = now or timezone.now()
    count = 0
    due = CardTransaction.objects.filter(kind=CardTxKind.HOLD, status=CardTxStatus.OPEN, expires_at__lte=now)
    for hold_row in rows_in_pk_batches(due.select_related("card"), batch):
        with transaction.atomic():
            card, row = _lock_hold(hold_row)
            if row.status == CardTxStatus.OPEN and row.expires_at <= now:
                _release(None, card, row, CardTxKind.EXPIRE, CardTxStatus.EXPIRED)
                count += 1
    return count
