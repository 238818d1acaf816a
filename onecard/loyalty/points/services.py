"""Points (L4): earn, redeem, reverse, adjust and expire points, kept in lots that expire.

Every write here posts a ledger entry (`ledger.py` stays the only writer of balances) and changes
the lots' `remaining` in the same transaction, so for every card the sum of its lots' remaining
points equals its `member_points` balance. Lock order: the card row first (`cards.lock_cards`),
then its lots, then the ledger accounts (inside `ledger.post`, in primary-key order).

Accounts (all in points): a grant moves points from the store's `points_expense` to the card's
`member_points`; a redemption from `member_points` to the store's `points_redeemed`; expiry to
the `points_expired` account of the store that granted the lot; a reversal or a negative
adjustment back to `points_expense`.

Earn rules, the policy (expiry, cash rate, cap per bill) and the rounding rules are in
`points_rules.py`, re-exported here.
"""

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from onecard.core import audit
from onecard.core.errors import PermissionDenied
from onecard.loyalty.cards.choices import CardStatus
from onecard.loyalty.cards.errors import CardNotAccepted
from onecard.loyalty.cards.services import card_account, lock_cards, require_card_in_scope, status_error
from onecard.loyalty.ledger import services as ledger
from onecard.loyalty.ledger.choices import AccountKind, EntryKind
from onecard.loyalty.ledger.errors import InsufficientPoints
from onecard.loyalty.models import Card, JournalEntry
from onecard.loyalty.models.points import (
    LotSource,
    LotUseKind,
    PointsGiveBack,
    PointsLot,
    PointsLotUse,
    PointsReversal,
)
from onecard.loyalty.points.errors import (  # noqa: F401 - re-exported: callers use points.* for the whole of L4
    AdjustmentReasonRequired,
    InvalidPoints,
    PointsRateMissing,
)
from onecard.loyalty.points.expiry import expire_points  # noqa: F401 - re-exported: the verbs of L4 are points.*
from onecard.loyalty.points.lots import (  # noqa: F401 - re-exported: callers use points.* for the whole of L4
    Earned,
    ExpiringSoon,
    ExpiryRun,
    GivenBack,
    LotUse,
    Reversed,
    available_points,
    expiring_soon,
    max_redeemable,
    open_lots,
    save_uses,
    take,
)
from onecard.loyalty.points.rules import (  # noqa: F401 - re-exported: callers use points.* for the whole of L4
    EarnQuote,
    bill_cap,
    cash_to_points,
    check_points,
    expiry_for,
    is_birthday,
    matching_rule,
    points_for_spend,
    points_to_cash,
    policy_for,
)

ADJUSTABLE = {CardStatus.ACTIVE, CardStatus.FROZEN, CardStatus.LOST, CardStatus.EXPIRED}


# ---- writes ---------------------------------------------------------------------------------------------------


def _locked_card(card, allowed=frozenset({CardStatus.ACTIVE})):
    card = lock_cards(card)[card.pk]
    if card.status not in allowed:
        raise status_error(card)
    return card


def _check_store(card, store):
    if store is None or store.merchant_id != card.merchant_id:
        raise CardNotAccepted(extra={"card": card.number})


def _expense(card, node):
    return ledger.open_account(AccountKind.POINTS_EXPENSE, card.merchant_id, node=node)


def _actor(actor):
    return actor if actor is not None and actor.pk else None


def _transfer(actor, card, source, destination, points, *, kind, node, **fields):
    """Post `points` from `source` to `destination` under the card's merchant, by `actor` when it is saved."""
    return ledger.transfer(
        source,
        destination,
        points,
        kind=kind,
        merchant=card.merchant_id,
        node=node,
        actor=_actor(actor),
        **fields,
    )


def _grant(actor, card, points, *, node, source, entry_kind, memo="", business_ref="", at=None,
           accounts=None, held=None) -> PointsLot:  # fmt: skip
    """Post expense → member points and create the lot (the card is locked by the caller).

    `accounts`: (points expense id, member points id) at `node` when a charge's locking read found
    them already; missing ones are opened here. `held`: the accounts the charge locked (ledger.post).
    """
    if accounts is not None and None not in accounts:
        expense, member_points = accounts
    else:
        expense, member_points = _expense(card, node), card_account(card, AccountKind.MEMBER_POINTS)
    posted = _transfer(
        actor,
        card,
        expense,
        member_points,
        points,
        kind=entry_kind,
        node=node,
        memo=memo,
        business_ref=business_ref,
        held=held,
    )
    earned_at = at or posted.entry.created_at
    return PointsLot.objects.create(
        merchant_id=card.merchant_id,
        card=card,
        store=node,
        source=source,
        entry=posted.entry,
        business_ref=business_ref[:100],
        earned_at=earned_at,
        expires_at=expiry_for(policy_for(card.merchant_id), earned_at),
        original=points,
        remaining=points,
    )


