"""Refusals of the settlement services, each with a stable problem+json `code`."""

from django.utils.translation import gettext_lazy as _

from onecard.core.errors import BusinessError, Conflict, Refused


class InvalidPeriod(BusinessError):
    """A period kind other than day/month, or a date that cannot be read."""

    code = "invalid_period"
    default_message = _("Choose a period: a day (YYYY-MM-DD) or a month (YYYY-MM).")


class StatementAlreadySettled(Conflict):
    code = "statement_already_settled"
    default_message = _("This statement has already been settled.")


class StatementPeriodNotOver(Refused):
    code = "settlement_period_not_over"
    default_message = _("The period of this statement has not ended yet; settle it afterwards.")


class StatementOverlapsSettled(Conflict):
    code = "statement_overlaps_settled"
    default_message = _(
        "Some entries of this statement were already settled in a statement of the other period "
        "(day or month); settle the remaining statements of that kind instead."
    )


class StatementUnbalanced(Refused):
    code = "statement_unbalanced"
    default_message = _(
        "The two sides of this statement do not add up to zero (a ledger fault); it cannot be settled. "
        "Run `onecard ledger verify` and contact support."
    )
