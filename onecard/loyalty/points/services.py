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

import datetime
from dataclasses import dataclass, field

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
from onecard.loyalty.ledger.services import EntrySpec, leg
from onecard.loyalty.models import Card, JournalEntry
from onecard.loyalty.models.points import (
    LotSource,
    LotUseKind,
    PointsGiveBack,
    PointsLot,
    PointsLotUse,
    PointsReversal,
)
from onecard.loyalty.points.rules import (  # noqa: F401 - re-exported: callers use points.* for the whole of L4
    AdjustmentReasonRequired,
    EarnQuote,
    InvalidPoints,
    PointsRateMissing,
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


# ---- results -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LotUse:
    """`points` taken out of `lot` by one entry."""

    lot: PointsLot
    points: int


@dataclass(frozen=True)
class Earned:
    lot: PointsLot | None  # None when the spend earned 0 points (nothing is posted)
    points: int
    explanation: list[str]


@dataclass(frozen=True)
class Reversed:
    """A take-back of earned points: `taken` came off the card; `shortfall` had been spent already."""

    lot: PointsLot
    requested: int
    taken: int
    shortfall: int
    uses: list[LotUse]
    entry: JournalEntry | None


@dataclass(frozen=True)
class GivenBack:
    """Points of a redemption given back: how many, and to which lots (some may have expired since)."""

    points: int
    uses: list = field(default_factory=list)  # [LotUse]: the lot and the points put back in it
    entry: JournalEntry | None = None
    expired: int = 0  # of `points`, those put back in lots already past their expiry


@dataclass(frozen=True)
class ExpiryRun:
    cards: int = 0
    lots: int = 0
    points: int = 0
    entries: list = field(default_factory=list)


@dataclass(frozen=True)
class ExpiringSoon:
    """Points expiring in the window: in total, per member (anonymous cards under None) and per card."""

    total: int
    by_member: dict
    by_card: dict


def max_redeemable(card, bill_amount_fen, *, now=None) -> tuple[int, int]:
    """(points, fen): the most this card's unexpired points may pay of a bill, within the merchant's cap."""
    if type(bill_amount_fen) is not int or bill_amount_fen < 0:
        raise InvalidPoints(_("The amount must be a whole number of fen."), code="invalid_amount")
    policy = policy_for(card.merchant_id)
    available = available_points(card, now=now)
    fen = min(bill_cap(policy, bill_amount_fen), points_to_cash(card.merchant_id, available))
    return (cash_to_points(card.merchant_id, fen) if fen else 0), fen


# ---- reads -------------------------------------------------------------------------------------------------


def open_lots(card, *, now=None):
    """The card's lots with points left that have not expired, in the order they are spent."""
    now = now or timezone.now()
    return PointsLot.objects.filter(card_id=card.pk, remaining__gt=0, expires_at__gt=now).order_by(
        "expires_at", "earned_at", "id"
    )


def available_points(card, *, now=None) -> int:
    return open_lots(card, now=now).aggregate(total=Sum("remaining"))["total"] or 0


def expiring_soon(card_or_merchant, days=30, *, now=None) -> ExpiringSoon:
    """Points that expire within `days` from now: of one card, or of every card of a merchant."""
    now = now or timezone.now()
    lots = PointsLot.objects.filter(
        remaining__gt=0, expires_at__gt=now, expires_at__lte=now + datetime.timedelta(days=days)
    )
    if isinstance(card_or_merchant, Card):
        lots = lots.filter(card_id=card_or_merchant.pk)
    else:
        lots = lots.filter(merchant_id=getattr(card_or_merchant, "pk", card_or_merchant))
    by_member, by_card = {}, {}
    rows = lots.values("card_id", "card__member_id").annotate(points=Sum("remaining")).order_by("card_id")
    for row in rows:
        by_card[row["card_id"]] = row["points"]
        by_member[row["card__member_id"]] = by_member.get(row["card__member_id"], 0) + row["points"]
    return ExpiringSoon(total=sum(by_card.values()), by_member=by_member, by_card=by_card)


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


def _take(lots, points) -> list[LotUse]:
    """Take `points` from `lots` in their order; lowers each lot's `remaining` in memory."""
    uses, left = [], points
    for lot in lots:
        if not left:
            break
        n = min(lot.remaining, left)
        if n:
            lot.remaining -= n
            left -= n
            uses.append(LotUse(lot, n))
    return uses


def _save_uses(uses, entry, kind, *, reverses_lot=None):
    PointsLot.objects.bulk_update([use.lot for use in uses], ["remaining"])
    PointsLotUse.objects.bulk_create(
        PointsLotUse(lot=use.lot, entry=entry, kind=kind, points=use.points, reverses_lot=reverses_lot)
        for use in uses
    )


def _grant(actor, card, points, *, node, source, entry_kind, memo="", business_ref="", at=None) -> PointsLot:
    """Post expense → member points and create the lot (the card is locked by the caller).

    A charge's locking read may have found both account ids already (`card._points_accounts`:
    {store id: (expense id, member points id)}); otherwise they are opened here.
    """
    known = (getattr(card, "_points_accounts", None) or {}).get(getattr(node, "pk", node))
    if known is not None and None not in known:
        expense, member_points = known
    else:
        expense, member_points = _expense(card, node), card_account(card, AccountKind.MEMBER_POINTS)
    posted = ledger.transfer(
        expense,
        member_points,
        points,
        kind=entry_kind,
        merchant=card.merchant_id,
        node=node,
        actor=_actor(actor),
        memo=memo,
        business_ref=business_ref,
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
    posted = ledger.transfer(
        card_account(card, AccountKind.MEMBER_POINTS),
        destination,
        points,
        kind=entry_kind,
        merchant=card.merchant_id,
        node=node,
        actor=_actor(actor),
        memo=memo,
        business_ref=business_ref,
        refers_to=refers_to,
    )
    uses = _take(lots, points)
    _save_uses(uses, posted.entry, use_kind)
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
    actor, card, amount_fen, *, store, at=None, business_ref="", card_locked=False, known=None
) -> Earned:
    """Earn what a spend of `amount_fen` at `store` earns by the rules (points_for_spend); 0 points posts nothing.

    `card_locked`: the caller (a charge) holds the card's row lock in this transaction and has
    checked it is active, so `card` is used as it is instead of being locked and read again;
    `known` is the member's (tier, birthday) from that read (points_rules.points_for_spend).
    No savepoint then: the quote writes nothing, and a failed grant fails the charge anyway.
    """
    if card_locked:
        _check_store(card, store)
        quote = points_for_spend(card, amount_fen, store=store, at=at, known=known)
        lot = None
        if quote.points:
            lot = _grant(actor, card, quote.points, node=store, source=LotSource.EARN, entry_kind=EntryKind.EARN,
                         memo=quote.rule.name, business_ref=business_ref, at=at)  # fmt: skip
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
        uses = _take([lot, *others], points)
        taken = sum(use.points for use in uses)
        entry = None
        if taken:
            entry = ledger.transfer(
                card_account(card, AccountKind.MEMBER_POINTS),
                _expense(card, lot.store_id),
                taken,
                kind=EntryKind.REVERSAL,
                merchant=card.merchant_id,
                node=lot.store_id,
                actor=_actor(actor),
                memo=memo or f"points of lot {lot.pk} taken back",
                business_ref=business_ref or lot.business_ref,
                refers_to=lot.entry_id,
            ).entry
            _save_uses(uses, entry, LotUseKind.REVERSE, reverses_lot=lot)
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
        card_id = PointsLot.objects.filter(pk=taken[0][0]).values_list("card_id", flat=True).get()
        while True:  # the lots may move to a new card (replace) between reading and locking
            card = lock_cards(Card(pk=card_id))[card_id]
            lots = {
                lot.pk: lot
                for lot in PointsLot.objects.select_for_update().filter(pk__in=[t[0] for t in taken])
            }
            if all(lot.card_id == card.pk for lot in lots.values()):
                break
            card_id = next(iter(lots.values())).card_id
        if card.status == CardStatus.CANCELLED:
            raise status_error(card)
        back = dict(
            PointsGiveBack.objects.filter(redemption_id=redemption_id)
            .values("lot_id")
            .annotate(total=Sum("points"))
            .values_list("lot_id", "total")
        )
        room = {}
        for lot_id, n in taken:
            room[lot_id] = room.get(lot_id, 0) + n
        room = {lot_id: n - back.get(lot_id, 0) for lot_id, n in room.items()}
        left = sum(room.values())
        if points > left:
            raise InvalidPoints(
                _("More points than the redemption has left to give back."), extra={"left": left}
            )
        entry_row = JournalEntry.objects.only("id", "node_id").get(pk=redemption_id)
        posted = ledger.transfer(
            ledger.open_account(AccountKind.POINTS_REDEEMED, card.merchant_id, node=entry_row.node_id),
            card_account(card, AccountKind.MEMBER_POINTS),
            points,
            kind=EntryKind.REVERSAL,
            merchant=card.merchant_id,
            node=entry_row.node_id,
            actor=_actor(actor),
            memo=memo or f"points of redemption {redemption_id} given back",
            business_ref=business_ref,
            refers_to=redemption_id,
        )
        order = sorted(lots.values(), key=lambda lot: (lot.expires_at, lot.earned_at, lot.pk), reverse=True)
        uses, wanted, now = [], points, timezone.now()
        expired = 0
        for lot in order:
            n = min(room.get(lot.pk, 0), wanted)
            if not n:
                continue
            lot.remaining += n
            wanted -= n
            uses.append(LotUse(lot, n))
            if lot.expires_at <= now:
                expired += n
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


def expire_points(now=None, *, merchant=None) -> ExpiryRun:
    """Expire every lot with points left whose expiry has passed: one entry per card, lots set to 0.

    One transaction per card (card, then its lots, then the accounts locked); the lots are re-read
    under the lock, so running twice, or two runs at once, expire each point once.
    """
    now = now or timezone.now()
    due = PointsLot.objects.filter(remaining__gt=0, expires_at__lte=now)
    if merchant is not None:
        due = due.filter(merchant_id=getattr(merchant, "pk", merchant))
    card_ids = sorted(set(due.values_list("card_id", flat=True)))
    cards = lots = total = 0
    entries = []
    for card_id in card_ids:
        with transaction.atomic():
            card = lock_cards(Card(pk=card_id)).get(card_id)
            if card is None:
                continue
            rows = list(
                due.filter(card_id=card_id).select_for_update().order_by("expires_at", "earned_at", "id")
            )
            if not rows:
                continue
            per_store = {}
            for lot in rows:
                per_store[lot.store_id] = per_store.get(lot.store_id, 0) + lot.remaining
            points = sum(per_store.values())
            legs = [leg(card_account(card, AccountKind.MEMBER_POINTS), -points)]
            legs += [
                leg(ledger.open_account(AccountKind.POINTS_EXPIRED, card.merchant_id, node=node), amount)
                for node, amount in per_store.items()
            ]
            posted = ledger.post(
                EntrySpec(
                    kind=EntryKind.EXPIRE,
                    merchant=card.merchant_id,
                    legs=legs,
                    memo=f"{len(rows)} points lots expired",
                    business_ref=f"expire:{card_id}",
                )
            )
            uses = [LotUse(lot, lot.remaining) for lot in rows]
            for lot in rows:
                lot.remaining = 0
            _save_uses(uses, posted.entry, LotUseKind.EXPIRE)
            cards, lots, total = cards + 1, lots + len(rows), total + points
            entries.append(posted.entry)
    return ExpiryRun(cards=cards, lots=lots, points=total, entries=entries)


# ---- card replaced or merged --------------------------------------------------------------------------------


def move_lots_with_card(sender, *, source, target, **kwargs):
    """cards.card_balances_moved: the points moved to `target`'s account, so its lots follow (same transaction)."""
    PointsLot.objects.filter(card_id=source.pk).update(card_id=target.pk)
