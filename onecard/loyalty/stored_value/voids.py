"""Voids (撤销) of a mistaken top-up or charge: the exact reversal of its entries in the ledger.

A void undoes the whole transaction or nothing: the charge's rebate and points come off the card, then
its entry is reversed (ledger.reverse); a top-up's entry likewise. It is refused when that value is no
longer on the card (spent or moved since: refund it instead), when part of it was refunded, and a
second time. The cashier who made it voids it at the same store within the merchant's window
(PrepaidSettings.void_window_minutes); later, or another's, needs someone holding till.void_late to
approve. A charge paid as a checkout's tender is returned with its sale, never voided here: the
public entry point is sales.services.void_card_transaction. Rules: docs/money.md (Voids).
"""

import datetime

from django.db import transaction
from django.utils import timezone

from onecard.core import audit
from onecard.core.scoping import node_in_scope
from onecard.loyalty.cards.choices import CardStatus
from onecard.loyalty.ledger import services as ledger
from onecard.loyalty.ledger.card_entries import record
from onecard.loyalty.ledger.choices import EntryKind
from onecard.loyalty.ledger.errors import InsufficientBalance, InsufficientPoints
from onecard.loyalty.models import JournalEntry
from onecard.loyalty.models.stored_value import CardTransaction, CardTxKind, CardTxStatus
from onecard.loyalty.points import services as points
from onecard.loyalty.stored_value.card_checks import lock_usable_card
from onecard.loyalty.stored_value.errors import (  # noqa: F401 - re-exported: the refusals of voids are voids.*
    AlreadyVoided,
    NotVoidable,
    VoidAfterRefund,
    VoidNeedsManager,
    VoidValueSpent,
)
from onecard.loyalty.stored_value.prepaid_settings import settings_for

VOIDABLE_KINDS = (CardTxKind.TOPUP, CardTxKind.CHARGE)
APPROVE_PERMISSION = "till.void_late"
# What a void's card may be: a card frozen or expired since the mistake can still have it undone.
VOID_CARD_STATUSES = (CardStatus.ACTIVE, CardStatus.FROZEN, CardStatus.EXPIRED)


def void_window(merchant) -> datetime.timedelta:
    """How long after a top-up or charge its own cashier may void it (the merchant's setting)."""
    return datetime.timedelta(minutes=settings_for(merchant).void_window_minutes)


def needs_approval(actor, original, at=None) -> bool:
    """True when `actor` voiding `original` needs a manager: another's transaction, or past the window."""
    at = at or timezone.now()
    own = actor is not None and original.actor_id == actor.pk
    return not own or at > original.created_at + void_window(original.store.merchant_id)


def check_approval(actor, original, approver=None, at=None):
    """Refuse (void_needs_manager) unless the void is the cashier's own in time, or approved.

    The approver is `approver` (a manager who signed in at the till) or else the actor: either holds
    till.void_late and sees the store.
    """
    if not needs_approval(actor, original, at):
        return None
    who = approver or actor
    if who is None or not who.has_perm(APPROVE_PERMISSION) or not node_in_scope(who, original.store):
        raise VoidNeedsManager()
    return who


def _locked_original(original, store) -> CardTransaction:
    """The original's row, locked after its card, checked to be a top-up or charge of `store` not yet undone."""
    row = CardTransaction.objects.select_for_update().select_related("store").get(pk=original.pk)
    if row.kind not in VOIDABLE_KINDS or row.store_id != store.pk:
        raise NotVoidable(extra={"kind": row.kind})
    if row.status == CardTxStatus.VOIDED:
        raise AlreadyVoided(extra={"transaction": row.pk})
    if row.refunded_total:
        raise VoidAfterRefund(extra={"transaction": row.pk, "refunded": row.refunded_total})
    return row


def _take_back_rewards(actor, row, business_ref) -> dict:
    """The charge's bonus rebate and its points (earned and rebate) off the card; CardTransaction fields.

    Before the charge's own reversal, so a rebate already spent refuses the void instead of being
    taken out of the value the void gives back.
    """
    fields = {}
    if row.rebate_bonus:
        rebate = JournalEntry.objects.filter(kind=EntryKind.REBATE, refers_to_id=row.entry_id).first()
        if rebate is not None:
            ledger.reverse(rebate, actor=actor, memo=f"void of #{row.pk}: rebate", business_ref=business_ref)
            fields["rebate_bonus"] = row.rebate_bonus
    for part, lot, name in (
        (row.points_earned, row.points_lot, "points_reversed"),
        (row.rebate_points, row.rebate_lot, "rebate_points"),
    ):
        if part and lot is not None:
            taken = points.reverse_earn(
                actor, lot, part, business_ref=business_ref, memo=f"void of #{row.pk}"
            )
            if taken.shortfall:
                raise VoidValueSpent(extra={"points_spent": taken.shortfall})
            fields[name] = part
    return fields


@transaction.atomic
def void(actor, original, *, store, reason="", approver=None, business_ref="", at=None) -> CardTransaction:
    """撤销 a top-up or charge in full: its entries reversed, its rewards taken back, the row marked voided.

    Returns the void's own CardTransaction (kind void, pointing at the original). Refusals, with
    nothing written: not_voidable, already_voided, void_after_refund, void_value_spent,
    void_needs_manager, and the card's status codes. Two voids at once queue on the card's row
    lock; the second finds the original voided.
    """
    card = lock_usable_card(original.card, allowed=VOID_CARD_STATUSES)
    row = _locked_original(original, store)
    approved_by = check_approval(actor, row, approver, at)
    business_ref = business_ref or row.business_ref
    try:
        rewards = _take_back_rewards(actor, row, business_ref) if row.kind == CardTxKind.CHARGE else {}
        entry = ledger.reverse(
            row.entry, actor=actor, memo=f"void of #{row.pk}", node=store, business_ref=business_ref
        ).entry
    except (InsufficientBalance, InsufficientPoints) as exc:
        raise VoidValueSpent(extra=exc.extra) from exc
    row.status, row.refunded_total, row.closed_at = CardTxStatus.VOIDED, row.amount, timezone.now()
    row.save(update_fields=["status", "refunded_total", "closed_at"])
    reason = (reason or "").strip()[:200]
    tx = record(
        CardTxKind.VOID, card, store, actor, entry, amount=row.amount, principal=row.principal,
        bonus=row.bonus, list_amount=row.list_amount, discount=row.discount, original=row,
        tender=row.tender, reason=reason, business_ref=business_ref, **rewards,
    )  # fmt: skip
    note = f"void #{tx.pk}" + (f", approved by {approved_by.get_username()}" if approved_by else "")
    audit.record(
        actor, "update", row, before={"status": CardTxStatus.DONE}, after={"status": CardTxStatus.VOIDED},
        note=f"{note}: {reason}" if reason else note, node=store, merchant=store.merchant,
    )  # fmt: skip
    return tx
