"""The refusals of stored value (codes of docs/money.md), shared by top-ups, charges, refunds and the prepaid rules."""

from django.utils.translation import gettext_lazy as _

from onecard.loyalty.cards.errors import CardError


class NotStoredValueCard(CardError):
    """The card's product holds no stored value."""

    code = "not_stored_value_card"
    default_message = _("This card does not hold stored value.")


class OverRefund(CardError):
    """A refund of more than what remains to refund of its original."""

    code = "over_refund"
    default_message = _("The refund is more than what remains to refund.")


class NotRefundable(CardError):
    """A refund of a transaction of the wrong kind, or at another merchant."""

    code = "not_refundable"
    default_message = _("This transaction cannot be refunded this way.")


class DailyLimitExceeded(CardError):
    """A charge that passes the card's daily charge limit."""

    code = "daily_limit_exceeded"
    default_message = _("This charge passes the card's daily charge limit.")


class CashRefundTooLarge(CardError):
    """A cash payout above the merchant's cash refund limit."""

    code = "cash_refund_too_large"
    default_message = _("Refunds above ¥100 are paid to a bank account in the holder's name, not in cash.")
