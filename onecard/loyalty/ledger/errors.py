"""Refusals of the ledger, each with a stable problem+json `code` (ARCHITECTURE.md, API conventions)."""

from django.utils.translation import gettext_lazy as _

from onecard.core.errors import BusinessError, Conflict, NotFound, Refused


class InsufficientBalance(Refused):
    """The entry would take a member-facing account below zero; nothing was written."""

    code = "insufficient_balance"
    default_message = _("The balance is not sufficient.")


class InsufficientPoints(InsufficientBalance):
    """As InsufficientBalance, for a points account."""

    code = "insufficient_points"
    default_message = _("There are not enough points.")


class InvalidAmount(BusinessError):
    """An amount that is not a non-zero integer number of fen (or points) within the allowed range."""

    code = "invalid_amount"
    default_message = _("The amount must be a whole number of fen, not zero, within the allowed range.")


class AccountNotFound(NotFound):
    code = "account_not_found"
    default_message = _("The ledger account does not exist.")


class AlreadyReversed(Conflict):
    code = "already_reversed"
    default_message = _("This transaction has already been reversed.")


class CannotReverseReversal(Conflict):
    code = "entry_is_reversal"
    default_message = _("A reversal cannot itself be reversed; post a new transaction instead.")


class LedgerError(ValueError):
    """A malformed entry built by code (unbalanced, duplicate accounts): a bug, never a user's mistake."""
