"""The refusals of stored value (codes of docs/money.md): top-ups, charges, holds, refunds and the prepaid rules."""

from django.utils.translation import gettext_lazy as _

from onecard.core.errors import BusinessError, PermissionDenied
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


class HoldExpired(CardError):
    code = "hold_expired"
    default_message = _("This hold has expired; its funds were released.")


class HoldNotOpen(CardError):
    code = "hold_not_open"
    default_message = _("This hold was already captured, voided or expired.")


class CaptureTooLarge(CardError):
    code = "capture_exceeds_hold"
    default_message = _("A capture cannot be more than the amount held.")


class AgreementNotAccepted(CardError):
    code = "agreement_not_accepted"
    default_message = _(
        "The member has not accepted the current top-up agreement. Show it to the member and record the "
        "acceptance before topping up."
    )


class CashTenderRefused(CardError):
    code = "cash_tender_refused"
    default_message = _("Cash is not accepted for a top-up of this size; take another way to pay.")


class StoreMajorRisk(CardError):
    code = "store_major_risk"
    default_message = _("This store takes no new top-ups.")


class NoAgreementPublished(CardError):
    code = "no_agreement_published"
    default_message = _("This merchant has no published top-up agreement to accept.")


class InvalidRefundReason(BusinessError):
    code = "invalid_refund_reason"
    default_message = _("Choose why the balance is refunded: the member asks, or the merchant is at fault.")


class NotVoidable(CardError):
    """A void of a transaction that is not a top-up or charge, or at another store."""

    code = "not_voidable"
    default_message = _("Only a top-up or a charge can be voided, at the store where it was made.")


class AlreadyVoided(CardError):
    """A second void of the same transaction."""

    code = "already_voided"
    default_message = _("This transaction has been voided already.")


class VoidAfterRefund(CardError):
    """A void of a transaction part of which was refunded."""

    code = "void_after_refund"
    default_message = _("Part of this transaction has been refunded already: it cannot be voided.")


class VoidValueSpent(CardError):
    """A void whose value (top-up, rebate or points) is no longer on the card."""

    code = "void_value_spent"
    default_message = _(
        "The value of this transaction has been spent since, so it cannot be voided. Refund it instead."
    )


class VoidNeedsManager(PermissionDenied):
    """A void past the window, or of another cashier's transaction, without an approver holding till.void_late."""

    code = "void_needs_manager"
    default_message = _("This void needs a store manager's approval.")