def _spend(
    actor, card, points, *, destination, entry_kind, use_kind, node, memo="", business_ref="", refers_to=None
) -> tuple[list[LotUse], JournalEntry]:
    """Take `points` from the card's open lots, earliest expiry first, and post member → destination."""
    lots = list(open_lots(card).select_for_update())
    available = sum(lot.remaining for lot in lots)
    if available < points:
        raise InsufficientPoints(extra={"available": available, "requested": points})
    posted = _transfer(
        actor,
        card,
        card_account(card, AccountKind.MEMBER_POINTS),
        destination,
        points,
        kind=entry_kind,
        node=node,
        memo=memo,
        business_ref=business_ref,
        refers_to=refers_to,
    )
    uses = take(lots, points)
    save_uses(uses, posted.entry, use_kind)
    return uses, posted.entry


def earn(
    actor, card, points, *, store, kind=EntryKind.EARN, reason="", business_ref="", at=None
) -> PointsLot:
    """Grant `points` to an active card at `store` (a purchase, or sign-in, review...: `reason`); a new lot."""
    check_points(points)
    if kind not in (EntryKind.EARN, EntryKind.REBATE):
        raise InvalidPoints(_("Points are earned as 'earn' or 'rebate'."), extra={"kind": str(kind)})
    with transaction.atomic():
        card = _locked_card(card)
        _check_store(card, store)
        return _grant(
            actor,
            card,
            points,
            node=store,
            source=LotSource.EARN,
            entry_kind=kind,
            memo=reason,
            business_ref=business_ref,
            at=at,
        )


def earn_for_spend(
    actor,
    card,
    amount_fen,
    *,
    store,
    at=None,
    business_ref="",
    card_locked=False,
    known=None,
    accounts=None,
    held=None,
) -> Earned:
    """Earn what a spend of `amount_fen` at `store` earns by the rules (points_for_spend); 0 points posts nothing.

    `card_locked`: the caller (a charge) holds the card's row lock in this transaction and has
    checked it is active, so `card` is used as it is instead of being locked and read again;
    `known` is the member's (tier, birthday) and `accounts` the (points expense id, member points
    id) at `store` from that read (points_rules.points_for_spend, _grant), `held` the accounts it locked.
    No savepoint then: the quote writes nothing, and a failed grant fails the charge anyway.
    """
    if card_locked:
        _check_store(card, store)
        quote = points_for_spend(card, amount_fen, store=store, at=at, known=known)
        lot = None
        if quote.points:
            lot = _grant(actor, card, quote.points, node=store, source=LotSource.EARN, entry_kind=EntryKind.EARN,
                         memo=quote.rule.name, business_ref=business_ref, at=at, accounts=accounts,
                         held=held)  # fmt: skip
        return Earned(lot=lot, points=quote.points, explanation=quote.explanation)
    with transaction.atomic():
        card = card if card_locked else _locked_card(card)
        _check_store(card, store)
        quote = points_for_spend(card, amount_fen, store=store, at=at, known=known)
        lot = None
        if quote.points:
            lot = _grant(
                actor,
                card,
                quote.points,
                node=store,
                source=LotSource.EARN,
                entry_kind=EntryKind.EARN,
                memo=quote.rule.name,
                business_ref=business_ref,
                at=at,
            )
        return Earned(lot=lot, points=quote.points, explanation=quote.explanation)


def redeem(actor, card, points, *, store, business_ref="") -> list[LotUse]:
    """Spend `points` of an active card at `store`, the lot that expires first first; returns the lots used.

    Refused with insufficient_points (nothing written) when the unexpired lots hold fewer points.
    """
    check_points(points)
    with transaction.atomic():
        card = _locked_card(card)
        _check_store(card, store)
        redeemed = ledger.open_account(AccountKind.POINTS_REDEEMED, card.merchant_id, node=store)
        uses, _entry = _spend(
            actor,
            card,
            points,
            destination=redeemed,
            entry_kind=EntryKind.REDEEM,
            use_kind=LotUseKind.REDEEM,
            node=store,
            business_ref=business_ref,
        )
        return uses


