"""Which card holds the money now, and whether it may move stored value: the checks every service shares."""

from django.utils import timezone

from onecard.loyalty.cards.choices import CardKind, CardStatus
from onecard.loyalty.cards.errors import CardNotAccepted
from onecard.loyalty.cards.services import lock_cards, status_error
from onecard.loyalty.models import Card
from onecard.loyalty.stored_value.errors import NotStoredValueCard


def current_card(card) -> Card:
    """The card that holds `card`'s money now: a replaced or merged card hands over to its successor.

    Only for follow-ups of an earlier transaction (refund, capture, void): a new top-up, charge or
    hold on a replaced card is refused with card_replaced (its number stops working).
    """
    card = Card.objects.select_related("product", "member").get(pk=card.pk)
    seen = set()
    while card.successor_id is not None and card.pk not in seen:
        seen.add(card.pk)
        card = Card.objects.select_related("product", "member").get(pk=card.successor_id)
    return card


def require_usable(card, *, allowed=(CardStatus.ACTIVE,), store=None, accepted=None) -> None:
    """Refuse unless the (locked) card may move stored value now: store, status, expiry, product kind.

    `accepted`: whether the card's product accepts `store`, when the caller knows it already.
    """
    if store is not None:
        if accepted is None:
            accepted = card.product.accepts_store(store)
        if not accepted:
            raise CardNotAccepted(extra={"card": card.number})
    if card.status not in allowed:
        raise status_error(card)
    if CardStatus.EXPIRED not in allowed:
        require_active(card)
    if card.product.kind != CardKind.STORED_VALUE:
        raise NotStoredValueCard(extra={"card": card.number})


def lock_usable_card(card, *, allowed=(CardStatus.ACTIVE,), store=None) -> Card:
    """Lock the card's row and check it can move stored value now (status, expiry, product kind).

    With `store`: the card's product must accept it (CardProduct.accepts_store: its own merchant's
    stores, or an alliance merchant's when the product is alliance_accepted).
    """
    card = lock_cards(card)[card.pk]
    require_usable(card, allowed=allowed, store=store)
    return card


def require_active(card) -> None:
    """Refuse with the card's status code unless it is active and not past its expiry."""
    if card.status != CardStatus.ACTIVE:
        raise status_error(card)
    if card.expires_at is not None and card.expires_at <= timezone.now():
        raise status_error(Card(status=CardStatus.EXPIRED, number=card.number))
