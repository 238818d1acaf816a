"""The card life cycle (L2) and card security (L7): bind, activate, freeze, lose, replace, merge, cancel.

State machine (anything else is refused with the code of the card's current status, nothing written):

    in_stock ──activate──▶ active ◀──unfreeze── frozen
    active ──freeze──▶ frozen;  active/frozen ──report_lost──▶ lost ──report_found──▶ active
    active/frozen/lost ──replace──▶ replaced (the new card, from stock, becomes active)
    active/frozen ──merge──▶ merged (into another active card of the same member)
    active/frozen ──expire_due_cards──▶ expired ──reactivate──▶ active
    in_stock/active/frozen/lost/expired ──cancel──▶ cancelled (stored_value.cancel_card pays the balance out)

Balances belong to the card: its ledger accounts are keyed by (kind, merchant, card id) with no
member, so binding a card or merging members moves no money; replace and merge move every
balance to the other card's accounts with one ledger transfer per account kind.

Scoping: cards are usable at every store (resolve_card is not scoped), but management actions need
the card's issuing store or its member's home store in the actor's scope.
"""

import datetime
from dataclasses import dataclass

from django.contrib.auth.hashers import check_password, make_password
from django.db import transaction
from django.db.models import Q
from django.dispatch import Signal
from django.utils import timezone
from django.utils.translation import gettext as _

from onecard.core import audit
from onecard.core.errors import BusinessError, PermissionDenied, ValidationFailed
from onecard.core.scoping import node_in_scope, scope_node_ids
from onecard.loyalty.cards import qr
from onecard.loyalty.cards.choices import CardStatus
from onecard.loyalty.cards.errors import (
    BalanceCapExceeded,
    CardAlreadyActive,
    CardAlreadyBound,
    CardCancelled,
    CardExpired,
    CardFrozen,
    CardHasOpenHolds,
    CardLost,
    CardMemberMismatch,
    CardMerged,
    CardNotAccepted,
    CardNotActive,
    CardNotBound,
    CardNotFound,
    CardPasswordLocked,
    CardPasswordRequired,
    CardProductMismatch,
    CardReplaced,
    WrongCardPassword,
)
from onecard.loyalty.cards.numbers import is_valid_number, normalize_number
from onecard.loyalty.ledger import services as ledger
from onecard.loyalty.ledger.card_entries import card_account
from onecard.loyalty.ledger.choices import AccountKind, Currency, EntryKind
from onecard.loyalty.ledger.clearing import clearing_legs, home_node
from onecard.loyalty.models import Account, Card
from onecard.loyalty.models.cards import MAX_PASSWORD_ATTEMPTS

# Sent inside the transaction that moved a card's balances (replace or merge) with source=,
# target=, reason= ("replace" or "merge"), actor=. Holds and points lots move their own rows here.
card_balances_moved = Signal()

AUDITED = (
    "status",
    "member",
    "activated_at",
    "expires_at",
    "successor",
    "rfid_uid",
    "password_threshold",
    "daily_charge_limit",
)
STATUS_ERRORS = {
    CardStatus.IN_STOCK: CardNotActive,
    CardStatus.ACTIVE: CardAlreadyActive,
    CardStatus.FROZEN: CardFrozen,
    CardStatus.LOST: CardLost,
    CardStatus.REPLACED: CardReplaced,
    CardStatus.MERGED: CardMerged,
    CardStatus.CANCELLED: CardCancelled,
    CardStatus.EXPIRED: CardExpired,
}
STORED_VALUE_KINDS = (AccountKind.MEMBER_PRINCIPAL, AccountKind.MEMBER_BONUS)


def status_error(card):
    """The refusal that names the card's current status (card_frozen, card_lost, ...)."""
    return STATUS_ERRORS[card.status](extra={"card": card.number, "status": card.status})


# ---- scope and locks ---------------------------------------------------------------------------------


def card_in_scope(actor, card) -> bool:
    """True when the actor's scope holds the card's issuing store or its member's home store."""
    if node_in_scope(actor, card.issued_store):
        return True
    return card.member_id is not None and node_in_scope(actor, card.member.home_store)


def require_card_in_scope(actor, card):
    if actor is not None and not card_in_scope(actor, card):
        raise PermissionDenied(_("This card belongs to a part of the organisation you cannot see."))


