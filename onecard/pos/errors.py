"""Refusals of the shift services (pos.shifts), each with its own stable code."""

from django.utils.translation import gettext_lazy as _

from onecard.core.errors import BusinessError, Conflict, PermissionDenied, Refused


class ShiftAlreadyOpen(Conflict):
    code = "shift_already_open"
    default_message = _("You already have an open shift: close it before opening another.")


class ShiftClosed(Refused):
    code = "shift_closed"
    default_message = _("This shift is closed already; a closed shift cannot change.")


class NotYourShift(PermissionDenied):
    code = "not_your_shift"
    default_message = _("Only the shift's cashier or a manager of its store may do this.")


class NotAStore(BusinessError):
    code = "not_a_store"
    default_message = _("A shift is opened at a store: pick a store first.")


class CashOutExceedsDrawer(Refused):
    code = "cash_out_exceeds_drawer"
    default_message = _("The drawer does not hold that much cash.")
