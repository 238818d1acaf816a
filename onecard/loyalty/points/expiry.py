"""The points expiry job: lots past their expiry leave the card, one entry per card; running twice changes nothing."""

from django.db import transaction
from django.utils import timezone

from onecard.loyalty.cards.services import card_account, lock_cards
from onecard.loyalty.ledger import services as ledger
from onecard.loyalty.ledger.choices import AccountKind, EntryKind
from onecard.loyalty.ledger.services import EntrySpec, leg
from onecard.loyalty.models import Card
from onecard.loyalty.models.points import (
    LotUseKind,
    PointsLot,
)
from onecard.loyalty.points.lots import ExpiryRun, LotUse, save_uses


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
            save_uses(uses, posted.entry, LotUseKind.EXPIRE)
            cards, lots, total = cards + 1, lots + len(rows), total + points
            entries.append(posted.entry)
    return ExpiryRun(cards=cards, lots=lots, points=total, entries=entries)