def cards_visible_to(user, queryset=None):
    """The cards a staff member may list: issued in their scope, or held by members homed there."""
    queryset = Card.objects.all() if queryset is None else queryset
    ids = scope_node_ids(user)
    if ids is None:
        return queryset
    return queryset.filter(Q(issued_store__in=ids) | Q(member__home_store__in=ids))


def lock_cards(*cards):
    """The cards' rows locked in primary-key order (one order everywhere: no deadlocks), by id."""
    ids = sorted({card.pk for card in cards})
    rows = Card.objects.select_for_update(of=("self",)).select_related("product", "member", "issued_store")
    return {card.pk: card for card in rows.filter(pk__in=ids).order_by("pk")}


def _locked(card, allowed):
    card = lock_cards(card)[card.pk]
    if card.status not in allowed:
        raise status_error(card)
    return card


def save_card(actor, card, before, *fields, note="", action="update"):
    """Save the card's changed `fields` (and when its status changed) and audit the difference from `before`."""
    card.status_changed_at = timezone.now() if "status" in fields else card.status_changed_at
    card.save(update_fields=[*fields, "status_changed_at"])
    b, a = audit.diff(before, audit.snapshot(card, AUDITED))
    audit.record(actor, action, card, before=b, after=a, note=note, merchant=card.merchant)
    return card


def _transition(actor, card, allowed, to, *, note="", **fields):
    with transaction.atomic():
        card = _locked(card, allowed)
        require_card_in_scope(actor, card)
        before = audit.snapshot(card, AUDITED)
        card.status = to
        for name, value in fields.items():
            setattr(card, name, value)
        return save_card(actor, card, before, "status", *fields, note=note)


# ---- accounts of a card ------------------------------------------------------------------------------


def card_balances(card) -> dict:
    """{account kind: balance} of every account the card has (fen, or points for member_points)."""
    return dict(Account.objects.filter(card_id=card.pk).values_list("kind", "balance"))


def refundable_principal(card) -> int:
    """The principal (本金) a cancelled card pays back, in fen; bonus is never refunded (L3)."""
    return card_balances(card).get(AccountKind.MEMBER_PRINCIPAL, 0)


def _move_balances(actor, source, target, *, reason):
    """Every balance of `source` to the same kind of account of `target`: one transfer per kind.

    When the two cards have different homes (issuing stores), each yuan balance moves its liability
    from the old home to the new one, so the transfer carries the clearing legs "the old home owes
    the new home the balance" (clearing.py); points are merchant-wide and move without clearing.
    """
    accounts = list(Account.objects.filter(card_id=source.pk).order_by("pk"))
    targets = {account.kind: card_account(target, account.kind) for account in accounts}
    if not accounts:
        return []
    # Lock old and new accounts together, in primary-key order, so the balances read here are
    # the ones moved: a charge racing the replacement waits, then finds the old card empty.
    locked = ledger.lock_accounts(sorted({a.pk for a in accounts} | {a.pk for a in targets.values()}))
    memo = f"{reason}: card {source.number} → {target.number}"
    node = actor.node if actor is not None and getattr(actor, "node_id", None) else source.issued_store
    moved = []
    for account in accounts:
        balance = locked[account.pk][1]
        if balance:
            legs = [ledger.leg(account, -balance), ledger.leg(targets[account.kind], balance)]
            if account.currency == Currency.CNY:
                legs += [
                    ledger.leg(a, x) for a, x in clearing_legs(home_node(source), home_node(target), balance)
                ]
            ledger.post(
                ledger.EntrySpec(
                    kind=EntryKind.TRANSFER,
                    merchant=source.merchant_id,
                    node=node,
                    actor=actor if actor is not None and actor.pk else None,
                    memo=memo,
                    business_ref=f"card:{source.pk}:{reason}",
                    legs=legs,
                )
            )
            moved.append((account.kind, balance))
    return moved


