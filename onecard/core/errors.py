"""Business errors raised by services: a stable machine code plus a message in the user's language."""

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _


class BusinessError(Exception):
    """A refusal for a business reason; views show `message`, the API answers problem+json with `code`.

    The HTTP status is the category's: a refusal subclasses the category it falls in (400 here, for a
    malformed or invalid request; Refused, NotFound, PermissionDenied, Conflict below) and states only
    its `code` and `default_message`.
    """

    status = 400
    code = "invalid"
    default_message = _("The request could not be processed.")

    def __init__(self, message=None, *, code=None, status=None, field=None, extra=None):
        self.message = message if message is not None else self.default_message
        if code:
            self.code = code
        if status:
            self.status = status
        self.field = field
        self.extra = extra or {}
        super().__init__(str(self.message))


class ValidationFailed(BusinessError):
    """Input that breaks a field rule; `errors` maps field names to messages."""

    code = "validation_error"
    default_message = _("Some fields are not valid.")

    def __init__(self, errors, message=None):
        self.errors = errors
        super().__init__(message)


class Refused(BusinessError):
    """A well-formed request refused for a business reason (a frozen card, a balance too low)."""

    status = 422


def refuse_unknown_fields(changes, fields):
    """Raise ValidationFailed naming every key of `changes` that is not one of `fields`."""
    unknown = set(changes) - set(fields)
    if unknown:
        raise ValidationFailed({name: [gettext("Unknown field.")] for name in sorted(unknown)})


class NotFound(BusinessError):
    """The object named by the request does not exist, or is out of the user's reach (HTTP 404)."""

    status = 404
    code = "not_found"
    default_message = _("Not found.")


class PermissionDenied(BusinessError):
    """The user may not do this, or not without an approval or a secret (HTTP 403)."""

    status = 403
    code = "permission_denied"
    default_message = _("You do not have permission to do this.")


class Conflict(BusinessError):
    """The request clashes with what already exists or already happened (HTTP 409)."""

    status = 409
    code = "conflict"
    default_message = _("The request conflicts with existing data.")
