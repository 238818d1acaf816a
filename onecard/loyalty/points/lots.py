"""Points lots: the results of the points services, the reads of a card's lots, and taking points out of lots.

Lots are spent earliest expiry first (docs/money.md, Points); the verbs are in services.py.
"""

import datetime
from dataclasses import dataclass, field

from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from onecard.loyalty.models import Card, JournalEntry
from onecard.loyalty.models.points import (
    PointsLot,
    PointsLotUse,
)
from onecard.loyalty.points.errors import InvalidPoints
from onecard.loyalty.points.rules import (
    bill_cap,
    cash_to_points,
    points_to_cash,
    policy_for,
)

# ---- results -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LotUse:
    """`points` taken out of `lot` by one entry."""

    lot: PointsLot
    points: int


@dataclass(frozen=True)
class Earned:
    """What a spend earned: the new lot (None for 0 points), the points and how they were computed."""

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
    """What an expiry run did: cards and lots touched, points expired, the entries posted."""

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
    """The card's unexpired points (the sum of its open lots' remaining points)."""
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


# ---- taking points out of lots ----------------------------------------------------------------------------


def take(lots, points) -> list[LotUse]:
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


def save_uses(uses, entry, kind, *, reverses_lot=None):
    """Write the lots' new `remaining` and one PointsLotUse per use, in two statements."""
    PointsLot.objects.bulk_update([use.lot for use in uses], ["remaining"])
    PointsLotUse.objects.bulk_create(
        PointsLotUse(lot=use.lot, entry=entry, kind=kind, points=use.points, reverses_lot=reverses_lot)
        for use in uses
    )