def _check_cap(source, target):
    """Refuse to move more stored value onto `target` than its product's cap allows."""
    balances = card_balances(source)
    incoming = sum(balances.get(kind, 0) for kind in STORED_VALUE_KINDS)
    existing = sum(card_balances(target).get(kind, 0) for kind in STORED_VALUE_KINDS)
    cap = target.product.effective_balance_cap
    if incoming and incoming + existing > cap:
        raise BalanceCapExceeded(extra={"cap": cap, "balance": incoming + existing})


# ---- life cycle ----------------------------------------------------------------------------------------


@transaction.atomic
def bind_to_member(actor, card, member) -> Card:
    """Give a card in stock, or an active anonymous card, to a member of the card's merchant."""
    card = _locked(card, {CardStatus.IN_STOCK, CardStatus.ACTIVE})
    if card.member_id is not None:
        raise CardAlreadyBound(extra={"card": card.number})
    if member.merchant_id != card.merchant_id:
        raise CardMemberMismatch()
    if member.merged_into_id is not None:
        raise BusinessError(
            _("This member was merged into another; use the surviving record."), code="member_merged"
        )
    require_card_in_scope(actor, card)
    before = audit.snapshot(card, AUDITED)
    card.member, card.bound_at = member, timezone.now()
    return save_card(actor, card, before, "member", "bound_at", note="bind")


@transaction.atomic
def activate(actor, card) -> Card:
    """Put a card from stock into use; a registered card must be bound first. Anonymous cards get their expiry."""
    card = _locked(card, {CardStatus.IN_STOCK})
    if card.product.registered and card.member_id is None:
        raise CardNotBound(extra={"card": card.number})
    require_card_in_scope(actor, card)
    before = audit.snapshot(card, AUDITED)
    now = timezone.now()
    card.status, card.activated_at = CardStatus.ACTIVE, now
    days = card.product.validity_days
    card.expires_at = now + datetime.timedelta(days=days) if days else None
    return save_card(actor, card, before, "status", "activated_at", "expires_at", note="activate")


def freeze(actor, card, *, reason="") -> Card:
    """Stop an active card from being used until it is unfrozen (e.g. at the member's request)."""
    return _transition(actor, card, {CardStatus.ACTIVE}, CardStatus.FROZEN, note=reason or "freeze")


def unfreeze(actor, card) -> Card:
    return _transition(actor, card, {CardStatus.FROZEN}, CardStatus.ACTIVE, note="unfreeze")


def report_lost(actor, card, *, reason="") -> Card:
    """挂失: the card stops working at once; its balance waits for a replacement card."""
    return _transition(
        actor, card, {CardStatus.ACTIVE, CardStatus.FROZEN}, CardStatus.LOST, note=reason or "report lost"
    )


def report_found(actor, card) -> Card:
    """解挂: a card reported lost was found and works again."""
    return _transition(actor, card, {CardStatus.LOST}, CardStatus.ACTIVE, note="report found")


def reactivate(actor, card) -> Card:
    """An expired card with its balance works again, with a fresh validity (CHINA-RULES)."""
    days = card.product.validity_days
    expires = timezone.now() + datetime.timedelta(days=days) if days else None
    return _transition(
        actor, card, {CardStatus.EXPIRED}, CardStatus.ACTIVE, note="reactivate", expires_at=expires
    )


@transaction.atomic
def replace(actor, old_card, new_card, *, reason="") -> Card:
    """补卡: `new_card` (from stock) takes over the member, password, limits and every balance of `old_card`.

    The old card becomes `replaced` and its number stops working; its accounts end at zero.
    Holds and points lots follow through the `card_balances_moved` signal. The tier is the
    member's, so it needs no move.
    """
    if old_card.pk == new_card.pk:
        raise CardProductMismatch(_("A card cannot replace itself."))
    cards = lock_cards(old_card, new_card)
    old, new = cards[old_card.pk], cards[new_card.pk]
    if old.status not in {CardStatus.ACTIVE, CardStatus.FROZEN, CardStatus.LOST}:
        raise status_error(old)
    if new.status != CardStatus.IN_STOCK:
        raise status_error(new)
    if new.member_id is not None and new.member_id != old.member_id:
        raise CardAlreadyBound(extra={"card": new.number})
    if new.merchant_id != old.merchant_id or new.product.kind != old.product.kind:
        raise CardProductMismatch()
    require_card_in_scope(actor, old)
    require_card_in_scope(actor, new)
    _check_cap(old, new)
    old_before, new_before = audit.snapshot(old, AUDITED), audit.snapshot(new, AUDITED)
    now = timezone.now()
    new.member, new.bound_at = old.member, (now if old.member_id else None)
    new.status, new.activated_at, new.expires_at = CardStatus.ACTIVE, now, old.expires_at
    new.password_hash, new.failed_password_attempts, new.password_locked_at = old.password_hash, 0, None
    new.password_threshold, new.daily_charge_limit = old.password_threshold, old.daily_charge_limit
    save_card(actor, new, new_before, "member", "bound_at", "status", "activated_at", "expires_at",
          "password_hash", "failed_password_attempts", "password_locked_at", "password_threshold",
          "daily_charge_limit", note=f"replaces {old.number}")  # fmt: skip
    old.status, old.successor = CardStatus.REPLACED, new
    save_card(actor, old, old_before, "status", "successor", note=reason or f"replaced by {new.number}")
    moved = _move_balances(actor, old, new, reason="replace")
    card_balances_moved.send(sender=Card, source=old, target=new, reason="replace", actor=actor, moved=moved)
    return new


