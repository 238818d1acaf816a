"""Refusals of the card services, each with a stable problem+json `code`."""

from django.utils.translation import gettext_lazy as _

from onecard.core.errors import BusinessError, Conflict, NotFound, PermissionDenied, Refused


class CardError(Refused):
    """A refusal of the card services for a business reason (HTTP 422)."""


class CardNotFound(NotFound):
    code = "card_not_found"
    default_message = _("No card has this number.")


class CardNotActive(CardError):
    code = "card_not_active"
    default_message = _("This card has not been activated.")


class CardAlreadyActive(CardError):
    code = "card_already_active"
    default_message = _("This card is already active.")


class CardFrozen(CardError):
    code = "card_frozen"
    default_message = _("This card is frozen.")


class CardLost(CardError):
    code = "card_lost"
    default_message = _("This card was reported lost.")


class CardReplaced(CardError):
    code = "card_replaced"
    default_message = _("This card was replaced by a new card; use the new card.")


class CardMerged(CardError):
    code = "card_merged"
    default_message = _("This card was merged into another card; use that card.")


class CardCancelled(CardError):
    code = "card_cancelled"
    default_message = _("This card was cancelled.")


class CardExpired(CardError):
    code = "card_expired"
    default_message = _("This card has expired.")


class CardAlreadyBound(Conflict):
    code = "card_already_bound"
    default_message = _("This card already belongs to a member.")


class CardNotBound(CardError):
    code = "card_not_bound"
    default_message = _("A registered card must be bound to a member before it is activated.")


class CardNotAccepted(CardError):
    code = "card_not_accepted_here"
    default_message = _("This card is not accepted at this store.")


class CardMemberMismatch(CardError):
    code = "card_member_mismatch"
    default_message = _("Both cards must belong to the same member of the same merchant.")


class CardProductMismatch(CardError):
    code = "card_product_mismatch"
    default_message = _("The cards are of different kinds of card product.")


class CardHasOpenHolds(CardError):
    code = "card_has_open_holds"
    default_message = _("This card has open holds; capture or void them first.")


class BalanceCapExceeded(CardError):
    code = "balance_cap_exceeded"
    default_message = _("The balance would pass the card's cap.")


class CardNumbersTaken(Conflict):
    code = "card_numbers_taken"
    default_message = _("Some numbers of this range are already used by other cards.")


class InvalidCardRange(BusinessError):
    code = "invalid_card_range"
    default_message = _("The card number range is not valid.")


class WrongCardPassword(PermissionDenied):
    code = "wrong_card_password"
    default_message = _("The card password is wrong.")


class CardPasswordLocked(PermissionDenied):
    code = "card_password_locked"
    default_message = _("The card password is locked after too many wrong tries; ask staff to reset it.")


class CardPasswordRequired(PermissionDenied):
    code = "card_password_required"
    default_message = _("This charge needs the card password.")


class QrInvalid(BusinessError):
    code = "qr_invalid"
    default_message = _("This QR code is not valid.")


class QrExpired(CardError):
    code = "qr_expired"
    default_message = _("This QR code has expired; show the current code.")


class QrReplayed(Conflict):
    code = "qr_replayed"
    default_message = _("This QR code was already used; show the current code.")
