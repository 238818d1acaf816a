"""Data of the member 360 page's cards and transactions sections (members.views.MEMBER_SECTIONS)."""

from django import template
from django.utils import timezone

from onecard.core.money import fen_to_yuan_str
from onecard.loyalty.ledger.choices import AccountKind
from onecard.loyalty.models import Account, Card, CardTransaction, PointsLot
from onecard.loyalty.models.stored_value import CardTxKind, CardTxStatus

register = template.Library()

JOURNAL_LENGTH = 50


def _yuan(fen):
    return fen_to_yuan_str(fen or 0)


@register.simple_tag
def member_cards(member):
    """The member's cards with balances, their unexpired points lots and open holds."""
    cards = list(Card.objects.filter(member=member).select_related("product", "issued_store").order_by("-id"))
    balances = {}
    for card_id, kind, balance in Account.objects.filter(card_id__in=[c.pk for c in cards]).values_list(
        "card_id", "kind", "balance"
    ):
        balances.setdefault(card_id, {})[kind] = balance
    now = timezone.now()
    lots = PointsLot.objects.filter(card__in=cards, remaining__gt=0, expires_at__gt=now).select_related(
        "card"
    )
    holds = CardTransaction.objects.filter(
        card__in=cards, kind=CardTxKind.HOLD, status=CardTxStatus.OPEN
    ).select_related("card", "store")
    rows = []
    for card in cards:
        own = balances.get(card.pk, {})
        rows.append(
            {
                "card": card,
                "principal": _yuan(own.get(AccountKind.MEMBER_PRINCIPAL)),
                "bonus": _yuan(own.get(AccountKind.MEMBER_BONUS)),
                "held": _yuan(own.get(AccountKind.HOLD_RESERVE)),
                "points": sum(lot.remaining for lot in lots if lot.card_id == card.pk),
            }
        )
    return {
        "cards": rows,
        "lots": list(lots.order_by("expires_at", "earned_at", "id")[:100]),
        "holds": [{"tx": h, "amount": _yuan(h.amount)} for h in holds.order_by("-id")[:50]],
    }


@register.simple_tag
def member_journal(member):
    """The member's last 50 card transactions, newest first."""
    rows = CardTransaction.objects.filter(member=member).select_related("card", "store", "actor")
    return [
        {
            "tx": tx,
            "amount": _yuan(tx.amount),
            "principal": _yuan(tx.principal),
            "bonus": _yuan(tx.bonus),
            "discount": _yuan(tx.discount),
        }
        for tx in rows.order_by("-id")[:JOURNAL_LENGTH]
    ]