@transaction.atomic
def merge_cards(actor, source, target, *, reason="") -> Card:
    """Two cards of one member become one: every balance of `source` moves to `target`; source is `merged`."""
    if source.pk == target.pk:
        raise CardMemberMismatch(_("A card cannot be merged into itself."))
    cards = lock_cards(source, target)
    source, target = cards[source.pk], cards[target.pk]
    if source.status not in {CardStatus.ACTIVE, CardStatus.FROZEN}:
        raise status_error(source)
    if target.status != CardStatus.ACTIVE:
        raise status_error(target)
    if source.member_id is None or source.member_id != target.member_id:
        raise CardMemberMismatch()
    if source.product.kind != target.product.kind:
        raise CardProductMismatch()
    require_card_in_scope(actor, source)
    require_card_in_scope(actor, target)
    _check_cap(source, target)
    before = audit.snapshot(source, AUDITED)
    source.status, source.successor = CardStatus.MERGED, target
    save_card(
        actor,
        source,
        before,
        "status",
        "successor",
        action="merge",
        note=reason or f"merged into {target.number}",
    )
    moved = _move_balances(actor, source, target, reason="merge")
    card_balances_moved.send(
        sender=Card, source=source, target=target, reason="merge", actor=actor, moved=moved
    )
    return target


@dataclass(frozen=True)
class Cancelled:
    """A cancelled card, the principal it still owes the holder, and the payout when it was paid at once."""

    card: Card
    refundable_principal: int
    payout: object = None  # the CardTransaction (kind refund) of the payout (stored_value.cancel_card)
    quote: object = None  # the prepaid_rules.RefundQuote that priced it, when a refund reason was given


@transaction.atomic
def cancel(actor, card, *, reason="") -> Cancelled:
    """Close a card for good; refused while holds are open. Its principal stays owed to the holder.

    Paying the balance out at once, priced by the prepaid rules, is stored_value.cancel_card,
    which calls this first in its transaction; a later payout is stored_value.refund_topup.
    """
    allowed = {CardStatus.IN_STOCK, CardStatus.ACTIVE, CardStatus.FROZEN, CardStatus.LOST, CardStatus.EXPIRED}
    card = _locked(card, allowed)
    require_card_in_scope(actor, card)
    if card_balances(card).get(AccountKind.HOLD_RESERVE, 0):
        raise CardHasOpenHolds(extra={"card": card.number})
    before = audit.snapshot(card, AUDITED)
    card.status = CardStatus.CANCELLED
    save_card(actor, card, before, "status", note=reason or "cancel")
    return Cancelled(card=card, refundable_principal=refundable_principal(card))


def expire_due_cards(now=None) -> int:
    """The daily job: active and frozen cards past their expiry become `expired`. Running twice changes nothing."""
    now = now or timezone.now()
    with transaction.atomic():
        due = Card.objects.filter(
            status__in=[CardStatus.ACTIVE, CardStatus.FROZEN], expires_at__isnull=False, expires_at__lte=now
        )
        numbers = list(due.values_list("number", flat=True)[:50])
        count = due.update(status=CardStatus.EXPIRED, status_changed_at=now)
        if count:
            audit.record(
                None,
                "update",
                subject_type="loyalty.card",
                note=f"{count} cards expired: {', '.join(numbers)}",
            )
    return count