def _lot_of(lot_or_entry) -> PointsLot:
    """The lot itself, or the lot that the grant entry (or its id) created."""
    if isinstance(lot_or_entry, PointsLot):
        return lot_or_entry
    return PointsLot.objects.get(entry_id=getattr(lot_or_entry, "pk", lot_or_entry))


def reverse_earn(actor, lot_or_entry, points=None, *, business_ref="", memo="") -> Reversed:
    """Take back points a lot granted (a refund): all that is still reversible, or `points` of it.

    The points come off the same lot first, then the card's other unexpired lots (earliest expiry
    first), never below zero: what the member has already spent is reported as `shortfall`.
    Over the lot's life, requested points never exceed its original points (invalid_points).
    """
    lot = _lot_of(lot_or_entry)
    with transaction.atomic():
        while True:  # the lot may move to a new card (replace) between reading and locking
            card = lock_cards(Card(pk=lot.card_id))[lot.card_id]
            lot = PointsLot.objects.select_for_update().get(pk=lot.pk)
            if lot.card_id == card.pk:
                break
        done = lot.reversals.aggregate(total=Sum("requested"))["total"] or 0
        reversible = lot.original - done
        points = reversible if points is None else points
        check_points(points)
        if points > reversible:
            raise InvalidPoints(
                _("More points than the lot has left to reverse."), extra={"reversible": reversible}
            )
        others = [x for x in open_lots(card).select_for_update() if x.pk != lot.pk]
        uses = take([lot, *others], points)
        taken = sum(use.points for use in uses)
        entry = None
        if taken:
            entry = _transfer(
                actor,
                card,
                card_account(card, AccountKind.MEMBER_POINTS),
                _expense(card, lot.store_id),
                taken,
                kind=EntryKind.REVERSAL,
                node=lot.store_id,
                memo=memo or f"points of lot {lot.pk} taken back",
                business_ref=business_ref or lot.business_ref,
                refers_to=lot.entry_id,
            ).entry
            save_uses(uses, entry, LotUseKind.REVERSE, reverses_lot=lot)
        PointsReversal.objects.create(
            lot=lot, entry=entry, actor=_actor(actor), requested=points, taken=taken, shortfall=points - taken
        )
        return Reversed(
            lot=lot, requested=points, taken=taken, shortfall=points - taken, uses=uses, entry=entry
        )


def redemption_entry(card, business_ref) -> JournalEntry | None:
    """The redeem entry that `business_ref` posted for `card`'s points, or None."""
    use = (
        PointsLotUse.objects.filter(
            kind=LotUseKind.REDEEM, entry__business_ref=business_ref, lot__card_id=card.pk
        )
        .select_related("entry")
        .order_by("-entry_id")
        .first()
    )
    return use.entry if use is not None else None


def reverse_redeem(actor, redemption, points, *, business_ref="", memo="") -> GivenBack:
    """Give back `points` of a redemption (a returned sale paid with points) to the lots they came from.

    Each point goes back to the lot it was taken from, with that lot's own expiry: the lot that
    expires last is refilled first. Points put back in a lot already past its expiry are counted in
    `expired` and leave with the next expiry run, as if they had never been spent. Over a
    redemption's life no more than it took is given back (invalid_points). The card may be frozen,
    lost or expired; a cancelled card is refused with its status error.
    """
    check_points(points)
    redemption_id = getattr(redemption, "pk", redemption)
    with transaction.atomic():
        taken = list(
            PointsLotUse.objects.filter(entry_id=redemption_id, kind=LotUseKind.REDEEM).values_list(
                "lot_id", "points"
            )
        )
        if not taken:
            raise InvalidPoints(_("No points were redeemed by this entry."), extra={"entry": redemption_id})
        card, lots = _lock_redeemed_lots(taken)
        if card.status == CardStatus.CANCELLED:
            raise status_error(card)
        room = _room_to_give_back(redemption_id, taken)
        left = sum(room.values())
        if points > left:
            raise InvalidPoints(
                _("More points than the redemption has left to give back."), extra={"left": left}
            )
        node_id = JournalEntry.objects.only("id", "node_id").get(pk=redemption_id).node_id
        posted = _transfer(
            actor,
            card,
            ledger.open_account(AccountKind.POINTS_REDEEMED, card.merchant_id, node=node_id),
            card_account(card, AccountKind.MEMBER_POINTS),
            points,
            kind=EntryKind.REVERSAL,
            node=node_id,
            memo=memo or f"points of redemption {redemption_id} given back",
            business_ref=business_ref,
            refers_to=redemption_id,
        )
        uses, expired = _refill(lots, room, points)
        PointsLot.objects.bulk_update([use.lot for use in uses], ["remaining"])
        PointsGiveBack.objects.bulk_create(
            PointsGiveBack(
                redemption_id=redemption_id,
                lot=use.lot,
                entry=posted.entry,
                points=use.points,
                actor=_actor(actor),
            )  # fmt: skip
            for use in uses
        )
        return GivenBack(points=points, uses=uses, entry=posted.entry, expired=expired)