# ---- password, limits and lookup -------------------------------------------------------------------------


@transaction.atomic
def set_card_password(actor, card, raw_password) -> Card:
    """Set, change or (with "") remove the card password; also lifts a lock after 5 wrong tries."""
    if raw_password and not (raw_password.isdigit() and 4 <= len(raw_password) <= 12):
        raise ValidationFailed({"password": [_("A card password is 4 to 12 digits.")]})
    card = lock_cards(card)[card.pk]
    require_card_in_scope(actor, card)
    card.password_hash = make_password(raw_password) if raw_password else ""
    card.failed_password_attempts, card.password_locked_at = 0, None
    card.save(update_fields=["password_hash", "failed_password_attempts", "password_locked_at"])
    audit.record(actor, "update", card, note="card password set" if raw_password else "card password removed",
                 merchant=card.merchant)  # fmt: skip
    return card


def check_card_password(card, raw_password) -> None:
    """Pass, or raise wrong_card_password / card_password_locked. A card without a password passes.

    Its own durable transaction, so a wrong try is counted even when the sale that follows is
    refused and rolled back: call it BEFORE the charge's transaction (run_idempotent), never inside.
    """
    locked_now = False
    with transaction.atomic(durable=True):
        card = lock_cards(card)[card.pk]
        if card.password_locked:
            raise CardPasswordLocked(extra={"card": card.number})
        if not card.password_hash or check_password(raw_password or "", card.password_hash):
            if card.failed_password_attempts:
                card.failed_password_attempts = 0
                card.save(update_fields=["failed_password_attempts"])
            return
        card.failed_password_attempts += 1
        if card.failed_password_attempts >= MAX_PASSWORD_ATTEMPTS:
            card.password_locked_at, locked_now = timezone.now(), True
            audit.record(
                None, "update", card, note="card password locked after 5 wrong tries", merchant=card.merchant
            )
        card.save(update_fields=["failed_password_attempts", "password_locked_at"])
    if locked_now:
        raise CardPasswordLocked(extra={"card": card.number})
    raise WrongCardPassword(extra={"attempts_left": MAX_PASSWORD_ATTEMPTS - card.failed_password_attempts})


def require_password_for_charge(card, amount, raw_password=None) -> None:
    """Charges above the card's threshold need its password (when it has one); see check_card_password."""
    if card.password_required_for(amount):
        if not raw_password:
            raise CardPasswordRequired(extra={"threshold": card.effective_password_threshold})
        check_card_password(card, raw_password)


def resolve_card(number_or_qr, *, store=None, at=None) -> Card:
    """The usable card behind what the till scanned: a number, an RFID UID or a dynamic QR payload.

    Raises card_not_found, or the code of the card's status (card_frozen, card_lost, card_replaced,
    card_expired...), or qr_invalid / qr_expired / qr_replayed; with `store`, card_not_accepted_here.
    A QR code is spent by this call: follow-up calls of the same sale use the returned card's number.
    """
    text = (number_or_qr or "").strip()
    if text.startswith(qr.PREFIX):
        card = qr.verify_qr(text, at=at)
    else:
        number = normalize_number(text)
        rows = Card.objects.select_related("product", "member", "issued_store")
        if is_valid_number(number):
            card = rows.filter(number=number).first()
        else:
            card = rows.filter(rfid_uid=text.upper()).first() if text else None
        if card is None:
            raise CardNotFound(extra={"number": text[:40]})
    if store is not None and store.merchant_id != card.merchant_id and not card.product.accepts_store(store):
        # Another merchant learns nothing about a card it does not accept, not even its status.
        raise CardNotAccepted(extra={"card": card.number})
    if card.status != CardStatus.ACTIVE:
        raise status_error(card)
    if card.expires_at is not None and card.expires_at <= (at or timezone.now()):
        raise CardExpired(extra={"card": card.number, "status": "expired"})
    if store is not None and not card.product.accepts_store(store):
        raise CardNotAccepted(extra={"card": card.number})
    return card