def _lock_redeemed_lots(taken) -> tuple:
    """(card, {lot id: lot}) of the lots a redemption took from, the card locked first, then the lots."""
    card_id = PointsLot.objects.filter(pk=taken[0][0]).values_list("card_id", flat=True).get()
    while True:  # the lots may move to a new card (replace) between reading and locking
        card = lock_cards(Card(pk=card_id))[card_id]
        lots = {
            lot.pk: lot for lot in PointsLot.objects.select_for_update().filter(pk__in=[t[0] for t in taken])
        }
        if all(lot.card_id == card.pk for lot in lots.values()):
            return card, lots
        card_id = next(iter(lots.values())).card_id


def _room_to_give_back(redemption_id, taken) -> dict:
    """{lot id: points} the redemption took from each lot minus what earlier give-backs put back."""
    back = dict(
        PointsGiveBack.objects.filter(redemption_id=redemption_id)
        .values("lot_id")
        .annotate(total=Sum("points"))
        .values_list("lot_id", "total")
    )
    room = {}
    for lot_id, n in taken:
        room[lot_id] = room.get(lot_id, 0) + n
    return {lot_id: n - back.get(lot_id, 0) for lot_id, n in room.items()}


def _refill(lots, room, points) -> tuple[list[LotUse], int]:
    """Put `points` back into the lots (latest expiry first, each up to its room); (uses, points put in expired lots)."""
    order = sorted(lots.values(), key=lambda lot: (lot.expires_at, lot.earned_at, lot.pk), reverse=True)
    uses, wanted, now, expired = [], points, timezone.now(), 0
    for lot in order:
        n = min(room.get(lot.pk, 0), wanted)
        if not n:
            continue
        lot.remaining += n
        wanted -= n
        uses.append(LotUse(lot, n))
        if lot.expires_at <= now:
            expired += n
    return uses, expired


def adjust(actor, card, points, *, reason, store=None):
    """Add (points > 0: a new lot) or remove (points < 0: earliest expiry first) points by hand, with a reason.

    Needs the permission points.adjust and the card in the actor's scope; audited with the reason.
    Returns the new lot, or the list of LotUse for a removal.
    """
    if actor is None or not actor.has_perm("points.adjust"):
        raise PermissionDenied()
    if not (reason or "").strip():
        raise AdjustmentReasonRequired()
    check_points(points, signed=True)
    with transaction.atomic():
        card = _locked_card(card, ADJUSTABLE)
        require_card_in_scope(actor, card)
        node = store or (actor.node if getattr(actor, "node_id", None) else card.issued_store)
        before = available_points(card)
        if points > 0:
            result = _grant(
                actor,
                card,
                points,
                node=node,
                source=LotSource.ADJUST,
                entry_kind=EntryKind.ADJUST,
                memo=reason.strip(),
            )
        else:
            result, _entry = _spend(
                actor,
                card,
                -points,
                destination=_expense(card, node),
                entry_kind=EntryKind.ADJUST,
                use_kind=LotUseKind.ADJUST,
                node=node,
                memo=reason.strip(),
            )
        audit.record(
            actor,
            "update",
            card,
            before={"points": before},
            after={"points": before + points},
            note=f"points adjustment {points:+d}: {reason.strip()}",
            merchant=card.merchant,
        )
        return result


# ---- card replaced or merged --------------------------------------------------------------------------------


def move_lots_with_card(sender, *, source, target, **kwargs):
    """cards.card_balances_moved: the points moved to `target`'s account, so its lots follow (same transaction)."""
    PointsLot.objects.filter(card_id=source.pk).update(card_id=target.pk)
